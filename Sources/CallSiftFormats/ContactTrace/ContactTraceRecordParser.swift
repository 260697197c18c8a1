import CallSiftCore
/// Reads the fields callsift uses from one Amazon Connect contact trace record (a JSON
/// object), validating the whole object on the way: anything that is not one well-formed
/// JSON object is `bad_json`; a used field holding something other than a string (or
/// `null`, which is absent; or a number, kept as its literal text) is `bad_value`. Other
/// keys are validated and passed over; nesting is limited to 64 levels.
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

    private typealias Keys = [([UInt8], Field)]
    private static func keys(_ pairs: [(String, Field)]) -> Keys { pairs.map { (Array($0.0.utf8), $0.1) } }
    private static let topLevel = keys([
        ("ContactId", .contactId), ("InitialContactId", .initialContactId),
        ("PreviousContactId", .previousContactId), ("NextContactId", .nextContactId),
        ("InitiationMethod", .initiationMethod), ("InitiationTimestamp", .initiationTimestamp),
        ("DisconnectTimestamp", .disconnectTimestamp), ("LastUpdateTimestamp", .lastUpdateTimestamp),
        ("Channel", .channel), ("InstanceARN", .instanceARN), ("DisconnectReason", .disconnectReason),
    ])
    private static let nested: [([UInt8], Keys)] = [
        (Array("Agent".utf8), keys([("ConnectedToAgentTimestamp", .connectedToAgentTimestamp)])),
        (Array("Queue".utf8), keys([("EnqueueTimestamp", .enqueueTimestamp), ("Name", .queueName)])),
        (Array("CustomerEndpoint".utf8), keys([("Address", .customerAddress)])),
    ]

    private(set) var buffer: [UInt8] = []
    private var starts = [Int](repeating: -1, count: Field.allCases.count)
    private var ends = [Int](repeating: -1, count: Field.allCases.count)
    private var key: [UInt8] = []

    init() { buffer.reserveCapacity(1024) }

    /// A used field holding something other than a string, a number or `null`.
    struct BadValue: Error {}

    /// Parses `record`; nil when it is a well-formed object, else the reason to reject it.
    mutating func parse(_ record: UnsafeRawBufferPointer) -> RejectReason? {
        buffer.removeAll(keepingCapacity: true)
        for i in starts.indices { starts[i] = -1; ends[i] = -1 }
        var r = JSONReader(bytes: record)
        do {
            r.skipSpace()
            try object(&r, fields: Self.topLevel, nested: Self.nested, depth: 1)
            r.skipSpace()
            if r.index != record.count { throw JSONReader.Malformed() }
        } catch is BadValue {
            return .badValue
        } catch {
            return .badJSON
        }
        return nil
    }

    /// The field's bytes, or nil when absent (or null, or empty).
    func with<R>(_ f: Field, _ body: (UnsafeRawBufferPointer?) -> R) -> R {
        let s = starts[f.rawValue]
        guard s >= 0, ends[f.rawValue] > s else { return body(nil) }
        return buffer.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[s..<ends[f.rawValue]])) }
    }

    func string(_ f: Field) -> String? { with(f) { $0.map { String(decoding: $0, as: UTF8.self) } } }

    func isPresent(_ f: Field) -> Bool { starts[f.rawValue] >= 0 && ends[f.rawValue] > starts[f.rawValue] }

    // MARK: - Grammar

    private mutating func object(
        _ r: inout JSONReader, fields: Keys, nested: [([UInt8], Keys)],
        depth: Int
    ) throws {
        try r.expect(0x7B)
        r.skipSpace()
        if r.peek() == 0x7D { r.index += 1; return }
        while true {
            r.skipSpace()
            key.removeAll(keepingCapacity: true)
            try r.string(into: &key)
            r.skipSpace()
            try r.expect(0x3A)
            r.skipSpace()
            if let field = Self.find(key, in: fields) {
                try value(&r, field)
            } else if let sub = Self.find(key, in: nested), r.peek() == 0x7B {
                try object(&r, fields: sub, nested: [], depth: depth + 1)
            } else {
                try r.skipValue(depth: depth + 1)
            }
            r.skipSpace()
            let c = try r.next()
            if c == 0x7D { return }
            if c != 0x2C { throw JSONReader.Malformed() }
        }
    }

    private static func find<T>(_ key: [UInt8], in table: [([UInt8], T)]) -> T? {
        for (name, v) in table where name.count == key.count && name == key { return v }
        return nil
    }

    private mutating func value(_ r: inout JSONReader, _ field: Field) throws {
        switch r.peek() {
        case 0x22:
            starts[field.rawValue] = buffer.count
            try r.string(into: &buffer)
            ends[field.rawValue] = buffer.count
        case 0x6E:
            try r.literal("null")
            starts[field.rawValue] = -1
        case let c? where c == 0x2D || (c >= 0x30 && c <= 0x39):
            let s = r.index
            try r.number()
            starts[field.rawValue] = buffer.count
            buffer.append(contentsOf: UnsafeRawBufferPointer(rebasing: r.bytes[s..<r.index]))
            ends[field.rawValue] = buffer.count
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
