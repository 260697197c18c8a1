import CallSiftCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Atomics
import CallSiftConcurrency
import Foundation
import SystemPackage

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

/// Streams one input (a file or standard input) as decompressed chunks, whatever its
/// compression.
///
/// Memory is fixed at open: one input buffer of max(`chunkSize`, 128 KiB) (256 KiB for
/// zstd, which takes a whole compressed block at a time) and the decoder. zstd decodes in
/// place into a ring that holds the larger of its window (bounded by zstd's default limit
/// of 128 MiB, typically a few MiB) and the chunks a reader may still hold, plus two
/// blocks: about 2.5 MiB for windows up to 2 MiB, 8.3 MiB for 8 MiB (see `ZstdDecoder`).
/// lz4 and gzip decode into one output buffer of `chunkSize` and, when decoding ahead
/// (`startReadAhead`, `enableDecodeAhead`), up to 18 more, allocated as the queue first
/// fills and reused from then on.
/// Nothing grows with the size of the file, and `readChunk(_:)` allocates nothing.
///
/// Concatenated frames (zstd, lz4) and members (gzip) read as one stream. Anything after
/// the last frame that is not another frame is reported as corruption, with one exception:
/// zero bytes after a gzip member are skipped as padding, as GNU gzip does.
///
/// Errors are delivered late rather than early: when a chunk already holds decoded bytes
/// and the decoder then fails, that chunk is returned first and the error is thrown by the
/// next call, so a caller gets every byte that could be decoded before the damage.
/// After an error every further call throws it again.
///
/// - Complexity: O(n) in the input size; one `read(2)` per input buffer.
public final class InputReader {
    /// The size of the input buffer when `chunkSize` is smaller: `read(2)` of 128 KiB
    /// already costs little next to decoding.
    static let minimumInputCapacity = 128 * 1024
    /// The input buffer's size for zstd, whose steps each need a whole compressed block.
    static let zstdInputCapacity = 256 * 1024

    /// Detected from the first bytes at open, so callers can report it (and pick nothing
    /// from the file name).
    public private(set) var compression: Compression = .none

    /// Bytes of the underlying file the decoder has consumed so far (for plain inputs, the
    /// bytes returned). Read-ahead still sitting in the input buffer is not counted, so this
    /// is the position a progress display or an error message should show.
    public var compressedOffset: Int64 { ahead == nil ? decodedOffset : readAheadOffset }

    /// `compressedOffset` of the decoding itself (on the decoding-ahead side, if any).
    private var decodedOffset: Int64 { bytesRead - Int64(inputEnd - inputStart) }
    /// With read-ahead: `compressedOffset` as of the last chunk handed out.
    private var readAheadOffset: Int64 = 0
    private var ahead: DecodeAhead?

    private let name: String
    private let fd: Int32
    private let ownsDescriptor: Bool
    private let chunkSize: Int

    /// Raw file bytes; `input[inputStart..<inputEnd]` are read but not yet consumed.
    private var input = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    private var inputStart = 0
    private var inputEnd = 0
    private var bytesRead: Int64 = 0
    private var sawEndOfFile = false

    /// Decoded bytes lent out by `readChunk(_:)` for lz4 and gzip; empty for plain inputs,
    /// whose chunks are slices of `input` (no copy), and for zstd, whose chunks are slices
    /// of its decoder's ring.
    private var output = UnsafeMutableRawBufferPointer(start: nil, count: 0)
    /// The lz4 or gzip decoder.
    private var decoder: (any StreamDecoder)?
    /// The zstd decoder, which decodes in place.
    private var zstd: ZstdDecoder?
    private var isCompressed: Bool { decoder != nil || zstd != nil }

    private var isFinished = false
    /// Every byte read from the file so far (`contentFingerprint`), after those hashed
    /// before the reader began (`hashedBefore`).
    private var hasher: ContentHasher

    /// Where a frame of a compressed input (a gzip member) ended: the decoded bytes before
    /// that point, and the stored bytes, both counted from where the reader began. A
    /// reader can begin there again (`init(descriptor:name:hashedBefore:)` on a descriptor
    /// at `stored`): the next frame's first bytes say how it is compressed.
    public struct FrameEnd: Equatable, Sendable {
        public var decoded: Int64
        public var stored: Int64
        public init(decoded: Int64, stored: Int64) {
            self.decoded = decoded
            self.stored = stored
        }
    }
    /// Set before reading to have the frame ends recorded, for `takeFrameEnds`.
    public var recordsFrameEnds = false
    private var frameEnds: [FrameEnd] = []
    /// Bytes the lz4 or gzip decoder has produced (zstd counts its own).
    private var decodedByDecoder: Int64 = 0

