import CallSiftCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemPackage

/// An error writing output: the destination cannot be created or written, or an encoder
/// failed.
///
/// Separate from `InputError` because an output has no "offset in the input" and the
/// command line reports the two differently (a bad input is skipped, a bad output ends the run).
public struct ByteSinkError: Error, CustomStringConvertible, Sendable {
    /// The path written to, or "-" for standard output.
    public var destination: String
    public var message: String
    public init(destination: String, message: String) {
        self.destination = destination; self.message = message
    }
    public var description: String { "\(destination): \(message)" }
}

/// The raw destination under every sink: a file descriptor written with `write(2)`.
///
/// It does no buffering itself; the sinks hand it large blocks (a full staging buffer or
/// an encoder's output buffer), so one system call moves tens of KiB or more.
final class FileOutput {
    let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var isClosed = false

    /// Creates or truncates `path`; nil or "-" is standard output, which is never closed.
    ///
    /// - Parameter ownerOnly: for files holding personal data (the rejects file): the file
    ///   gets mode 0600 whatever the umask, also when it existed before with another mode,
    ///   before anything is written to it. (A FIFO or device keeps its own mode.)
    /// - Parameter append: add to the end of an existing file instead of truncating it.
    init(path: String?, ownerOnly: Bool = false, append: Bool = false) throws {
        if let path, path != "-" {
            let opened = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, ownerOnly ? 0o600 : 0o644)
            if opened < 0 {
                throw ByteSinkError(destination: path, message: "cannot create: \(String(cString: strerror(errno)))")
            }
            if ownerOnly {
                var info = stat()
                if fstat(opened, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & 0o7777 != 0o600,
                    fchmod(opened, 0o600) != 0
                {
                    let message = "cannot make it private (mode 0600): \(String(cString: strerror(errno)))"
                    _ = closeDescriptor(opened)
                    throw ByteSinkError(destination: path, message: message)
                }
            }
            name = path
            fd = opened
            ownsDescriptor = true
        } else {
            name = "-"
            fd = STDOUT_FILENO
            ownsDescriptor = false
        }
    }

    deinit {
        if ownsDescriptor && !isClosed { _ = closeDescriptor(fd) }
    }

    /// Writes all of `bytes`, looping over short writes and signals.
    func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        guard bytes.count > 0 else { return }
        do {
            _ = try FileDescriptor(rawValue: fd).writeAll(bytes)
        } catch {
            let code = (error as? Errno)?.rawValue ?? EIO
            throw ByteSinkError(destination: name, message: "write failed: \(String(cString: strerror(code)))")
        }
    }

    /// Syncs a file and returns its size; nil for standard output.
    func sync() throws -> Int64? {
        guard ownsDescriptor, !isClosed else { return nil }
        var info = stat()
        guard fsync(fd) == 0, fstat(fd, &info) == 0 else {
            throw ByteSinkError(destination: name, message: "sync failed: \(String(cString: strerror(errno)))")
        }
        return Int64(info.st_size)
    }

    /// Closes a file (reporting the error a full disk can raise only here); leaves
    /// standard output open for whoever writes after us.
    func close() throws {
        guard !isClosed else { return }
        isClosed = true
        if ownsDescriptor && closeDescriptor(fd) != 0 {
            throw ByteSinkError(destination: name, message: "close failed: \(String(cString: strerror(errno)))")
        }
    }
}

/// Outside the class, where `close` is not the method.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    close(fd)
}
