import CallSiftCore
import CallSiftInput
import CallSiftFormats
/// A completed valid call (docs/metrics.md, "Calls"), reduced to what classification and
/// counting need. A plain value: no strings, no references.
///
/// The fields are declared in the order that packs them into 104 bytes (the one-byte
/// fields fill the tail of the 41-byte `CallID`): contacts are moved and sorted in bulk.
public struct Contact: Sendable {
    /// The `arrive` time, UTC ms.
    public var t: Int64
    /// answer − arrive when handled; terminal − arrive otherwise.
    public var wait: Int64
    /// end − answer when handled; 0 otherwise.
    public var handle: Int64
    public var caller: CallerKey
    public var call: CallID
    public var terminal: EventKind
    public var outcome: Outcome
    public var identified: Bool
    public var centre: Int32
    /// Arrival service.
    public var service: Int32
    /// The last non-empty reason of the call, -1 when none.
    public var reason: Int32
    public var handled: Bool
    public var transferred: Bool
    /// Transferred at least once to a service other than the arrival service.
    public var transferredElsewhere: Bool

    public var abandoned: Bool { terminal == .abandon }
    public var blocked: Bool { terminal == .blocked }
    public var failed: Bool { terminal == .abandon || terminal == .blocked }
}
