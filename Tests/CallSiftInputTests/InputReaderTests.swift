import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput

// MARK: - Shared helpers (also used by ByteSinkTests)

/// A scratch directory removed at the end of each test, so parallel tests never collide.
struct ScratchDirectory: ~Copyable {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-input-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}

enum InputSamples {
    /// Text that compresses like a real event log (repeated field names, varied digits) but
    /// is deterministic, so a failure reproduces.
    static func text(bytes: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        func next() -> UInt64 {
            // xorshift64: enough variety for compressors, no Foundation randomness.
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        let words: [[UInt8]] = [
            "queue", "agent", "ANSWERED", "ABANDONED", "transfer", "centre-north",
            "centre-south", "+4420", "callback", "hangup",
        ].map { Array($0.utf8) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes + 128)
        while out.count < bytes {
            let r = next()
            out.append(contentsOf: words[Int(r % UInt64(words.count))])
            out.append(UInt8(ascii: ","))
            var digits = (r >> 8) % 1_000_000
            for _ in 0..<6 { out.append(UInt8(ascii: "0") + UInt8(digits % 10)); digits /= 10 }
            out.append((r >> 40) % 5 == 0 ? UInt8(ascii: "\n") : UInt8(ascii: ","))
        }
        out.removeLast(out.count - bytes)
        return out
    }

    /// 4 MiB: several input buffers and many output chunks in every format.
    static let large = text(bytes: 4 << 20, seed: 0x5EED_CA11)
    static let small = text(bytes: 20_000, seed: 42)

    /// Writes through a sink in pieces of varying size (tiny, medium, and larger than the
    /// staging buffer), so the buffered and the direct write paths both run.
    static func write(_ data: [UInt8], to path: String, as compression: Compression, level: Int32 = 3) throws {
        let sink = try makeByteSink(path: path, compression: compression, level: level)
        let pieces = [1, 17, 4096, 300_000, 65_536, 3]
        var offset = 0, index = 0
        try data.withUnsafeBytes { all in
            while offset < all.count {
                let count = min(pieces[index % pieces.count], all.count - offset)
                try sink.write(UnsafeRawBufferPointer(rebasing: all[offset..<offset + count]))
                offset += count; index += 1
            }
        }
        try sink.finish()
    }

    static func bytes(of path: String) throws -> [UInt8] {
        Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    static func store(_ bytes: [UInt8], at path: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }
}

/// Everything a reader delivered, and the error that stopped it, if any.
struct ReadOutcome {
    var bytes: [UInt8] = []
    var error: InputError?
    var compression: Compression = .none
    var chunkCount = 0
    var finalOffset: Int64 = 0
}

func readAll(_ path: String, chunkSize: Int = 128 * 1024, readAhead: Bool = false) throws -> ReadOutcome {
    let reader = try InputReader(path: path, chunkSize: chunkSize)
    defer { reader.close() }
    if readAhead { reader.startReadAhead() }
    var outcome = ReadOutcome(compression: reader.compression)
    do {
        while try reader.readChunk({ (chunk) -> Void in
            #expect(chunk.count > 0 && chunk.count <= chunkSize)
            outcome.bytes.append(contentsOf: chunk)
            outcome.chunkCount += 1
        }) != nil {}
    } catch let error as InputError {
        outcome.error = error
    }
    outcome.finalOffset = reader.compressedOffset
    return outcome
}

let compressedFormats: [Compression] = [.zstd, .lz4, .gzip]

// MARK: - Tests

@Suite struct InputReaderTests {
    @Test(arguments: Compression.allCases, [4096 + 7, 128 * 1024, 1 << 20])
    func roundTripsSeveralMegabytes(compression: Compression, chunkSize: Int) throws {
        let dir = try ScratchDirectory()
        let path = dir.path("data")
        try InputSamples.write(InputSamples.large, to: path, as: compression)
        let outcome = try readAll(path, chunkSize: chunkSize)
        #expect(outcome.error == nil)
        #expect(outcome.compression == compression)
        #expect(outcome.bytes == InputSamples.large)
        #expect(outcome.finalOffset == Int64(try InputSamples.bytes(of: path).count))
        if compression != .none {
            #expect(try InputSamples.bytes(of: path).count < InputSamples.large.count / 2, "the sample should compress")
        }
    }

    @Test(arguments: Compression.allCases, [1, 7, 1000])
    func tinyChunksStillDeliverEveryByte(compression: Compression, chunkSize: Int) throws {
        let dir = try ScratchDirectory()
        let path = dir.path("data")
        try InputSamples.write(InputSamples.small, to: path, as: compression)
        let outcome = try readAll(path, chunkSize: chunkSize)
        #expect(outcome.error == nil)
        #expect(outcome.bytes == InputSamples.small)
        #expect(outcome.chunkCount >= InputSamples.small.count / chunkSize)
    }

    @Test func detectsByMagicBytesNotByName() throws {
        let dir = try ScratchDirectory()
        let misnamed: [(String, Compression)] = [("x.gz", .zstd), ("x.csv", .gzip), ("x.zst", .lz4), ("x.lz4", .none)]
        for (name, compression) in misnamed {
            let path = dir.path(name)
            try InputSamples.write(InputSamples.small, to: path, as: compression)
            let outcome = try readAll(path)
            #expect(outcome.compression == compression, "\(name)")
            #expect(outcome.error == nil)
            #expect(outcome.bytes == InputSamples.small)
        }
    }

    @Test func magicTable() {
        func detect(_ bytes: [UInt8]) -> Compression {
            bytes.withUnsafeBytes { Compression.detect(magic: $0) }
        }
        #expect(detect([0x28, 0xB5, 0x2F, 0xFD]) == .zstd)
        #expect(detect([0x50, 0x2A, 0x4D, 0x18]) == .zstd)
        #expect(detect([0x5F, 0x2A, 0x4D, 0x18]) == .zstd)
        #expect(detect([0x60, 0x2A, 0x4D, 0x18]) == .none)
        #expect(detect([0x04, 0x22, 0x4D, 0x18]) == .lz4)
        #expect(detect([0x1F, 0x8B, 0x08, 0x00]) == .gzip)
        #expect(detect([0x1F, 0x8B]) == .gzip)
        #expect(detect([0x28, 0xB5, 0x2F]) == .none)
        #expect(detect(Array("ts,centre\n".utf8)) == .none)
        #expect(detect([]) == .none)
    }

    @Test func zstdSkippableFrameIsDetectedAndSkipped() throws {
        let dir = try ScratchDirectory()
        let framePath = dir.path("frame")
        try InputSamples.write(InputSamples.small, to: framePath, as: .zstd)
        // A skippable frame: magic 0x184D2A53, 4-byte little-endian length, then payload.
        let payload = Array("metadata nobody reads".utf8)
        let skippable: [UInt8] = [0x53, 0x2A, 0x4D, 0x18, UInt8(payload.count), 0, 0, 0] + payload
        let path = dir.path("skippable")
        try InputSamples.store(skippable + InputSamples.bytes(of: framePath), at: path)
        let outcome = try readAll(path)
        #expect(outcome.compression == .zstd)
        #expect(outcome.error == nil)
        #expect(outcome.bytes == InputSamples.small)
    }

    /// Each frame's end is recorded where it lies in both the decoded and the stored bytes
    /// (an empty frame's too, where nothing was decoded), and a reader begun at one, given
    /// the hash of the bytes before it, reads the rest and fingerprints the whole file.
    @Test(arguments: compressedFormats)
    func frameEndsArePlacesToBeginAgain(compression: Compression) throws {
        let dir = try ScratchDirectory()
        let pieces = [
            InputSamples.text(bytes: 300_000, seed: 1), [], InputSamples.text(bytes: 200_001, seed: 2),
            InputSamples.text(bytes: 5, seed: 3),
        ]
        var stored: [[UInt8]] = []
        for (i, p) in pieces.enumerated() {
            try InputSamples.write(p, to: dir.path("\(i)"), as: compression)
            stored.append(try InputSamples.bytes(of: dir.path("\(i)")))
        }
        let joined = stored.flatMap { $0 }
        try InputSamples.store(joined, at: dir.path("joined"))
        var expected: [InputReader.FrameEnd] = []
        var d: Int64 = 0, s: Int64 = 0
        for (p, b) in zip(pieces, stored) {
            d += Int64(p.count)
            s += Int64(b.count)
            expected.append(InputReader.FrameEnd(decoded: d, stored: s))
        }
        for chunkSize in [1000, 128 * 1024] {
            let reader = try InputReader(path: dir.path("joined"), chunkSize: chunkSize)
            reader.recordsFrameEnds = true
            var ends: [InputReader.FrameEnd] = []
            var decoded: [UInt8] = []
            while let chunk = try reader.readChunk({ Array($0) }) {
                decoded += chunk
                ends += reader.takeFrameEnds()
                // A frame end is never ahead of the bytes handed out with it or before.
                #expect(ends.allSatisfy { $0.decoded <= Int64(decoded.count) })
            }
            ends += reader.takeFrameEnds()
            #expect(decoded == pieces.flatMap { $0 })
            #expect(ends == expected, "\(compression), chunks of \(chunkSize)")
        }
        let whole = try #require(try InputReader(path: dir.path("joined")).contentFingerprint())
        for end in expected.dropLast() {
            let fd = open(dir.path("joined"), O_RDONLY)
            #expect(lseek(fd, off_t(end.stored), SEEK_SET) == off_t(end.stored))
            var before = ContentHasher()
            joined.withUnsafeBytes { before.update(UnsafeRawBufferPointer(rebasing: $0[0..<Int(end.stored)])) }
            let reader = try InputReader(descriptor: fd, name: "rest", hashedBefore: before)
            var rest: [UInt8] = []
            while try reader.readChunk({ rest += $0 }) != nil {}
            #expect(rest == Array(pieces.flatMap { $0 }[Int(end.decoded)...]))
            #expect(reader.contentFingerprint() == whole)
        }
    }

    @Test(arguments: compressedFormats)
    func concatenatedFramesReadAsOneStream(compression: Compression) throws {
        let dir = try ScratchDirectory()
        let first = InputSamples.text(bytes: 300_000, seed: 1)
        let second = InputSamples.text(bytes: 200_001, seed: 2)
        try InputSamples.write(first, to: dir.path("a"), as: compression)
        try InputSamples.write([], to: dir.path("empty"), as: compression)
        try InputSamples.write(second, to: dir.path("b"), as: compression)
        // An empty frame in the middle must neither end the stream nor produce a chunk.
        let joined =
            try InputSamples.bytes(of: dir.path("a")) + InputSamples.bytes(of: dir.path("empty"))
            + InputSamples.bytes(of: dir.path("b"))
        try InputSamples.store(joined, at: dir.path("joined"))
        for chunkSize in [1000, 128 * 1024] {
            let outcome = try readAll(dir.path("joined"), chunkSize: chunkSize)
            #expect(outcome.error == nil)
            #expect(outcome.compression == compression)
            #expect(outcome.bytes == first + second)
            #expect(outcome.finalOffset == Int64(joined.count))
        }
    }

    @Test(arguments: compressedFormats)
    func truncatedStreamThrowsAfterDeliveringAPrefix(compression: Compression) throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.large, to: dir.path("whole"), as: compression)
        let whole = try InputSamples.bytes(of: dir.path("whole"))
        // Inside the header, in the middle, and one byte short of the trailer/checksum.
        for cut in [6, whole.count / 2, whole.count - 1] {
            let path = dir.path("cut-\(cut)")
            try InputSamples.store(Array(whole[..<cut]), at: path)
            let outcome = try readAll(path, chunkSize: 64 * 1024)
            let error = try #require(outcome.error, "cut at \(cut) must fail")
            #expect(error.offset > 0 && error.offset <= Int64(cut))
            #expect(error.input == path)
            #expect(error.message.contains("truncated"), "\(error)")
            #expect(outcome.bytes.count <= InputSamples.large.count)
            #expect(outcome.bytes[...] == InputSamples.large[..<outcome.bytes.count], "delivered bytes must be a prefix")
            if cut == whole.count / 2 {
                #expect(outcome.bytes.count > InputSamples.large.count / 4, "most decodable bytes should arrive")
            }
        }
    }

