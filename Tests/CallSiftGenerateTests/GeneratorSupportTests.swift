import Foundation
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftGenerate
// (Helpers only, no tests: named Generator*Tests.swift to stay within the generator's files.)

/// Helpers shared by the generator tests: an independent reading of the generated lines
/// (RFC 4180 CSV, JSONSerialization, ISO8601DateFormatter), never the generator's own code.
enum GeneratedLog {
    static let eventNames: Set<String> = ["arrive", "answer", "transfer", "abandon", "blocked", "end"]
    static let keys = ["ts", "centre", "call", "event", "caller", "service", "outcome", "reason"]

    /// One parsed line: keys present (CSV: every column, empty = ""), and the time.
    struct Record {
        var fields: [String: String]
        var millis: Int64
        var line: Int
        subscript(_ key: String) -> String { fields[key] ?? "" }
    }

    static func generate(_ options: GeneratorOptions) -> (text: [UInt8], summary: GeneratorSummary) {
        let result = try! generateWorkloadBytes(options)
        return (result.bytes, result.summary)
    }

    /// Lines without their newline (the text ends with one; that last empty piece is dropped).
    static func lines(_ bytes: [UInt8]) -> [[UInt8]] {
        var result = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if result.last?.isEmpty == true { result.removeLast() }
        return result
    }

    /// RFC 4180 fields of one physical line; nil if a quote is left open or stray.
    static func csvFields(_ line: [UInt8]) -> [String]? {
        var fields: [String] = []
        var field: [UInt8] = []
        var i = 0
        var quoted = false
        var wasQuoted = false
        while i < line.count {
            let b = line[i]
            if quoted {
                if b == UInt8(ascii: "\"") {
                    if i + 1 < line.count && line[i + 1] == UInt8(ascii: "\"") {
                        field.append(b)
                        i += 1
                    } else {
                        quoted = false
                    }
                } else {
                    field.append(b)
                }
            } else if b == UInt8(ascii: ",") {
                guard let s = String(validating: field, as: UTF8.self) else { return nil }
                fields.append(s)
                field = []
                wasQuoted = false
            } else if b == UInt8(ascii: "\"") {
                guard field.isEmpty && !wasQuoted else { return nil }
                quoted = true
                wasQuoted = true
            } else {
                guard !wasQuoted else { return nil }
                field.append(b)
            }
            i += 1
        }
        guard !quoted, let s = String(validating: field, as: UTF8.self) else { return nil }
        fields.append(s)
        return fields
    }

    /// Timestamps as docs/metrics.md, "Values", allows them: RFC 3339 with milliseconds
    /// (`Z` or `±HH:MM`), or integer epoch milliseconds. Written independently of the
    /// generator's `CivilDate` (leap years counted by rule, months from a table) and
    /// cross-checked against Foundation in the primitives tests.
    static func parseTimestamp(_ text: String) -> Int64? {
        let b = Array(text.utf8)
        if !b.isEmpty && b.count <= 18 && b.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) { return Int64(text) }
        guard b.count == 24 || b.count == 29 else { return nil }
        func num(_ from: Int, _ count: Int) -> Int? {
            var v = 0
            for i in from..<from + count {
                guard b[i] >= 0x30 && b[i] <= 0x39 else { return nil }
                v = v * 10 + Int(b[i] - 0x30)
            }
            return v
        }
        let punctuation: [(Int, Character)] = [(4, "-"), (7, "-"), (10, "T"), (13, ":"), (16, ":"), (19, ".")]
        guard punctuation.allSatisfy({ b[$0.0] == $0.1.asciiValue! }),
            let y = num(0, 4), let mo = num(5, 2), let d = num(8, 2), let h = num(11, 2),
            let mi = num(14, 2), let sec = num(17, 2), let ms = num(20, 3),
            y >= 1970, (1...12).contains(mo), h < 24, mi < 60, sec < 60
        else { return nil }
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
        let monthDays = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        guard (1...monthDays[mo - 1]).contains(d) else { return nil }
        var days = 0
        for year in 1970..<y { days += (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 366 : 365 }
        days += monthDays[0..<(mo - 1)].reduce(0, +) + d - 1
        var millis = Int64(((days * 24 + h) * 60 + mi) * 60 + sec) * 1000 + Int64(ms)
        if b.count == 24 {
            guard b[23] == UInt8(ascii: "Z") else { return nil }
        } else {
            guard b[23] == UInt8(ascii: "+") || b[23] == UInt8(ascii: "-"), b[26] == UInt8(ascii: ":"),
                let oh = num(24, 2), let om = num(27, 2)
            else { return nil }
            let offset = Int64((oh * 60 + om) * 60_000)
            millis += b[23] == UInt8(ascii: "+") ? -offset : offset
        }
        return millis
    }

