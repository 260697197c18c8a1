import TOMLKit

/// A value read from a TOML file (`TOMLDocument`).
public enum TOMLValue: Equatable, Sendable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case boolean(Bool)
    case array([TOMLValue])
    case table(TOMLTable)

    /// A number as a double (integers widen), else nil.
    public var number: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .float(let d): d
        default: nil
        }
    }

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var table: TOMLTable? { if case .table(let t) = self { t } else { nil } }

    var typeName: String {
        switch self {
        case .string: "a string"
        case .integer: "an integer"
        case .float: "a number"
        case .boolean: "a boolean"
        case .array: "an array"
        case .table: "a table"
        }
    }
}

/// A TOML table that remembers the order its keys were written in, so that files such as
/// the reason taxonomy print back in the author's order.
public struct TOMLTable: Equatable, Sendable {
    public private(set) var keys: [String] = []
    private var values: [String: TOMLValue] = [:]
    /// The source line each key was defined on, for error messages.
    public private(set) var lines: [String: Int] = [:]

    public init() {}

    public subscript(key: String) -> TOMLValue? { values[key] }

    mutating func set(_ key: String, _ value: TOMLValue, line: Int) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
        lines[key] = line
    }

    public var entries: [(key: String, value: TOMLValue)] { keys.map { ($0, values[$0]!) } }
}

/// A problem in a TOML file, with its line number.
public struct TOMLError: Error, CustomStringConvertible, Equatable {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// Reads callsift's TOML files (the standard, reason maps) with TOMLKit, a maintained TOML
/// v1.0 parser (toml++), into `TOMLTable`s that keep what the files' messages and outputs
/// need and TOMLKit does not give: the order keys were written in, and the line of each.
///
/// TOMLKit checks the syntax and gives the values; a syntax error names its line. The
/// order and the lines come from `TOMLLineIndex`, a scan of the text for table headers
/// and `key =` lines. A key the scan cannot place (inside an inline table) takes its
/// table's line and comes after the keys it placed. Dates and times as TOML values are
/// refused (callsift's files write dates as quoted strings).
public enum TOMLDocument {
    public static func parse(_ text: String) throws -> TOMLTable {
        let index = TOMLLineIndex(text)
        // toml++ (2025's, in TOMLKit 0.6.0) stops the process on an assertion when a table
        // header's name starts with any other character: it is refused here first.
        if let line = index.headerWithoutName {
            throw TOMLError(
                line: line,
                message: "a table header must name its table: [name] or [[name]], the name bare (letters, digits, _ and -) or quoted")
        }
        // And on one when an array's element is due and a `}` comes.
        if let line = index.elementMissing {
            throw TOMLError(line: line, message: "an array's element is missing: '}' where a value or ']' was expected")
        }
        // Tables nested without end (`a.a.a…` keys) would take time and memory as the square
        // of their depth, and the stack as their depth: refused before they are read.
        if let line = index.tooDeep { throw tooDeep(line) }
        let parsed: TOMLKit.TOMLTable
        do {
            parsed = try TOMLKit.TOMLTable(string: text)
        } catch let e as TOMLParseError {
            throw TOMLError(line: e.source.begin.line, message: e.description)
        }
        return try convert(parsed, path: [], line: 1, index: index)
    }

    /// How deep tables may nest (arrays of tables count a level for the array); callsift's
    /// files nest four deep at most.
    static let maxDepth = 64

    private static func tooDeep(_ line: Int) -> TOMLError {
        TOMLError(line: line, message: "tables nest more than \(maxDepth) deep")
    }

    private static func convert(_ t: TOMLKit.TOMLTable, path: [String], line: Int, index: TOMLLineIndex) throws -> TOMLTable {
        // Nesting the line scan does not see (dotted keys inside inline tables).
        guard path.count <= maxDepth else { throw tooDeep(line) }
        // Each key's line: where it is assigned, or its table's header.
        let placed = index.keys[path] ?? [:]
        func lineOf(_ key: String) -> Int? { placed[key] ?? index.headers[path + [key]] }
        let keys = t.keys.sorted { a, b in
            switch (lineOf(a), lineOf(b)) {
            case let (x?, y?): x != y ? x < y : a < b
            case (_?, nil): true
            case (nil, _?): false
            case (nil, nil): a < b
            }
        }
        var out = TOMLTable()
        for key in keys {
            guard let value = t[key]?.tomlValue else { continue }
            let at = lineOf(key) ?? line
            out.set(key, try convert(value, path: path + [key], line: at, index: index), line: at)
        }
        return out
    }

