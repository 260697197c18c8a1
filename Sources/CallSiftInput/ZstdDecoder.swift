import CallSiftCore
import Foundation
import CZstd
import CallSiftConcurrency

/// zstd decompression through the buffer-less API (`ZSTD_decompressContinue`), block by
/// block, straight into a ring of decoded bytes that `InputReader` hands out in place.
///
/// The streaming API (`ZSTD_decompressStream`) decodes each block into a window of its
/// own and then copies it into the caller's buffer: a second pass over every decoded byte,
/// a fifth of the decoding thread's time. Here the ring is the window, and the chunks
/// handed out are slices of it.
///
/// ## What the ring keeps intact
/// While a block is decoded at the ring's write position, two sets of earlier bytes must
/// survive: the frame's window (the block may copy from any of its last `windowSize`
/// bytes) and the chunks already handed out that a reader may still be reading (at most
/// `chunksHeld`, each at most `chunkSize` bytes, and the decoded bytes not yet handed out,
/// fewer than `chunkSize`). Both are the most recently written bytes. A block goes at the
/// write position, or at the ring's start when fewer than a block's bytes (plus a margin)
/// are left before its end; so a ring sized by zstd's own round-buffer rule
/// (`ZSTD_decodingBufferSize_min`) for a window of the larger of the two, plus a block,
/// overwrites neither. Decoded bytes are handed out before the write position wraps, so
/// every chunk is contiguous.
///
/// The ring is on huge pages where the system has them (`LargeMemory`): zstd's share of a
/// 10M-call run's CPU samples fell by about a tenth.
///
/// A later frame that needs a bigger ring gets a new one; the old one is freed once no
/// chunk handed out from it can still be held (`chunksHeld` chunks later).
///
/// Skippable frames are skipped by the caller (`stage == .skipping`), never decoded.
/// Legacy (pre-v0.8) frames are not supported: they read as an unknown frame descriptor.
final class ZstdDecoder {
    /// Where the stream stands between steps.
    enum Stage: Equatable {
        /// Every frame begun has been decoded and checked; the next bytes, if any, start a frame.
        case betweenFrames
        /// Inside a frame: `nextInputSize` bytes are wanted next.
        case inFrame
        /// Inside a skippable frame, with this many bytes still to skip.
        case skipping(Int)
    }

    private(set) var stage = Stage.betweenFrames
    /// Bytes decoded so far, in every frame.
    private(set) var decodedBytes: Int64 = 0

    /// Frames whose window is larger are refused, as `ZSTD_decompressStream` refuses them
    /// by default (a corrupt header must not make us allocate gigabytes).
    static let windowSizeLimit: UInt64 = (1 << UInt64(ZSTD_WINDOWLOG_LIMIT_DEFAULT)) + 1
    /// The longest frame header (`ZSTD_FRAMEHEADERSIZE_MAX`, a macro Swift does not import).
    static let frameHeaderSizeMax = 18
    /// A skippable frame's magic number and length (`ZSTD_SKIPPABLEHEADERSIZE`).
    static let skippableHeaderSize = 8
    /// Room left after a block's maximum size for the decoder's wide copies.
    private static let margin = 64

    private let context: OpaquePointer
    private let chunkSize: Int
    private let chunksHeld: Int

    private var ring: UnsafeMutableRawPointer?
    private var capacity = 0
    /// The current frame's largest decoded block.
    private var blockMax = 0
    /// Ring offset of the next decoded byte.
    private var write = 0
    /// Decoded bytes not yet handed out: `ring[readyStart ..< write]`.
    private var readyStart = 0
    /// Chunks handed out so far.
    private var handedOut = 0
    /// Rings replaced by a bigger one, each freed once `handedOut` passes `freeAt`.
    private var retired: [(ring: UnsafeMutableRawPointer, capacity: Int, freeAt: Int)] = []

    /// - Parameters:
    ///   - chunkSize: the most bytes one chunk holds.
    ///   - chunksHeld: how many chunks handed out, before the one being decoded, a reader
    ///     may still be reading.
    init(chunkSize: Int, chunksHeld: Int) throws(DecoderFailure) {
        guard let context = ZSTD_createDCtx() else {
            throw DecoderFailure(message: "cannot allocate a zstd decompression context")
        }
        self.context = context
        self.chunkSize = chunkSize
        self.chunksHeld = chunksHeld
    }

    deinit {
        ZSTD_freeDCtx(context)
        if let ring { SpareRings.give(ring, byteCount: capacity) }
        for r in retired { SpareRings.give(r.ring, byteCount: r.capacity) }
    }

    /// Input bytes the next `decode` wants, exactly (in frame only).
    var nextInputSize: Int { ZSTD_nextSrcSizeToDecompress(context) }

    /// Reads a frame header at the start of `input` and enters the frame (or starts
    /// skipping it). False when `input` is too short to hold the header.
    func beginFrame(_ input: UnsafeRawBufferPointer) throws(DecoderFailure) -> Bool {
        precondition(stage == .betweenFrames && write == readyStart, "a frame begins with every byte handed out")
        var header = ZSTD_frameHeader()
        let result = ZSTD_getFrameHeader(&header, input.baseAddress, input.count)
        try Self.check(result)
        if result > 0 { return false }
        if header.frameType == ZSTD_skippableFrame {
            // The header's magic and length (`ZSTD_getFrameHeader` leaves `headerSize` 0
            // for these), then the content.
            stage = .skipping(Self.skippableHeaderSize + Int(header.frameContentSize))
            return true
        }
        guard header.windowSize <= Self.windowSizeLimit else {
            throw DecoderFailure(message: String(cString: ZSTD_getErrorString(ZSTD_error_frameParameter_windowTooLarge)))
        }
        blockMax = Int(header.blockSizeMax)
        provideRing(window: Int(header.windowSize))
        try Self.check(ZSTD_decompressBegin(context))
        stage = .inFrame
        return true
    }

