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
