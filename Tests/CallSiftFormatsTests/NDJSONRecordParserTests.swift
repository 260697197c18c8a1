import Testing
@testable import CallSiftCore
@testable import CallSiftFormats

/// The NDJSON line parser on its own: one JSON object a line, its known keys kept (strings
/// decoded, numbers as their literal text, `null` as absent), every other key checked and
/// passed over, and each line that is not one well-formed object (`bad_json`) or that gives
/// a known key a value of the wrong kind (`bad_value`) refused with its reason.
@Suite struct NDJSONRecordParserTests {
    /// What one parse gave: its reject reason, and each present known key's value.
    struct Parsed: Equatable, CustomStringConvertible {
        var reason: RejectReason?
        var fields: [String: [UInt8]]
        var description: String {
            let f = fields.sorted { $0.key < $1.key }.map { "\($0.key)=\(String(decoding: $0.value, as: UTF8.self))" }
            return "reason \(reason.map { $0.rawValue } ?? "none"), fields [\(f.joined(separator: ", "))]"
        }
    }

    /// Parses `bytes` into `slots` and reads every known key back while the bytes (which
    /// in-place values point into) are still alive.
    static func parse(bytes: [UInt8], slots: inout FieldSlots) -> Parsed {
        bytes.withUnsafeBytes { raw in
            let reason = NDJSONRecordParser().parse(raw, into: &slots)
            var fields: [String: [UInt8]] = [:]
            slots.withValues { values in
                for key in FieldKey.allCases {
                    if let value = values[key] { fields[key.name] = Array(value) }
                }
            }
            return Parsed(reason: reason, fields: fields)
        }
    }

    static func parse(_ text: String) -> Parsed {
        var slots = FieldSlots()
        return parse(bytes: Array(text.utf8), slots: &slots)
    }

    static func fields(_ pairs: [String: String]) -> [String: [UInt8]] {
        pairs.mapValues { Array($0.utf8) }
    }

    // MARK: - Accepted lines

    /// Every known key is kept, whatever the order of the keys.
    @Test func everyKnownKeyInAnyOrder() {
        let pairs: [(String, String)] = [
            ("ts", "\"2026-03-02T09:00:00Z\""), ("centre", "\"C1\""), ("call", "\"a-1\""), ("event", "\"arrive\""),
            ("caller", "\"0700\""), ("service", "\"S1\""), ("outcome", "\"resolved\""), ("reason", "\"billing\""),
        ]
        let expected = Self.fields([
            "ts": "2026-03-02T09:00:00Z", "centre": "C1", "call": "a-1", "event": "arrive",
            "caller": "0700", "service": "S1", "outcome": "resolved", "reason": "billing",
        ])
        for order in [pairs, Array(pairs.reversed()), Array(pairs[3...] + pairs[..<3])] {
            let line = "{" + order.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
            #expect(Self.parse(line) == Parsed(reason: nil, fields: expected), "\(line)")
        }
    }

    /// Numbers are kept as their literal text, so `ts` may be epoch milliseconds.
    @Test func numbersKeepTheirLiteralText() {
        #expect(
            Self.parse(#"{"ts":1772442000000,"call":7}"#)
                == Parsed(reason: nil, fields: Self.fields(["ts": "1772442000000", "call": "7"])))
        for number in ["0", "-0", "-12", "1.5", "1e9", "1E+9", "-2.25e-3", "123456789012345678901234567890"] {
            #expect(Self.parse(#"{"ts":\#(number)}"#) == Parsed(reason: nil, fields: Self.fields(["ts": number])), "\(number)")
        }
    }

    /// Escapes in values are decoded: the short ones, `\u` below and above U+0080, and a
    /// surrogate pair to one four-byte character.
    @Test func escapesInValuesAreDecoded() {
        #expect(
            Self.parse(#"{"call":"a\"b\\c\/d\b\f\n\r\te"}"#)
                == Parsed(reason: nil, fields: ["call": Array("a\"b\\c/d".utf8) + [0x08, 0x0C, 0x0A, 0x0D, 0x09] + [UInt8(ascii: "e")]]))
        #expect(
            Self.parse(#"{"service":"caf\u00e9 \u20AC"}"#)
                == Parsed(reason: nil, fields: ["service": Array("café €".utf8)]))
        #expect(
            Self.parse(#"{"caller":"\ud83d\ude00!"}"#)
                == Parsed(reason: nil, fields: ["caller": [0xF0, 0x9F, 0x98, 0x80, UInt8(ascii: "!")]]))
        // Only an escape: nothing in place before or after it.
        #expect(Self.parse(#"{"reason":"\n"}"#) == Parsed(reason: nil, fields: ["reason": [0x0A]]))
    }

