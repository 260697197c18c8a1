import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput

/// The gzip and lz4 stream decoders on their own, driven the way `InputReader` drives
/// them: they give back exactly what the repository's encoders compressed, however the
/// input and output are cut (down to one byte at a time), across concatenated gzip members
/// and lz4 frames; they say whether they sit between frames (so that a cut-short stream
/// is told from a finished one); and they throw `DecoderFailure` on corrupt input.
@Suite struct DecoderTests {
    enum Kind: String, CaseIterable {
        case gzip, lz4

        func decoder() throws -> any StreamDecoder {
            switch self {
            case .gzip: return try GzipDecoder()
            case .lz4: return try LZ4Decoder()
            }
        }

        func compress(_ data: [UInt8], level: Int32? = nil) throws -> [UInt8] {
            switch self {
            case .gzip: return try DecoderTests.compress(data) { try GzipEncoder(level: level ?? 6, destination: $0) }
            case .lz4: return try DecoderTests.compress(data) { try LZ4Encoder(level: level ?? 0, destination: $0) }
            }
        }
    }

    // MARK: - Helpers

    /// `data` through an encoder of the repository into a scratch file, and back.
    static func compress(_ data: [UInt8], _ make: (String) throws -> any StreamEncoder) throws -> [UInt8] {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-decoder-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        let output = try FileOutput(path: path)
        let encoder = try make(path)
        // In pieces of a few sizes, so the encoder's own loops run.
        var at = 0, index = 0
        let pieces = [1, 1000, 70_000, 13]
        try data.withUnsafeBytes { all in
            while at < all.count {
                let n = min(pieces[index % pieces.count], all.count - at)
                try encoder.encode(UnsafeRawBufferPointer(rebasing: all[at..<at + n]), to: output)
                at += n; index += 1
            }
        }
        try encoder.end(to: output)
        try output.close()
        return Array(try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// What a run of decode calls gave.
    struct Decoded {
        var bytes: [UInt8] = []
        var atBoundary = false
        var calls = 0
        var consumed = 0
        var stalled = false
        /// Calls that claimed to take more input, or write more output, than they were given.
        var stepsOutOfRange = 0
    }

    /// Feeds `input` to `decoder` in pieces of at most `inputPiece` bytes, into an output
    /// buffer of `outputSize` bytes, as `InputReader` does: it stops when all input is
    /// taken and the decoder sits between frames, or when a call with all input taken does
    /// nothing (the stream is cut short). Failures are thrown.
    static func run(
        _ decoder: any StreamDecoder, _ input: [UInt8], inputPiece: Int = 1 << 20,
        outputSize: Int = 64 * 1024
    ) throws -> Decoded {
        var result = Decoded()
        // A separate allocation, so that even empty input has an address.
        let storage = UnsafeMutableRawBufferPointer.allocate(byteCount: max(input.count, 1), alignment: 8)
        defer { storage.deallocate() }
        storage.copyBytes(from: input)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: outputSize, alignment: 8)
        defer { output.deallocate() }
        var at = 0
        var stalls = 0
        while true {
            let atEnd = at == input.count
            if atEnd && decoder.isAtFrameBoundary { break }
            let count = min(inputPiece, input.count - at)
            let step = try decoder.decode(UnsafeRawBufferPointer(start: storage.baseAddress! + at, count: count), into: output)
            result.calls += 1
            if step.consumed < 0 || step.consumed > count || step.produced < 0 || step.produced > outputSize {
                result.stepsOutOfRange += 1
            }
            result.bytes += output.prefix(step.produced)
            at += step.consumed
            if step.consumed == 0 && step.produced == 0 {
                if atEnd { break }
                stalls += 1
                if stalls > 16 { result.stalled = true; break }
            } else {
                stalls = 0
            }
        }
        result.consumed = at
        result.atBoundary = decoder.isAtFrameBoundary
        return result
    }

    /// Deterministic bytes: `text` compresses like a log, `noise` not at all.
    static func text(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        let words = ["arrive", "answer", "abandon", "centre-north", "S1", "+4420", ",", "\n", "2026-03-02T09:00:"].map { Array($0.utf8) }
        var out: [UInt8] = []
        while out.count < count {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            out += words[Int(state % UInt64(words.count))]
            out.append(UInt8(ascii: "0") + UInt8((state >> 20) % 10))
        }
        return Array(out.prefix(count))
    }

    static func noise(_ count: Int, seed: UInt64) -> [UInt8] {
        var state = seed | 1
        return (0..<count).map { _ in
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return UInt8(truncatingIfNeeded: state >> 32)
        }
    }

    static func firstIndex(of part: [UInt8], in whole: [UInt8]) -> Int? {
        guard part.count <= whole.count else { return nil }
        return (0...whole.count - part.count).first { whole[$0..<$0 + part.count].elementsEqual(part) }
    }

    // MARK: - Round trips

    /// Streams of many sizes (empty, one byte, around the lz4 block size of 64 KiB, and
    /// several blocks), compressible or not, decode to exactly what was compressed and end
    /// between frames.
    @Test(arguments: Kind.allCases)
    func roundTripsOfManySizes(kind: Kind) throws {
        for size in [0, 1, 2, 100, 4095, 65_535, 65_536, 65_537, 200_003] {
            for (name, data) in [("text", Self.text(size, seed: UInt64(size) + 1)), ("noise", Self.noise(size, seed: UInt64(size) + 2))] {
                let compressed = try kind.compress(data)
                #expect(compressed.count > 0)
                let decoded = try Self.run(try kind.decoder(), compressed)
                #expect(decoded.bytes == data, "\(kind) \(name) \(size)")
                #expect(decoded.atBoundary)
                #expect(decoded.consumed == compressed.count)
                #expect(!decoded.stalled)
                #expect(decoded.stepsOutOfRange == 0)
            }
        }
    }

    /// Every compression level the encoders offer decodes the same.
    @Test func roundTripsAtEveryLevel() throws {
        let data = Self.text(100_000, seed: 7)
        for level: Int32 in [0, 1, 6, 9] {
            #expect(try Self.run(GzipDecoder(), Kind.gzip.compress(data, level: level)).bytes == data, "gzip \(level)")
        }
        for level: Int32 in [-5, 0, 3, 9, 12] {
            #expect(try Self.run(LZ4Decoder(), Kind.lz4.compress(data, level: level)).bytes == data, "lz4 \(level)")
        }
    }

    /// An output buffer far smaller than the data: many calls, each filling at most the
    /// buffer, and the same bytes in the end.
    @Test(arguments: Kind.allCases)
    func smallOutputBuffers(kind: Kind) throws {
        let data = Self.text(70_000, seed: 11)
        let compressed = try kind.compress(data)
        for outputSize in [1, 7, 4096] {
            let decoded = try Self.run(try kind.decoder(), compressed, outputSize: outputSize)
            #expect(decoded.bytes == data, "\(kind) output \(outputSize)")
            #expect(decoded.calls >= data.count / outputSize)
            #expect(decoded.atBoundary)
            #expect(decoded.stepsOutOfRange == 0)
        }
    }

    /// Input handed over in small pieces, down to one byte a call.
    @Test(arguments: Kind.allCases)
    func smallInputPieces(kind: Kind) throws {
        let data = Self.text(30_000, seed: 12) + Self.noise(5_000, seed: 13)
        let compressed = try kind.compress(data)
        for piece in [1, 3, 100] {
            let decoded = try Self.run(try kind.decoder(), compressed, inputPiece: piece, outputSize: 1000)
            #expect(decoded.bytes == data, "\(kind) piece \(piece)")
            #expect(decoded.calls >= compressed.count / piece)
            #expect(decoded.atBoundary)
            #expect(decoded.stepsOutOfRange == 0)
        }
    }

    // MARK: - Concatenated streams

    /// Concatenated gzip members (as `cat a.gz b.gz` makes) and lz4 frames, an empty one
    /// among them, are one stream; also read a byte at a time into a tiny buffer.
    @Test(arguments: Kind.allCases)
    func concatenatedMembersAndFrames(kind: Kind) throws {
        let parts = [Self.text(10_000, seed: 21), [], Self.noise(3_000, seed: 22), Self.text(70_000, seed: 23), [UInt8(ascii: "z")]]
        var stream: [UInt8] = []
        for part in parts { stream += try kind.compress(part) }
        let whole = parts.flatMap { $0 }
        let decoded = try Self.run(try kind.decoder(), stream)
        #expect(decoded.bytes == whole)
        #expect(decoded.atBoundary)
        #expect(decoded.consumed == stream.count)
        let slow = try Self.run(try kind.decoder(), stream, inputPiece: 1, outputSize: 5)
        #expect(slow.bytes == whole)
        #expect(slow.atBoundary)
    }

    // MARK: - Frame boundaries

    /// `isAtFrameBoundary` is false before a first frame is complete and inside every
    /// frame (while output is still held, too), and true once each frame has been decoded
    /// and flushed.
    @Test(arguments: Kind.allCases)
    func frameBoundaries(kind: Kind) throws {
        let a = Self.text(50_000, seed: 31), b = Self.text(20_000, seed: 32)
        let first = try kind.compress(a), second = try kind.compress(b)
        let decoder = try kind.decoder()
        // Fresh: no frame yet, and input ending here would be cut short.
        #expect(!decoder.isAtFrameBoundary)
        // Half of the first frame.
        let half = try Self.run(decoder, Array(first.prefix(first.count / 2)))
        #expect(!half.atBoundary)
        #expect(half.bytes.count < a.count)
        #expect(Array(a.prefix(half.bytes.count)) == half.bytes)
        // The rest of it.
        let rest = try Self.run(decoder, Array(first.dropFirst(first.count / 2)))
        #expect(rest.atBoundary)
        #expect(half.bytes + rest.bytes == a)
        // The first few bytes of the next frame: inside a frame again.
        let opening = try Self.run(decoder, Array(second.prefix(5)))
        #expect(!opening.atBoundary)
        #expect(opening.bytes.isEmpty)
        let closing = try Self.run(decoder, Array(second.dropFirst(5)))
        #expect(closing.atBoundary)
        #expect(closing.bytes == b)
    }

    /// Output still held back (a one-byte buffer, so most calls only flush): never at a
    /// boundary before the last byte is out, and at one once it is.
    @Test(arguments: Kind.allCases)
    func heldOutputIsNotABoundary(kind: Kind) throws {
        let data = Self.text(5_000, seed: 33)
        let compressed = try kind.compress(data)
        let decoder = try kind.decoder()
        var output = [UInt8](repeating: 0, count: 1)
        var produced: [UInt8] = []
        var flushOnlyCalls = 0
        var earlyBoundaries = 0
        var at = 0
        try compressed.withUnsafeBytes { input in
            try output.withUnsafeMutableBytes { out in
                for _ in 0..<1_000_000 {
                    let step = try decoder.decode(UnsafeRawBufferPointer(rebasing: input[at...]), into: out)
                    at += step.consumed
                    produced += out.prefix(step.produced)
                    if step.consumed == 0 && step.produced > 0 { flushOnlyCalls += 1 }
                    if decoder.isAtFrameBoundary {
                        if produced.count < data.count { earlyBoundaries += 1 }
                        if at == input.count { break }
                    }
                    if step.consumed == 0 && step.produced == 0 { break }
                }
            }
        }
        #expect(decoder.isAtFrameBoundary)
        #expect(produced == data)
        #expect(at == compressed.count)
        #expect(earlyBoundaries == 0)
        #expect(flushOnlyCalls > 0)
    }

    // MARK: - Truncated input

    /// A stream cut short anywhere (in the header, the data or the trailer, even just its
    /// last byte) is no error for the decoder: it gives a prefix of the data and stays
    /// off a frame boundary, which the reader reports as truncation.
    @Test(arguments: Kind.allCases)
    func truncatedStreamsEndOffABoundary(kind: Kind) throws {
        let data = Self.text(3_000, seed: 41)
        let compressed = try kind.compress(data)
        for cut in 1..<compressed.count {
            let decoded = try Self.run(try kind.decoder(), Array(compressed.prefix(cut)))
            #expect(!decoded.atBoundary, "\(kind) cut at \(cut) of \(compressed.count)")
            #expect(!decoded.stalled)
            #expect(decoded.bytes.count <= data.count && decoded.bytes[...] == data.prefix(decoded.bytes.count))
        }
        // A whole frame followed by part of another is cut short too.
        let decoded = try Self.run(try kind.decoder(), compressed + compressed.prefix(compressed.count - 1))
        #expect(!decoded.atBoundary)
    }

    // MARK: - Corrupt input

    /// Damaged gzip: a wrong magic number or compression method, reserved flags, a wrong
    /// CRC or length in the trailer, a changed byte in stored data, and a trailer-less
    /// member followed by more: each throws `DecoderFailure` with zlib's reason.
    @Test func corruptGzipThrows() throws {
        let data = Self.noise(2_000, seed: 51)
        let stored = try Kind.gzip.compress(data, level: 0)
        let dataAt = try #require(Self.firstIndex(of: Array(data.prefix(64)), in: stored))
        var damaged: [(String, [UInt8])] = []
        func with(_ name: String, at index: Int, _ change: (UInt8) -> UInt8) {
            var copy = stored
            copy[index] = change(copy[index])
            damaged.append((name, copy))
        }
        with("magic", at: 0) { _ in 0x1E }
        with("method", at: 2) { _ in 7 }
        with("reserved flags", at: 3) { $0 | 0xE0 }
        with("crc", at: stored.count - 8) { $0 ^ 0x01 }
        with("length", at: stored.count - 1) { $0 ^ 0x80 }
        with("stored data", at: dataAt + 1000) { $0 ^ 0x10 }
        for (name, bytes) in damaged {
            do {
                let decoded = try Self.run(GzipDecoder(), bytes)
                Issue.record("gzip with damaged \(name) decoded to \(decoded.bytes.count) bytes")
            } catch let failure as DecoderFailure {
                #expect(failure.message.contains("Z_DATA_ERROR"), "\(name): \(failure.message)")
            }
        }
    }

    /// After a gzip member: zero bytes are padding and end cleanly; a non-zero byte after
    /// them, or anything after the member that is not another member, throws.
    @Test func gzipPaddingAndTrailingGarbage() throws {
        let data = Self.text(5_000, seed: 52)
        let member = try Kind.gzip.compress(data)
        let zeros = [UInt8](repeating: 0, count: 512)
        let padded = try Self.run(GzipDecoder(), member + zeros)
        #expect(padded.bytes == data)
        #expect(padded.atBoundary)
        #expect(padded.consumed == member.count + zeros.count)
        let slowly = try Self.run(GzipDecoder(), member + zeros, inputPiece: 1, outputSize: 3)
        #expect(slowly.bytes == data)
        #expect(slowly.atBoundary)
        #expect(throws: DecoderFailure.self) { try Self.run(GzipDecoder(), member + zeros + member) }
        #expect(throws: DecoderFailure.self) { try Self.run(GzipDecoder(), member + [0, 0, 0x41]) }
        #expect(throws: DecoderFailure.self) { try Self.run(GzipDecoder(), member + Array("trailing text\n".utf8)) }
    }

    /// Damaged lz4: an unknown magic number, a wrong header checksum, a changed byte in an
    /// uncompressed block (caught by the content checksum), a wrong content checksum, and
    /// bytes after a frame that start no frame: each throws `DecoderFailure`.
    @Test func corruptLZ4Throws() throws {
        let data = Self.noise(2_000, seed: 53)
        let frame = try Kind.lz4.compress(data)
        // Noise does not compress: the block holds the data as it is.
        let dataAt = try #require(Self.firstIndex(of: Array(data.prefix(64)), in: frame))
        var damaged: [(String, [UInt8])] = []
        func with(_ name: String, at index: Int, _ change: (UInt8) -> UInt8) {
            var copy = frame
            copy[index] = change(copy[index])
            damaged.append((name, copy))
        }
        with("magic", at: 0) { $0 ^ 0x01 }
        with("header checksum", at: dataAt - 5) { $0 ^ 0x01 }
        with("block data", at: dataAt + 1000) { $0 ^ 0x10 }
        with("content checksum", at: frame.count - 1) { $0 ^ 0x01 }
        damaged.append(("garbage after the frame", frame + Array("not a frame".utf8)))
        damaged.append(("plain text", Array("ts,centre,call,event\n".utf8)))
        for (name, bytes) in damaged {
            do {
                let decoded = try Self.run(LZ4Decoder(), bytes)
                Issue.record("lz4 with damaged \(name) decoded to \(decoded.bytes.count) bytes")
            } catch let failure as DecoderFailure {
                #expect(!failure.message.isEmpty, "\(name)")
            }
        }
    }
}
