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
///
/// A file that is not appended to is replaced whole, never truncated in place
/// (docs/reliability.md, "Faults"): the bytes go to a temporary file beside it
/// (`.NAME.callsift-PID-N`), which `close` syncs and renames over the path, and then
/// syncs the folder. Until then the path keeps what it held; a write that fails (a full
/// disk) or a sink dropped without `close` removes the temporary file. A path that is
/// not a regular file (a FIFO, a device) is written directly, as is standard output; a
/// symbolic link has the file it leads to replaced.
final class FileOutput {
    let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private var isClosed = false
    /// While replacing a file: the temporary file written and the path it replaces.
    private let replacing: (temporary: String, target: String)?

    /// Creates or replaces `path`; nil or "-" is standard output, which is never closed.
    ///
    /// - Parameter ownerOnly: for files holding personal data (the rejects file): the file
    ///   gets mode 0600 whatever the umask, also when it existed before with another mode,
    ///   before anything is written to it. (A FIFO or device keeps its own mode.)
    /// - Parameter append: add to the end of an existing file instead of replacing it.
    init(path: String?, ownerOnly: Bool = false, append: Bool = false) throws {
        guard let path, path != "-" else {
            name = "-"
            fd = STDOUT_FILENO
            ownsDescriptor = false
            replacing = nil
            return
        }
        name = path
        ownsDescriptor = true
        let mode: mode_t = ownerOnly ? 0o600 : 0o644
        let opened: Int32
        let target = append ? nil : try Self.replaceableTarget(path)
        // The temporary file's name is new (O_EXCL): nothing else writes it. In a folder
        // where only the file itself may be written, the file is written in place.
        let temporary = target.map(Self.temporaryName(for:))
        let aside = temporary.map { open($0, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode) } ?? -1
        if let target, let temporary, aside >= 0 || (errno != EACCES && errno != EPERM) {
            if aside < 0 {
                throw ByteSinkError(destination: path, message: "cannot create \(temporary): \(String(cString: strerror(errno)))")
            }
            opened = aside
            replacing = (temporary, target)
        } else {
            opened = open(path, O_WRONLY | O_CREAT | (append ? O_APPEND : O_TRUNC) | O_CLOEXEC, mode)
            if opened < 0 {
                throw ByteSinkError(destination: path, message: "cannot create: \(String(cString: strerror(errno)))")
            }
            replacing = nil
        }
        fd = opened
        if ownerOnly {
            var info = stat()
            if fstat(opened, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_mode & 0o7777 != 0o600,
                fchmod(opened, 0o600) != 0
            {
                let message = "cannot make it private (mode 0600): \(String(cString: strerror(errno)))"
                abandon()
                throw ByteSinkError(destination: path, message: message)
            }
        }
    }

    /// The regular file `path` names (itself, or where its symbolic link leads), to be
    /// replaced; nil when `path` is something else (a FIFO, a device), to be written
    /// directly. A file that exists must be writable: replacing it by renaming would
    /// otherwise get round its permissions.
    private static func replaceableTarget(_ path: String) throws -> String? {
        var info = stat()
        guard lstat(path, &info) == 0 else { return path }  // a new file
        var target = path
        if (info.st_mode & S_IFMT) == S_IFLNK {
            guard let resolved = realpath(path, nil) else { return path }
            target = String(cString: resolved)
            free(resolved)
            guard stat(target, &info) == 0 else { return path }
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        if access(target, W_OK) != 0 {
            throw ByteSinkError(destination: path, message: "cannot create: \(String(cString: strerror(errno)))")
        }
        return target
    }

    private static let counter = Locked(0)

    private static func temporaryName(for target: String) -> String {
        let slash = target.lastIndex(of: "/")
        let folder = slash.map { String(target[...$0]) } ?? ""
        let base = slash.map { String(target[target.index(after: $0)...]) } ?? target
        let n = counter.withLock { n -> Int in
            n += 1
            return n
        }
        return "\(folder).\(base).callsift-\(getpid())-\(n)"
    }

    deinit {
        if ownsDescriptor && !isClosed { abandon() }
    }

    /// Closes the descriptor and removes the temporary file of a replacement: the path
    /// keeps what it held.
    private func abandon() {
        isClosed = true
        _ = closeDescriptor(fd)
        if let replacing { unlink(replacing.temporary) }
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
    /// standard output open for whoever writes after us. A replacement is synced and
    /// renamed into place here, and its folder synced.
    func close() throws {
        guard !isClosed else { return }
        guard ownsDescriptor else {
            isClosed = true
            return
        }
        guard let replacing else {
            isClosed = true
            if closeDescriptor(fd) != 0 {
                throw ByteSinkError(destination: name, message: "close failed: \(String(cString: strerror(errno)))")
            }
            return
        }
        if fsync(fd) != 0 {
            let e = errno
            abandon()
            throw ByteSinkError(destination: name, message: "write failed: \(String(cString: strerror(e)))")
        }
        isClosed = true
        if closeDescriptor(fd) != 0 {
            let e = errno
            unlink(replacing.temporary)
            throw ByteSinkError(destination: name, message: "close failed: \(String(cString: strerror(e)))")
        }
        if rename(replacing.temporary, replacing.target) != 0 {
            let e = errno
            unlink(replacing.temporary)
            throw ByteSinkError(destination: name, message: "cannot rename into place: \(String(cString: strerror(e)))")
        }
        let slash = replacing.target.lastIndex(of: "/")
        let folder = slash.map { String(replacing.target[..<$0]) } ?? "."
        let dfd = open(folder.isEmpty ? "/" : folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 {
            _ = fsync(dfd)
            _ = closeDescriptor(dfd)
        }
    }
}

/// Outside the class, where `close` is not the method.
private func closeDescriptor(_ fd: Int32) -> Int32 {
    close(fd)
}