    /// Decoded bytes lent out by `readChunk(_:)`.
    private var handedOut: Int64 = 0

    /// The frame ends passed since the last call (`recordsFrameEnds`) whose bytes have all
    /// been handed out, in order; none for a plain input, every byte of which is a place
    /// to begin again.
    public func takeFrameEnds() -> [FrameEnd] {
        let n = frameEnds.firstIndex { $0.decoded > handedOut } ?? frameEnds.count
        defer { frameEnds.removeFirst(n) }
        return Array(frameEnds.prefix(n))
    }

    private func noteFrameEnd(decoded: Int64) {
        let end = FrameEnd(decoded: decoded, stored: decodedOffset)
        if recordsFrameEnds && frameEnds.last != end { frameEnds.append(end) }
    }
    private var isClosed = false
    /// An input held in memory (`init(memory:)`): its bytes, kept alive while the reader
    /// reads them, and its fingerprint, given rather than computed.
    private var memory: MemoryInput?
    /// Thrown by the next `readChunk(_:)`: either held back behind a chunk of good bytes, or
    /// the error already thrown, thrown again.
    private var pendingError: InputError?

    /// Opens `path` ("-" = standard input) and reads just enough to detect the compression.
    ///
    /// - Parameters:
    ///   - path: The file to read; also the input's name in every `InputError`.
    ///   - chunkSize: The most bytes one `readChunk(_:)` lends. 128 KiB keeps a chunk in
    ///     cache between decoding and parsing; larger chunks were measured slower for zstd.
    /// - Throws: `InputError` at offset 0 when the file cannot be opened or read, or when
    ///   no decoder context can be created.
    public convenience init(path: String, chunkSize: Int = 128 * 1024) throws {
        if path == "-" {
            try self.init(fd: STDIN_FILENO, owned: false, name: path, chunkSize: chunkSize)
            return
        }
        let opened = open(path, O_RDONLY | O_CLOEXEC)
        if opened < 0 {
            throw InputError(input: path, offset: 0, message: "cannot open: \(Self.systemError(errno))")
        }
        #if os(Linux)
        // A hint only: a bigger kernel read-ahead for one front-to-back pass.
        _ = posix_fadvise(opened, 0, 0, POSIX_FADV_SEQUENTIAL)
        #endif
        try self.init(fd: opened, owned: true, name: path, chunkSize: chunkSize)
    }

    /// Reads the open descriptor `fd` (a pipe, say), which the reader closes, as the input
    /// named `name`. `hashedBefore`: the hash of the stored bytes before the descriptor's
    /// first (a file read on from a frame end), which `contentFingerprint` continues.
    public convenience init(
        descriptor: Int32, name: String, chunkSize: Int = 128 * 1024, hashedBefore: ContentHasher = ContentHasher()
    ) throws {
        try self.init(fd: descriptor, owned: true, name: name, chunkSize: chunkSize, hashedBefore: hashedBefore)
    }

    /// The descriptor `fd`, closed on release when `owned`.
    private init(fd: Int32, owned: Bool, name: String, chunkSize: Int, hashedBefore: ContentHasher = ContentHasher()) throws {
        precondition(chunkSize > 0, "chunkSize must be positive")
        hasher = hashedBefore
        self.name = name
        self.chunkSize = chunkSize
        self.fd = fd
        ownsDescriptor = owned
        input = .allocate(byteCount: max(chunkSize, Self.minimumInputCapacity), alignment: 64)
        do {
            try start()
        } catch {
            releaseResources()
            throw error
        }
    }

    /// Reads `memory`'s bytes as a plain (already decoded) input named `memory.name`: how
    /// `--follow` hands the records of a log read so far to a run (docs/architecture.md,
    /// "Live mode"). No file is opened and nothing is copied.
    public init(memory: MemoryInput, chunkSize: Int = 128 * 1024) {
        hasher = ContentHasher()
        name = memory.name
        self.chunkSize = chunkSize
        fd = -1
        ownsDescriptor = false
        self.memory = memory
        input = memory.view
        inputEnd = memory.count
        bytesRead = Int64(memory.count)
        sawEndOfFile = true
        compression = .none
    }

