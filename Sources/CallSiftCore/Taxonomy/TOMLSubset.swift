/// A value read from a TOML-subset file (see `TOMLSubset`).
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

/// A problem in a TOML-subset file, with its line number.
public struct TOMLError: Error, CustomStringConvertible, Equatable {
    public var line: Int
    public var message: String
    public var description: String { "line \(line): \(message)" }
}

/// A reader for the part of TOML (v1.0) that callsift's configuration files use.
///
/// Written here rather than taken as a dependency, to keep builds small. What it reads is
/// a strict subset of TOML, so any TOML tool reads these files the same way:
///
/// - comments from `#` to the end of the line (outside strings);
/// - `key = value` pairs, where a key is bare (`A-Z a-z 0-9 _ -`) or a basic string in
///   double quotes (so reason codes with spaces or dots can be keys); dotted keys are not
///   supported;
/// - table headers `[name]` and `[a.b]`, and arrays of tables `[[name]]`;
/// - values: basic strings `"..."` (escapes `\" \\ \n \t \r \uXXXX`), literal strings
///   `'...'`, integers (`10`, `-3`, `1_000`), floats (`0.70`, `1e-3`), `true`/`false`,
///   and arrays `[...]` of these, which may span lines and end with a comma.
///
/// Not supported (an error names the line): inline tables `{...}`, multi-line strings,
/// dates and times as TOML values (write them as strings), hexadecimal and octal numbers,
/// `inf` and `nan`. Defining a key twice is an error, as in TOML.
public enum TOMLSubset {
    public static func parse(_ text: String) throws -> TOMLTable {
        var p = Parser(bytes: Array(text.utf8))
        return try p.document()
    }

    private struct Parser {
        let bytes: [UInt8]
        var i = 0
        var line = 1

        init(bytes: [UInt8]) { self.bytes = bytes }

        func fail(_ message: String) -> TOMLError { TOMLError(line: line, message: message) }

        var atEnd: Bool { i >= bytes.count }
        var peek: UInt8? { i < bytes.count ? bytes[i] : nil }

        /// Skips spaces and tabs (not newlines).
        mutating func skipBlanks() {
            while let c = peek, c == 0x20 || c == 0x09 { i += 1 }
        }

        /// Skips a comment, if any, up to (not including) the newline.
        mutating func skipComment() {
            if peek == UInt8(ascii: "#") { while let c = peek, c != 0x0A { i += 1 } }
        }

        /// Expects the end of a line: blanks, an optional comment, then a newline or the end.
        mutating func endOfLine() throws {
            skipBlanks()
            skipComment()
            if peek == 0x0D { i += 1 }
            guard let c = peek else { return }
            guard c == 0x0A else { throw fail("unexpected text after the value: '\(restOfLine())'") }
            i += 1
            line += 1
        }

        /// Skips blank lines, comments and newlines (inside arrays and between statements).
        mutating func skipWhitespaceAndComments() {
            while let c = peek {
                if c == 0x20 || c == 0x09 || c == 0x0D {
                    i += 1
                } else if c == 0x0A {
                    i += 1; line += 1
                } else if c == UInt8(ascii: "#") {
                    skipComment()
                } else {
                    break
                }
            }
        }

        func restOfLine() -> String {
            var j = i
            while j < bytes.count, bytes[j] != 0x0A { j += 1 }
            return String(decoding: bytes[i..<j], as: UTF8.self)
        }

        mutating func document() throws -> TOMLTable {
            var root = TOMLTable()
            // The path of the table that key/value pairs currently go into; for an array
            // of tables, its last element.
            var current: [String] = []
            var definedTables: Set<[String]> = []
            while true {
                skipWhitespaceAndComments()
                guard let c = peek else { break }
                if c == UInt8(ascii: "[") {
                    i += 1
                    let isArray = peek == UInt8(ascii: "[")
                    if isArray { i += 1 }
                    skipBlanks()
                    var path = [try key()]
                    skipBlanks()
                    while peek == UInt8(ascii: ".") {
                        i += 1
                        skipBlanks()
                        path.append(try key())
                        skipBlanks()
                    }
                    guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                    i += 1
                    if isArray {
                        guard peek == UInt8(ascii: "]") else { throw fail("expected ']]' to close the array-of-tables header") }
                        i += 1
                        try appendTable(to: &root, path: path)
                    } else {
                        guard definedTables.insert(path).inserted else { throw fail("table [\(path.joined(separator: "."))] is defined twice") }
                        try ensureTable(in: &root, path: path)
                    }
                    current = path
                    try endOfLine()
                } else {
                    let k = try key()
                    let keyLine = line
                    skipBlanks()
                    guard peek == UInt8(ascii: "=") else {
                        if peek == UInt8(ascii: ".") { throw fail("dotted keys are not supported; use a [table] header") }
                        throw fail("expected '=' after the key '\(k)'")
                    }
                    i += 1
                    skipBlanks()
                    let v = try value()
                    try insert(into: &root, path: current, key: k, value: v, line: keyLine)
                    try endOfLine()
                }
            }
            return root
        }

