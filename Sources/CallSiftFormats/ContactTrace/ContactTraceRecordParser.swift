import CallSiftCore
/// Reads the fields callsift uses from one Amazon Connect contact trace record (a JSON
/// object), validating the whole object on the way: anything that is not one well-formed
/// JSON object is `bad_json`; a used field holding something other than a string (or
/// `null`, which is absent; or a number, kept as its literal text) is `bad_value`. Other
/// keys are validated and passed over; nesting is limited to 64 levels.
///
/// Keys are compared where they lie in the record, and a value is left there too: only
/// one with escapes is unescaped, into `buffer`. Copying every key and value out had
/// been two fifths of the parse. So the fields (`withFields`) lie in the record last parsed,
/// and are lent only while that record's bytes are.
struct ContactTraceRecordParser {
    /// The fields used, with their place in the record.
    enum Field: Int, CaseIterable {
        case contactId = 0, initialContactId, previousContactId, nextContactId
        case initiationMethod, initiationTimestamp, disconnectTimestamp, lastUpdateTimestamp
        case channel, instanceARN
        case connectedToAgentTimestamp  // Agent.ConnectedToAgentTimestamp
        case enqueueTimestamp, queueName  // Queue.EnqueueTimestamp, Queue.Name
        case customerAddress  // CustomerEndpoint.Address
        case disconnectReason
    }

    /// The objects whose keys are looked for: the record itself, and the three nested
    /// objects it holds fields in.
    private enum Table { case record, agent, queue, customerEndpoint }

    /// What a key names in an object of its table.
    private enum Member {
        case field(Field)
        case nested(Table)
        case other
    }

    /// Where a field's value lies: `start ..< end` of the record, or of `buffer` when it
    /// had escapes; absent when `start` is -1.
    fileprivate struct Span {
        var start: Int32 = -1
        var end: Int32 = -1
        var unescaped = false
    }

    /// The record last parsed.
    private var record = UnsafeRawBufferPointer(start: nil, count: 0)
    /// The values with escapes, unescaped.
    private var buffer: [UInt8] = []
    /// Each field's value, by raw value.
    private var spans = [Span](repeating: Span(), count: Field.allCases.count)
    /// A key with escapes, unescaped.
    private var key: [UInt8] = []

    init() { buffer.reserveCapacity(256) }

    /// A used field holding something other than a string, a number or `null`.
    struct BadValue: Error {}

    /// Parses `record`; nil when it is a well-formed object, else the reason to reject it.
    /// The fields read lie in `record` until the next parse.
    mutating func parse(_ record: UnsafeRawBufferPointer) -> RejectReason? {
        self.record = record
        buffer.removeAll(keepingCapacity: true)
        for i in spans.indices { spans[i] = Span() }
        var r = JSONReader(bytes: record)
        do {
            r.skipSpace()
            try object(&r, .record, depth: 1)
            r.skipSpace()
            if r.index != record.count { throw JSONReader.Malformed() }
        } catch is BadValue {
            return .badValue
        } catch {
            return .badJSON
        }
        return nil
    }

    /// Lends the fields of the record last parsed to `body`. Taken once per record, this
    /// holds the parser's storage for the whole of `body`: field by field, each access had
    /// retained and released it, as the adapter's closures could have changed the parser.
    func withFields<R>(_ body: (Fields) -> R) -> R {
        spans.withUnsafeBufferPointer { s in
            buffer.withUnsafeBytes { b in body(Fields(record: record, unescaped: b, spans: s)) }
        }
    }

    /// The fields of one record, valid during `withFields` only.
    struct Fields {
        fileprivate let record: UnsafeRawBufferPointer
        fileprivate let unescaped: UnsafeRawBufferPointer
        fileprivate let spans: UnsafeBufferPointer<Span>

        /// The field's bytes, or nil when absent (or null, or empty).
        @inline(__always)
        subscript(_ f: Field) -> UnsafeRawBufferPointer? {
            let s = spans[f.rawValue]
            guard s.start >= 0, s.end > s.start else { return nil }
            return UnsafeRawBufferPointer(rebasing: (s.unescaped ? unescaped : record)[Int(s.start)..<Int(s.end)])
        }

        func isPresent(_ f: Field) -> Bool { self[f] != nil }
    }

    // MARK: - Grammar