    /// Several escaped values in one line each keep their own bytes (they share the side
    /// buffer), next to values kept in place.
    @Test func severalEscapedValuesKeepTheirOwnBytes() {
        #expect(
            Self.parse(#"{"call":"x\ty","centre":"plain","service":"\u0041\u0042","caller":"q\"","ts":5}"#)
                == Parsed(reason: nil, fields: Self.fields(["call": "x\ty", "centre": "plain", "service": "AB", "caller": "q\"", "ts": "5"])))
    }

    /// A key written with escapes is matched on its decoded name.
    @Test func escapedKeysAreMatchedOnTheirDecodedName() {
        #expect(
            Self.parse(#"{"c\u0061ll":"x","\u0074s":"1"}"#)
                == Parsed(reason: nil, fields: Self.fields(["call": "x", "ts": "1"])))
        // An escaped unknown key is passed over, and its name leaves nothing behind.
        #expect(
            Self.parse(#"{"n\u00f6te":"zzz","call":"a\nb"}"#)
                == Parsed(reason: nil, fields: Self.fields(["call": "a\nb"])))
    }

    /// Keys are exact and lower case: anything else is an unknown key, and unknown keys'
    /// values of every kind are passed over.
    @Test func unknownKeysAreSkipped() {
        let line =
            #"{"Call":"no","CALL":1,"call ":true,"extra":{"a":[1,2,{"b":null}],"c":"\u00e9"},"#
            + #""list":[true,false,null,-1.5e3,"s",[],{}],"flag":false,"nothing":null,"call":"yes"}"#
        #expect(Self.parse(line) == Parsed(reason: nil, fields: Self.fields(["call": "yes"])))
        #expect(Self.parse(#"{"other":"x"}"#) == Parsed(reason: nil, fields: [:]))
    }

    /// The parser only reads: missing keys are left absent (requiring them is the event
    /// builder's business), and an empty object is accepted.
    @Test func missingKeysAreAbsent() {
        #expect(Self.parse("{}") == Parsed(reason: nil, fields: [:]))
        #expect(Self.parse("{ }") == Parsed(reason: nil, fields: [:]))
        #expect(Self.parse(#"{"call":"a"}"#) == Parsed(reason: nil, fields: Self.fields(["call": "a"])))
    }

    /// `null` counts as absent; an empty string is present and empty.
    @Test func nullIsAbsentAndEmptyStringIsPresent() {
        #expect(
            Self.parse(#"{"call":null,"caller":"","ts":1}"#)
                == Parsed(reason: nil, fields: Self.fields(["caller": "", "ts": "1"])))
    }

    /// White space around every token, and after the object (a CR left by a CRLF line
    /// ending), is allowed.
    @Test func whiteSpaceAroundTokens() {
        let line = " \t{ \"call\" :\t\"a\" ,\n \"ts\" : 12 , \"x\" : [ 1 , { } ] }\r\n "
        #expect(Self.parse(line) == Parsed(reason: nil, fields: Self.fields(["call": "a", "ts": "12"])))
    }

    /// A key given twice keeps its last value, whether either is kept in place or decoded.
    @Test func duplicateKeysKeepTheLastValue() {
        #expect(Self.parse(#"{"call":"a","call":"b"}"#).fields == Self.fields(["call": "b"]))
        #expect(Self.parse(#"{"call":"a\n","call":"b"}"#).fields == Self.fields(["call": "b"]))
        #expect(Self.parse(#"{"call":"b","call":"a\n"}"#).fields == Self.fields(["call": "a\n"]))
        #expect(Self.parse(#"{"ts":"x","ts":5}"#).fields == Self.fields(["ts": "5"]))
    }

