import CallSiftCore
/// One compressor (or none) between a sink's staging buffer and the file.
///
/// Encoders own their output buffer and write it to `FileOutput` whenever it fills, so a
/// sink's memory stays fixed however much is written.
protocol StreamEncoder: AnyObject {
    /// Compresses all of `bytes`, writing whatever output is ready.
    func encode(_ bytes: UnsafeRawBufferPointer, to output: FileOutput) throws
    /// Ends the frame (or member) and writes everything still held.
    func end(to output: FileOutput) throws
}

/// No compression: bytes go straight to the file.
final class PassthroughEncoder: StreamEncoder {
    func encode(_ bytes: UnsafeRawBufferPointer, to output: FileOutput) throws {
        try output.writeAll(bytes)
    }
    func end(to output: FileOutput) throws {}
}