    deinit { releaseResources() }

    /// Lends the next decompressed bytes, never an empty chunk, to `body` and returns what
    /// it returns; nil at the end of the input, without calling `body`.
    ///
    /// The buffer is the reader's and is reused, so the bytes are lent for the call only:
    /// `body` must not keep the pointer, nor read the next chunk or close the reader while
    /// it runs (a precondition checks both). A chunk is at most `chunkSize` bytes and may
    /// end anywhere, even inside a UTF-8 sequence or a record.
    ///
    /// - Throws: `InputError` for a read failure, a corrupt stream (the message carries the
    ///   library's error name) or a truncated one (end of file inside a frame or member).
    ///   The offset is `compressedOffset` when the problem was found; a decoder reports
    ///   corruption at the start of the input window it was given, so the damage lies at or
    ///   after that offset, by at most one input buffer. Whatever `body` throws is rethrown.
    public func readChunk<R>(_ body: (UnsafeRawBufferPointer) throws -> R) throws -> R? {
        precondition(!isLending, "readChunk called from inside the body of readChunk")
        guard let chunk = try nextChunk() else { return nil }
        isLending = true
        defer { isLending = false }
        return try body(chunk)
    }

    /// Whether a chunk is lent to the body of `readChunk` (which must then neither read on
    /// nor close the reader).
    private var isLending = false

    /// The next decompressed bytes, never an empty chunk, or nil at the end; valid only
    /// until the next call or `close()`, which is why `readChunk` lends them to a closure
    /// instead of handing the pointer out.
    private func nextChunk() throws -> UnsafeRawBufferPointer? {
        // Decoding ahead, the producer alone touches the state below.
        if let ahead { return try ahead.next(&readAheadOffset) }
        if let pendingError { throw pendingError }
        if isFinished || isClosed { return nil }
        guard isCompressed else { return try readPlainChunk() }
        let chunk = try decodeChunk { output }
        if let chunk { handedOut += Int64(chunk.count) }
        return chunk
    }

