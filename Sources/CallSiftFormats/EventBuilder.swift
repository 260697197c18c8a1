import CMemory
import CallSiftCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Turns the known fields of one record into a validated `Event`, or says why it is
/// rejected (the table of docs/metrics.md, "Rejection reasons"). Shared by every input
/// format.
///
/// Checks run in a fixed order, so a line with several faults is always rejected for the
/// same reason: ts, centre, call, event, then the per-event requirements.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
package final class EventBuilder {
    let centres: Interner
    let services: Interner
    let reasons: Interner
    let longCallIDs: LongCallIDs
    let pseudonymiser: Pseudonymiser

    package init(centres: Interner, services: Interner, reasons: Interner, longCallIDs: LongCallIDs, pseudonymiser: Pseudonymiser) {
        self.centres = centres
        self.services = services
        self.reasons = reasons
        self.longCallIDs = longCallIDs
        self.pseudonymiser = pseudonymiser
    }

    enum Built {
        case event(Event)
        case rejected(RejectReason)
    }

    /// An adapter's event: `ts` is given as a number (what a record with `ts` written in
    /// decimal would be read as: a magnitude of at most 18 digits, else `bad_ts`), the
    /// other values are in `f`, whose `ts` and `event` slots are not read.
    func build(_ f: inout FieldSlots, ts: Int64, kind: EventKind) -> Built {
        guard ts.magnitude < 1_000_000_000_000_000_000 else { return .rejected(.badTs) }
        var event = Event.placeholder
        let placed = f.withValues { build($0, ts: ts, kind: kind, into: &event) }
        if case .rejected(let reason) = placed { return .rejected(reason) }
        return .event(event)
    }

    /// Builds the event of `f`'s values into `event` (left in an unspecified state when
    /// the record is rejected), or says why the record is rejected.
    ///
    /// The per-event path: the CSV and NDJSON readers build straight into their batch, as
    /// returning the event and copying it there cost a stall per event (the copy reads
    /// the fields back in wider loads than they were written with).
    @inline(__always)
    package func build(_ f: inout FieldSlots, into event: inout Event) -> Placed {
        f.withValues { build($0, into: &event) }
    }

    /// What `build(_:into:)` did: the event's `ts` comes back with it, so that judging
    /// lateness need not read the event back.
    package enum Placed {
        case event(ts: Int64)
        case rejected(RejectReason)
    }

    /// The checks, in their fixed order, as straight-line code over the values (no closure
    /// per key): this runs once per event. Values are interned as they pass their check,
    /// so a line rejected by a later check has still interned its centre (and any long
    /// call id); that order is kept as it was.
    private func build(_ f: FieldSlots.Values, into event: inout Event) -> Placed {
        guard let tsBytes = nonEmpty(f[.ts]) else { return .rejected(.missingTs) }
        guard let ts = Timestamp.parse(tsBytes, days: &dayCache) else { return .rejected(.badTs) }
        return build(f, ts: ts, kind: nil, into: &event)
    }

    /// The checks after `ts`'s; `kind`, when given, stands for the `event` slot.
    @inline(__always)
    private func build(_ f: FieldSlots.Values, ts: Int64, kind givenKind: EventKind?, into event: inout Event) -> Placed {
        guard let centreBytes = nonEmpty(f[.centre]) else { return .rejected(.missingCentre) }
        let centre = centreCache.lookup(centreBytes, in: centres)
        guard let callBytes = nonEmpty(f[.call]) else { return .rejected(.missingCall) }
        let call =
            callBytes.count <= CallID.inlineCapacity
            ? CallID(short: callBytes) : CallID.interned(callBytes, long: longCallIDs)
        let kind: EventKind
        if let givenKind {
            kind = givenKind
        } else {
            guard let kindBytes = nonEmpty(f[.event]) else { return .rejected(.missingEvent) }
            guard let named = Self.kind(kindBytes) else { return .rejected(.unknownEvent) }
            kind = named
        }

        event = Event(
            ts: ts, call: call, kind: kind, identified: false, outcome: .resolved, centre: centre,
            service: -1, reason: -1, caller: .none)
        switch kind {
        case .arrive:
            guard let caller = f[.caller] else { return .rejected(.missingCaller) }
            if !Self.isUnidentified(caller) {
                event.caller = pseudonymiser.pseudonym(caller)
                event.identified = true
            }
            guard let service = nonEmpty(f[.service]) else { return .rejected(.missingService) }
            event.service = serviceCache.lookup(service, in: services)
        case .transfer:
            if let service = nonEmpty(f[.service]) { event.service = serviceCache.lookup(service, in: services) }
        case .end:
            if let outcome = nonEmpty(f[.outcome]) {
                guard let o = Self.outcome(outcome) else { return .rejected(.badOutcome) }
                event.outcome = o
            }
        default:
            break
        }
        if let reason = nonEmpty(f[.reason]) { event.reason = reasonCache.lookup(reason, in: reasons) }
        return .event(ts: ts)
    }

    // MARK: - Values

    /// Caller values that identify nobody (docs/metrics.md, "Values"), compared
    /// case-insensitively (each byte with bit 5 set, against the lower-case name): by
    /// length, then against static bytes, as this runs once per arrival, where a stored
    /// table had cost a lazy-initialisation check each time.
    static func isUnidentified(_ v: UnsafeRawBufferPointer) -> Bool {
        switch v.count {
        case 0: return true
        case 7: return equalFolded(v, "private") || equalFolded(v, "unknown")
        case 8: return equalFolded(v, "withheld")
        case 9: return equalFolded(v, "anonymous")
        case 11: return equalFolded(v, "unavailable")
        default: return false
        }
    }

    /// `v` with bit 5 of each byte set equals `word` (lower case, of `v`'s length).
    @inline(__always)
    private static func equalFolded(_ v: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        let w = word.utf8Start
        for i in 0..<v.count where (v[i] | 0x20) != w[i] { return false }
        return true
    }

    static func kind(_ v: UnsafeRawBufferPointer) -> EventKind? {
        switch v.count {
        case 3: return equal(v, "end") ? .end : nil
        case 6:
            if equal(v, "arrive") { return .arrive }
            if equal(v, "answer") { return .answer }
            return nil
        case 7:
            if equal(v, "abandon") { return .abandon }
            if equal(v, "blocked") { return .blocked }
            return nil
        case 8: return equal(v, "transfer") ? .transfer : nil
        default: return nil
        }
    }

    static func outcome(_ v: UnsafeRawBufferPointer) -> Outcome? {
        if equal(v, "resolved") { return .resolved }
        if equal(v, "pending") { return .pending }
        if equal(v, "unresolved") { return .unresolved }
        return nil
    }

    @inline(__always)
    static func equal(_ v: UnsafeRawBufferPointer, _ word: StaticString) -> Bool {
        v.count == word.utf8CodeUnitCount && bytesEqual(v.baseAddress!, UnsafeRawPointer(word.utf8Start), v.count)
    }

    // MARK: - Interning through a small per-parser cache (few distinct values, no lock)

    /// The last date parsed (most lines share their date with the line before).
    @exclusivity(unchecked) private var dayCache = Timestamp.DayCache()
    private let centreCache = InternCache()
    private let serviceCache = InternCache()
    private let reasonCache = InternCache()
}

