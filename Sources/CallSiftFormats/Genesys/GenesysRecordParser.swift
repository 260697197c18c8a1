import CallSiftCore

/// Reads what callsift uses of one Genesys Cloud analytics conversation detail record (a
/// JSON object), validating the whole object on the way, as `ContactTraceRecordParser`
/// does: anything that is not one well-formed JSON object is `bad_json`; a used field
/// holding the wrong kind of value (a string where an array or object is expected, or the
/// reverse) is `bad_value`. Other keys are validated and passed over; nesting is limited to
/// 64 levels, and a record to 64 KiB by its splitter.
///
/// The record is a tree: the conversation, its `participants`, each one's `sessions`, each
/// one's `segments`. Keys come in any order, so each level is read whole into flat arrays
/// (a participant's sessions, and a session's segments, lie next to each other) and the
/// adapter decides afterwards. Strings are kept as spans of one reused buffer.
struct GenesysRecordParser {
    /// A string's place in `buffer`; `start < 0` when absent (or null).
    struct Span: Equatable {
        var start: Int32 = -1
        var end: Int32 = -1
        var isPresent: Bool { start >= 0 && end > start }
    }

    struct Segment {
        var start = Span(), end = Span(), type = Span(), queueId = Span()
        /// `segmentType` is `interact`.
        var isInteract = false
    }

    struct Session {
        var mediaType = Span(), ani = Span()
        var segments: Range<Int> = 0..<0
        /// `mediaType` is `voice`.
        var isVoice = false
    }

    /// A participant's `purpose`, as far as it matters here.
    enum Purpose { case customer, acd, agent, other }

    struct Participant {
        var purpose = Purpose.other
        var name = Span()
        /// The configured attribute keys' values (`GenesysOptions.attributeKeys`), in
        /// `AttributeKey` order.
        var outcome = Span(), reason = Span(), service = Span()
        var sessions: Range<Int> = 0..<0

        func attribute(_ k: GenesysOptions.AttributeKey) -> Span {
            switch k {
            case .outcome: outcome
            case .reason: reason
            case .service: service
            }
        }
    }

    /// The conversation's own fields.
    enum Field: Int, CaseIterable {
        case conversationId = 0, conversationStart, conversationEnd, originatingDirection
    }

    private(set) var buffer: [UInt8] = []
    private(set) var fields = [Span](repeating: Span(), count: Field.allCases.count)
    private(set) var participants: [Participant] = []
    private(set) var sessions: [Session] = []
    private(set) var segments: [Segment] = []
    /// A key with escapes, unescaped.
    private var scratch: [UInt8] = []
    /// The keys read at each level, in the order of the `switch`es below (held here, not in
    /// static tables, which cost a `swift_once` check at every use).
    private let conversationKeys = names("conversationId", "conversationStart", "conversationEnd", "originatingDirection", "participants")
    private let participantKeys = names("purpose", "participantName", "attributes", "sessions")
    private let sessionKeys = names("mediaType", "ani", "segments")
    private let segmentKeys = names("segmentStart", "segmentEnd", "segmentType", "queueId")
    /// The attribute key names looked for, in `AttributeKey` order.
    private let attributeKeys: [[UInt8]]

    init(attributeKeys: [String]) {
        self.attributeKeys = attributeKeys.map { Array($0.utf8) }
        buffer.reserveCapacity(1024)
    }

    /// A used field holding the wrong kind of value.
    private struct BadValue: Error {}

    /// Parses `record`; nil when it is a well-formed object, else the reason to reject it.
    mutating func parse(_ record: UnsafeRawBufferPointer) -> RejectReason? {
        buffer.removeAll(keepingCapacity: true)
        for i in fields.indices { fields[i] = Span() }
        participants.removeAll(keepingCapacity: true)
        sessions.removeAll(keepingCapacity: true)
        segments.removeAll(keepingCapacity: true)
        var r = JSONReader(bytes: record)
        do {
            r.skipSpace()
            guard r.peek() == 0x7B else { throw JSONReader.Malformed() }
            try members(&r, depth: 1, conversationKeys) { p, r, key in
                switch key {
                case 0...3:
                    let v = try p.string(&r)
                    p.fields[key] = v
                case 4: try p.elements(&r, depth: 2) { p, r in try p.participant(&r) }
                default: try r.skipValue(depth: 2)
                }
            }
            r.skipSpace()
            if r.index != record.count { throw JSONReader.Malformed() }
        } catch is BadValue {
            return .badValue
        } catch {
            return .badJSON
        }
        return nil
    }