    /// Skipped `count` bytes of a skippable frame.
    func skipped(_ count: Int) {
        guard case .skipping(let remaining) = stage else { preconditionFailure("not skipping") }
        stage = remaining == count ? .betweenFrames : .skipping(remaining - count)
    }

    /// Decodes the next step of the frame (a header, a block or the checksum) from exactly
    /// `nextInputSize` bytes; a block's bytes join the ready bytes.
    func decode(_ input: UnsafeRawBufferPointer) throws(DecoderFailure) {
        var room = 0
        if nextIsBlock {
            if nextBlockWraps {
                precondition(write == readyStart, "the ring wraps with every byte handed out")
                write = 0
                readyStart = 0
            }
            room = blockMax + Self.margin
        }
        // Headers and checksums write nothing; given no room, they leave the decoder's
        // idea of where its output continues alone.
        let produced = ZSTD_decompressContinue(context, ring! + write, room, input.baseAddress, input.count)
        try Self.check(produced)
        write += produced
        decodedBytes += Int64(produced)
        if ZSTD_nextSrcSizeToDecompress(context) == 0 { stage = .betweenFrames }
    }

    /// Whether a block would not fit between the write position and the ring's end, so
    /// that it goes at the ring's start.
    private var nextBlockWraps: Bool { write + blockMax + Self.margin > capacity }

    /// Whether the next step decodes a block (the only steps that write bytes).
    private var nextIsBlock: Bool {
        let next = ZSTD_nextInputType(context)
        return next == ZSTDnit_block || next == ZSTDnit_lastBlock
    }

    /// The next chunk to hand out, or nil when the ready bytes should grow first. With
    /// `all`, any ready bytes are handed out (at the end, before an error).
    ///
    /// Ready bytes are handed out between frames (a new frame may bring a new ring) and
    /// before a block that might not fit in the chunk or would wrap the ring. Headers and
    /// checksums are decoded first, so a frame's last chunk comes once the frame is
    /// checked, and the input offset then stands at its end.
    func takeChunk(all: Bool) -> UnsafeRawBufferPointer? {
        let ready = write - readyStart
        guard ready > 0 else { return nil }
        if !all && stage == .inFrame {
            guard nextIsBlock, ready + blockMax > chunkSize || nextBlockWraps else { return nil }
        }
        let count = min(ready, chunkSize)
        let chunk = UnsafeRawBufferPointer(start: ring! + readyStart, count: count)
        readyStart += count
        handedOut += 1
        if !retired.isEmpty { freeRetiredRings() }
        return chunk
    }

    // MARK: - The ring

    /// Makes sure the ring can hold a frame with this window; a new ring starts empty.
    private func provideRing(window: Int) {
        let kept = max(window, (chunksHeld + 1) * chunkSize) + blockMax
        let needed = ZSTD_decodingBufferSize_min(UInt64(kept), ZSTD_CONTENTSIZE_UNKNOWN)
        guard needed > capacity else { return }
        if let old = ring {
            // The chunk being handed out last from it is number handedOut - 1.
            retired.append((old, capacity, handedOut + chunksHeld))
        }
        ring = SpareRings.take(byteCount: needed) ?? LargeMemory.allocate(byteCount: needed)
        capacity = needed
        write = 0
        readyStart = 0
    }

    private func freeRetiredRings() {
        retired.removeAll { r in
            guard handedOut > r.freeAt else { return false }
            SpareRings.give(r.ring, byteCount: r.capacity)
            return true
        }
    }

    private static func check(_ result: Int) throws(DecoderFailure) {
        if ZSTD_isError(result) != 0 {
            throw DecoderFailure(message: String(cString: ZSTD_getErrorName(result)))
        }
    }
}

/// Rings of decoders that have finished, kept for the next decoder that needs one of the
/// same size: a folder of daily files opens a decoder per file, and mapping a new ring for
/// each (and having the kernel zero its huge pages) cost more than decoding small files.
/// At most `limit` bytes are kept; the rest are unmapped. The contents of a ring taken
/// again are stale, which is fine: a decoder writes before it reads.
enum SpareRings {
    static let limit = 128 << 20
    private struct Spares {
        /// Addresses as integers: a pointer is not `Sendable`, and the rings are owned here.
        var rings: [(address: Int, byteCount: Int)] = []
        var kept = 0
    }
    private static let spares = Locked(Spares())

    static func take(byteCount: Int) -> UnsafeMutableRawPointer? {
        let address = spares.withLock { s -> Int? in
            guard let i = s.rings.lastIndex(where: { $0.byteCount == byteCount }) else { return nil }
            s.kept -= byteCount
            return s.rings.remove(at: i).address
        }
        return address.flatMap { UnsafeMutableRawPointer(bitPattern: $0) }
    }

    static func give(_ ring: UnsafeMutableRawPointer, byteCount: Int) {
        let address = Int(bitPattern: ring)
        let kept = spares.withLock { s -> Bool in
            guard s.kept + byteCount <= limit else { return false }
            s.rings.append((address, byteCount))
            s.kept += byteCount
            return true
        }
        if kept { return }
        LargeMemory.deallocate(ring, byteCount: byteCount)
    }
}