    private static func convert(_ v: TOMLKit.TOMLValue, path: [String], line: Int, index: TOMLLineIndex) throws -> TOMLValue {
        switch v.type {
        case .string: return .string(v.string!)
        case .int: return .integer(Int64(v.int!))
        case .double: return .float(v.double!)
        case .bool: return .boolean(v.bool!)
        case .table: return .table(try convert(v.table!, path: path, line: line, index: index))
        case .array:
            // An array of tables (`[[name]]`): element n is the path's nth header.
            return .array(
                try v.array!.enumerated().map { n, element in
                    let elementPath = path + ["[\(n)]"]
                    return try convert(element.tomlValue, path: elementPath, line: index.headers[elementPath] ?? line, index: index)
                })
        case .date, .time, .dateTime:
            throw TOMLError(line: line, message: "dates and times are written as quoted strings here (\"YYYY-MM-DD\")")
        }
    }
}

/// Where a TOML text defines each key: for each table, by its path from the root (an
/// element of an array of tables is the component `[n]` after the array's name), the line
/// of each key; and the line of each table header. A scan of the lines, not a parser: it
/// follows strings, comments and brackets only far enough to skip values that span lines.
struct TOMLLineIndex {
    private(set) var keys: [[String]: [String: Int]] = [:]
    private(set) var headers: [[String]: Int] = [:]
    /// The first line whose table header does not start its name with a bare key's
    /// character (A-Z, a-z, 0-9, _, -), a quote, or the header's `]` (after `[` or `[[` and
    /// blanks): `[é]`, `[`, `[ #`.
    private(set) var headerWithoutName: Int?
    /// The first line where an array's element is due (after `[` or `,`, blanks, line
    /// ends and comments) and a `}` comes instead: `[ }`, `[1, }`.
    private(set) var elementMissing: Int?
    /// The first line whose table header or key names a table more than
    /// `TOMLDocument.maxDepth` deep; its tables and keys are not indexed.
    private(set) var tooDeep: Int?

    init(_ text: String) {
        var table: [String] = []
        var arrayCounts: [[String]: Int] = [:]
        var depth = 0  // open brackets and braces of a value that goes on
        var inMultiline: [UInt8]? = nil  // the closing quotes of a multi-line string
        var open: [UInt8] = []  // the value's open brackets and braces, innermost last
        var elementDue = false  // an array's element comes next (after `[` or `,`)
        // Lines split on the byte (a Swift `Character` would take "\r\n" whole); a
        // byte-order mark is not part of the first line (TOMLKit skips it too).
        var bytes = Array(text.utf8)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        for (n, lineBytes) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let line = n + 1
            var s = Scanner(Array(lineBytes))
            if let close = inMultiline {
                guard s.skip(past: close) else { continue }
                inMultiline = nil
                s.value(depth: &depth, multiline: &inMultiline, open: &open, elementDue: &elementDue)
                if s.elementMissing && elementMissing == nil { elementMissing = line }
                continue
            }
            if depth > 0 {
                s.value(depth: &depth, multiline: &inMultiline, open: &open, elementDue: &elementDue)
                if s.elementMissing && elementMissing == nil { elementMissing = line }
                continue
            }
            s.blanks()
            if s.take(UInt8(ascii: "[")) {
                let isArray = s.take(UInt8(ascii: "["))
                if headerWithoutName == nil && !s.startsName() { headerWithoutName = line }
                guard let names = s.dottedKey(), s.take(UInt8(ascii: "]")) else { continue }
                guard names.count + (isArray ? 1 : 0) <= TOMLDocument.maxDepth else {
                    if tooDeep == nil { tooDeep = line }
                    continue
                }
                if isArray {
                    let k = arrayCounts[names, default: 0]
                    arrayCounts[names] = k + 1
                    table = names + ["[\(k)]"]
                    headers[names] = headers[names] ?? line
                } else {
                    table = names
                }
                headers[table] = line
                // The tables the header implies, each at its first mention.
                for i in 1..<max(names.count, 1) where headers[Array(names[..<i])] == nil { headers[Array(names[..<i])] = line }
                continue
            }
            guard let names = s.dottedKey(), s.take(UInt8(ascii: "=")) else { continue }
            // The key's own name is a value's, not a table's.
            guard table.count + names.count - 1 <= TOMLDocument.maxDepth else {
                if tooDeep == nil { tooDeep = line }
                continue
            }
            for i in names.indices {
                let owner = table + names[..<i]
                if keys[owner, default: [:]][names[i]] == nil { keys[owner, default: [:]][names[i]] = line }
            }
            open.removeAll()
            elementDue = false
            s.value(depth: &depth, multiline: &inMultiline, open: &open, elementDue: &elementDue)
            if s.elementMissing && elementMissing == nil { elementMissing = line }
        }
    }

