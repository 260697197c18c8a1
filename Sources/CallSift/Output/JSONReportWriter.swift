import CallSiftCore
import CallSiftInput
import CallSiftFormats
/// Writes a `Report` as the JSON object of docs/metrics.md, "Output".
///
/// The layout is fixed (keys in a fixed order, two-space indentation, one rate object a
/// line) so that the same inputs give the same bytes on every run. Numbers: counters are
/// integers; rates and averages use the shortest decimal that reads back as the same
/// double; undefined values are `null`.
public enum JSONReportWriter {
    public static func render(_ r: Report) -> String { String(decoding: renderBytes(r), as: UTF8.self) }

    /// `render`'s UTF-8 bytes, made as such (a year's report is tens of megabytes).
    public static func renderBytes(_ r: Report) -> [UInt8] {
        var o = ""
        o.reserveCapacity(1024 + r.rows.count * 1500)
        let s = r.settings
        o += "{\n  \"config\": {\n"
        var config: [(String, String)] = [
            ("inputs", "[" + r.inputs.map(quote).joined(separator: ", ") + "]"),
            ("format", quote(s.format.rawValue)),
            ("scope", quote(s.scope.rawValue)),
            ("by", quote(s.grouping.rawValue)),
            ("period", quote(s.period.rawValue)),
            ("tz", quote(s.timeZone)),
            ("call_timeout_ms", String(s.callTimeout)),
            ("lateness_ms", String(s.lateness)),
            ("repeat_window_ms", String(s.repeatWindow)),
            ("chase_window_ms", String(s.chaseWindow)),
            ("retry_window_ms", String(s.retryWindow)),
            ("short_abandon_ms", String(s.shortAbandon)),
            ("sl_threshold_ms", String(s.slThreshold)),
            ("min_cell", String(s.minCell)),
        ]
        if let map = s.reasonMap {
            // Only when set, so that output without a map stays exactly as before.
            let entries = map.sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            config.append(("reason_map", "{" + entries.map { "\(quote($0.key)): \(quote($0.value))" }.joined(separator: ", ") + "}"))
        }
        if let centre = s.centre { config.insert(("centre", quote(centre)), at: 2) }
        if let state = r.statePath { config.insert(("state", quote(state)), at: 1) }
        if !r.inputFiles.isEmpty {
            // Each file read, one a line: what merge recognises inputs by (their content).
            let files = r.inputFiles.map { f in
                "      {\"file\": \(quote(f.path)), \"content\": \(f.content.map { quote($0.description) } ?? "null"), \"lines\": \(f.lines)}"
            }
            config.insert(("input_files", "[\n" + files.joined(separator: ",\n") + "\n    ]"), at: 1)
        }
        o += config.map { "    \(quote($0.0)): \($0.1)" }.joined(separator: ",\n")
        o += "\n  },\n"
        o += "  \"horizon\": \(r.horizon.map { quote(Timestamp.format(millis: $0)) } ?? "null"),\n"
        let a = r.lines, c = r.calls
        o += "  \"accounting\": {\n"
        o += "    \"lines\": \(a.lines),\n"
        o += "    \"events\": \(c.events),\n"
        o += "    \"duplicates\": \(r.duplicates),\n"
        o += "    \"late\": \(a.late),\n"
        o += "    \"skipped\": \(a.skipped),\n"
        // Only adapters skip records; canonical inputs keep their layout byte for byte.
        let kinds = a.skippedKinds.keys.filter { a.skipped($0) > 0 }.sorted { $0.rawValue < $1.rawValue }
        if !kinds.isEmpty {
            o += "    \"skipped_kinds\": {" + kinds.map { "\(quote($0.rawValue)): \(a.skipped($0))" }.joined(separator: ", ") + "},\n"
        }
        o += "    \"rejected_total\": \(a.rejectedTotal),\n"
        let rejected = RejectReason.allCases.filter { a.rejected($0) > 0 }.sorted { $0.rawValue < $1.rawValue }
        o += "    \"rejected\": {" + rejected.map { "\(quote($0.rawValue)): \(a.rejected($0))" }.joined(separator: ", ") + "},\n"
        o += "    \"calls\": {\"contacts\": \(c.contacts), \"incomplete\": \(c.incomplete), \"conflicting\": \(c.conflicting)}\n"
        o += "  },\n"
        o += "  \"rows\": ["
        // The rows, most of a report, are written as bytes: a national month has tens of
        // thousands, and appending them to a String piece by piece cost a daily run about a
        // tenth of a second.
        var b = RowBytes()
        b.bytes.reserveCapacity(o.utf8.count + r.rows.count * 1400 + 16)
        b.bytes += o.utf8
        for (i, row) in r.rows.enumerated() {
            b.put(i == 0 ? "\n" : ",\n")
            b.put("    {\n      \"centre\": ")
            b.quoted(row.centre)
            b.put(",\n")
            if let service = row.service {
                b.put("      \"service\": ")
                b.quoted(service)
                b.put(",\n")
            }
            b.put("      \"period\": ")
            b.quoted(row.period)
            b.put(",\n")
            if let final = row.final { b.put(final ? "      \"final\": true,\n" : "      \"final\": false,\n") }
            for (k, v) in row.counters.values.enumerated() {
                b.bytes += RowBytes.fieldPrefixes[k]
                b.int(v)
                b.put(",\n")
            }
            b.put("      \"asa_s\": ")
            b.number(row.counters.asaSeconds)
            b.put(",\n      \"aht_s\": ")
            b.number(row.counters.ahtSeconds)
            b.put(",\n      \"rates\": {\n")
            let rates = row.counters.rates
            for (k, rate) in rates.enumerated() {
                let w = RateValue(x: rate.x, n: rate.n, minCell: s.minCell)
                b.put("        ")
                b.quoted(rate.name)
                b.put(": {\"x\": ")
                b.int(rate.x)
                b.put(", \"n\": ")
                b.int(rate.n)
                b.put(", \"value\": ")
                b.number(w.value)
                b.put(", \"lo\": ")
                b.number(w.lo)
                b.put(", \"hi\": ")
                b.number(w.hi)
                b.put(k == rates.count - 1 ? "}\n" : "},\n")
            }
            b.put("      }\n    }")
        }
        b.put(r.rows.isEmpty ? "]\n}\n" : "\n  ]\n}\n")
        return b.bytes
    }