    /// The next decoded chunk, nil at the end: zstd's in place, in its ring; lz4's and
    /// gzip's decoded into `scratch()`. Errors come late, as `readChunk` describes.
    private func decodeChunk(scratch: () -> UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer? {
        if let zstd { return try decodeZstdChunk(zstd) }
        let buffer = scratch()
        guard let n = try decode(into: buffer) else { return nil }
        return UnsafeRawBufferPointer(start: buffer.baseAddress, count: n)
    }

    /// Decodes the next bytes into `output`: their count, or nil at the end of the input.
    /// Errors come late, as `readChunk` describes.
    private func decode(into output: UnsafeMutableRawBufferPointer) throws -> Int? {
        if let pendingError { throw pendingError }
        if isFinished || isClosed { return nil }
        let decoder = decoder!
        var produced = 0
        var stalledCalls = 0
        fill: while produced < output.count {
            if inputStart == inputEnd && !sawEndOfFile {
                // What is decoded goes out before waiting for more: a log still being
                // written (`--follow`) shows its last lines now, not when more arrive.
                if produced > 0 { break fill }
                do {
                    try readMore()
                } catch {
                    pendingError = error
                    break fill
                }
            }
            let atEnd = inputStart == inputEnd && sawEndOfFile
            if atEnd && decoder.isAtFrameBoundary {
                isFinished = true
                break fill
            }
            let step: DecodeStep
            do {
                step = try decoder.decode(
                    UnsafeRawBufferPointer(start: input.baseAddress! + inputStart, count: inputEnd - inputStart),
                    into: UnsafeMutableRawBufferPointer(rebasing: output[produced...]))
            } catch {
                pendingError = corrupt(error)
                break fill
            }
            inputStart += step.consumed
            produced += step.produced
            if recordsFrameEnds && (step.consumed > 0 || step.produced > 0) && decoder.isAtFrameBoundary {
                noteFrameEnd(decoded: decodedByDecoder + Int64(produced))
            }
            if step.consumed == 0 && step.produced == 0 {
                if atEnd && !decoder.isAtFrameBoundary {
                    pendingError = truncated()
                    break fill
                }
                // With input and output room, every decoder moves forward; guard anyway,
                // as zstd does internally, so a library surprise cannot spin forever.
                stalledCalls += 1
                if stalledCalls > 16 {
                    pendingError = InputError(
                        input: name, offset: decodedOffset,
                        message: "\(compression.rawValue) decoder made no progress")
                    break fill
                }
            } else {
                stalledCalls = 0
            }
        }

        decodedByDecoder += Int64(produced)
        if produced > 0 { return produced }
        if let pendingError { throw pendingError }
        return nil
    }

    /// The fingerprint of the whole input as stored, then closes the reader. Bytes not
    /// yet read (after a corrupt block, or when reading stopped early) are read to the
    /// end and hashed without being decoded. Nil when the input cannot be read to its end.
    ///
    /// Reading a file once costs no second pass: every byte is hashed as it is read.
    public func contentFingerprint() -> ContentFingerprint? {
        precondition(!isLending, "contentFingerprint() inside the body of readChunk, which still reads the chunk lent")
        guard !isClosed else { return nil }
        if let memory {
            close()
            return memory.fingerprint
        }
        // The decoding side reads the file until it has stopped.
        ahead?.stop()
        ahead = nil
        while !sawEndOfFile {
            inputStart = inputEnd
            do { try readMore() } catch { close(); return nil }
        }
        let fingerprint = hasher.finish()
        close()
        return fingerprint
    }

    /// Closes the file (never standard input) and frees the decoder, after stopping the
    /// decoding ahead if there is any. Further reads return nil. Safe to call more than
    /// once; the reader also closes itself when released, read-ahead or not.
    public func close() {
        precondition(!isLending, "close() inside the body of readChunk, which still reads the chunk lent")
        guard !isClosed else { return }
        // The decoding side owns the decoder until it has stopped.
        ahead?.stop()
        ahead = nil
        isClosed = true
        decoder = nil
        zstd = nil
        if ownsDescriptor { closeDescriptor(fd) }
    }

    /// Decodes ahead on a thread of its own from now on, so that decompression overlaps
    /// the caller's parsing; `readChunk(_:)` then lends chunks the thread has decoded.
    /// Nothing changes for a plain input, which has nothing to decode. Chunks, errors and
    /// their order are exactly those of reading without it. (For one reader on its own; a
    /// run's inputs are decoded ahead by `InputPool`'s workers instead.)
    public func startReadAhead() {
        guard let ahead = enableDecodeAhead() else { return }
        let thread = Thread { while ahead.produce() {} }
        thread.name = "callsift decode"
        thread.start()
    }

    /// Decodes ahead from now on, driven by someone else: each `DecodeAhead.produce()`
    /// decodes one chunk into a queue of `DecodeAhead.depth`, from which `readChunk(_:)` lends them
    /// (waiting when the queue is empty). A pool of workers serving many inputs drives it
    /// (`InputPool`). Returns the queue, or nil for a plain input, which has nothing to
    /// decode, or one already closed or finished.
    @discardableResult
    package func enableDecodeAhead() -> DecodeAhead? {
        guard isCompressed, ahead == nil, !isClosed, !isFinished else { return nil }
        readAheadOffset = decodedOffset
        // The queue must not keep the reader alive: a reader dropped without `close()`
        // while its producer waits for room would never be released, nor its file closed.
        // So it holds the reader unowned(unsafe), which is sound because the reader's
        // deinit (`releaseResources`, then `close`) stops the producer and waits for it
        // before any of the reader's state goes away.
        let ahead = DecodeAhead(chunkSize: chunkSize) { [unowned(unsafe) self] scratch in
            try self.decodeChunk(scratch: scratch)
        } offset: { [unowned(unsafe) self] in
            self.decodedOffset
        }
        self.ahead = ahead
        return ahead
    }

    // MARK: - zstd, in place

    /// A chunk of the zstd decoder's ring: steps are decoded until the decoder has one to
    /// hand out. An error is held back behind the bytes decoded before it.
    private func decodeZstdChunk(_ zstd: ZstdDecoder) throws -> UnsafeRawBufferPointer? {
        while true {
            if let chunk = zstd.takeChunk(all: pendingError != nil || isFinished) { return chunk }
            if let pendingError { throw pendingError }
            if isFinished || isClosed { return nil }
            do {
                try stepZstd(zstd)
            } catch {
                pendingError = error
            }
        }
    }

    /// One step: a frame header, a stretch of a skippable frame, or one of a frame's
    /// headers, blocks or checksum, each given exactly the bytes it needs.
    private func stepZstd(_ zstd: ZstdDecoder) throws(InputError) {
        switch zstd.stage {
        case .betweenFrames:
            let available = try buffered(atLeast: ZstdDecoder.frameHeaderSizeMax)
            if available == 0 {
                isFinished = true
                return
            }
            let begun: Bool
            do { begun = try zstd.beginFrame(unconsumed(available)) } catch { throw corrupt(error) }
            if !begun { throw truncated() }
        case .skipping(let remaining):
            let available = try buffered(atLeast: 1)
            if available == 0 { throw truncated() }
            let count = min(remaining, available)
            inputStart += count
            zstd.skipped(count)
            if zstd.stage == .betweenFrames { noteFrameEnd(decoded: zstd.decodedBytes) }
        case .inFrame:
            let size = zstd.nextInputSize
            guard try buffered(atLeast: size) >= size else { throw truncated() }
            do { try zstd.decode(unconsumed(size)) } catch { throw corrupt(error) }
            inputStart += size
            if zstd.stage == .betweenFrames { noteFrameEnd(decoded: zstd.decodedBytes) }
        }
    }

    /// The decoder's complaint, at the start of the input it was given.
    private func corrupt(_ failure: DecoderFailure) -> InputError {
        InputError(input: name, offset: decodedOffset, message: "corrupt \(compression.rawValue) stream (\(failure.message))")
    }

    /// The input ends inside a frame or member: reported at the end of the input, all of
    /// it read.
    private func truncated() -> InputError {
        inputStart = inputEnd
        return InputError(
            input: name, offset: decodedOffset,
            message: "truncated \(compression.rawValue) stream: the input ends inside a \(frameWord)")
    }

    /// The next `count` unconsumed input bytes.
    private func unconsumed(_ count: Int) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(start: input.baseAddress! + inputStart, count: count)
    }

