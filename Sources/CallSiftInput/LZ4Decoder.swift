import CallSiftCore
import CLZ4

/// lz4 frame decompression over `LZ4F_decompress`. The context starts the next frame by
/// itself after one ends, so concatenated frames need no special handling here.
final class LZ4Decoder: StreamDecoder {
    private let context: OpaquePointer
    /// The last `LZ4F_decompress` result: 0 exactly when a frame is fully decoded and
    /// flushed, otherwise a hint of the input it expects next.
    private var lastHint = 1

    init() throws(DecoderFailure) {
        var context: OpaquePointer?
        let result = LZ4F_createDecompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(result) == 0, let context else {
            throw DecoderFailure(
                message: "cannot allocate an lz4 decompression context: "
                    + String(cString: LZ4F_getErrorName(result)))
        }
        self.context = context
    }

    deinit { LZ4F_freeDecompressionContext(context) }

    var isAtFrameBoundary: Bool { lastHint == 0 }

    func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecoderFailure) -> DecodeStep {
        var consumed = input.count
        var produced = output.count
        let result = LZ4F_decompress(context, output.baseAddress, &produced, input.baseAddress, &consumed, nil)
        if LZ4F_isError(result) != 0 {
            throw DecoderFailure(message: String(cString: LZ4F_getErrorName(result)))
        }
        lastHint = result
        return DecodeStep(consumed: consumed, produced: produced)
    }
}
