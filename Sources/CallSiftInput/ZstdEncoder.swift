import CallSiftCore
import CZstd

/// One zstd frame over `ZSTD_compressStream2`, with a content checksum so a reader can
/// tell a damaged file from a merely odd one.
final class ZstdEncoder: StreamEncoder {
    private let context: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer

    /// `level` is zstd's (1...19, and negative levels for speed); the library clamps
    /// values outside its range.
    init(level: Int32, destination: String) throws {
        guard let context = ZSTD_createCCtx() else {
            throw ByteSinkError(destination: destination, message: "cannot allocate a zstd compression context")
        }
        self.context = context
        // ZSTD_CStreamOutSize() is one compressed block plus headers: every call can
        // flush a whole block without a partial write.
        buffer = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 64)
        do {
            try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_compressionLevel, level), destination)
            try Self.check(ZSTD_CCtx_setParameter(context, ZSTD_c_checksumFlag, 1), destination)
        } catch {
            ZSTD_freeCCtx(context)
            buffer.deallocate()
            throw error
        }
    }

    deinit {
        ZSTD_freeCCtx(context)
        buffer.deallocate()
    }

    func encode(_ bytes: UnsafeRawBufferPointer, to output: FileOutput) throws {
        var source = ZSTD_inBuffer(src: bytes.baseAddress, size: bytes.count, pos: 0)
        while source.pos < source.size {
            var destination = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            try Self.check(ZSTD_compressStream2(context, &destination, &source, ZSTD_e_continue), output.name)
            try output.writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: destination.pos))
        }
    }

    func end(to output: FileOutput) throws {
        var source = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while true {
            var destination = ZSTD_outBuffer(dst: buffer.baseAddress, size: buffer.count, pos: 0)
            // Returns how much is still to flush; 0 once the frame, checksum included, is out.
            let remaining = try Self.check(ZSTD_compressStream2(context, &destination, &source, ZSTD_e_end), output.name)
            try output.writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: destination.pos))
            if remaining == 0 { return }
        }
    }

    @discardableResult
    private static func check(_ result: Int, _ destination: String) throws -> Int {
        if ZSTD_isError(result) != 0 {
            throw ByteSinkError(
                destination: destination,
                message: "zstd compression failed (\(String(cString: ZSTD_getErrorName(result))))")
        }
        return result
    }
}
