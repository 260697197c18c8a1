import CZstd

/// zstd decompression over `ZSTD_decompressStream`, which handles concatenated frames and
/// skippable frames by itself.
final class ZstdDecoder: StreamDecoder {
    private let stream: OpaquePointer
    /// The last `ZSTD_decompressStream` result: 0 exactly when a frame has been decoded,
    /// checked and flushed; otherwise how many more input bytes it wants. Starts non-zero
    /// because a stream detected as zstd has at least begun a frame.
    private var lastHint = 1

    init() throws(DecoderFailure) {
        guard let stream = ZSTD_createDStream() else {
            throw DecoderFailure(message: "cannot allocate a zstd decompression context")
        }
        self.stream = stream
        let result = ZSTD_initDStream(stream)
        if ZSTD_isError(result) != 0 {
            ZSTD_freeDStream(stream)
            throw DecoderFailure(message: String(cString: ZSTD_getErrorName(result)))
        }
    }

    deinit { ZSTD_freeDStream(stream) }

    var isAtFrameBoundary: Bool { lastHint == 0 }

    func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecoderFailure) -> DecodeStep {
        var source = ZSTD_inBuffer(src: input.baseAddress, size: input.count, pos: 0)
        var destination = ZSTD_outBuffer(dst: output.baseAddress, size: output.count, pos: 0)
        let result = ZSTD_decompressStream(stream, &destination, &source)
        if ZSTD_isError(result) != 0 {
            throw DecoderFailure(message: String(cString: ZSTD_getErrorName(result)))
        }
        lastHint = result
        return DecodeStep(consumed: source.pos, produced: destination.pos)
    }
}
