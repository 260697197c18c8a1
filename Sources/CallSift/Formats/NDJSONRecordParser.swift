/// Parses one NDJSON line: a JSON object whose known keys are kept and whose other keys
/// are validated and skipped.
///
/// Values of known keys may be strings or numbers (kept as their literal text, so an
/// epoch-millisecond `ts` may be either); `null` counts as absent. Anything that is not
/// one well-formed JSON object is `bad_json`; a known key holding `true`, `false`, an
/// object or an array is `bad_value`. Nesting is limited to 64 levels so that hostile
/// input cannot exhaust the stack.
struct NDJSONRecordParser {
    static let maxDepth = 64

    func parse(_ record: UnsafeRawBufferPointer, into slots: inout FieldSlots) -> RejectReason? {
        slots.reset()
        var p = Parser(bytes: record)
        do {
            p.skipSpace()
            try p.expect(0x7B)  // {
            p.skipSpace()
            if p.peek() == 0x7D {
                p.index += 1
            } else {
                while true {
                    p.skipSpace()
                    let keyStart = slots.buffer.count
                    let key: FieldKey?
                    if let name = try p.string(into: &slots) {
                        key = FieldKey.named(name)
                    } else {
                        // A key written with escapes: matched on its decoded bytes.
                        key = slots.buffer.withUnsafeBytes {
                            FieldKey.named(UnsafeRawBufferPointer(rebasing: $0[keyStart...]))
                        }
                        slots.truncate(to: keyStart)
                    }
                    p.skipSpace()
                    try p.expect(0x3A)  // :
                    p.skipSpace()
                    if let key {
                        try p.knownValue(key, into: &slots)
                    } else {
                        try p.skipValue(depth: 1)
                    }
                    p.skipSpace()
                    let c = try p.next()
                    if c == 0x7D { break }
                    if c != 0x2C { throw ParseError.badJSON }
                }
            }
            p.skipSpace()
            if p.index != record.count { throw ParseError.badJSON }
        } catch let e as ParseError {
            return e == .badValue ? .badValue : .badJSON
        } catch {
            return .badJSON
        }
        return nil
    }

    enum ParseError: Error { case badJSON, badValue }

    struct Parser {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

        func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func next() throws -> UInt8 {
            guard index < bytes.count else { throw ParseError.badJSON }
            defer { index += 1 }
            return bytes[index]
        }

        mutating func expect(_ c: UInt8) throws {
            if try next() != c { throw ParseError.badJSON }
        }

        mutating func skipSpace() {
            while index < bytes.count {
                switch bytes[index] {
                case 0x20, 0x09, 0x0A, 0x0D: index += 1
                default: return
                }
            }
        }

        mutating func knownValue(_ key: FieldKey, into slots: inout FieldSlots) throws {
            switch peek() {
            case 0x22:
                slots.open(key)
                if let text = try string(into: &slots) {
                    slots.point(key, at: text)
                } else {
                    slots.close(key)
                }
            case 0x6E:  // null: absent
                try literal("null")
            case let c? where c == 0x2D || (c >= 0x30 && c <= 0x39):
                let start = index
                try number()
                slots.point(key, at: UnsafeRawBufferPointer(rebasing: bytes[start ..< index]))
            case 0x74, 0x66, 0x7B, 0x5B:
                try skipValue(depth: 1)
                throw ParseError.badValue
            default:
                throw ParseError.badJSON
            }
        }

        mutating func skipValue(depth: Int) throws {
            guard depth <= NDJSONRecordParser.maxDepth else { throw ParseError.badJSON }
            switch peek() {
            case 0x22:
                try skipString()
            case 0x7B:
                index += 1; skipSpace()
                if peek() == 0x7D { index += 1; return }
                while true {
                    skipSpace()
                    try skipString()
                    skipSpace(); try expect(0x3A); skipSpace()
                    try skipValue(depth: depth + 1)
                    skipSpace()
                    let c = try next()
                    if c == 0x7D { return }
                    if c != 0x2C { throw ParseError.badJSON }
                }
            case 0x5B:
                index += 1; skipSpace()
                if peek() == 0x5D { index += 1; return }
                while true {
                    skipSpace()
                    try skipValue(depth: depth + 1)
                    skipSpace()
                    let c = try next()
                    if c == 0x5D { return }
                    if c != 0x2C { throw ParseError.badJSON }
                }
            case 0x74: try literal("true")
            case 0x66: try literal("false")
            case 0x6E: try literal("null")
            default: try number()
            }
        }

        mutating func literal(_ word: StaticString) throws {
            let n = word.utf8CodeUnitCount
            guard index + n <= bytes.count else { throw ParseError.badJSON }
            let w = UnsafeRawBufferPointer(start: word.utf8Start, count: n)
            guard w.elementsEqual(bytes[index ..< index + n]) else { throw ParseError.badJSON }
            index += n
        }

        /// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
        mutating func number() throws {
            func digits() throws {
                let start = index
                while let c = peek(), c >= 0x30 && c <= 0x39 { index += 1 }
                if index == start { throw ParseError.badJSON }
            }
            if peek() == 0x2D { index += 1 }
            if peek() == 0x30 { index += 1 } else { try digits() }
            if peek() == 0x2E { index += 1; try digits() }
            if let c = peek(), c == 0x65 || c == 0x45 {
                index += 1
                if let s = peek(), s == 0x2B || s == 0x2D { index += 1 }
                try digits()
            }
        }

        /// Reads a string. One without escapes (nearly all) is returned in place, its bytes
        /// inside the record, and nothing is appended. One with escapes has its decoded
        /// UTF-8 bytes appended to `slots`' side buffer, and nil is returned.
        mutating func string(into slots: inout FieldSlots) throws -> UnsafeRawBufferPointer? {
            try expect(0x22)
            let first = index
            scanPlain()
            let c = try next()
            if c == 0x22 { return UnsafeRawBufferPointer(rebasing: bytes[first ..< index - 1]) }
            if c != 0x5C { throw ParseError.badJSON }  // a raw control character
            if index - 1 > first { slots.append(UnsafeRawBufferPointer(rebasing: bytes[first ..< index - 1])) }
            while true {
                guard JSONEscape.decode(bytes, &index, { slots.append($0) }) else { throw ParseError.badJSON }
                let start = index
                scanPlain()
                if index > start { slots.append(UnsafeRawBufferPointer(rebasing: bytes[start ..< index])) }
                let c = try next()
                if c == 0x22 { return nil }
                if c != 0x5C { throw ParseError.badJSON }
            }
        }

        /// Checks a string that is not kept (an unknown key's value, or one inside a
        /// skipped value) by the same rules as `string`, storing nothing.
        mutating func skipString() throws {
            try expect(0x22)
            while true {
                scanPlain()
                let c = try next()
                if c == 0x22 { return }
                if c != 0x5C { throw ParseError.badJSON }
                guard JSONEscape.decode(bytes, &index, { _ in }) else { throw ParseError.badJSON }
            }
        }

        /// Moves past string bytes that stand for themselves: up to a quote, a backslash,
        /// a control character or the end.
        @inline(__always)
        mutating func scanPlain() {
            while index < bytes.count, bytes[index] != 0x22, bytes[index] != 0x5C, bytes[index] >= 0x20 {
                index += 1
            }
        }
    }
}