        mutating func key() throws -> String {
            if peek == UInt8(ascii: "\"") { return try basicString() }
            if peek == UInt8(ascii: "'") { return try literalString() }
            let start = i
            while let c = peek, isBareKeyByte(c) { i += 1 }
            guard i > start else { throw fail("expected a key, found '\(restOfLine())'") }
            return String(decoding: bytes[start..<i], as: UTF8.self)
        }

        func isBareKeyByte(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }

        mutating func value() throws -> TOMLValue {
            guard let c = peek else { throw fail("expected a value") }
            switch c {
            case UInt8(ascii: "\""):
                if bytes[i...].starts(with: Array("\"\"\"".utf8)) { throw fail("multi-line strings are not supported") }
                return .string(try basicString())
            case UInt8(ascii: "'"):
                return .string(try literalString())
            case UInt8(ascii: "["):
                return try array()
            case UInt8(ascii: "{"):
                throw fail("inline tables are not supported; use a [table] header")
            default:
                let start = i
                while let d = peek,
                    !(d == 0x20 || d == 0x09 || d == 0x0A || d == 0x0D || d == UInt8(ascii: ",") || d == UInt8(ascii: "]") || d == UInt8(ascii: "#"))
                { i += 1 }
                let word = String(decoding: bytes[start..<i], as: UTF8.self)
                if word == "true" { return .boolean(true) }
                if word == "false" { return .boolean(false) }
                return try number(word)
            }
        }

        func number(_ word: String) throws -> TOMLValue {
            guard !word.isEmpty else { throw fail("expected a value") }
            // Underscores must sit between digits.
            let scalars = Array(word.unicodeScalars)
            for (k, s) in scalars.enumerated() where s == "_" {
                let before = k > 0 ? scalars[k - 1] : " ", after = k + 1 < scalars.count ? scalars[k + 1] : " "
                guard before.properties.numericType != nil, after.properties.numericType != nil else {
                    throw fail("'\(word)' is not a number")
                }
            }
            let plain = word.replacingOccurrences(of: "_", with: "")
            let digits = plain.hasPrefix("+") || plain.hasPrefix("-") ? String(plain.dropFirst()) : plain
            guard let first = digits.first, first.isASCII, first.isNumber else {
                throw fail("'\(word)' is not a value (strings need quotes)")
            }
            if digits.allSatisfy({ $0.isASCII && $0.isNumber }) {
                if digits.count > 1 && digits.hasPrefix("0") { throw fail("'\(word)': leading zeros are not allowed") }
                guard let n = Int64(plain.hasPrefix("+") ? String(plain.dropFirst()) : plain) else { throw fail("'\(word)' is out of range") }
                return .integer(n)
            }
            let allowed = Set("0123456789.eE+-")
            guard digits.allSatisfy({ allowed.contains($0) }), let d = Double(plain), d.isFinite else {
                throw fail("'\(word)' is not a number")
            }
            // TOML wants digits on both sides of a decimal point.
            if let dot = plain.firstIndex(of: ".") {
                let after = plain.index(after: dot)
                guard dot > plain.startIndex, plain[plain.index(before: dot)].isNumber,
                    after < plain.endIndex, plain[after].isNumber
                else {
                    throw fail("'\(word)': a decimal point needs digits on both sides")
                }
            }
            return .float(d)
        }

