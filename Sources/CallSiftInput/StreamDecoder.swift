import CallSiftCore
/// What one decoder call did: how much input it took and how much output it wrote.
struct DecodeStep {
    var consumed: Int
    var produced: Int
}

/// A decoder's own complaint about its input, in the library's words. `InputReader` adds
/// the input's name and offset, which the decoder does not know.
struct DecoderFailure: Error {
    var message: String
}

/// One streaming decompressor wrapped around a C library context.
///
/// `InputReader` owns the buffers and the file; a decoder only turns input bytes into
/// output bytes and remembers whether it sits between frames. That split keeps all I/O and
/// error reporting in one place and each C API in a file of its own.
protocol StreamDecoder: AnyObject {
    /// True when every frame (or gzip member) begun so far has been decoded to its end
    /// and fully flushed. End of input is clean only in this state; anywhere else it means
    /// the stream was cut short.
    var isAtFrameBoundary: Bool { get }

    /// Decodes as much of `input` as fits into `output`. May consume input without
    /// producing output (headers) and, with an empty `input`, may still flush output that
    /// an earlier call had no room for.
    ///
    /// - Precondition: `output` is not empty; `input.baseAddress` is not nil.
    func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecoderFailure) -> DecodeStep
}