    @Test(arguments: compressedFormats)
    func corruptedStreamThrows(compression: Compression) throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.large, to: dir.path("whole"), as: compression)
        var bytes = try InputSamples.bytes(of: dir.path("whole"))
        for i in bytes.count / 2..<bytes.count / 2 + 16 { bytes[i] ^= 0x5A }
        try InputSamples.store(bytes, at: dir.path("bad"))
        let outcome = try readAll(dir.path("bad"))
        let error = try #require(outcome.error)
        #expect(error.offset > 0)
        #expect(error.offset <= Int64(bytes.count))
        // Damage is caught by the decoder or, at the latest, by the frame's checksum.
        #expect(error.message.contains("corrupt"), "\(error)")
        // zstd hands out each block once it is decoded, so here, where the damage breaks a
        // block's encoding, what arrives is the start of the original: every block before
        // the damaged one. (gzip can hand out damaged bytes before its checksum finds them.)
        if compression == .zstd {
            let isPrefix = outcome.bytes[...] == InputSamples.large[..<min(outcome.bytes.count, InputSamples.large.count)]
            #expect(isPrefix, "delivered bytes must be a prefix (\(outcome.bytes.count) bytes)")
            #expect(outcome.bytes.count > InputSamples.large.count / 4, "\(outcome.bytes.count) bytes")
        }
    }

    /// Decoding on a thread of its own hands out the same chunks, the same error at the
    /// same offset, and the same final offset: whole, concatenated, truncated and
    /// corrupted streams of every compressed format.
    @Test(arguments: compressedFormats)
    func readAheadDeliversExactlyWhatReadingInlineDoes(compression: Compression) throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.large, to: dir.path("whole"), as: compression)
        let whole = try InputSamples.bytes(of: dir.path("whole"))
        var corrupt = whole
        for i in whole.count / 2..<whole.count / 2 + 16 { corrupt[i] ^= 0x5A }
        let variants: [(String, [UInt8])] = [
            ("whole", whole), ("twice", whole + whole),
            ("cut", Array(whole[..<(whole.count / 2)])), ("corrupt", corrupt),
        ]
        for (name, bytes) in variants {
            let path = dir.path("v-\(name)")
            try InputSamples.store(bytes, at: path)
            for chunkSize in [4096 + 7, 128 * 1024] {
                let inline = try readAll(path, chunkSize: chunkSize)
                let ahead = try readAll(path, chunkSize: chunkSize, readAhead: true)
                #expect(ahead.bytes == inline.bytes, "\(name)")
                #expect(ahead.chunkCount == inline.chunkCount, "\(name)")
                #expect(ahead.error?.description == inline.error?.description, "\(name)")
                #expect(ahead.finalOffset == inline.finalOffset, "\(name)")
            }
        }
    }

    /// Closing in the middle stops the decoding thread (the test would hang otherwise),
    /// and the reader is then at its end.
    @Test func closingStopsReadAhead() throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.large, to: dir.path("z"), as: .zstd)
        for _ in 0..<20 {
            let reader = try InputReader(path: dir.path("z"), chunkSize: 4096)
            reader.startReadAhead()
            #expect(try reader.readChunk { _ in } != nil)
            reader.close()
            #expect(try reader.readChunk { _ in } == nil)
        }
    }

    /// A reader dropped without `close()` while its decoding thread waits for room in a
    /// full ring is released: its thread stops and its file is closed. (The thread once
    /// held the reader, so neither was ever released, and the descriptor stayed open.)
    @Test(arguments: [Compression.zstd, .gzip])
    func droppedReaderStopsItsThreadAndClosesItsFile(_ compression: Compression) throws {
        let dir = try ScratchDirectory()
        let path = dir.path("big")
        // Far more than the read-ahead ring holds (64 chunks of 4 KiB here).
        try InputSamples.write(InputSamples.text(bytes: 4 << 20, seed: 5), to: path, as: compression)
        /// Descriptors of this process open on `path`.
        func descriptors() throws -> Int {
            try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").filter {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)) == path
            }.count
        }
        weak var released: InputReader?
        do {
            let reader = try InputReader(path: path, chunkSize: 4096)
            reader.startReadAhead()
            #expect(try reader.readChunk { _ in } != nil)
            released = reader
            #expect(try descriptors() == 1)
            // Let the thread fill the ring and wait for room (the case that leaked).
            Thread.sleep(forTimeInterval: 0.2)
        }
        #expect(released == nil)
        #expect(try descriptors() == 0)
    }

    @Test func zstdErrorNamesTheLibraryError() throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.small, to: dir.path("z"), as: .zstd)
        let garbage = try InputSamples.bytes(of: dir.path("z")) + Array("not a frame".utf8)
        try InputSamples.store(garbage, at: dir.path("garbage"))
        let outcome = try readAll(dir.path("garbage"))
        // Trailing garbage is an error, but only after all good bytes were delivered.
        #expect(outcome.bytes == InputSamples.small)
        let error = try #require(outcome.error)
        #expect(error.message.contains("Unknown frame descriptor"), "\(error)")
        #expect(error.offset == Int64(garbage.count - "not a frame".utf8.count))
    }

    @Test func gzipZeroPaddingIsTolerated() throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.small, to: dir.path("g"), as: .gzip)
        let member = try InputSamples.bytes(of: dir.path("g"))
        try InputSamples.store(member + [UInt8](repeating: 0, count: 4096), at: dir.path("padded"))
        let padded = try readAll(dir.path("padded"), chunkSize: 1000)
        #expect(padded.error == nil)
        #expect(padded.bytes == InputSamples.small)

        // Something other than zeros after the padding is still an error, located exactly.
        try InputSamples.store(member + [0, 0, 0, 7], at: dir.path("junk"))
        let junk = try readAll(dir.path("junk"))
        #expect(junk.bytes == InputSamples.small)
        #expect(junk.error?.offset == Int64(member.count + 3))

        // And a non-gzip byte right after a member is a bad header, not padding.
        try InputSamples.store(member + Array("xyz".utf8), at: dir.path("trailing"))
        let trailing = try readAll(dir.path("trailing"))
        #expect(trailing.bytes == InputSamples.small)
        #expect(trailing.error?.message.contains("Z_DATA_ERROR") == true)
    }

    @Test(arguments: [Compression.zstd, .lz4])
    func zeroPaddingAfterFramesIsAnError(compression: Compression) throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.small, to: dir.path("f"), as: compression)
        try InputSamples.store(try InputSamples.bytes(of: dir.path("f")) + [0, 0, 0, 0, 0, 0, 0, 0], at: dir.path("padded"))
        let outcome = try readAll(dir.path("padded"))
        #expect(outcome.bytes == InputSamples.small)
        #expect(outcome.error != nil)
    }

    @Test func errorsRepeatAndEndStaysEnded() throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.small, to: dir.path("z"), as: .zstd)
        let whole = try InputSamples.bytes(of: dir.path("z"))
        try InputSamples.store(Array(whole[..<(whole.count / 2)]), at: dir.path("cut"))
        let reader = try InputReader(path: dir.path("cut"))
        var caught = 0
        for _ in 0..<10 {
            do { _ = try reader.readChunk { _ in } } catch is InputError { caught += 1 }
        }
        #expect(caught >= 9)

        try InputSamples.store(Array("a,b\n".utf8), at: dir.path("plain"))
        let plain = try InputReader(path: dir.path("plain"))
        #expect(try plain.readChunk { $0.count } == 4)
        #expect(try plain.readChunk { $0.count } == nil)
        #expect(try plain.readChunk { _ in Issue.record("a chunk lent after the end") } == nil)
        plain.close()
        plain.close()
    }

    @Test func plainAndEmptyFiles() throws {
        let dir = try ScratchDirectory()
        try InputSamples.store([], at: dir.path("empty"))
        let empty = try readAll(dir.path("empty"))
        #expect(empty.compression == .none)
        #expect(empty.error == nil)
        #expect(empty.chunkCount == 0)
        #expect(empty.finalOffset == 0)

        for text in ["x", "ab", "abc", "ts,centre,call\n1,2,3\n"] {
            try InputSamples.store(Array(text.utf8), at: dir.path("short"))
            let outcome = try readAll(dir.path("short"))
            #expect(outcome.compression == .none)
            #expect(outcome.bytes == Array(text.utf8))
        }

        try InputSamples.store(InputSamples.large, at: dir.path("plain"))
        let plain = try readAll(dir.path("plain"), chunkSize: 100_000)
        #expect(plain.bytes == InputSamples.large)
        #expect(plain.finalOffset == Int64(InputSamples.large.count))
    }

    @Test func compressedOffsetAdvances() throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.large, to: dir.path("z"), as: .zstd)
        let reader = try InputReader(path: dir.path("z"), chunkSize: 64 * 1024)
        var last: Int64 = 0
        while try reader.readChunk({ _ in }) != nil {
            #expect(reader.compressedOffset >= last)
            last = reader.compressedOffset
        }
        #expect(last == Int64(try InputSamples.bytes(of: dir.path("z")).count))
    }

    /// "-" reads standard input, here a pipe fed in tiny pieces: detection must gather the
    /// magic bytes across short reads, and nothing may seek.
    @Test func standardInputPipeInSmallPieces() throws {
        let dir = try ScratchDirectory()
        try InputSamples.write(InputSamples.small, to: dir.path("z"), as: .zstd)
        let compressed = try InputSamples.bytes(of: dir.path("z"))
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let savedStdin = dup(STDIN_FILENO)
        try #require(savedStdin >= 0 && dup2(ends[0], STDIN_FILENO) >= 0)
        defer {
            _ = dup2(savedStdin, STDIN_FILENO)
            _ = close(savedStdin)
            _ = close(ends[0])
        }
        let writeEnd = ends[1]
        let writer = Thread {
            compressed.withUnsafeBytes { all in
                var offset = 0
                for piece in [1, 1, 1, 5, 1000] + Array(repeating: 4096, count: all.count / 4096 + 1) {
                    let count = min(piece, all.count - offset)
                    if count <= 0 { break }
                    _ = write(writeEnd, all.baseAddress! + offset, count)
                    offset += count
                    usleep(200)
                }
            }
            _ = close(writeEnd)
        }
        writer.start()
        let outcome = try readAll("-", chunkSize: 3000)
        #expect(outcome.compression == .zstd)
        #expect(outcome.error == nil)
        #expect(outcome.bytes == InputSamples.small)
        #expect(outcome.finalOffset == Int64(compressed.count))
    }

    @Test func missingFileFailsAtOffsetZero() throws {
        let dir = try ScratchDirectory()
        let path = dir.path("does-not-exist.csv.zst")
        let error = try #require(throws: InputError.self) { try InputReader(path: path) }
        #expect(error.input == path)
        #expect(error.offset == 0)
        #expect(error.description.contains("No such file"))
    }

    @Test func directoryFailsToRead() throws {
        let dir = try ScratchDirectory()
        let error = try #require(throws: InputError.self) { try InputReader(path: dir.url.path) }
        #expect(error.offset == 0)
    }
}