        mutating func array() throws -> TOMLValue {
            i += 1  // [
            var items: [TOMLValue] = []
            while true {
                skipWhitespaceAndComments()
                guard let c = peek else { throw fail("unterminated array") }
                if c == UInt8(ascii: "]") { i += 1; break }
                items.append(try value())
                skipWhitespaceAndComments()
                if peek == UInt8(ascii: ",") { i += 1; continue }
                guard peek == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in the array") }
                i += 1
                break
            }
            return .array(items)
        }

        mutating func basicString() throws -> String {
            i += 1  // "
            var out: [UInt8] = []
            while true {
                guard let c = peek, c != 0x0A else { throw fail("unterminated string") }
                i += 1
                if c == UInt8(ascii: "\"") { break }
                if c != UInt8(ascii: "\\") { out.append(c); continue }
                guard let e = peek else { throw fail("unterminated string") }
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(e)
                case UInt8(ascii: "\\"): out.append(e)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "u"):
                    guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16),
                        let s = Unicode.Scalar(v)
                    else { throw fail("bad \\u escape") }
                    i += 4
                    out.append(contentsOf: Array(String(s).utf8))
                default: throw fail("unknown escape '\\\(Character(Unicode.Scalar(e)))'")
                }
            }
            guard let s = String(validating: out, as: UTF8.self) else { throw fail("string is not valid UTF-8") }
            return s
        }

        mutating func literalString() throws -> String {
            i += 1  // '
            let start = i
            while let c = peek, c != UInt8(ascii: "'") {
                guard c != 0x0A else { throw fail("unterminated string") }
                i += 1
            }
            guard peek != nil else { throw fail("unterminated string") }
            let s = String(decoding: bytes[start..<i], as: UTF8.self)
            i += 1
            return s
        }

        // MARK: building the tree

        func ensureTable(in table: inout TOMLTable, path: [String]) throws {
            guard let head = path.first else { return }
            var child: TOMLTable
            switch table[head] {
            case nil: child = TOMLTable()
            case .table(let t)?: child = t
            case .array(var items)? where items.last?.table != nil:
                var last = items.removeLast().table!
                try ensureTable(in: &last, path: Array(path.dropFirst()))
                items.append(.table(last))
                table.set(head, .array(items), line: table.lines[head] ?? line)
                return
            default: throw fail("'\(head)' is already a value, not a table")
            }
            try ensureTable(in: &child, path: Array(path.dropFirst()))
            table.set(head, .table(child), line: table.lines[head] ?? line)
        }

        func appendTable(to table: inout TOMLTable, path: [String]) throws {
            let head = path[0]
            if path.count > 1 {
                var child: TOMLTable
                switch table[head] {
                case nil: child = TOMLTable()
                case .table(let t)?: child = t
                case .array(var items)? where items.last?.table != nil:
                    var last = items.removeLast().table!
                    try appendTable(to: &last, path: Array(path.dropFirst()))
                    items.append(.table(last))
                    table.set(head, .array(items), line: table.lines[head] ?? line)
                    return
                default: throw fail("'\(head)' is already a value, not a table")
                }
                try appendTable(to: &child, path: Array(path.dropFirst()))
                table.set(head, .table(child), line: table.lines[head] ?? line)
                return
            }
            switch table[head] {
            case nil: table.set(head, .array([.table(TOMLTable())]), line: line)
            case .array(var items)? where items.allSatisfy({ $0.table != nil }):
                items.append(.table(TOMLTable()))
                table.set(head, .array(items), line: table.lines[head] ?? line)
            default: throw fail("'\(head)' is already defined and is not an array of tables")
            }
        }

        func insert(into table: inout TOMLTable, path: [String], key: String, value: TOMLValue, line keyLine: Int) throws {
            guard let head = path.first else {
                if table[key] != nil { throw fail("'\(key)' is defined twice") }
                table.set(key, value, line: keyLine)
                return
            }
            switch table[head] {
            case .table(var t)?:
                try insert(into: &t, path: Array(path.dropFirst()), key: key, value: value, line: keyLine)
                table.set(head, .table(t), line: table.lines[head] ?? keyLine)
            case .array(var items)?:
                guard var last = items.popLast()?.table else { throw fail("'\(head)' is not a table") }
                try insert(into: &last, path: Array(path.dropFirst()), key: key, value: value, line: keyLine)
                items.append(.table(last))
                table.set(head, .array(items), line: table.lines[head] ?? keyLine)
            default:
                throw fail("'\(head)' is not a table")
            }
        }
    }
}