    /// Reads until at least `count` unconsumed bytes sit together in `input`, or the file
    /// ends; returns how many there are. The unconsumed bytes move to the buffer's front
    /// when there is no room behind them.
    private func buffered(atLeast count: Int) throws(InputError) -> Int {
        precondition(count <= input.count, "a zstd step never needs more than the input buffer")
        while inputEnd - inputStart < count && !sawEndOfFile {
            if input.count - inputStart < count {
                let kept = inputEnd - inputStart
                memmove(input.baseAddress!, input.baseAddress! + inputStart, kept)
                inputStart = 0
                inputEnd = kept
            }
            try readMore()
        }
        return inputEnd - inputStart
    }

    // MARK: - Rare paths

    /// Reads the magic bytes and sets up the decoder. The bytes read stay in `input`, so
    /// detection works on pipes, which cannot seek back.
    private func start() throws {
        while inputEnd < Compression.magicLength && !sawEndOfFile {
            try readMore()
        }
        compression = Compression.detect(magic: UnsafeRawBufferPointer(start: input.baseAddress!, count: inputEnd))
        do {
            switch compression {
            case .none: decoder = nil
            case .zstd: zstd = try ZstdDecoder(chunkSize: chunkSize, chunksHeld: DecodeAhead.chunksHeld)
            case .lz4: decoder = try LZ4Decoder()
            case .gzip: decoder = try GzipDecoder()
            }
        } catch {
            throw InputError(input: name, offset: 0, message: error.message)
        }
        if decoder != nil {
            output = .allocate(byteCount: chunkSize, alignment: 64)
        }
        if zstd != nil, input.count < Self.zstdInputCapacity {
            // A zstd step takes a whole compressed block (up to 128 KiB and its header).
            let larger = UnsafeMutableRawBufferPointer.allocate(byteCount: Self.zstdInputCapacity, alignment: 64)
            larger.copyMemory(from: UnsafeRawBufferPointer(rebasing: input[inputStart..<inputEnd]))
            input.deallocate()
            input = larger
            inputEnd -= inputStart
            inputStart = 0
        }
    }

    /// Plain inputs need no copy: the chunk is a slice of the input buffer.
    private func readPlainChunk() throws -> UnsafeRawBufferPointer? {
        if inputStart == inputEnd {
            if sawEndOfFile {
                isFinished = true
                return nil
            }
            do {
                try readMore()
            } catch {
                pendingError = error
                throw error
            }
            if inputStart == inputEnd {
                isFinished = true
                return nil
            }
        }
        let count = min(inputEnd - inputStart, chunkSize)
        let chunk = UnsafeRawBufferPointer(start: input.baseAddress! + inputStart, count: count)
        inputStart += count
        return chunk
    }

