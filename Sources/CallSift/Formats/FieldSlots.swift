/// The canonical record's keys (SPEC.md section 1), as parsers see them.
enum FieldKey: Int, CaseIterable {
    case ts = 0, centre, call, event, caller, service, outcome, reason

    static let count = 8

    /// The key named by `name` (exact, lower case), or nil for a column or key to ignore.
    static func named(_ name: UnsafeRawBufferPointer) -> FieldKey? {
        for (key, bytes) in names where bytes.count == name.count && bytes.elementsEqual(name) { return key }
        return nil
    }

    /// Each key with its name's bytes, built once.
    private static let names: [(FieldKey, [UInt8])] = FieldKey.allCases.map { ($0, Array($0.name.utf8)) }

    var name: String {
        switch self {
        case .ts: "ts"
        case .centre: "centre"
        case .call: "call"
        case .event: "event"
        case .caller: "caller"
        case .service: "service"
        case .outcome: "outcome"
        case .reason: "reason"
        }
    }
}

/// The values of one record's known keys, copied (and unescaped) into one reused buffer.
///
/// Parsers fill it; `EventBuilder` reads it. Nothing here allocates per record once the
/// buffer has grown to the longest record seen.
struct FieldSlots {
    private(set) var buffer: [UInt8] = []
    private var starts = [Int](repeating: -1, count: FieldKey.count)
    private var ends = [Int](repeating: -1, count: FieldKey.count)

    init() { buffer.reserveCapacity(1024) }

    mutating func reset() {
        buffer.removeAll(keepingCapacity: true)
        for i in 0 ..< FieldKey.count { starts[i] = -1 }
    }

    /// Starts the value of `key` at the end of the buffer; append its bytes, then `close`.
    /// A key given twice keeps its last value.
    mutating func open(_ key: FieldKey) { starts[key.rawValue] = buffer.count }
    mutating func close(_ key: FieldKey) { ends[key.rawValue] = buffer.count }
    mutating func append(_ byte: UInt8) { buffer.append(byte) }
    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(contentsOf: bytes) }

    mutating func set(_ key: FieldKey, _ bytes: UnsafeRawBufferPointer) {
        open(key); append(bytes); close(key)
    }

    mutating func truncate(to count: Int) { buffer.removeLast(buffer.count - count) }

    func isPresent(_ key: FieldKey) -> Bool { starts[key.rawValue] >= 0 }

    /// Calls `body` with the value of `key`, or nil when the key is absent.
    func with<R>(_ key: FieldKey, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
        let s = starts[key.rawValue]
        guard s >= 0 else { return try body(nil) }
        let e = ends[key.rawValue]
        return try buffer.withUnsafeBytes { try body(UnsafeRawBufferPointer(rebasing: $0[s ..< e])) }
    }
}
