import CallSiftCore
/// The canonical record's keys (docs/metrics.md, "Input records"), as parsers see them.
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

/// The values of one record's known keys, as byte ranges that `EventBuilder` reads.
///
/// Parsers fill it; `EventBuilder` reads it. A value is held one of two ways:
/// - *in place*: a pointer and a length straight into the record being parsed (`point`),
///   which is how nearly every CSV field and every escape-free NDJSON string is kept, so
///   the common case copies no bytes at all;
/// - *copied*: bytes appended to a side buffer (`copy`, or `open`/`append`/`close`) for
///   values that differ from their bytes in the record (CSV `""` unescaping, JSON
///   escapes) or that an adapter synthesises.
///
/// Copied values are remembered as offsets into the side buffer and resolved only when
/// read, so the buffer may grow (and move) while a record is filled. In-place values are
/// valid only as long as the bytes they point to: the caller must read the slots (build
/// the event) before the record's bytes go away, which `InputParser.handle` does.
///
/// The eight slots live inline in the struct (a tuple, not an array), so filling one is a
/// plain store: no allocation, no uniqueness check, no reference counting. Nothing here
/// allocates per record once the side buffer has grown to the longest copied value seen.
package struct FieldSlots {
    /// One key's value. `start == Slot.absent`: the key is absent. Otherwise, with a
    /// `pointer` the value is `pointer[0 ..< count]` in place; without one it is
    /// `buffer[start ..< start + count]`.
    fileprivate struct Slot {
        static let absent = -1
        var pointer: UnsafeRawPointer? = nil
        var start = Slot.absent
        var count = 0
    }

    /// The side buffer of copied values (and, transiently, of NDJSON key names).
    private(set) var buffer: [UInt8] = []
    private var slots: (Slot, Slot, Slot, Slot, Slot, Slot, Slot, Slot) =
        (Slot(), Slot(), Slot(), Slot(), Slot(), Slot(), Slot(), Slot())

    package init() { buffer.reserveCapacity(256) }

    /// The slot of `key`, read or written in place inside the tuple.
    @inline(__always)
    private subscript(_ key: FieldKey) -> Slot {
        get {
            withUnsafeBytes(of: slots) { $0.load(fromByteOffset: key.rawValue &* MemoryLayout<Slot>.stride, as: Slot.self) }
        }
        set {
            withUnsafeMutableBytes(of: &slots) {
                $0.storeBytes(of: newValue, toByteOffset: key.rawValue &* MemoryLayout<Slot>.stride, as: Slot.self)
            }
        }
    }

    /// Forgets every value. The side buffer is emptied only if it was used, so a record
    /// parsed entirely in place touches no array.
    @inline(__always)
    mutating func reset() {
        slots = (Slot(), Slot(), Slot(), Slot(), Slot(), Slot(), Slot(), Slot())
        if !buffer.isEmpty { buffer.removeAll(keepingCapacity: true) }
    }

    /// Keeps `bytes` itself (not a copy) as the value of `key`; a key given twice keeps
    /// its last value. `bytes` must stay valid and unchanged until the slots are read.
    @inline(__always)
    mutating func point(_ key: FieldKey, at bytes: UnsafeRawBufferPointer) {
        if let p = bytes.baseAddress {
            self[key] = Slot(pointer: p, start: 0, count: bytes.count)
        } else {
            // An empty value without an address is kept as an empty copy.
            self[key] = Slot(pointer: nil, start: buffer.count, count: 0)
        }
    }

    /// Copies `bytes` into the side buffer as the value of `key`: for values whose bytes
    /// do not outlive the call (an adapter's synthesised text).
    mutating func copy(_ key: FieldKey, _ bytes: UnsafeRawBufferPointer) {
        open(key); append(bytes); close(key)
    }

    /// Starts a copied value of `key` at the end of the side buffer; append its bytes,
    /// then `close`. A key given twice keeps its last value.
    @inline(__always)
    mutating func open(_ key: FieldKey) { self[key] = Slot(pointer: nil, start: buffer.count, count: 0) }
    @inline(__always)
    mutating func close(_ key: FieldKey) {
        var s = self[key]
        s.count = buffer.count &- s.start
        self[key] = s
    }
    mutating func append(_ byte: UInt8) { buffer.append(byte) }
    mutating func append(_ bytes: UnsafeRawBufferPointer) { buffer.append(contentsOf: bytes) }

    /// Drops side-buffer bytes past `count` (an NDJSON key name once it has been matched).
    mutating func truncate(to count: Int) { buffer.removeLast(buffer.count - count) }

    /// Calls `body` with the record's values, read by key (`Values`): the side buffer is
    /// opened once for all of them, and the reader's code needs no closure per key.
    /// `mutating` though it changes nothing, so that the slots are read where they are
    /// rather than copied.
    /// A record parsed wholly in place leaves the side buffer empty, and then it is not
    /// opened at all (opening it retains and releases it).
    @inline(__always)
    mutating func withValues<R>(_ body: (Values) throws -> R) rethrows -> R {
        if buffer.isEmpty {
            return try withUnsafeBytes(of: &slots) { try body(Values(slots: $0.baseAddress!, side: nil)) }
        }
        return try buffer.withUnsafeBytes { side in
            try withUnsafeBytes(of: &slots) { try body(Values(slots: $0.baseAddress!, side: side.baseAddress)) }
        }
    }

    /// The record's values, valid during `withValues` only.
    struct Values {
        fileprivate let slots: UnsafeRawPointer
        fileprivate let side: UnsafeRawPointer?

        /// The value of `key`, or nil when it is absent.
        @inline(__always)
        subscript(_ key: FieldKey) -> UnsafeRawBufferPointer? {
            let s = slots.load(fromByteOffset: key.rawValue &* MemoryLayout<Slot>.stride, as: Slot.self)
            if let p = s.pointer { return UnsafeRawBufferPointer(start: p, count: s.count) }
            guard s.start != Slot.absent else { return nil }
            // An empty side buffer may have no address; its only values are empty.
            return UnsafeRawBufferPointer(start: side.map { $0 + s.start }, count: s.count)
        }
    }
}
