import CallSiftCore
import CLZ4

/// One lz4 frame over LZ4F_compressBegin/Update/End, with a content checksum.
final class LZ4Encoder: StreamEncoder {
    /// The most input one `LZ4F_compressUpdate` call gets: the output buffer is sized for
    /// exactly this, via `LZ4F_compressBound`, so no call can run out of room.
    static let maximumUpdate = 64 * 1024

    private let context: OpaquePointer
    private let buffer: UnsafeMutableRawBufferPointer
    private var preferences = LZ4F_preferences_t()
    private var hasBegun = false

    /// `level` is lz4's: 0...2 pick the fast compressor, 3...12 the slower high-compression
    /// one (as `lz4 -3`...`-12`), negative values trade ratio for even more speed.
    init(level: Int32, destination: String) throws {
        var context: OpaquePointer?
        let result = LZ4F_createCompressionContext(&context, UInt32(LZ4F_VERSION))
        guard LZ4F_isError(result) == 0, let context else {
            throw ByteSinkError(
                destination: destination,
                message: "cannot allocate an lz4 compression context: "
                    + String(cString: LZ4F_getErrorName(result)))
        }
        self.context = context
        preferences.compressionLevel = level
        preferences.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled
        preferences.frameInfo.blockMode = LZ4F_blockLinked
        preferences.frameInfo.blockSizeID = LZ4F_max64KB
        // compressBound(n) covers an update of n bytes plus whatever the context still holds
        // and the frame end; the header (at most LZ4F_HEADER_SIZE_MAX) is written on its own.
        let bound = max(LZ4F_compressBound(Self.maximumUpdate, &preferences), Int(LZ4F_HEADER_SIZE_MAX))
        buffer = .allocate(byteCount: bound, alignment: 64)
    }

    deinit {
        LZ4F_freeCompressionContext(context)
        buffer.deallocate()
    }

    func encode(_ bytes: UnsafeRawBufferPointer, to output: FileOutput) throws {
        try beginIfNeeded(output)
        var offset = 0
        while offset < bytes.count {
            let count = min(bytes.count - offset, Self.maximumUpdate)
            let written = try check(
                LZ4F_compressUpdate(
                    context, buffer.baseAddress, buffer.count,
                    bytes.baseAddress! + offset, count, nil), output)
            try output.writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: written))
            offset += count
        }
    }

    func end(to output: FileOutput) throws {
        try beginIfNeeded(output)
        let written = try check(LZ4F_compressEnd(context, buffer.baseAddress, buffer.count, nil), output)
        try output.writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: written))
    }

    /// The header goes out with the first bytes, or at the end for an empty stream: an
    /// empty frame is still a valid lz4 file, unlike an empty file.
    private func beginIfNeeded(_ output: FileOutput) throws {
        guard !hasBegun else { return }
        hasBegun = true
        let written = try check(LZ4F_compressBegin(context, buffer.baseAddress, buffer.count, &preferences), output)
        try output.writeAll(UnsafeRawBufferPointer(start: buffer.baseAddress, count: written))
    }

    private func check(_ result: Int, _ output: FileOutput) throws -> Int {
        if LZ4F_isError(result) != 0 {
            throw ByteSinkError(
                destination: output.name,
                message: "lz4 compression failed (\(String(cString: LZ4F_getErrorName(result))))")
        }
        return result
    }
}
