import Testing
@testable import CallSiftCore
@testable import CallSiftFormats

/// The CSV splitter cuts most records on a fast path that reads each 64-byte block once
/// (`feedPlainRecords`) and hands the parser the commas it saw; anything unusual (a quote,
/// a record running past the chunk, a record over 64 KiB) goes through the general loop.
/// Fed one byte at a time, nearly every record takes the general loop; fed in larger
/// pieces, nearly every record takes the fast path. Both must cut the same records.
@Suite struct RecordSplitterTests {
    struct Cut: Equatable {
        var kind: String
        var bytes: [UInt8]
        var lineNo: Int64
    }

    /// Text with what a CSV stream can hold: plain records short and long (past 64 and 128
    /// bytes, at the 64 KiB limit and past it), quoted fields with commas, doubled quotes and
    /// newlines inside, CRLF endings, blank lines, bytes above 0x7F and NUL.
    static func text(seed: UInt64) -> [UInt8] {
        var rng = SplitMix(seed: seed)
        var out: [UInt8] = []
        for r in 0..<3000 {
            if r >= 1500 && r < 1503 {
                // At the 64 KiB limit, one past it, and well past it.
                out += Array(repeating: UInt8(ascii: "y"), count: RecordSplitter.maxRecordBytes + [0, 1, 10][r - 1500])
                out.append(0x0A)
                continue
            }
            let fields = Int(rng.next() % 10)
            for f in 0..<fields {
                if f > 0 { out.append(UInt8(ascii: ",")) }
                switch rng.next() % 20 {
                case 0: out += Array("\"a,b\"\"c\nd\"".utf8)
                case 1: out += [0xC3, 0xA9]
                case 2: out.append(0)
                case 3: out += Array(repeating: UInt8(ascii: "x"), count: Int(rng.next() % 200))
                default:
                    out += (0..<Int(rng.next() % 14)).map { _ in UInt8(ascii: "a") + UInt8(rng.next() % 26) }
                }
            }
            if rng.next() % 5 == 0 { out.append(0x0D) }
            out.append(0x0A)
        }
        out += Array("last,record,without,newline".utf8)
        return out
    }

    static func cuts(_ text: [UInt8], pieces: @escaping (Int) -> Int) -> [Cut] {
        var splitter = RecordSplitter(quoteAware: true)
        var cuts: [Cut] = []
        var maskErrors = 0
        func take(_ r: RawRecord) {
            cuts.append(Cut(kind: "\(r.kind)", bytes: Array(r.bytes), lineNo: r.lineNo))
            if let m = r.masks {
                // The masks must be what the record's own bytes give.
                var low: UInt64 = 0, high: UInt64 = 0
                var suspect = false
                for (i, b) in r.bytes.enumerated() {
                    if b == UInt8(ascii: ",") && i < 64 { low |= 1 << UInt64(i) }
                    if b == UInt8(ascii: ",") && i >= 64 && i < 128 { high |= 1 << UInt64(i - 64) }
                    if b == 0 || b >= 0x80 { suspect = true }
                    if b == UInt8(ascii: "\"") { maskErrors += 1 }
                }
                if m.commasLow != low || m.commasHigh != high || m.suspect != suspect { maskErrors += 1 }
            }
        }
        text.withUnsafeBytes { all in
            var at = 0
            var piece = 0
            while at < all.count {
                let n = min(pieces(piece), all.count - at)
                splitter.feed(UnsafeRawBufferPointer(rebasing: all[at..<at + n])) { take($0) }
                at += n
                piece += 1
            }
        }
        splitter.finish(truncated: false) { take($0) }
        if maskErrors > 0 { cuts.append(Cut(kind: "mask errors: \(maskErrors)", bytes: [], lineNo: -1)) }
        return cuts
    }

    @Test(arguments: [1, 2, 3])
    func bothPathsCutTheSameRecords(seed: UInt64) {
        let text = Self.text(seed: seed)
        let general = Self.cuts(text) { _ in 1 }
        var rng = SplitMix(seed: seed &+ 100)
        let sizes = (0..<10_000).map { _ in 1 + Int(rng.next() % 300) }
        for pieces in [{ (_: Int) in text.count }, { (_: Int) in 128 * 1024 }, { (_: Int) in 64 }, { (i: Int) in sizes[i % sizes.count] }] {
            let fast = Self.cuts(text, pieces: pieces)
            let same = fast == general
            #expect(same)
            #expect(!fast.contains { $0.kind.hasPrefix("mask") })
        }
        #expect(general.count > 3000)
    }

    /// The fast path really runs (with masks) on plain records read in big pieces.
    @Test func plainRecordsComeWithMasks() {
        let text = Array("a,b,c\nd,,e\r\n\nf\n".utf8)
        var splitter = RecordSplitter(quoteAware: true)
        var masked: [Bool] = []
        text.withUnsafeBytes { splitter.feed($0) { masked.append($0.masks != nil) } }
        #expect(masked == [true, true, true, true])
    }
}

/// A seeded xorshift generator for the random texts above (the same seed, the same text).
private struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed | 1 }
    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
