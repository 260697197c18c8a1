import CallSiftCore
import CMemory
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One record cut from an input's decoded bytes, before any field is looked at.
package struct RawRecord {
    package enum Kind {
        /// A complete record.
        case ok
        /// Longer than `RecordSplitter.maxRecordBytes`; `bytes` holds only its beginning.
        case tooLong
        /// The input ended inside a quoted field.
        case unterminatedQuote
        /// The input ended with an error in the middle of this record.
        case truncated
    }
    package var kind: Kind
    /// The record without its line terminator (`\n` or `\r\n`); valid during the callback only.
    package var bytes: UnsafeRawBufferPointer
    /// Physical line number (1-based) on which the record starts.
    package var lineNo: Int64
    /// What the splitter saw of a CSV record while cutting it, so that the parser need not
    /// look at its bytes again; `nil` when it did not keep track (see `RecordSplitter`).
    package var masks: Masks? = nil

    /// The record, as the CSV splitter's fast path found it: no quote anywhere in it.
    package struct Masks {
        /// Bit i set for a comma at byte i, for bytes 0 to 127 (`low`: 0 to 63).
        var commasLow: UInt64
        var commasHigh: UInt64
        /// Whether any byte is not ASCII, or is NUL.
        var suspect: Bool
    }
}

/// Cuts a stream of decoded chunks into records, carrying partial records across chunks.
///
/// A record ends at a newline. For CSV (`quoteAware`), a newline inside a quoted field
/// does not end it: the record ends at the first newline after an even number of quote
/// characters (RFC 4180 doubles quotes inside quoted fields, so parity is exact for
/// well-formed records). A record longer than 64 KiB is cut: it ends at the next newline,
/// quotes no longer counted, so one runaway quote costs at most 64 KiB of input and one
/// rejected line rather than the rest of the file. Memory is bounded by that limit.
///
/// CSV records without quotes that lie wholly inside a chunk, nearly all of them, take a
/// fast path (`feedPlainRecords`) that reads the chunk once for the newlines and for the
/// parser's commas together; every other case goes through the general loop, which is the
/// definition of what a record is.
package struct RecordSplitter {
    static let maxRecordBytes = 64 * 1024

    let quoteAware: Bool
    /// Line number of the next record's first line.
    package private(set) var nextLine: Int64 = 1
    /// The beginning of a record whose end has not been seen yet.
    private var carry: [UInt8] = []
    /// Newlines inside quotes already passed in the current record.
    private var embeddedNewlines: Int64 = 0
    private var inQuote = false
    /// Past the length limit: skipping to the next newline.
    private var discarding = false

    /// - Parameter nextLine: the line number of the first record (a stream continued
    ///   where an earlier splitter left it, between two records).
    package init(quoteAware: Bool, nextLine: Int64 = 1) {
        self.quoteAware = quoteAware
        self.nextLine = nextLine
        carry.reserveCapacity(4096)
    }

    /// Whether it holds nothing of a record: every byte fed so far ended a record.
    package var isBetweenRecords: Bool { carry.isEmpty && !inQuote && !discarding && embeddedNewlines == 0 }

    /// Feeds the next decoded chunk; `body` receives each record completed by it.
    package mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (RawRecord) throws -> Void) rethrows {
        guard let base = chunk.baseAddress else { return }
        let n = chunk.count
        var pos = 0
        while pos < n {
            if quoteAware && carry.isEmpty && !discarding && !inQuote {
                pos = try feedPlainRecords(base, n, from: pos, body)
                if pos >= n { return }
            }
            if discarding {
                guard let nl = Self.find(0x0A, base, from: pos, to: n) else { return }
                try emitCarry(.tooLong, body)
                pos = nl + 1
                continue
            }
            let start = pos
            var scan = pos
            while true {
                guard let nl = quoteAware ? findNewlineCountingQuotes(base, from: scan, to: n) : Self.find(0x0A, base, from: scan, to: n) else {
                    appendToCarry(base, from: start, to: n)
                    return
                }
                let length = carry.count + (nl - start)
                if inQuote && length <= Self.maxRecordBytes {
                    embeddedNewlines += 1
                    scan = nl + 1
                    if scan == n {
                        appendToCarry(base, from: start, to: n)
                        return
                    }
                    continue
                }
                let kind: RawRecord.Kind = length > Self.maxRecordBytes ? .tooLong : .ok
                if carry.isEmpty {
                    let len = min(nl - start, Self.maxRecordBytes)
                    try emit(kind, UnsafeRawBufferPointer(start: base + start, count: len), nil, body)
                } else {
                    appendToCarry(base, from: start, to: nl)
                    try emitCarry(kind, body)
                }
                pos = nl + 1
                break
            }
        }
    }

    /// Ends the stream. `truncated` says it ended on an error rather than at its end,
    /// so a partial last record is reported as such instead of parsed.
    package mutating func finish(truncated: Bool, _ body: (RawRecord) throws -> Void) rethrows {
        if discarding {
            try emitCarry(.tooLong, body)
        } else if !carry.isEmpty || inQuote {
            try emitCarry(truncated ? .truncated : (inQuote ? .unterminatedQuote : .ok), body)
        }
    }

    // MARK: - CSV fast path

    /// Cuts the records of `base[from ..< n]` that lie wholly in it and hold no quote,
    /// and returns where the general loop of `feed` must take over: the start of the first
    /// record that holds a quote, runs past the chunk's end, or is longer than 64 KiB
    /// (or `n`). Called only between records with nothing carried.
    ///
    /// The chunk is read once, 64 bytes at a time, as masks of its newlines, commas, quotes
    /// and suspect bytes (`callsift_csv_block64`); each record leaves with the commas of its
    /// first 128 bytes and whether it holds a suspect byte (`RawRecord.Masks`), so that
    /// `CSVRecordParser` need not scan it again. Without a quote the general loop would cut
    /// the same records at the same newlines: this changes how, not what.
    @inline(__always)
    private mutating func feedPlainRecords(
        _ base: UnsafeRawPointer, _ n: Int, from: Int,
        _ body: (RawRecord) throws -> Void
    ) rethrows -> Int {
        // `base` is raw memory (a decoded chunk is bound to no type): read as raw bytes.
        var record = from  // start of the current record
        var commasLow: UInt64 = 0, commasHigh: UInt64 = 0
        var suspect: UInt64 = 0
        var block = from
        while block < n {
            let m = callsift_csv_block64(base + block, n &- block)
            // Bytes of this block from the current record's start (or the block's) on.
            var first = max(record &- block, 0)
            var newlines = m.newlines & Self.bits(from: first, to: 64)
            while true {
                // The current record's part of this block ends at the next newline, if any.
                let end = newlines != 0 ? newlines.trailingZeroBitCount : 64
                let part = Self.bits(from: first, to: end)
                if m.quotes & part != 0 { return record }
                suspect |= m.suspect & part
                // Block offset 0 is record offset `block - record`; bits shifted past 127 drop.
                let shift = block &- record
                let commas = m.commas & part
                if shift >= 0 {
                    commasLow |= commas << shift
                    commasHigh |= shift < 64 ? commas >> (64 &- shift) : commas << (shift &- 64)
                } else {
                    commasLow |= commas >> -shift
                }
                guard newlines != 0 else { break }
                let nl = block &+ end
                if nl &- record > Self.maxRecordBytes { return record }
                try emit(
                    .ok, UnsafeRawBufferPointer(start: base + record, count: nl &- record),
                    RawRecord.Masks(commasLow: commasLow, commasHigh: commasHigh, suspect: suspect != 0), body)
                record = nl &+ 1
                commasLow = 0; commasHigh = 0; suspect = 0
                newlines &= newlines &- 1
                first = end &+ 1
            }
            if block &+ 64 &- record > Self.maxRecordBytes { return record }
            block &+= 64
        }
        return record
    }

    /// Bits `from ..< to` of a word (0 ≤ from ≤ to ≤ 64).
    @inline(__always)
    private static func bits(from: Int, to: Int) -> UInt64 {
        ((UInt64(1) << to) &- 1) & ~((UInt64(1) << from) &- 1)
    }

    // MARK: - Private

    @inline(__always)
    private static func find(_ byte: UInt8, _ base: UnsafeRawPointer, from: Int, to: Int) -> Int? {
        guard from < to, let p = memchr(base + from, Int32(byte), to - from) else { return nil }
        return base.distance(to: UnsafeRawPointer(p))
    }

    /// The first newline in `base[from ..< to]`, or nil; each quote before it (or before
    /// `to`) flips `inQuote`. One pass, sixteen bytes at a time, for the newline and the
    /// quotes together (`callsift_newline_or_quote`).
    @inline(__always)
    private mutating func findNewlineCountingQuotes(_ base: UnsafeRawPointer, from: Int, to: Int) -> Int? {
        var i = from
        while i < to {
            var hits = callsift_newline_or_quote(base + i, to &- i)
            while hits != 0 {
                let at = i &+ hits.trailingZeroBitCount
                if RawBytes(base)[at] == 0x0A { return at }
                inQuote.toggle()
                hits &= hits &- 1
            }
            i &+= 16
        }
        return nil
    }

    private mutating func appendToCarry(_ base: UnsafeRawPointer, from: Int, to: Int) {
        let room = Self.maxRecordBytes + 1 - carry.count
        let take = min(to - from, max(room, 0))
        if take > 0 { carry.append(contentsOf: UnsafeRawBufferPointer(start: base + from, count: take)) }
        if carry.count > Self.maxRecordBytes {
            carry.removeLast(carry.count - Self.maxRecordBytes)
            discarding = true
        }
    }

    private mutating func emitCarry(_ kind: RawRecord.Kind, _ body: (RawRecord) throws -> Void) rethrows {
        let k: RawRecord.Kind = discarding ? .tooLong : kind
        let line = takeLine()
        defer { carry.removeAll(keepingCapacity: true) }
        try carry.withUnsafeBytes { try Self.deliver(k, $0, line, nil, body) }
    }

    @inline(__always)
    private mutating func emit(
        _ kind: RawRecord.Kind, _ bytes: UnsafeRawBufferPointer, _ masks: RawRecord.Masks?,
        _ body: (RawRecord) throws -> Void
    ) rethrows {
        let line = takeLine()
        try Self.deliver(kind, bytes, line, masks, body)
    }

    /// The current record's first line; resets the per-record state for the next one.
    @inline(__always)
    private mutating func takeLine() -> Int64 {
        let line = nextLine
        nextLine += 1 + embeddedNewlines
        embeddedNewlines = 0
        inQuote = false
        discarding = false
        return line
    }

    @inline(__always)
    private static func deliver(
        _ kind: RawRecord.Kind, _ bytes: UnsafeRawBufferPointer, _ line: Int64,
        _ masks: RawRecord.Masks?, _ body: (RawRecord) throws -> Void
    ) rethrows {
        var b = bytes
        if kind == .ok, b.count > 0, b[b.count - 1] == 0x0D {
            // A carriage return is neither a comma nor suspect: the masks still hold.
            b = UnsafeRawBufferPointer(rebasing: b[0..<b.count - 1])
        }
        try body(RawRecord(kind: kind, bytes: b, lineNo: line, masks: masks))
    }
}