    /// Parses a whole clean CSV output; records an issue for anything that does not parse.
    static func parseCSV(_ bytes: [UInt8]) throws -> [Record] {
        let all = lines(bytes)
        guard let header = all.first.flatMap(csvFields), header == keys else {
            throw Problem("bad header")
        }
        var records: [Record] = []
        for (n, line) in all.enumerated().dropFirst() {
            guard let fields = csvFields(line) else { throw Problem("line \(n + 1) does not parse") }
            guard fields.count == keys.count else { throw Problem("line \(n + 1) has \(fields.count) fields") }
            var map: [String: String] = [:]
            for (k, v) in zip(keys, fields) { map[k] = v }
            guard let t = parseTimestamp(map["ts"]!) else { throw Problem("line \(n + 1): bad ts \(map["ts"]!)") }
            records.append(Record(fields: map, millis: t, line: n + 1))
        }
        return records
    }

    static func parseNDJSON(_ bytes: [UInt8]) throws -> [Record] {
        var records: [Record] = []
        for (n, line) in lines(bytes).enumerated() {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: Any] else {
                throw Problem("line \(n + 1) is not a JSON object")
            }
            var map: [String: String] = [:]
            var t: Int64?
            for (k, v) in object {
                guard keys.contains(k) else { throw Problem("line \(n + 1): unexpected key \(k)") }
                if k == "ts", let number = v as? NSNumber, !(v is String) {
                    t = number.int64Value
                    map[k] = "\(number.int64Value)"
                } else if let s = v as? String {
                    map[k] = s
                    if k == "ts" { t = parseTimestamp(s) }
                } else {
                    throw Problem("line \(n + 1): \(k) is neither string nor number")
                }
            }
            guard let t else { throw Problem("line \(n + 1): bad or missing ts") }
            records.append(Record(fields: map, millis: t, line: n + 1))
        }
        return records
    }

    struct Problem: Error, CustomStringConvertible {
        var description: String
        init(_ d: String) { description = d }
    }

    /// The unidentified callers of docs/metrics.md, "Values".
    static func isUnidentified(_ caller: String) -> Bool {
        ["", "anonymous", "withheld", "private", "unknown", "unavailable"].contains(caller.lowercased())
    }

    /// Groups records into calls the way docs/metrics.md, "Calls", does: same (centre,
    /// call), all within 6 hours of the earliest.
    static func calls(_ records: [Record]) -> [[Record]] {
        var byKey: [String: [Record]] = [:]
        for r in records { byKey[r["centre"] + "\u{1}" + r["call"], default: []].append(r) }
        var result: [[Record]] = []
        for key in byKey.keys.sorted() {
            var group = byKey[key]!.sorted { $0.millis != $1.millis ? $0.millis < $1.millis : $0.line < $1.line }
            while !group.isEmpty {
                let start = group[0].millis
                let cut = group.firstIndex { $0.millis - start > 6 * 3_600_000 } ?? group.count
                result.append(Array(group[0..<cut]))
                group.removeFirst(cut)
            }
        }
        return result
    }
}
