import Testing
@testable import CallSiftCore
@testable import CallSiftFormats

/// The JSON cursor shared by the NDJSON and contact-trace-record readers: it accepts
/// exactly RFC 8259's grammar for whitespace, literals, numbers, strings (with escapes)
/// and nested values, stops right after each value it reads, and throws `Malformed` at the
/// first bytes that are not well-formed. It reports no position of its own beyond `index`,
/// which after a successful read points just past what was read.
@Suite struct JSONReaderTests {
    /// Runs `body` on a reader over `text`'s UTF-8 bytes.
    @discardableResult
    static func reading<R>(_ text: String, _ body: (inout JSONReader) throws -> R) rethrows -> R {
        try reading(bytes: Array(text.utf8), body)
    }

    @discardableResult
    static func reading<R>(bytes: [UInt8], _ body: (inout JSONReader) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { raw in
            var reader = JSONReader(bytes: raw)
            return try body(&reader)
        }
    }

    /// Where `skipValue` stopped in `text`, or nil when it threw.
    static func skipped(_ text: String, depth: Int = 1) -> Int? {
        reading(text) { r in
            do { try r.skipValue(depth: depth); return r.index } catch { return nil }
        }
    }

    /// Where `number` stopped in `text`, or nil when it threw.
    static func numberEnd(_ text: String) -> Int? {
        reading(text) { r in
            do { try r.number(); return r.index } catch { return nil }
        }
    }

    /// The bytes `string(into:)` decoded from `text` (a whole JSON string with its quotes),
    /// whether it kept them in place or decoded them, or nil when it threw.
    static func decoded(_ text: String) -> (bytes: [UInt8], inPlace: Bool)? {
        var slots = FieldSlots()
        return reading(text) { r -> ([UInt8], Bool)? in
            do {
                if let inPlace = try r.string(into: &slots) {
                    // In place: a range of the record itself, ending just before the closing quote.
                    guard inPlace.baseAddress == r.bytes.baseAddress.map({ $0 + 1 }), r.index == inPlace.count + 2 else {
                        return ([], false)
                    }
                    return (Array(inPlace), true)
                }
                return (slots.buffer, false)
            } catch {
                return nil
            }
        }
    }

    // MARK: - Cursor

    /// `peek` looks without moving, `next` moves and throws at the end, `expect` throws on
    /// any other byte.
    @Test func peekNextAndExpect() throws {
        try Self.reading("ab") { r in
            #expect(r.peek() == UInt8(ascii: "a"))
            #expect(r.index == 0)
            #expect(try r.next() == UInt8(ascii: "a"))
            #expect(r.index == 1)
            try r.expect(UInt8(ascii: "b"))
            #expect(r.peek() == nil)
            #expect(throws: JSONReader.Malformed.self) { try r.next() }
        }
        Self.reading("x") { r in
            #expect(throws: JSONReader.Malformed.self) { try r.expect(UInt8(ascii: "y")) }
        }
        Self.reading("") { r in
            #expect(r.peek() == nil)
            #expect(throws: JSONReader.Malformed.self) { try r.expect(UInt8(ascii: "{")) }
        }
    }