/// A direct-mapped cache in front of an `Interner`: 256 slots chosen by a hash of the
/// bytes, each remembering one string and its id. Centres, services and reasons have few
/// distinct values, so after the first lines nearly every lookup is a hit that costs a
/// hash and a comparison of two words, with no lock and no allocation.
///
/// A value of up to 16 bytes is held in the slot itself as two words (`ShortBytes`),
/// which determine its bytes exactly; a longer value's slot also keeps a copy of its
/// bytes, compared in full on a hit. A class, so that the per-event lookup reaches the
/// slots through one pointer, with no uniqueness check. Its stored properties are
/// `@exclusivity(unchecked)`, as its builder's are.
final class InternCache {
    private struct Slot {
        var words = ShortBytes(lo: 0, hi: 0)
        var count = 0
        var id: Int32 = -1
    }

    private static let slotCount = 256
    private let slots = UnsafeMutablePointer<Slot>.allocate(capacity: InternCache.slotCount)
    /// The bytes of the values over 16 bytes long, by slot.
    @exclusivity(unchecked) private var long: [[UInt8]] = Array(repeating: [], count: InternCache.slotCount)

    init() { slots.initialize(repeating: Slot(), count: Self.slotCount) }
    deinit { slots.deallocate() }

    /// The id of `v` in `interner`, asked of the interner only on a miss.
    @inline(__always)
    func lookup(_ v: UnsafeRawBufferPointer, in interner: Interner) -> Int32 {
        let words = ShortBytes(v)
        let n = v.count
        let h = (words.lo &* 0x9E37_79B9_7F4A_7C15) ^ (words.hi &* 0xC2B2_AE3D_27D4_EB4F) ^ UInt64(truncatingIfNeeded: n)
        let slot = Int(truncatingIfNeeded: (h &* 0xFF51_AFD7_ED55_8CCD) >> 56)
        let s = slots[slot]
        if s.id >= 0 && s.count == n && s.words == words && (n <= ShortBytes.capacity || long[slot].elementsEqual(v)) {
            return s.id
        }
        let new = interner.intern(v)
        slots[slot] = Slot(words: words, count: n, id: new)
        long[slot] = n > ShortBytes.capacity ? Array(v) : []
        return new
    }
}