    /// One successful `read(2)` into the free end of `input` (restarting after signals);
    /// sets `sawEndOfFile` when it returns 0. When everything buffered is consumed the
    /// buffer starts over from the front, so a read is never starved of room.
    @inline(never)
    private func readMore() throws(InputError) {
        if inputStart == inputEnd {
            inputStart = 0
            inputEnd = 0
        }
        let room = input.count - inputEnd
        precondition(room > 0, "readMore called with a full input buffer")
        let count: Int
        do {
            count = try FileDescriptor(rawValue: fd).read(
                into: UnsafeMutableRawBufferPointer(start: input.baseAddress! + inputEnd, count: room), retryOnInterrupt: true)
        } catch {
            let code = (error as? Errno)?.rawValue ?? EIO
            throw InputError(input: name, offset: decodedOffset, message: "read failed: \(Self.systemError(code))")
        }
        if count == 0 {
            sawEndOfFile = true
            return
        }
        hasher.update(UnsafeRawBufferPointer(start: input.baseAddress! + inputEnd, count: count))
        inputEnd += count
        bytesRead += Int64(count)
    }

    private var frameWord: String { compression == .gzip ? "member" : "frame" }

    private func releaseResources() {
        close()
        if memory != nil {
            input = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        } else if input.baseAddress != nil {
            input.deallocate()
            input = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }
        if output.baseAddress != nil {
            output.deallocate()
            output = UnsafeMutableRawBufferPointer(start: nil, count: 0)
        }
    }

