import CallSiftCore
import CallSiftInput
// One generated line before it is encoded: ids and small codes, no strings, so that the
// hot path never allocates per event.

/// The six event names of docs/metrics.md, "Input records".
enum GeneratedEventKind: UInt8 {
    case arrive, answer, transfer, abandon, blocked, end

    static let names: [[UInt8]] = ["arrive", "answer", "transfer", "abandon", "blocked", "end"]
        .map { Array($0.utf8) }
    var name: [UInt8] { GeneratedEventKind.names[Int(rawValue)] }
    var isTerminal: Bool { self == .abandon || self == .blocked || self == .end }
}

/// `outcome` of an `end`; `.resolvedImplicit` writes nothing (absent = resolved).
enum GeneratedOutcome: UInt8 {
    case none, resolvedImplicit, resolved, pending, unresolved

    static let names: [[UInt8]] = ["", "", "resolved", "pending", "unresolved"].map { Array($0.utf8) }
    var name: [UInt8] { GeneratedOutcome.names[Int(rawValue)] }
}

/// How a line's timestamp is spelt.
enum TimestampForm: UInt8 {
    /// `2026-03-02T09:15:02.125Z`
    case utcMillis
    /// `2026-03-02T10:15:02.125+01:00`
    case plusOneHour
    /// `1772442902125`
    case epochMillis
}

/// What, if anything, is wrong with a line (dirty mode only).
enum LineDirt: UInt8 {
    case none
    case badTimestamp
    case unknownEvent
    case missingField
    /// A line of noise that stands for no event.
    case garbage
    /// CSV: text after a closing quote (and, once, an unterminated quote as the very last
    /// line); NDJSON: the object cut short.
    case brokenSyntax
    /// An empty line that stands for no event.
    case blank
}

/// One line to be written.
struct GeneratedEvent {
    /// Where the line goes in the output: `ts`, plus a small jitter, or much more for a
    /// late event or a delayed duplicate.
    var key: Int64
    /// The event time, UTC milliseconds.
    var ts: Int64
    /// Creation order: breaks ties in `key` so that sorting is deterministic.
    var seq: UInt64
    var callNo: UInt32
    var person: UInt32
    var centre: UInt16
    var kind: GeneratedEventKind
    /// Index into `WorkloadModel.serviceCatalogue`, or `noService`.
    var service: UInt8
    var outcome: GeneratedOutcome
    /// Index into `WorkloadModel.reasonCodes`; 0 = none.
    var reason: UInt8
    /// 0 = the person's number; 1… = an unidentified spelling (`WorkloadModel.unidentifiedSpellings`).
    var caller: UInt8
    var form: TimestampForm
    /// Bit 0: quote every CSV field. Bit 1: NDJSON writes empty keys as "" instead of
    /// omitting them. Bit 2: NDJSON adds an unknown key.
    var style: UInt8
    var dirt: LineDirt
    /// Chooses among the spellings of a dirt kind.
    var dirtVariant: UInt8

    static let noService: UInt8 = .max
    static let styleQuoteAll: UInt8 = 1
    static let styleExplicitEmpty: UInt8 = 2
    static let styleExtraKey: UInt8 = 4

    /// Sort order of the output.
    @inline(__always)
    static func precedes(_ a: GeneratedEvent, _ b: GeneratedEvent) -> Bool {
        a.key != b.key ? a.key < b.key : a.seq < b.seq
    }
}

/// A call that has yet to arrive: a redial, a progress chase or a repeat.
struct FollowUp {
    enum Kind: UInt8 { case redial, chase, repeatAfterUnresolved, repeatAfterResolved }
    var time: Int64
    var seq: UInt64
    var person: UInt32
    var centre: UInt16
    var service: UInt8
    var caller: UInt8
    var kind: Kind
    /// Failed attempts so far in a chain of redials.
    var attempt: UInt8
}

extension FollowUp: Comparable {
    /// Earlier first; ties in creation order, so the schedule is deterministic.
    static func < (a: FollowUp, b: FollowUp) -> Bool { a.time != b.time ? a.time < b.time : a.seq < b.seq }
    static func == (a: FollowUp, b: FollowUp) -> Bool { a.time == b.time && a.seq == b.seq }
}