/// Two words read from a byte string such that, together with its length, they determine
/// every byte of a string of up to 16 bytes: its first and last eight bytes (overlapping
/// when shorter than 16), its first and last four when 4 to 7 bytes long, and its first,
/// middle and last byte when 1 to 3. Reads nothing outside the string.
struct ShortBytes: Hashable {
    static let capacity = 16
    var lo: UInt64
    var hi: UInt64

    init(lo: UInt64, hi: UInt64) { self.lo = lo; self.hi = hi }

    @inline(__always)
    init(_ v: UnsafeRawBufferPointer) {
        let n = v.count
        guard n > 0, let p = v.baseAddress else { self.init(lo: 0, hi: 0); return }
        if n >= 8 {
            self.init(lo: p.loadUnaligned(as: UInt64.self), hi: p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
        } else if n >= 4 {
            self.init(
                lo: UInt64(p.loadUnaligned(as: UInt32.self)),
                hi: UInt64(p.loadUnaligned(fromByteOffset: n &- 4, as: UInt32.self)))
        } else {
            let first = UInt64(p.load(as: UInt8.self))
            let middle = UInt64(p.load(fromByteOffset: n >> 1, as: UInt8.self))
            let last = UInt64(p.load(fromByteOffset: n &- 1, as: UInt8.self))
            self.init(lo: first | middle << 8 | last << 16, hi: 0)
        }
    }
}

/// Whether `count` bytes at `a` and `b` are equal. Inline, a word at a time: the values
/// compared per event (event names, centres, services) are a few bytes long, for which a
/// call to `memcmp` costs more than the comparison.
@inline(__always)
func bytesEqual(_ a: UnsafeRawPointer, _ b: UnsafeRawPointer, _ count: Int) -> Bool {
    var i = 0
    while i &+ 8 <= count {
        if a.loadUnaligned(fromByteOffset: i, as: UInt64.self) != b.loadUnaligned(fromByteOffset: i, as: UInt64.self) { return false }
        i &+= 8
    }
    while i < count {
        if a.load(fromByteOffset: i, as: UInt8.self) != b.load(fromByteOffset: i, as: UInt8.self) { return false }
        i &+= 1
    }
    return true
}

@inline(__always)
private func nonEmpty(_ v: UnsafeRawBufferPointer?) -> UnsafeRawBufferPointer? {
    guard let v, v.count > 0 else { return nil }
    return v
}

/// Byte-level checks every record passes before its fields are looked at.
package enum RecordBytes {
    /// nil when `bytes` is valid UTF-8 without NUL; otherwise the reason to reject.
    package static func check(_ bytes: UnsafeRawBufferPointer) -> RejectReason? {
        let n = bytes.count
        guard let base = bytes.baseAddress else { return nil }
        // Nearly every record is plain ASCII without NUL: valid, known at sixteen bytes a
        // time. The others are read byte by byte from the start.
        guard callsift_any_suspect(base, n) != 0 else { return nil }
        var i = 0
        while i < n {
            let b = bytes[i]
            if b == 0 { return .nulByte }
            if b < 0x80 { i += 1; continue }
            let len: Int
            let min: UInt32
            var scalar: UInt32
            switch b {
            case 0xC2...0xDF: len = 2; scalar = UInt32(b & 0x1F); min = 0x80
            case 0xE0...0xEF: len = 3; scalar = UInt32(b & 0x0F); min = 0x800
            case 0xF0...0xF4: len = 4; scalar = UInt32(b & 0x07); min = 0x10000
            default: return .invalidUTF8
            }
            guard i + len <= n else { return .invalidUTF8 }
            for k in 1..<len {
                let c = bytes[i + k]
                guard c & 0xC0 == 0x80 else { return .invalidUTF8 }
                scalar = scalar << 6 | UInt32(c & 0x3F)
            }
            if scalar < min || scalar > 0x10FFFF || (scalar >= 0xD800 && scalar <= 0xDFFF) { return .invalidUTF8 }
            i += len
        }
        return nil
    }

    /// 0x80 in each byte of `x` that is zero, and nothing else. Exact for every byte
    /// (unlike the shorter borrow-based test, which can also mark the byte above a zero):
    /// adding 0x7F to the low seven bits sets bit 7 for any nonzero low bits, and OR-ing
    /// `x` back in covers a byte whose only bit was bit 7. XOR a word with a byte repeated
    /// eight times first, and it marks where that byte is.
    @inline(__always)
    static func zeroBytes(_ x: UInt64) -> UInt64 {
        let low7: UInt64 = 0x7F7F_7F7F_7F7F_7F7F
        return ~(((x & low7) &+ low7) | x | low7)
    }

    /// True for a line of nothing but spaces and tabs: not counted as a line at all.
    package static func isBlank(_ bytes: UnsafeRawBufferPointer) -> Bool {
        for b in bytes where b != 0x20 && b != 0x09 && b != 0x0D { return false }
        return true
    }
}
