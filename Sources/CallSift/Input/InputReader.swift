// INTERFACE STUB: to be implemented by the input work (decoders).
// Contract:
//   let r = try InputReader(path: "x.csv.zst")   // "-" is standard input
//   while let chunk = try r.readChunk() { ... }   // decompressed bytes, valid until the next call
//   r.compression                                  // detected from magic bytes
// Errors are `InputError`, naming the input and the compressed byte offset.

/// An error reading one input: a corrupt or truncated compressed stream, or an I/O failure.
public struct InputError: Error, CustomStringConvertible, Sendable {
    public var input: String
    /// Offset in the input's (compressed) bytes at which the problem was found.
    public var offset: Int64
    public var message: String
    public init(input: String, offset: Int64, message: String) {
        self.input = input; self.offset = offset; self.message = message
    }
    public var description: String { "\(input): \(message) at byte offset \(offset)" }
}

import Foundation
/// TEMPORARY plain-only stand-in until the decoders land.
public final class InputReader {
    public private(set) var compression: Compression = .none
    public private(set) var compressedOffset: Int64 = 0
    private let handle: FileHandle
    private var buffer: [UInt8] = []
    private let path: String
    public init(path: String, chunkSize: Int = 128 * 1024) throws {
        self.path = path
        if path == "-" { handle = .standardInput } else {
            guard let h = FileHandle(forReadingAtPath: path) else { throw InputError(input: path, offset: 0, message: "cannot open") }
            handle = h
        }
    }
    public func readChunk() throws -> UnsafeRawBufferPointer? {
        guard let d = try handle.read(upToCount: 128 * 1024), !d.isEmpty else { return nil }
        buffer = Array(d)
        compressedOffset += Int64(d.count)
        return buffer.withUnsafeBytes { UnsafeRawBufferPointer(start: $0.baseAddress, count: $0.count) }
    }
    public func close() {}
}