    private static func systemError(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Decoding ahead of the parser: chunks decoded by one side (`produce`, a pool worker or
/// the thread of `InputReader.startReadAhead`) wait in a queue of `depth` for the other
/// (`next`, the parser), and emptied chunks come back for reuse, so memory stays at a few
/// chunks and nothing is allocated per chunk in steady state.
///
/// It has no thread of its own. At most one `produce` runs at a time and at most one
/// `next`, each possibly on a different thread from call to call; the two sides meet only
/// under `lock`, which also orders one call's work before the next call's on another
/// thread.
/// `@unchecked Sendable`: its queue and chunks are touched only under `lock` (above).
package final class DecodeAhead: @unchecked Sendable {
    final class Chunk {
        /// The decoded bytes: in `storage`, or (zstd) in the decoder's ring.
        var bytes = UnsafeRawBufferPointer(start: nil, count: 0)
        var error: Error?
        /// The reader's `compressedOffset` once this chunk was decoded.
        var offset: Int64 = 0
        /// A buffer of the chunk's own, for decoders that decode into one (lz4, gzip).
        private var storage: UnsafeMutableRawBufferPointer?
        func buffer(size: Int) -> UnsafeMutableRawBufferPointer {
            if let storage { return storage }
            let new = UnsafeMutableRawBufferPointer.allocate(byteCount: size, alignment: 64)
            storage = new
            return new
        }
        deinit { storage?.deallocate() }
    }

    /// Decoded chunks that may wait for the parser: 2 MiB of text, enough for decoding to
    /// run on while the parser is busy, and small enough that the dozens of inputs a
    /// folder of daily files keeps open at once cost little each.
    package static let depth = 16
    /// Chunks handed out before the one being decoded that the reader may still be
    /// reading: every chunk waiting in the queue and the one the caller holds. A chunk
    /// decoded in place (zstd) must not overwrite them.
    static let chunksHeld = depth + 1

    private let lock = NSCondition()
    // Under `lock`:
    private var ready: [Chunk] = []
    private var readyStart = 0
    private var vacant: [Chunk] = []
    /// No chunk will be added after those in `ready`.
    private var closed = false
    private var producing = false
    private var stopped = false

    // The consumer's own (`next`):
    /// The chunk the caller is reading, given back on the next call.
    private var current: Chunk?
    private var ended = false
    /// Thrown again by every call after the first that threw it.
    private var failure: Error?

    private let chunkSize: Int
    private let decode: (() -> UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer?
    private let offset: () -> Int64

    /// `decode` returns the next chunk's bytes (nil at the end, errors thrown), decoding
    /// into the buffer it is given if it needs one; `offset` tells where in the input it
    /// stands. Both are called by `produce` only.
    init(
        chunkSize: Int, decode: @escaping (() -> UnsafeMutableRawBufferPointer) throws -> UnsafeRawBufferPointer?,
        offset: @escaping () -> Int64
    ) {
        self.chunkSize = chunkSize
        self.decode = decode
        self.offset = offset
        ready.reserveCapacity(Self.depth)
    }

    /// Chunks waiting for the parser, and whether none will follow them: what a pool
    /// schedules the two sides by.
    package var status: (queued: Int, ended: Bool) {
        lock.lock()
        defer { lock.unlock() }
        return (ready.count - readyStart, closed || stopped)
    }

    /// Decodes one chunk into the queue, waiting for room if it is full. Returns false
    /// once no chunk will follow (the end, an error, or `stop`).
    @discardableResult
    package func produce() -> Bool {
        lock.lock()
        while !stopped && !closed && ready.count - readyStart >= Self.depth { lock.wait() }
        if stopped || closed {
            lock.unlock()
            return false
        }
        producing = true
        let chunk = vacant.popLast() ?? Chunk()
        lock.unlock()

        var more = true
        do {
            if let bytes = try decode({ chunk.buffer(size: chunkSize) }) {
                chunk.bytes = bytes
            } else {
                more = false
            }
        } catch {
            chunk.error = error
            more = false
        }
        chunk.offset = offset()

        lock.lock()
        producing = false
        if chunk.error != nil || more { ready.append(chunk) } else { vacant.append(chunk) }
        if !more { closed = true }
        lock.broadcast()
        lock.unlock()
        return more
    }

    /// The next decoded chunk (valid until the next call), nil at the end; throws where
    /// reading without read-ahead would have thrown. Sets `offset` to the chunk's offset.
    /// Waits while the queue is empty and more is to come.
    func next(_ offset: inout Int64) throws -> UnsafeRawBufferPointer? {
        if let failure { throw failure }
        if ended { return nil }
        lock.lock()
        if let c = current {
            vacant.append(c)
            current = nil
            lock.broadcast()
        }
        while readyStart == ready.count && !closed && !stopped { lock.wait() }
        guard readyStart < ready.count else {
            lock.unlock()
            ended = true
            return nil
        }
        let chunk = ready[readyStart]
        readyStart += 1
        if readyStart == ready.count {
            ready.removeAll(keepingCapacity: true)
            readyStart = 0
        }
        lock.broadcast()
        lock.unlock()
        offset = chunk.offset
        if let error = chunk.error {
            failure = error
            throw error
        }
        current = chunk
        return chunk.bytes
    }

    /// No more chunks are decoded; waits for one being decoded, since the producer owns
    /// the decoder until it has finished.
    func stop() {
        lock.lock()
        stopped = true
        lock.broadcast()
        while producing { lock.wait() }
        lock.unlock()
    }
}

/// Outside the class, where `close` is not the method.
private func closeDescriptor(_ fd: Int32) {
    _ = close(fd)
}

/// A reader lends pointers into buffers it reuses, so it belongs to one thread at a time;
/// move the chunks' contents across threads, not the reader.
@available(*, unavailable)
extension InputReader: Sendable {}

/// Bytes held in memory that a run reads as one plain input (`InputReader.init(memory:)`),
/// with the fingerprint its report shows for them. Immutable once made.
/// `@unchecked Sendable`: its bytes are written once, in `init`, and only read after.
public final class MemoryInput: @unchecked Sendable {
    public let name: String
    /// The allocation (at least a byte), of which the first `count` bytes are the input's.
    private let storage: UnsafeMutableRawBufferPointer
    public let count: Int
    public let fingerprint: ContentFingerprint

    var view: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(rebasing: storage[0..<count]) }

    /// A copy of `bytes`; `fingerprint` nil to compute it from them.
    public init(name: String, bytes: UnsafeRawBufferPointer, fingerprint: ContentFingerprint? = nil) {
        self.name = name
        storage = .allocate(byteCount: max(bytes.count, 1), alignment: 64)
        count = bytes.count
        if bytes.count > 0 { storage.copyMemory(from: bytes) }
        if let fingerprint {
            self.fingerprint = fingerprint
        } else {
            var h = ContentHasher()
            h.update(bytes)
            self.fingerprint = h.finish()
        }
    }

    deinit { storage.deallocate() }
}