    /// The bytes of the rows, as `quote`, `number` and string interpolation write them.
    private struct RowBytes {
        var bytes: [UInt8] = []

        /// `      "name": ` for each of `Counters.fields`.
        static let fieldPrefixes: [[UInt8]] = Counters.fields.map { Array("      \(quote($0.name)): ".utf8) }

        mutating func put(_ s: StaticString) {
            s.withUTF8Buffer { bytes.append(contentsOf: $0) }
        }

        mutating func int(_ v: Int64) {
            if v < 0 { bytes.append(UInt8(ascii: "-")) }
            var m = v.magnitude
            var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)  // room for the 20 digits of any magnitude
            withUnsafeMutableBytes(of: &digits) { d in
                var k = d.count
                repeat {
                    k -= 1
                    d[k] = UInt8(ascii: "0") + UInt8(m % 10)
                    m /= 10
                } while m > 0
                bytes.append(contentsOf: d[k...])
            }
        }

        mutating func number(_ d: Double?) { bytes += JSONReportWriter.number(d).utf8 }

        /// `quote(s)`: a string with nothing to escape (nearly every name) goes as it is.
        mutating func quoted(_ s: String) {
            var plain = true
            for c in s.utf8 where c < 0x20 || c == UInt8(ascii: "\"") || c == UInt8(ascii: "\\") {
                plain = false
                break
            }
            if plain {
                bytes.append(UInt8(ascii: "\""))
                bytes += s.utf8
                bytes.append(UInt8(ascii: "\""))
            } else {
                bytes += JSONReportWriter.quote(s).utf8
            }
        }
    }

    package static func number(_ d: Double?) -> String {
        guard let d else { return "null" }
        guard d.isFinite else { return "null" }
        return d.description
    }

    /// A JSON string literal.
    package static func quote(_ s: String) -> String {
        var o = "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": o += "\\\""
            case "\\": o += "\\\\"
            case "\n": o += "\\n"
            case "\r": o += "\\r"
            case "\t": o += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                o += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: o.unicodeScalars.append(u)
            }
        }
        return o + "\""
    }
}

/// A rate as printed: Wilson interval, or nulls when n = 0 or n is below `--min-cell`.
struct RateValue {
    var value: Double?
    var lo: Double?
    var hi: Double?

    init(x: Int64, n: Int64, minCell: Int64) {
        guard n >= max(minCell, 1), let w = Wilson.interval(x: x, n: n) else { return }
        value = w.value; lo = w.lo; hi = w.hi
    }
}