    /// Bytes above 0x7F pass through as they are (UTF-8 is checked elsewhere).
    @Test func highBytesPassThrough() {
        var slots = FieldSlots()
        let line = Array(#"{"caller":""#.utf8) + [0xC3, 0xA9, 0xFF] + Array(#""}"#.utf8)
        #expect(Self.parse(bytes: line, slots: &slots) == Parsed(reason: nil, fields: ["caller": [0xC3, 0xA9, 0xFF]]))
    }

    /// Slots reused for the next line start empty: nothing of an earlier line (in place or
    /// decoded) is left behind, also when the next line is refused.
    @Test func reusedSlotsForgetTheEarlierLine() {
        var slots = FieldSlots()
        let first = Self.parse(bytes: Array(#"{"call":"a\tb","service":"S","ts":1}"#.utf8), slots: &slots)
        #expect(first.fields.count == 3)
        let second = Self.parse(bytes: Array(#"{"centre":"C"}"#.utf8), slots: &slots)
        #expect(second == Parsed(reason: nil, fields: Self.fields(["centre": "C"])))
        let third = Self.parse(bytes: Array(#"{"call":"x","#.utf8), slots: &slots)
        #expect(third.reason == .badJSON)
        let fourth = Self.parse(bytes: Array("{}".utf8), slots: &slots)
        #expect(fourth == Parsed(reason: nil, fields: [:]))
    }

    // MARK: - Refused lines

    /// Anything that is not exactly one well-formed JSON object is `bad_json`.
    @Test(arguments: [
        "", " ", "[]", "\"call\"", "42", "null", "{", "}", "{\"call\":\"x\"", "{\"call\":\"x\",}",
        "{,}", "{\"call\" \"x\"}", "{\"call\":}", "{call:\"x\"}", "{'call':'x'}", "{\"call\":'x'}",
        "{\"call\":\"x\"} {}", "{\"call\":\"x\"}x", "{\"call\":\"x\";\"ts\":1}", "{\"call\":\"x\" \"ts\":1}",
        "{\"call\":\"unterminated}", "{\"call:\"x\"}", "{\"call\":\"x\"}}", "{{}}", "{\"a\":[1,]}",
        "{\"a\":[1 2]}", "{\"a\":{\"b\"}}", "{\"a\":{1:2}}", "{\"a\":nul}", "{\"a\":True}",
    ])
    func malformedLinesAreBadJSON(line: String) {
        let parsed = Self.parse(line)
        #expect(parsed.reason == .badJSON)
    }

    /// Numbers outside JSON's grammar, for known and unknown keys alike, are `bad_json`.
    @Test(arguments: ["01", "-", "+1", ".5", "1.", "1e", "1e+", "--1", "0x10", "1.5.3", "Infinity", "NaN", "- 1"])
    func malformedNumbersAreBadJSON(number: String) {
        #expect(Self.parse(#"{"ts":\#(number)}"#).reason == .badJSON)
        #expect(Self.parse(#"{"other":\#(number)}"#).reason == .badJSON)
    }

    /// Broken escapes and raw control characters inside strings (values or keys, known or
    /// not) are `bad_json`.
    @Test(arguments: [
        #"\x"#, #"\u12"#, #"\u12g4"#, #"\ud83d"#, #"\ud83dx"#, #"\ud83d\u0041"#, #"\ude00"#, #"\"#, "a\u{09}b", "a\u{01}",
    ])
    func brokenStringsAreBadJSON(content: String) {
        #expect(Self.parse(#"{"call":"\#(content)"}"#).reason == .badJSON)
        #expect(Self.parse(#"{"other":"\#(content)"}"#).reason == .badJSON)
        #expect(Self.parse(#"{"\#(content)":1}"#).reason == .badJSON)
    }

    /// A known key holding `true`, `false`, an object or an array is `bad_value`.
    @Test(arguments: ["true", "false", "{}", "{\"a\":1}", "[]", "[1,\"x\"]"])
    func knownKeyWithWrongKindIsBadValue(value: String) {
        for key in FieldKey.allCases {
            #expect(Self.parse(#"{"\#(key.name)":\#(value)}"#).reason == .badValue, "\(key.name)")
        }
        // The same values under an unknown key are fine.
        #expect(Self.parse(#"{"other":\#(value)}"#).reason == nil)
    }

    /// A wrong kind of value that is itself malformed is `bad_json`, not `bad_value`; the
    /// first problem met decides.
    @Test func malformedWrongKindIsBadJSON() {
        #expect(Self.parse(#"{"call":tru}"#).reason == .badJSON)
        #expect(Self.parse(#"{"call":[1,}"#).reason == .badJSON)
        #expect(Self.parse(#"{"call":{"a"}}"#).reason == .badJSON)
        #expect(Self.parse(#"{"x":1,,"call":true}"#).reason == .badJSON)
        // bad_value met first.
        #expect(Self.parse(#"{"call":true,"#).reason == .badValue)
    }

    /// Nesting under an unknown key is passed over up to the limit and refused past it.
    @Test func nestingIsLimited() {
        func line(depth: Int) -> String {
            #"{"deep":"# + String(repeating: "[", count: depth) + String(repeating: "]", count: depth) + #","call":"c"}"#
        }
        #expect(Self.parse(line(depth: 10)) == Parsed(reason: nil, fields: Self.fields(["call": "c"])))
        #expect(Self.parse(line(depth: JSONReader.maxDepth)).reason == nil)
        #expect(Self.parse(line(depth: JSONReader.maxDepth + 1)).reason == .badJSON)
        // Hostile depth ends in a refusal, not a crashed stack.
        #expect(Self.parse(line(depth: 100_000)).reason == .badJSON)
    }
}
