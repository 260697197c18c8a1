import CMemory
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One record cut from an input's decoded bytes, before any field is looked at.
struct RawRecord {
    enum Kind {
        /// A complete record.
        case ok
        /// Longer than `RecordSplitter.maxRecordBytes`; `bytes` holds only its beginning.
        case tooLong
        /// The input ended inside a quoted field.
        case unterminatedQuote
        /// The input ended with an error in the middle of this record.
        case truncated
    }
    var kind: Kind
    /// The record without its line terminator (`\n` or `\r\n`); valid during the callback only.
    var bytes: UnsafeRawBufferPointer
    /// Physical line number (1-based) on which the record starts.
    var lineNo: Int64
}

/// Cuts a stream of decoded chunks into records, carrying partial records across chunks.
///
/// A record ends at a newline. For CSV (`quoteAware`), a newline inside a quoted field
/// does not end it: the record ends at the first newline after an even number of quote
/// characters (RFC 4180 doubles quotes inside quoted fields, so parity is exact for
/// well-formed records). A record longer than 64 KiB is cut: it ends at the next newline,
/// quotes no longer counted, so one runaway quote costs at most 64 KiB of input and one
/// rejected line rather than the rest of the file. Memory is bounded by that limit.
struct RecordSplitter {
    static let maxRecordBytes = 64 * 1024

    let quoteAware: Bool
    /// Line number of the next record's first line.
    private(set) var nextLine: Int64 = 1
    /// The beginning of a record whose end has not been seen yet.
    private var carry: [UInt8] = []
    /// Newlines inside quotes already passed in the current record.
    private var embeddedNewlines: Int64 = 0
    private var inQuote = false
    /// Past the length limit: skipping to the next newline.
    private var discarding = false

    init(quoteAware: Bool) {
        self.quoteAware = quoteAware
        carry.reserveCapacity(4096)
    }

    /// Feeds the next decoded chunk; `body` receives each record completed by it.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (RawRecord) throws -> Void) rethrows {
        guard let base = chunk.baseAddress else { return }
        let n = chunk.count
        var pos = 0
        while pos < n {
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
                    try emit(kind, UnsafeRawBufferPointer(start: base + start, count: len), body)
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
    mutating func finish(truncated: Bool, _ body: (RawRecord) throws -> Void) rethrows {
        if discarding {
            try emitCarry(.tooLong, body)
        } else if !carry.isEmpty || inQuote {
            try emitCarry(truncated ? .truncated : (inQuote ? .unterminatedQuote : .ok), body)
        }
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
        let bytes = base.assumingMemoryBound(to: UInt8.self)
        var i = from
        while i < to {
            var hits = callsift_newline_or_quote(bytes + i, to &- i)
            while hits != 0 {
                let at = i &+ hits.trailingZeroBitCount
                if bytes[at] == 0x0A { return at }
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
        try carry.withUnsafeBytes { try Self.deliver(k, $0, line, body) }
    }

    @inline(__always)
    private mutating func emit(_ kind: RawRecord.Kind, _ bytes: UnsafeRawBufferPointer, _ body: (RawRecord) throws -> Void) rethrows {
        let line = takeLine()
        try Self.deliver(kind, bytes, line, body)
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
    private static func deliver(_ kind: RawRecord.Kind, _ bytes: UnsafeRawBufferPointer, _ line: Int64, _ body: (RawRecord) throws -> Void) rethrows {
        var b = bytes
        if kind == .ok, b.count > 0, b[b.count - 1] == 0x0D {
            b = UnsafeRawBufferPointer(rebasing: b[0 ..< b.count - 1])
        }
        try body(RawRecord(kind: kind, bytes: b, lineNo: line))
    }
}
