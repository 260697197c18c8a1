import CallSiftCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import SystemPackage

/// Writes one state file in a single pass, as its payload is made: the container's header
/// first, each piece as it comes, then the payload length and the checksum
/// (`ContainerFraming`). The file is made under a temporary name, mode 0600; `finish`
/// syncs it, and `StateStore` renames it into place, or `discard` removes it.
final class StateFileWriter {
    /// A finished file, not yet in place.
    struct Written {
        let temporaryPath: String
        let length: Int
        let checksum: ContentFingerprint
        /// Files written with it that go if it is discarded (an engine file's new part files).
        var companions: [String] = []
        /// For an engine file: every part file it names (its new ones and those it kept).
        var partFiles: [String] = []
    }

    let temporaryPath: String
    private let fd: FileDescriptor
    private var framing: ContainerFraming
    private var written: Int
    private var closed = false

    init(temporaryPath: String, kind: StateFileKind) throws {
        self.temporaryPath = temporaryPath
        let raw = open(temporaryPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard raw >= 0 else { throw StateError("\(temporaryPath): cannot create: \(String(cString: strerror(errno)))") }
        fchmod(raw, 0o600)  // whatever the umask
        fd = FileDescriptor(rawValue: raw)
        framing = ContainerFraming(kind: kind)
        written = 0
        do {
            try write(framing.header)
        } catch {
            discard()  // a full disk: no empty file left behind
            throw error
        }
    }

    deinit { if !closed { try? fd.close() } }

    /// Appends `piece` to the payload.
    func append(_ piece: UnsafeRawBufferPointer) throws {
        framing.add(piece)
        try write(piece)
    }

    /// Appends what `w` has written to the payload.
    func append(_ w: StateWriter) throws { try w.withBytes { try append($0) } }

    /// Writes the trailer and syncs the file.
    func finish() throws -> Written {
        try write(framing.trailer())
        guard fsync(fd.rawValue) == 0 else { throw StateError("\(temporaryPath): cannot sync: \(String(cString: strerror(errno)))") }
        closed = true
        try? fd.close()
        return Written(temporaryPath: temporaryPath, length: written, checksum: framing.checksum!)
    }

    /// Closes and removes the file.
    func discard() {
        if !closed { try? fd.close() }
        closed = true
        unlink(temporaryPath)
    }

    private func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }

    private func write(_ bytes: UnsafeRawBufferPointer) throws {
        do {
            _ = try fd.writeAll(bytes)
        } catch {
            throw StateError("\(temporaryPath): cannot write: \(String(cString: strerror((error as? Errno)?.rawValue ?? EIO)))")
        }
        written += bytes.count
    }
}

extension StateFileWriter.Written {
    /// Removes a file that will not be committed, and its companions.
    func discard() {
        unlink(temporaryPath)
        for c in companions { unlink(c) }
    }
}