    private struct Scanner {
        let b: [UInt8]
        var i = 0
        init(_ b: [UInt8]) { self.b = b }

        mutating func blanks() { while i < b.count, b[i] == 0x20 || b[i] == 0x09 { i += 1 } }

        /// Whether, after blanks, a bare or quoted key or a `]` starts here.
        mutating func startsName() -> Bool {
            blanks()
            guard i < b.count else { return false }
            switch b[i] {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "\""), UInt8(ascii: "'"), UInt8(ascii: "]"):
                return true
            default:
                return false
            }
        }

        mutating func take(_ c: UInt8) -> Bool {
            blanks()
            guard i < b.count, b[i] == c else { return false }
            i += 1
            return true
        }

        /// `a.b."c d"`: bare, basic or literal keys joined by dots.
        mutating func dottedKey() -> [String]? {
            var names: [String] = []
            repeat {
                blanks()
                guard let k = key() else { return nil }
                names.append(k)
            } while take(UInt8(ascii: "."))
            return names
        }

        mutating func key() -> String? {
            guard i < b.count else { return nil }
            let q = b[i]
            if q == UInt8(ascii: "\"") || q == UInt8(ascii: "'") {
                guard let s = quoted(q) else { return nil }
                return s
            }
            let start = i
            while i < b.count, Self.isBare(b[i]) { i += 1 }
            return i > start ? String(decoding: b[start..<i], as: UTF8.self) : nil
        }

        static func isBare(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }

        /// A one-line string opened by `q` at `i`, its escapes resolved as far as a key needs.
        mutating func quoted(_ q: UInt8) -> String? {
            i += 1
            var out: [UInt8] = []
            while i < b.count {
                let c = b[i]
                i += 1
                if c == q { return String(decoding: out, as: UTF8.self) }
                if c == UInt8(ascii: "\\") && q == UInt8(ascii: "\""), i < b.count {
                    let e = b[i]
                    i += 1
                    switch e {
                    case UInt8(ascii: "n"): out.append(0x0A)
                    case UInt8(ascii: "t"): out.append(0x09)
                    case UInt8(ascii: "r"): out.append(0x0D)
                    default: out.append(e)  // \" \\ and the rest, kept as written
                    }
                } else {
                    out.append(c)
                }
            }
            return nil
        }

        /// Moves past `close` (the end of a multi-line string); false when not on this line.
        mutating func skip(past close: [UInt8]) -> Bool {
            while i + close.count <= b.count {
                if b[i..<i + close.count].elementsEqual(close) {
                    i += close.count
                    return true
                }
                i += b[i] == UInt8(ascii: "\\") && close[0] == UInt8(ascii: "\"") ? 2 : 1
            }
            return false
        }

        /// The rest of a value: counts the brackets it leaves open and notes a multi-line
        /// string it leaves open, skipping strings and a comment.
        /// Set by `value` when an array's element is due and a `}` comes.
        var elementMissing = false

        mutating func value(depth: inout Int, multiline: inout [UInt8]?, open: inout [UInt8], elementDue: inout Bool) {
            while i < b.count {
                let c = b[i]
                if c == UInt8(ascii: "#") { return }
                if c == 0x20 || c == 0x09 || c == 0x0D {
                    i += 1
                    continue
                }
                if elementDue && c == UInt8(ascii: "}") { elementMissing = true }
                elementDue = false
                switch c {
                case UInt8(ascii: "["):
                    open.append(c)
                    elementDue = true
                case UInt8(ascii: "{"): open.append(c)
                case UInt8(ascii: "]"), UInt8(ascii: "}"): _ = open.popLast()
                case UInt8(ascii: ","): elementDue = open.last == UInt8(ascii: "[")
                default: break
                }
                if c == UInt8(ascii: "\"") || c == UInt8(ascii: "'") {
                    let triple = [c, c, c]
                    if i + 3 <= b.count, b[i..<i + 3].elementsEqual(triple) {
                        i += 3
                        guard skip(past: triple) else {
                            multiline = triple
                            return
                        }
                    } else {
                        _ = quoted(c)
                    }
                    continue
                }
                if c == UInt8(ascii: "[") || c == UInt8(ascii: "{") { depth += 1 }
                if c == UInt8(ascii: "]") || c == UInt8(ascii: "}") { depth = max(depth - 1, 0) }
                i += 1
            }
        }
    }
}
