import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput

/// Inputs recognised by their bytes: the fingerprint does not depend on how the bytes are
/// cut, tells apart inputs that differ anywhere, and is what the reader reports.
@Suite struct ContentFingerprintTests {
    @Test func piecesOfAnySizeGiveTheSameFingerprint() {
        let bytes = InputSamples.text(bytes: 10_000, seed: 3)
        let whole = bytes.withUnsafeBytes { ContentFingerprint.of($0) }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            var h = ContentHasher()
            var at = 0
            while at < bytes.count {
                let n = min(Int.random(in: 0...100, using: &rng), bytes.count - at)
                bytes.withUnsafeBytes { h.update(UnsafeRawBufferPointer(rebasing: $0[at..<at + n])) }
                at += n
            }
            #expect(h.finish() == whole)
        }
        #expect(ContentFingerprint(whole.description) == whole)
        #expect(whole.byteCount == 10_000)
    }

    @Test func anyChangeGivesAnotherFingerprint() {
        let bytes = InputSamples.text(bytes: 300, seed: 4)
        var seen: Set<ContentFingerprint> = []
        // Every prefix, and every one-bit change of the whole.
        for n in 0...bytes.count { seen.insert(bytes.withUnsafeBytes { ContentFingerprint.of(UnsafeRawBufferPointer(rebasing: $0[..<n])) }) }
        for i in bytes.indices {
            var b = bytes
            b[i] ^= 1
            seen.insert(b.withUnsafeBytes { ContentFingerprint.of($0) })
        }
        #expect(seen.count == bytes.count + 1 + bytes.count)
        // Trailing zero bytes are bytes too.
        let zeros = [UInt8](repeating: 0, count: 40)
        let a = zeros.withUnsafeBytes { ContentFingerprint.of(UnsafeRawBufferPointer(rebasing: $0[..<39])) }
        let b = zeros.withUnsafeBytes { ContentFingerprint.of($0) }
        #expect(a != b)
    }

    /// The reader hashes the file as stored (compressed), with or without read-ahead, and
    /// reads the rest of a file it stopped decoding (a corrupt stream) to hash it whole.
    @Test func readerFingerprintsTheStoredBytes() throws {
        let dir = try ScratchDirectory()
        for compression in Compression.allCases {
            let path = dir.path("f.\(compression.rawValue)")
            try InputSamples.write(InputSamples.text(bytes: 1 << 20, seed: 6), to: path, as: compression)
            let stored = try InputSamples.bytes(of: path)
            let expected = stored.withUnsafeBytes { ContentFingerprint.of($0) }
            for readAhead in [false, true] {
                let reader = try InputReader(path: path)
                if readAhead { reader.startReadAhead() }
                while try reader.readChunk({ _ in }) != nil {}
                #expect(reader.contentFingerprint() == expected, "\(compression) read-ahead \(readAhead)")
            }
            // Stopped after one chunk: the rest is read to hash it.
            let partial = try InputReader(path: path, chunkSize: 4096)
            _ = try partial.readChunk { _ in }
            #expect(partial.contentFingerprint() == expected)
        }
    }
}