    private mutating func object(_ r: inout JSONReader, _ table: Table, depth: Int) throws {
        try r.expect(0x7B)
        r.skipSpace()
        if r.peek() == 0x7D { r.index += 1; return }
        while true {
            r.skipSpace()
            let member = try self.member(&r, table)
            r.skipSpace()
            try r.expect(0x3A)
            r.skipSpace()
            switch member {
            case .field(let field):
                try value(&r, field)
            case .nested(let sub) where r.peek() == 0x7B:
                try object(&r, sub, depth: depth + 1)
            default:
                try r.skipValue(depth: depth + 1)
            }
            r.skipSpace()
            let c = try r.next()
            if c == 0x7D { return }
            if c != 0x2C { throw JSONReader.Malformed() }
        }
    }

    /// Reads a key and says what it names in `table`: compared where it lies, unless it
    /// has escapes (then unescaped into `key` first).
    @inline(__always)
    private mutating func member(_ r: inout JSONReader, _ table: Table) throws -> Member {
        try r.expect(0x22)
        let start = r.index
        r.scanPlain()
        if r.index < r.bytes.count && r.bytes[r.index] == 0x22 {
            r.index += 1
            return Self.member(UnsafeRawBufferPointer(rebasing: r.bytes[start..<r.index - 1]), table)
        }
        r.index = start - 1
        key.removeAll(keepingCapacity: true)
        try r.string(into: &key)
        return key.withUnsafeBytes { Self.member($0, table) }
    }

    /// The keys of each table, told apart by length first.
    private static func member(_ k: UnsafeRawBufferPointer, _ table: Table) -> Member {
        @inline(__always) func named(_ name: StaticString) -> Bool {
            k.count == name.utf8CodeUnitCount && bytesEqual(k.baseAddress!, UnsafeRawPointer(name.utf8Start), k.count)
        }
        switch table {
        case .record:
            switch k.count {
            case 5:
                if named("Agent") { return .nested(.agent) }
                if named("Queue") { return .nested(.queue) }
            case 7: if named("Channel") { return .field(.channel) }
            case 9: if named("ContactId") { return .field(.contactId) }
            case 11: if named("InstanceARN") { return .field(.instanceARN) }
            case 13: if named("NextContactId") { return .field(.nextContactId) }
            case 16:
                if named("InitiationMethod") { return .field(.initiationMethod) }
                if named("CustomerEndpoint") { return .nested(.customerEndpoint) }
                if named("InitialContactId") { return .field(.initialContactId) }
                if named("DisconnectReason") { return .field(.disconnectReason) }
            case 17: if named("PreviousContactId") { return .field(.previousContactId) }
            case 19:
                if named("InitiationTimestamp") { return .field(.initiationTimestamp) }
                if named("LastUpdateTimestamp") { return .field(.lastUpdateTimestamp) }
                if named("DisconnectTimestamp") { return .field(.disconnectTimestamp) }
            default: break
            }
        case .agent:
            if named("ConnectedToAgentTimestamp") { return .field(.connectedToAgentTimestamp) }
        case .queue:
            if named("Name") { return .field(.queueName) }
            if named("EnqueueTimestamp") { return .field(.enqueueTimestamp) }
        case .customerEndpoint:
            if named("Address") { return .field(.customerAddress) }
        }
        return .other
    }

    private mutating func value(_ r: inout JSONReader, _ field: Field) throws {
        switch r.peek() {
        case 0x22:
            // Where it lies, unless it has escapes.
            r.index += 1
            let s = r.index
            r.scanPlain()
            if r.index < r.bytes.count && r.bytes[r.index] == 0x22 {
                spans[field.rawValue] = Span(start: Int32(s), end: Int32(r.index))
                r.index += 1
                return
            }
            r.index = s - 1
            let start = buffer.count
            try r.string(into: &buffer)
            spans[field.rawValue] = Span(start: Int32(start), end: Int32(buffer.count), unescaped: true)
        case 0x6E:
            try r.literal("null")
            spans[field.rawValue].start = -1
        case let c? where c == 0x2D || (c >= 0x30 && c <= 0x39):
            let s = r.index
            try r.number()
            spans[field.rawValue] = Span(start: Int32(s), end: Int32(r.index))
        case 0x74, 0x66, 0x7B, 0x5B:
            try r.skipValue(depth: 2)
            throw BadValue()
        default:
            throw JSONReader.Malformed()
        }
    }
}

extension JSONReader {
    /// A string, unescaped, appended to `out`.
    mutating func string(into out: inout [UInt8]) throws {
        try expect(0x22)
        while true {
            let s = index
            scanPlain()
            if index > s { out.append(contentsOf: UnsafeRawBufferPointer(rebasing: bytes[s..<index])) }
            let c = try next()
            if c == 0x22 { return }
            if c != 0x5C { throw Malformed() }  // a raw control character
            guard JSONEscape.decode(bytes, &index, { out.append($0) }) else { throw Malformed() }
        }
    }
}
