import CallSiftCore
import CZlib

/// One gzip member over zlib's `deflate`.
final class GzipEncoder: StreamEncoder {
    /// Heap-pinned because zlib stores a pointer back to its `z_stream` and verifies it.
    private let stream: UnsafeMutablePointer<z_stream>
    private let buffer: UnsafeMutableRawBufferPointer

    /// `level` is zlib's, clamped to 0...9 (0 stores, 9 compresses hardest).
    init(level: Int32, destination: String) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // 16 + MAX_WBITS: a gzip header and trailer around a full 32 KiB window;
        // memLevel 8 is zlib's default.
        let result = deflateInit2_(
            stream, min(max(level, 0), 9), Z_DEFLATED, 16 + MAX_WBITS, 8,
            Z_DEFAULT_STRATEGY, zlibVersion(), Int32(MemoryLayout<z_stream>.size))
        if result != Z_OK {
            stream.deallocate()
            throw ByteSinkError(destination: destination, message: "cannot initialise zlib (error \(result))")
        }
        buffer = .allocate(byteCount: 128 * 1024, alignment: 64)
    }

    deinit {
        deflateEnd(stream)
        stream.deallocate()
        buffer.deallocate()
    }

    func encode(_ bytes: UnsafeRawBufferPointer, to output: FileOutput) throws {
        var offset = 0
        // avail_in is 32-bit: hand over huge writes in pieces.
        while offset < bytes.count {
            let count = min(bytes.count - offset, 1 << 30)
            stream.pointee.next_in = UnsafeMutablePointer(
                mutating: (bytes.baseAddress! + offset).assumingMemoryBound(to: Bytef.self))
            stream.pointee.avail_in = UInt32(count)
            repeat {
                try deflateOnce(Z_NO_FLUSH, output)
            } while stream.pointee.avail_in > 0 || stream.pointee.avail_out == 0
            offset += count
        }
        stream.pointee.next_in = nil
    }

    func end(to output: FileOutput) throws {
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        while try deflateOnce(Z_FINISH, output) != Z_STREAM_END {}
    }

    /// One `deflate` call into the whole output buffer, then writes what it produced.
    @discardableResult
    private func deflateOnce(_ flush: Int32, _ output: FileOutput) throws -> Int32 {
        stream.pointee.next_out = buffer.baseAddress!.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(buffer.count)
        let result = deflate(stream, flush)
        // Z_BUF_ERROR means "no progress possible", harmless when all input is taken.
        if result != Z_OK && result != Z_STREAM_END && result != Z_BUF_ERROR {
            throw ByteSinkError(destination: output.name, message: "gzip compression failed (zlib error \(result))")
        }
        let produced = buffer.count - Int(stream.pointee.avail_out)
        try output.writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: produced))
        return result
    }
}
