import CallSiftCore
import CMemory
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits one CSV record (RFC 4180) into fields and keeps the values of known columns.
///
/// Column order comes from the input's header row; unknown columns are skipped without
/// copying. A record must have as many fields as the header.
package struct CSVRecordParser {
    /// For each column of the header, the key it holds (nil: ignored column).
    let columns: [FieldKey?]
    /// The header record's bytes, to recognise repeated header rows (e.g. concatenated files).
    let headerBytes: [UInt8]

    /// The parser of an empty header row, which names no known column: what a CSV input
    /// uses before its header row is read, or when that row is not valid CSV.
    package static let withoutHeader = CSVRecordParser(header: UnsafeRawBufferPointer(start: nil, count: 0))!

    /// Reads the header row. Names are matched exactly; the first of duplicated names wins.
    package init?(header: UnsafeRawBufferPointer) {
        var names: [[UInt8]] = []
        var scratch: [UInt8] = []
        let error = Self.split(header, reusing: &scratch) { _, field in
            names.append(Array(field))
        }
        guard error == nil else { return nil }
        var seen = Set<Int>()
        columns = names.map { name in
            guard let key = name.withUnsafeBytes({ FieldKey.named($0) }), !seen.contains(key.rawValue) else { return nil }
            seen.insert(key.rawValue)
            return key
        }
        headerBytes = Array(header)
    }

    /// Whether `record` repeats the header row byte for byte (as when files are
    /// concatenated into one stream). Lengths are compared first: nearly every record
    /// differs from the header there.
    @inline(__always)
    package func isHeader(_ record: UnsafeRawBufferPointer) -> Bool {
        guard record.count == headerBytes.count else { return false }
        return headerBytes.elementsEqual(record)
    }

    /// Parses `record` into `slots`; returns the reason when it is not valid UTF-8
    /// without NUL (`RecordBytes.check`'s reasons, which come first) or not well-formed CSV.
    ///
    /// The byte check rides on the comma scan: a record whose bytes show no byte above
    /// 0x7F and no zero byte is plain ASCII without NUL, and only other records (and those
    /// with quotes) go through `RecordBytes.check`.
    ///
    /// Values are kept in place (pointing into `record`), except quoted fields holding a
    /// doubled quote, whose unescaped bytes are copied into the slots' side buffer. So
    /// `slots` must be read while `record` is still valid.
    ///
    /// `mutating` though it changes nothing, so that a parser kept in a class's stored
    /// property is used in place rather than copied (and its arrays retained) per record.
    ///
    /// `masks`, from the splitter's fast path, spares the usual record a second scan.
    package mutating func parse(
        _ record: UnsafeRawBufferPointer, masks: RawRecord.Masks? = nil,
        into slots: inout FieldSlots
    ) -> RejectReason? {
        slots.reset()
        guard let base = record.baseAddress else {
            // An empty record is one empty field.
            if let first = columns.first, let key = first { slots.point(key, at: record) }
            return columns.count == 1 ? nil : .fieldCount
        }
        let n = record.count
        // Reading the header's column keys through one pointer keeps the loops free of
        // array bounds and uniqueness checks.
        return columns.withUnsafeBufferPointer { columns -> RejectReason? in
            @inline(__always)
            func keep(_ index: Int, _ start: Int, _ end: Int) {
                if index < columns.count, let key = columns[index] {
                    slots.point(key, at: UnsafeRawBufferPointer(start: base + start, count: end &- start))
                }
            }

            // `base` is raw memory (a decoded chunk is bound to no type): it is read as raw
            // bytes and handed to C as such, never viewed through a typed pointer.
            // Fastest path, for the usual record: at most 128 bytes, no quote, and one comma
            // fewer than the header has columns. Its commas come out of two masks in a loop
            // whose length is the same for every record of the input, so the loop's end
            // is predicted, where a loop that runs until the masks are empty mispredicts
            // its end about once per record.
            if n <= 128 {
                var lo: UInt64, hi: UInt64
                let plain: Bool, suspect: Bool
                if let masks {
                    (lo, hi, plain, suspect) = (masks.commasLow, masks.commasHigh, true, masks.suspect)
                } else {
                    let low = callsift_csv_block64(base, n)
                    let high = n > 64 ? callsift_csv_block64(base + 64, n &- 64) : callsift_csv_masks64()
                    (lo, hi) = (low.commas, high.commas)
                    plain = (low.quotes | high.quotes) == 0
                    suspect = (low.suspect | high.suspect) != 0
                }
                if plain && lo.nonzeroBitCount &+ hi.nonzeroBitCount == columns.count &- 1 {
                    if suspect, let reason = RecordBytes.check(record) { return reason }
                    var start = 0
                    for index in 0..<columns.count &- 1 {
                        let inLow = lo != 0
                        let at = inLow ? lo.trailingZeroBitCount : 64 &+ hi.trailingZeroBitCount
                        if inLow { lo &= lo &- 1 } else { hi &= hi &- 1 }
                        keep(index, start, at)
                        start = at &+ 1
                    }
                    keep(columns.count &- 1, start, n)
                    return nil
                }
            }

            // Fast path, for other records (or their beginning) without quotes: every comma
            // ends a field. 64 bytes at a time, as masks of their commas, quotes and
            // suspect bytes (`callsift_csv_block64`), so each field costs a few
            // instructions. At the first 64 bytes holding a quote, the general loop below
            // takes over from the field it is in.
            var start = 0  // of the current field
            var index = 0  // of the current field
            var i = 0
            // Bytes that are not ASCII, or NUL, among those scanned.
            var suspect: UInt64 = 0
            var quoted = false
            while i < n {
                let m = callsift_csv_block64(base + i, n &- i)
                suspect |= m.suspect
                if m.quotes != 0 { quoted = true; break }
                var commas = m.commas
                while commas != 0 {
                    let at = i &+ commas.trailingZeroBitCount
                    keep(index, start, at)
                    index &+= 1
                    start = at &+ 1
                    commas &= commas &- 1
                }
                i &+= 64
            }
            if !quoted {
                if suspect != 0, let reason = RecordBytes.check(record) { return reason }
                // The last field (empty after a trailing comma).
                keep(index, start, n)
                index &+= 1
                return index == columns.count ? nil : .fieldCount
            }
            if let reason = RecordBytes.check(record) { return reason }

            // General loop, from the field holding the first quote: quoted fields,
            // unescaping, and the errors of malformed quoting.
            var pos = start
            while true {
                let field = Self.scanField(base, n, from: pos)
                if let error = field.error { return error }
                if index < columns.count, let key = columns[index] {
                    if field.escaped {
                        slots.open(key)
                        Self.unescape(base, from: field.start, to: field.end) { slots.append($0) }
                        slots.close(key)
                    } else {
                        slots.point(key, at: UnsafeRawBufferPointer(start: base + field.start, count: field.end &- field.start))
                    }
                }
                index &+= 1
                pos = field.next
                if pos >= n { break }
                pos &+= 1  // the comma; a trailing comma gives one more, empty, field
                if pos == n {
                    keep(index, pos, pos)
                    index &+= 1
                    break
                }
            }
            return index == columns.count ? nil : .fieldCount
        }
    }

    private static let commas: UInt64 = 0x2C2C_2C2C_2C2C_2C2C
    private static let quotes: UInt64 = 0x2222_2222_2222_2222

    /// Calls `body(index, value)` for each field, unescaping quoted ones through a small
    /// side buffer. Returns a reject reason for malformed quoting.
    /// `split` with a scratch buffer of its own (allocated only for quoted fields).
    static func split(_ record: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) -> Void) -> RejectReason? {
        var scratch: [UInt8] = []
        return split(record, reusing: &scratch, body)
    }

    /// `split` for the rarer callers (headers, adapters, the sniffer): the same field
    /// rules as `parse`, through `scanField`, with each value handed to `body`.
    static func split(
        _ record: UnsafeRawBufferPointer,
        reusing unescaped: inout [UInt8],
        _ body: (Int, UnsafeRawBufferPointer) -> Void
    ) -> RejectReason? {
        guard let base = record.baseAddress else {
            body(0, UnsafeRawBufferPointer(start: nil, count: 0))
            return nil
        }
        let n = record.count
        var pos = 0
        var index = 0
        while true {
            let field = scanField(base, n, from: pos)
            if let error = field.error { return error }
            if field.escaped {
                unescaped.removeAll(keepingCapacity: true)
                unescape(base, from: field.start, to: field.end) { unescaped.append(contentsOf: $0) }
                unescaped.withUnsafeBytes { body(index, $0) }
            } else {
                body(index, UnsafeRawBufferPointer(start: base + field.start, count: field.end - field.start))
            }
            index += 1
            pos = field.next
            if pos >= n { return nil }
            pos += 1  // the comma; a trailing comma gives one more, empty, field
            if pos == n {
                body(index, UnsafeRawBufferPointer(start: base + pos, count: 0))
                return nil
            }
        }
    }

    // MARK: - One field

    /// Where one field lies in a record. For a quoted field, `start ..< end` is the text
    /// between the quotes, still with its doubled quotes when `escaped`.
    struct Field {
        var start: Int
        var end: Int
        /// Just past the field: the index of the comma that follows it, or the record's end.
        var next: Int
        /// A quoted field with at least one `""` inside, to be unescaped.
        var escaped: Bool
        var error: RejectReason?
    }

    /// Reads the field starting at `pos` (≤ `n`).
    ///
    /// An unquoted field ends at the first comma; a quote inside it is `badQuote`. It is
    /// found in one pass over the bytes, eight at a time, looking for a comma and a quote
    /// together (rather than one `memchr` for the comma and another for a quote: fields
    /// are short, and two library calls per field cost more than the scan).
    ///
    /// A quoted field runs to the closing quote, `""` inside standing for one quote, and
    /// must be followed by a comma or the end of the record (`badQuote` otherwise, and
    /// `unterminatedQuote` when there is no closing quote).
    @inline(__always)
    static func scanField(_ base: UnsafeRawPointer, _ n: Int, from pos: Int) -> Field {
        let bytes = RawBytes(base)
        if pos < n && bytes[pos] == 0x22 {
            var escaped = false
            var i = pos &+ 1
            while true {
                guard i < n, let q = memchr(base + i, 0x22, n &- i) else {
                    return Field(start: pos, end: pos, next: n, escaped: false, error: .unterminatedQuote)
                }
                let qi = base.distance(to: UnsafeRawPointer(q))
                if qi &+ 1 < n && bytes[qi &+ 1] == 0x22 {
                    escaped = true
                    i = qi &+ 2
                    continue
                }
                let next = qi &+ 1
                if next < n && bytes[next] != 0x2C {
                    return Field(start: pos, end: pos, next: n, escaped: false, error: .badQuote)
                }
                return Field(start: pos &+ 1, end: qi, next: next, escaped: escaped, error: nil)
            }
        }
        let stop = findCommaOrQuote(base, from: pos, to: n)
        if stop < n && bytes[stop] == 0x22 {
            return Field(start: pos, end: pos, next: n, escaped: false, error: .badQuote)
        }
        return Field(start: pos, end: stop, next: stop, escaped: false, error: nil)
    }

    /// The index of the first `,` or `"` in `bytes[from ..< to]`, or `to`.
    ///
    /// Eight bytes at a time: XOR with a byte repeated eight times turns the matching
    /// bytes into zeros, which `RecordBytes.zeroBytes` marks; the lowest mark of the
    /// little-endian word is the first match.
    @inline(__always)
    static func findCommaOrQuote(_ raw: UnsafeRawPointer, from: Int, to: Int) -> Int {
        var i = from
        while i &+ 8 <= to {
            let w = UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: i, as: UInt64.self))
            let marks = RecordBytes.zeroBytes(w ^ commas) | RecordBytes.zeroBytes(w ^ quotes)
            if marks != 0 { return i &+ marks.trailingZeroBitCount >> 3 }
            i &+= 8
        }
        while i < to {
            let b = RawBytes(raw)[i]
            if b == 0x2C || b == 0x22 { return i }
            i &+= 1
        }
        return to
    }

    /// Hands the bytes of quoted text `from ..< to` to `sink` in pieces, each `""` as one
    /// quote.
    @inline(__always)
    static func unescape(_ base: UnsafeRawPointer, from: Int, to: Int, _ sink: (UnsafeRawBufferPointer) -> Void) {
        var runStart = from
        var i = from
        while i < to {
            if RawBytes(base)[i] == 0x22 {
                // Up to and including the first quote of the pair; the second is skipped.
                sink(UnsafeRawBufferPointer(start: base + runStart, count: i &+ 1 &- runStart))
                i &+= 2
                runStart = i
            } else {
                i &+= 1
            }
        }
        if to > runStart { sink(UnsafeRawBufferPointer(start: base + runStart, count: to &- runStart)) }
    }
}
