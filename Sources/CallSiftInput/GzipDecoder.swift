import CallSiftCore
import CZlib

/// gzip decompression over zlib's `inflate`, member after member.
///
/// zlib stops at the end of each gzip member; concatenated members (what `cat a.gz b.gz`
/// and parallel compressors produce) are one stream, so the decoder resets and carries on
/// when more bytes follow.
///
/// Zero bytes after a member are tolerated as padding, as GNU gzip does: tape and block
/// devices pad files that way. A non-zero byte after the padding is an error, and so is
/// anything after a member that is not another gzip member ("incorrect header check").
final class GzipDecoder: StreamDecoder {
    private enum State {
        case inMember, betweenMembers, padding
    }

    /// zlib keeps a pointer back to the `z_stream` and checks it on every call, so the
    /// stream lives at a fixed heap address rather than in a (movable) stored property.
    private let stream: UnsafeMutablePointer<z_stream>
    private var state = State.inMember

    init() throws(DecoderFailure) {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + MAX_WBITS: expect a gzip header and trailer, with the largest window.
        let result = inflateInit2_(stream, 16 + MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        if result != Z_OK {
            stream.deallocate()
            throw DecoderFailure(message: "cannot initialise zlib: " + Self.describe(result, nil))
        }
    }

    deinit {
        inflateEnd(stream)
        stream.deallocate()
    }

    var isAtFrameBoundary: Bool { state != .inMember }

    func decode(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecoderFailure) -> DecodeStep {
        switch state {
        case .inMember:
            return try inflateSome(input, into: output)
        case .betweenMembers:
            guard let first = input.first else { return DecodeStep(consumed: 0, produced: 0) }
            if first == 0 {
                state = .padding
                return try skipPadding(input)
            }
            inflateReset(stream)
            state = .inMember
            return try inflateSome(input, into: output)
        case .padding:
            return try skipPadding(input)
        }
    }

    /// Consumes leading zero bytes. A non-zero byte is reported only when it comes first,
    /// so the reader's offset points right at it.
    private func skipPadding(_ input: UnsafeRawBufferPointer) throws(DecoderFailure) -> DecodeStep {
        let zeros = input.firstIndex(where: { $0 != 0 }) ?? input.count
        if zeros == 0 && !input.isEmpty {
            throw DecoderFailure(message: "non-zero byte after the zero padding that follows a gzip member")
        }
        return DecodeStep(consumed: zeros, produced: 0)
    }

    private func inflateSome(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(DecoderFailure) -> DecodeStep {
        // avail_in and avail_out are 32-bit; the reader's buffers are far smaller, but a
        // shorter window is still correct, only slower, so clamp rather than trap.
        let inCount = min(input.count, Int(UInt32.max))
        let outCount = min(output.count, Int(UInt32.max))
        // zlib never writes through next_in; the mutable type is a C const-correctness gap.
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(inCount)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(outCount)
        let result = inflate(stream, Z_NO_FLUSH)
        let step = DecodeStep(
            consumed: inCount - Int(stream.pointee.avail_in),
            produced: outCount - Int(stream.pointee.avail_out))
        stream.pointee.next_in = nil
        stream.pointee.next_out = nil
        switch result {
        case Z_OK, Z_BUF_ERROR:
            // Z_BUF_ERROR only means "no progress possible with this input"; the reader
            // decides from end of input whether that is truncation.
            return step
        case Z_STREAM_END:
            state = .betweenMembers
            return step
        default:
            throw DecoderFailure(message: Self.describe(result, stream.pointee.msg))
        }
    }

    /// zlib's code name plus its own detail message when it left one.
    private static func describe(_ code: Int32, _ message: UnsafePointer<CChar>?) -> String {
        let name: String
        switch code {
        case Z_NEED_DICT: name = "Z_NEED_DICT"
        case Z_DATA_ERROR: name = "Z_DATA_ERROR"
        case Z_MEM_ERROR: name = "Z_MEM_ERROR"
        case Z_STREAM_ERROR: name = "Z_STREAM_ERROR"
        case Z_VERSION_ERROR: name = "Z_VERSION_ERROR"
        case Z_BUF_ERROR: name = "Z_BUF_ERROR"
        default: name = "zlib error \(code)"
        }
        if let message { return "\(name): \(String(cString: message))" }
        return "\(name): \(String(cString: zError(code)))"
    }
}
