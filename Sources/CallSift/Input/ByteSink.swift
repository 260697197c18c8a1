// INTERFACE STUB: the input work replaces the body of `makeByteSink` with real
// zstd / lz4-frame / gzip encoders. The protocol itself is fixed.
import Foundation

/// Somewhere bytes go: a file or standard output, optionally compressed on the way.
public protocol ByteSink: AnyObject {
    /// Writes `bytes` (possibly buffering them).
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes everything, ends any compressed frame and closes the destination.
    func finish() throws
}

extension ByteSink {
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    public func write(_ string: String) throws {
        var s = string
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }
}

/// Opens a sink writing to `path` (nil or "-" = standard output), compressed with `compression`.
public func makeByteSink(path: String?, compression: Compression, level: Int32 = 3) throws -> ByteSink {
    precondition(compression == .none, "stub: only uncompressed output until the encoders land")
    return PlainFileSink(path: path)
}

/// Uncompressed output through a 256 KiB buffer.
final class PlainFileSink: ByteSink {
    private let handle: FileHandle
    private let ownsHandle: Bool
    private var buffer: [UInt8] = []
    init(path: String?) {
        if let path, path != "-" {
            FileManager.default.createFile(atPath: path, contents: nil)
            handle = FileHandle(forWritingAtPath: path)!
            ownsHandle = true
        } else {
            handle = FileHandle.standardOutput
            ownsHandle = false
        }
        buffer.reserveCapacity(1 << 18)
    }
    func write(_ bytes: UnsafeRawBufferPointer) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= 1 << 18 { try flush() }
    }
    private func flush() throws {
        if !buffer.isEmpty { try handle.write(contentsOf: buffer); buffer.removeAll(keepingCapacity: true) }
    }
    func finish() throws {
        try flush()
        if ownsHandle { try handle.close() }
    }
}