    /// A span's bytes, or nil when absent or empty.
    func with<R>(_ s: Span, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        guard s.isPresent else { return body(nil) }
        return buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[Int(s.start)..<Int(s.end)])) }
    }

    func field(_ f: Field) -> Span { fields[f.rawValue] }

    func string(_ s: Span) -> String? { with(s) { $0.map { String(decoding: $0, as: UTF8.self) } } }

    /// Whether the span holds exactly `word`.
    func equals(_ s: Span, _ word: StaticString) -> Bool {
        with(s) { bytes in
            guard let bytes else { return false }
            return bytes.elementsEqual(UnsafeRawBufferPointer(start: word.utf8Start, count: word.utf8CodeUnitCount))
        }
    }

    // MARK: - Grammar

    private mutating func participant(_ r: inout JSONReader) throws {
        participants.append(Participant())
        let me = participants.count - 1
        let first = sessions.count
        try members(&r, depth: 3, participantKeys) { p, r, key in
            switch key {
            case 0:
                let v = try p.string(&r)
                p.participants[me].purpose =
                    p.equals(v, "customer") ? .customer : p.equals(v, "acd") ? .acd : p.equals(v, "agent") ? .agent : .other
            case 1:
                let v = try p.string(&r)
                p.participants[me].name = v
            case 2:
                try p.members(&r, depth: 4, p.attributeKeys) { p, r, key in
                    guard key >= 0 else { return try r.skipValue(depth: 5) }
                    let v = try p.string(&r)
                    switch key {
                    case 0: p.participants[me].outcome = v
                    case 1: p.participants[me].reason = v
                    default: p.participants[me].service = v
                    }
                }
            case 3: try p.elements(&r, depth: 4) { p, r in try p.session(&r) }
            default: try r.skipValue(depth: 4)
            }
        }
        participants[me].sessions = first..<sessions.count
    }

    private mutating func session(_ r: inout JSONReader) throws {
        sessions.append(Session())
        let me = sessions.count - 1
        let first = segments.count
        try members(&r, depth: 5, sessionKeys) { p, r, key in
            switch key {
            case 0:
                let v = try p.string(&r)
                p.sessions[me].mediaType = v
                p.sessions[me].isVoice = p.equals(v, "voice")
            case 1:
                let v = try p.string(&r)
                p.sessions[me].ani = v
            case 2: try p.elements(&r, depth: 6) { p, r in try p.segment(&r) }
            default: try r.skipValue(depth: 6)
            }
        }
        sessions[me].segments = first..<segments.count
    }

    private mutating func segment(_ r: inout JSONReader) throws {
        var s = Segment()
        try members(&r, depth: 7, segmentKeys) { p, r, key in
            guard key >= 0 else { return try r.skipValue(depth: 8) }
            let v = try p.string(&r)
            switch key {
            case 0: s.start = v
            case 1: s.end = v
            case 2:
                s.type = v
                s.isInteract = p.equals(v, "interact")
            default: s.queueId = v
            }
        }
        segments.append(s)
    }

    /// An object's members, each key's place in `keys` (-1 for any other) handed to
    /// `member` with the reader at its value. A
    /// value that is not an object (`null` is an absent one) is `bad_value`.
    private mutating func members(
        _ r: inout JSONReader, depth: Int, _ keys: [[UInt8]], _ member: (inout GenesysRecordParser, inout JSONReader, Int) throws -> Void
    ) throws {
        guard depth <= JSONReader.maxDepth else { throw JSONReader.Malformed() }
        if try nullOrWrong(&r, opening: 0x7B) { return }
        r.index += 1
        r.skipSpace()
        if r.peek() == 0x7D { r.index += 1; return }
        while true {
            r.skipSpace()
            let key = try r.key(in: keys, scratch: &scratch)
            r.skipSpace()
            try r.expect(0x3A)
            r.skipSpace()
            try member(&self, &r, key)
            r.skipSpace()
            let c = try r.next()
            if c == 0x7D { return }
            if c != 0x2C { throw JSONReader.Malformed() }
        }
    }

    /// An array's elements, each handed to `element` (an array of something other than
    /// objects is `bad_value`, as is a value that is not an array).
    private mutating func elements(
        _ r: inout JSONReader, depth: Int, _ element: (inout GenesysRecordParser, inout JSONReader) throws -> Void
    ) throws {
        guard depth <= JSONReader.maxDepth else { throw JSONReader.Malformed() }
        if try nullOrWrong(&r, opening: 0x5B) { return }
        r.index += 1
        r.skipSpace()
        if r.peek() == 0x5D { r.index += 1; return }
        while true {
            r.skipSpace()
            try element(&self, &r)
            r.skipSpace()
            let c = try r.next()
            if c == 0x5D { return }
            if c != 0x2C { throw JSONReader.Malformed() }
        }
    }

    /// True (and the `null` passed) for `null`; throws `BadValue` (after checking the value
    /// is well-formed) for anything but `opening`.
    private func nullOrWrong(_ r: inout JSONReader, opening: UInt8) throws -> Bool {
        switch r.peek() {
        case opening: return false
        case 0x6E:
            try r.literal("null")
            return true
        default:
            try r.skipValue(depth: 2)
            throw BadValue()
        }
    }

    /// A string value's span (`null` is an absent one); anything else is `bad_value`.
    private mutating func string(_ r: inout JSONReader) throws -> Span {
        switch r.peek() {
        case 0x22:
            let s = buffer.count
            try r.string(into: &buffer)
            return Span(start: Int32(s), end: Int32(buffer.count))
        case 0x6E:
            try r.literal("null")
            return Span()
        default:
            try r.skipValue(depth: 2)
            throw BadValue()
        }
    }
}

/// Key names as bytes.
private func names(_ list: String...) -> [[UInt8]] { list.map { Array($0.utf8) } }
