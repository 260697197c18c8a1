/// A completed valid call (SPEC.md section 1), reduced to what classification and
/// counting need.
public struct Contact: Sendable {
    /// The `arrive` time, UTC ms.
    public var t: Int64
    public var call: String
    public var centre: Int32
    /// The centre's name, for ordering ties in `t` (contacts order by t, call, centre).
    public var centreName: String
    /// Arrival service.
    public var service: Int32
    public var caller: CallerKey
    public var identified: Bool
    public var terminal: EventKind
    public var handled: Bool
    public var transferred: Bool
    /// Transferred at least once to a service other than the arrival service.
    public var transferredElsewhere: Bool
    /// answer − arrive when handled; terminal − arrive otherwise.
    public var wait: Int64
    /// end − answer when handled; 0 otherwise.
    public var handle: Int64
    public var outcome: Outcome
    /// The last non-empty reason of the call, -1 when none.
    public var reason: Int32

    public var abandoned: Bool { terminal == .abandon }
    public var blocked: Bool { terminal == .blocked }
    public var failed: Bool { terminal == .abandon || terminal == .blocked }
}

extension Contact: Comparable {
    /// SPEC.md section 3's order: `t`, then `call`, then `centre`, the last two as bytes.
    public static func < (a: Contact, b: Contact) -> Bool {
        if a.t != b.t { return a.t < b.t }
        if !a.call.utf8.elementsEqual(b.call.utf8) { return a.call.utf8.lexicographicallyPrecedes(b.call.utf8) }
        return a.centreName.utf8.lexicographicallyPrecedes(b.centreName.utf8)
    }

    public static func == (a: Contact, b: Contact) -> Bool {
        a.t == b.t && a.call.utf8.elementsEqual(b.call.utf8) && a.centreName.utf8.elementsEqual(b.centreName.utf8)
    }
}
