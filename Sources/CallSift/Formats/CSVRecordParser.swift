#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Splits one CSV record (RFC 4180) into fields and keeps the values of known columns.
///
/// Column order comes from the input's header row; unknown columns are skipped without
/// copying. A record must have as many fields as the header.
struct CSVRecordParser {
    /// For each column of the header, the key it holds (nil: ignored column).
    let columns: [FieldKey?]
    /// The header record's bytes, to recognise repeated header rows (e.g. concatenated files).
    let headerBytes: [UInt8]
    /// Reused for unescaping quoted fields.
    private var unescaped: [UInt8] = []

    /// Reads the header row. Names are matched exactly; the first of duplicated names wins.
    init?(header: UnsafeRawBufferPointer) {
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

    /// Parses `record` into `slots`; returns the reason when it is not well-formed CSV.
    mutating func parse(_ record: UnsafeRawBufferPointer, into slots: inout FieldSlots) -> RejectReason? {
        slots.reset()
        var count = 0
        let columns = self.columns
        let error = Self.split(record, reusing: &unescaped) { index, field in
            count = index + 1
            if index < columns.count, let key = columns[index] { slots.set(key, field) }
        }
        if let error { return error }
        return count == columns.count ? nil : .fieldCount
    }

    /// Calls `body(index, value)` for each field, unescaping quoted ones through a small
    /// side buffer. Returns a reject reason for malformed quoting.
    /// `split` with a scratch buffer of its own (allocated only for quoted fields).
    static func split(_ record: UnsafeRawBufferPointer, _ body: (Int, UnsafeRawBufferPointer) -> Void) -> RejectReason? {
        var scratch: [UInt8] = []
        return split(record, reusing: &scratch, body)
    }

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
            if pos < n && record[pos] == 0x22 {
                // Quoted field: runs to the closing quote; "" inside stands for one quote.
                unescaped.removeAll(keepingCapacity: true)
                var i = pos + 1
                while true {
                    guard i < n, let q = memchr(base + i, 0x22, n - i) else { return .unterminatedQuote }
                    let qi = base.distance(to: UnsafeRawPointer(q))
                    unescaped.append(contentsOf: UnsafeRawBufferPointer(start: base + i, count: qi - i))
                    if qi + 1 < n && record[qi + 1] == 0x22 {
                        unescaped.append(0x22)
                        i = qi + 2
                        continue
                    }
                    pos = qi + 1
                    break
                }
                if pos < n && record[pos] != 0x2C { return .badQuote }
                unescaped.withUnsafeBytes { body(index, $0) }
            } else {
                var end = n
                if pos < n, let c = memchr(base + pos, 0x2C, n - pos) {
                    end = base.distance(to: UnsafeRawPointer(c))
                }
                let field = UnsafeRawBufferPointer(start: base + pos, count: end - pos)
                if memchr(base + pos, 0x22, end - pos) != nil { return .badQuote }
                body(index, field)
                pos = end
            }
            index += 1
            if pos >= n { return nil }
            pos += 1  // the comma; a trailing comma gives one more, empty, field
            if pos == n {
                body(index, UnsafeRawBufferPointer(start: base + pos, count: 0))
                return nil
            }
        }
    }
}
