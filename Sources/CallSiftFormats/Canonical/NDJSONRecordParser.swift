import CallSiftCore
/// Parses one NDJSON line: a JSON object whose known keys are kept and whose other keys
/// are validated and skipped.
///
/// Values of known keys may be strings or numbers (kept as their literal text, so an
/// epoch-millisecond `ts` may be either); `null` counts as absent. Anything that is not
/// one well-formed JSON object is `bad_json`; a known key holding `true`, `false`, an
/// object or an array is `bad_value`. Nesting is limited to 64 levels so that hostile
/// input cannot exhaust the stack.
package struct NDJSONRecordParser {
    package init() {}

    package func parse(_ record: UnsafeRawBufferPointer, into slots: inout FieldSlots) -> RejectReason? {
        slots.reset()
        var p = JSONReader(bytes: record)
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
                    if c != 0x2C { throw JSONReader.Malformed() }
                }
            }
            p.skipSpace()
            if p.index != record.count { throw JSONReader.Malformed() }
        } catch is BadValue {
            return .badValue
        } catch {
            return .badJSON
        }
        return nil
    }

    /// A known key holding something other than a string, a number or `null`.
    struct BadValue: Error {}
}

/// The NDJSON reader's own pieces: a known key's value into its slot, and strings kept in
/// place where they have no escapes.
extension JSONReader {
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
            slots.point(key, at: UnsafeRawBufferPointer(rebasing: bytes[start..<index]))
        case 0x74, 0x66, 0x7B, 0x5B:
            try skipValue(depth: 1)
            throw NDJSONRecordParser.BadValue()
        default:
            throw Malformed()
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
        if c == 0x22 { return UnsafeRawBufferPointer(rebasing: bytes[first..<index - 1]) }
        if c != 0x5C { throw Malformed() }  // a raw control character
        if index - 1 > first { slots.append(UnsafeRawBufferPointer(rebasing: bytes[first..<index - 1])) }
        while true {
            guard JSONEscape.decode(bytes, &index, { slots.append($0) }) else { throw Malformed() }
            let start = index
            scanPlain()
            if index > start { slots.append(UnsafeRawBufferPointer(rebasing: bytes[start..<index])) }
            let c = try next()
            if c == 0x22 { return nil }
            if c != 0x5C { throw Malformed() }
        }
    }
}