    /// White space is exactly space, tab, LF and CR: not form feed, vertical tab or a
    /// non-breaking space.
    @Test func whiteSpaceIsTheFourJSONCharacters() {
        #expect(
            Self.reading(" \t\r\n \n1") { r in
                r.skipSpace(); return r.index
            } == 6)
        #expect(
            Self.reading("   ") { r in
                r.skipSpace(); return r.index
            } == 3)
        for other: [UInt8] in [[0x0C], [0x0B], [0xC2, 0xA0], [0x00]] {
            #expect(
                Self.reading(bytes: [0x20] + other) { r in
                    r.skipSpace(); return r.index
                } == 1)
        }
    }

    /// Literals must be spelled out whole, in lower case.
    @Test func literals() throws {
        for word in ["true", "false", "null"] {
            #expect(Self.skipped(word) == word.utf8.count)
            #expect(Self.skipped(word + ",") == word.utf8.count)
        }
        for bad in ["tru", "fals", "nul", "True", "NULL", "nulL", "t", "f", "n"] {
            #expect(Self.skipped(bad) == nil, "\(bad)")
        }
        try Self.reading("null") { r in
            try r.literal("null"); #expect(r.index == 4)
        }
        Self.reading("nul") { r in #expect(throws: JSONReader.Malformed.self) { try r.literal("null") } }
    }

    // MARK: - Numbers

    /// Numbers in JSON's grammar are read whole.
    @Test(arguments: [
        "0", "-0", "7", "-7", "10", "1234567890", "0.5", "-0.0", "3.14159", "1e5", "1E5", "1e+5",
        "1e-5", "1.25E-10", "-0e0", "123456789012345678901234567890.123456789e+308",
    ])
    func validNumbers(text: String) {
        #expect(Self.numberEnd(text) == text.utf8.count)
        #expect(Self.skipped(text) == text.utf8.count)
    }

    /// A number ends at the first byte its grammar cannot take, which is left for the caller.
    @Test func numbersStopWhereTheGrammarEnds() {
        #expect(Self.numberEnd("01") == 1)
        #expect(Self.numberEnd("-00") == 2)
        #expect(Self.numberEnd("1.5.3") == 3)
        #expect(Self.numberEnd("12abc") == 2)
        #expect(Self.numberEnd("1e5e") == 3)
        #expect(Self.numberEnd("-0.5,") == 4)
        #expect(Self.numberEnd("42]") == 2)
        #expect(Self.numberEnd("7 ") == 1)
    }

    /// What JSON's grammar refuses: a lone or doubled sign, a plus sign, missing digits
    /// around the point or in the exponent, hexadecimal digits.
    @Test(arguments: ["", "-", "+1", "--1", ".5", "-.5", "1.", "1.e5", "1e", "1e+", "1E-", "-a", "x", "e5", "- 1"])
    func invalidNumbers(text: String) {
        #expect(Self.numberEnd(text) == nil)
    }

    // MARK: - Strings

    /// Strings with every short escape and `\u` escapes (either case of hex digit, and
    /// surrogate pairs) are passed over whole.
    @Test(arguments: [
        #""""#, #""abc""#, #""\"\\\/\b\f\n\r\t""#, #""\u0041\u00e9\u00E9\uFFFF""#, #""\ud83d\ude00""#,
        #""\uD83D\uDE00 and \udbff\udfff""#, "\"é ✓ 😀\"",
    ])
    func validStringsAreSkipped(text: String) {
        #expect(Self.skipped(text) == text.utf8.count)
        #expect(Self.skipped(text + ":") == text.utf8.count)
    }

    /// Unknown escapes, short or non-hex `\u`, lone or reversed surrogates, raw control
    /// characters and an unterminated string are malformed.
    @Test(arguments: [
        #""\x""#, #""\a""#, #""\U0041""#, #""\u004""#, #""\u00g1""#, #""\ud83d""#, #""\ud83d\n""#,
        #""\ud83d\u0041""#, #""\ude00""#, #""\ude00\ud83d""#, #""\ud83d\ud83d""#, "\"a\u{0A}b\"",
        "\"a\u{09}b\"", "\"\u{00}\"", "\"\u{1F}\"", "\"abc", "\"abc\\\"", "\"\\", "abc\"",
    ])
    func malformedStrings(text: String) {
        #expect(Self.skipped(text) == nil)
        #expect(Self.decoded(text) == nil)
    }

    /// DEL and bytes above 0x7F stand for themselves (UTF-8 is checked elsewhere).
    @Test func highBytesAreNotChecked() {
        let text: [UInt8] = [0x22, 0x7F, 0x80, 0xFF, 0xC3, 0x22]
        #expect(Self.reading(bytes: text) { r in (try? r.skipString()).map { r.index } } == 6)
    }

    /// A string without escapes is handed back in place; one with escapes is decoded into
    /// the side buffer, the plain runs before, between and after the escapes included.
    @Test func stringsAreDecoded() {
        #expect(Self.decoded(#""plain text""#).map { $0.inPlace } == true)
        #expect(Self.decoded(#""plain text""#)?.bytes == Array("plain text".utf8))
        #expect(Self.decoded(#""""#)?.bytes == [])
        #expect(Self.decoded(#""""#)?.inPlace == true)
        let escaped = Self.decoded(#""ab\ncd\\\"ef\/\u0021""#)
        #expect(escaped?.inPlace == false)
        #expect(escaped?.bytes == Array("ab\ncd\\\"ef/!".utf8))
        #expect(Self.decoded(#""\b\f\r\t""#)?.bytes == [0x08, 0x0C, 0x0D, 0x09])
    }

    /// `\u` escapes become the UTF-8 of their scalar, at each encoded length's limits and
    /// through surrogate pairs; checked against Swift's own UTF-8 encoding.
    @Test func unicodeEscapesBecomeUTF8() {
        let scalars: [UInt32] = [
            0x00, 0x01, 0x1F, 0x41, 0x7F, 0x80, 0xE9, 0x7FF, 0x800, 0x20AC, 0xD7FF, 0xE000, 0xFFFD,
            0xFFFF, 0x10000, 0x1F600, 0x10FFFF,
        ]
        for value in scalars {
            let scalar = Unicode.Scalar(value)!
            let escape: String
            if value < 0x10000 {
                escape = #"\u"# + hex4(value)
            } else {
                let v = value - 0x10000
                escape = #"\u"# + hex4(0xD800 + (v >> 10)) + #"\u"# + hex4(0xDC00 + (v & 0x3FF))
            }
            let got = Self.decoded("\"" + escape + "\"")
            #expect(got?.bytes == Array(String(Character(scalar)).utf8), "U+\(String(value, radix: 16))")
            #expect(got?.inPlace == false)
        }
    }

    private func hex4(_ v: UInt32) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 4 - s.count) + s
    }

    // MARK: - Whole values

    /// A value is passed over exactly: the reader stops right after it, leaving what follows.
    @Test func valuesArePassedOverExactly() {
        let values = [
            "{}", "[]", #"{"a":1}"#, "[1,2,3]", #"{"a":[true,false,null],"b":{"c":"d\"}"},"e":-1.5e3}"#,
            "[[[]],[{}],\"]\",{\"}\":\"{\"}]", " [ 1 , { \"k\" : [ ] } ] ", "\"s\"", "12", "null",
        ]
        for value in values {
            let trimmed = value.hasPrefix(" ") ? String(value.dropFirst()) : value
            let end = trimmed.utf8.count - (trimmed.hasSuffix(" ") ? 1 : 0)
            #expect(Self.skipped(trimmed + ",rest") == end, "\(value)")
        }
    }

    /// Containers with missing, extra or wrong separators, keys that are not strings, or no
    /// end are malformed.
    @Test(arguments: [
        "{", "[", "{\"a\"}", "{\"a\":}", "{\"a\" 1}", "{\"a\":1,}", "{,}", "{1:2}", "{a:1}", "[1,]", "[,1]",
        "[1 2]", "[1;2]", "{\"a\":1 \"b\":2}", "[}", "{]", "[1,{]}", "{\"a\":[}", "]", "}", ":", ",", "",
        "'x'", "[\"a\"", "{\"a\":1",
    ])
    func malformedValues(text: String) {
        #expect(Self.skipped(text) == nil)
    }

    /// Nesting is accepted up to `maxDepth` levels and refused past it, for objects and
    /// arrays alike; `depth` counts the level the value starts at.
    @Test func nestingIsLimitedToMaxDepth() {
        let limit = JSONReader.maxDepth
        #expect(limit == 64)
        func arrays(_ n: Int) -> String { String(repeating: "[", count: n) + String(repeating: "]", count: n) }
        func objects(_ n: Int) -> String {
            String(repeating: #"{"k":"#, count: n - 1) + "{}" + String(repeating: "}", count: n - 1)
        }
        #expect(Self.skipped(arrays(limit)) == 2 * limit)
        #expect(Self.skipped(arrays(limit + 1)) == nil)
        #expect(Self.skipped(objects(limit)) != nil)
        #expect(Self.skipped(objects(limit + 1)) == nil)
        #expect(Self.skipped(arrays(limit - 1), depth: 2) != nil)
        #expect(Self.skipped(arrays(limit), depth: 2) == nil)
        #expect(Self.skipped("1", depth: limit) == 1)
        #expect(Self.skipped("1", depth: limit + 1) == nil)
        // Far past the limit: refused, not a crashed stack.
        #expect(Self.skipped(arrays(200_000)) == nil)
    }
}
