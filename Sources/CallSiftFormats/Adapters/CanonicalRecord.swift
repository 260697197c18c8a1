import CallSiftCore
import HeapModule
/// Fills one canonical record (the keys of docs/metrics.md, "Input records") from an
/// adapter's values and validates it through the run's `EventBuilder`, so that an
/// adapter's events are interned, pseudonymised and checked exactly like CSV and NDJSON
/// ones.
struct CanonicalRecord {
    private var slots = FieldSlots()
    private var digits: [UInt8] = []

    init() { digits.reserveCapacity(24) }

    /// Builds one event. `caller` is read on `arrive` only (nil there means absent, which
    /// the builder rejects as `missing_caller`; an adapter passes empty bytes for "no
    /// caller id"); `service` on `arrive` and `transfer`; `outcome` on `end`; `reason` on
    /// any event (docs/metrics.md, "Input records").
    mutating func build(
        _ builder: EventBuilder, ts: Int64, centre: UnsafeRawBufferPointer, call: UnsafeRawBufferPointer,
        kind: EventKind, caller: UnsafeRawBufferPointer? = nil, service: UnsafeRawBufferPointer? = nil,
        outcome: UnsafeRawBufferPointer? = nil, reason: UnsafeRawBufferPointer? = nil
    ) -> EventBuilder.Built {
        slots.reset()
        Self.decimal(ts, into: &digits)
        digits.withUnsafeBytes { slots.copy(.ts, $0) }
        slots.copy(.centre, centre)
        slots.copy(.call, call)
        Self.kindNames[Int(kind.rawValue)].withUnsafeBytes { slots.copy(.event, $0) }
        if let caller { slots.copy(.caller, caller) }
        if let service { slots.copy(.service, service) }
        if let outcome { slots.copy(.outcome, outcome) }
        if let reason { slots.copy(.reason, reason) }
        return builder.build(slots)
    }

    /// Each event kind's name as bytes, by raw value.
    static let kindNames: [[UInt8]] = EventKind.allCases.map { Array($0.name.utf8) }

    /// `value` in decimal, without going through `String`.
    static func decimal(_ value: Int64, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        var v = value.magnitude
        repeat {
            out.append(UInt8(truncatingIfNeeded: v % 10) + 0x30)
            v /= 10
        } while v > 0
        if value < 0 { out.append(0x2D) }
        out.reverse()
    }

    /// The same with `String` values (the rare paths: held events released later).
    mutating func build(
        _ builder: EventBuilder, ts: Int64, centre: String, call: String, kind: EventKind,
        caller: String? = nil, service: String? = nil
    ) -> EventBuilder.Built {
        var centre = centre, call = call
        return centre.withUTF8 { c in
            call.withUTF8 { k in
                withOptionalBytes(caller) { callerBytes in
                    withOptionalBytes(service) { serviceBytes in
                        build(
                            builder, ts: ts, centre: UnsafeRawBufferPointer(c), call: UnsafeRawBufferPointer(k),
                            kind: kind, caller: callerBytes, service: serviceBytes)
                    }
                }
            }
        }
    }
}

/// Calls `body` with the UTF-8 bytes of `s`, or nil.
func withOptionalBytes<R>(_ s: String?, _ body: (UnsafeRawBufferPointer?) throws -> R) rethrows -> R {
    guard var s else { return try body(nil) }
    return try s.withUTF8 { try body(UnsafeRawBufferPointer($0)) }
}

/// A minimum of `Int64` values kept lazily: entries are pushed freely and checked for
/// validity only when they come to the top, where stale ones are dropped.
struct LazyMinimum<Tag> {
    private struct Entry: Comparable {
        var at: Int64
        var serial: Int
        var tag: Tag
        static func < (a: Entry, b: Entry) -> Bool { a.at != b.at ? a.at < b.at : a.serial < b.serial }
        static func == (a: Entry, b: Entry) -> Bool { a.at == b.at && a.serial == b.serial }
    }
    private var heap = Heap<Entry>()
    private var serial = 0

    var isEmpty: Bool { heap.min == nil }
    var count: Int { heap.count }

    mutating func push(_ at: Int64, _ tag: Tag) {
        serial += 1
        heap.insert(Entry(at: at, serial: serial, tag: tag))
    }

    /// The least valid entry, dropping stale ones on the way.
    mutating func min(isValid: (Int64, Tag) -> Bool) -> (at: Int64, tag: Tag)? {
        while let top = heap.min {
            if isValid(top.at, top.tag) { return (top.at, top.tag) }
            _ = heap.popMin()
        }
        return nil
    }

    /// Removes and returns the least entry (valid or not) if it is below `limit`.
    mutating func pop(below limit: Int64) -> (at: Int64, tag: Tag)? {
        guard let top = heap.min, top.at < limit else { return nil }
        _ = heap.popMin()
        return (top.at, top.tag)
    }
}
