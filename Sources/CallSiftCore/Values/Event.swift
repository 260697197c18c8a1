/// What happened to a call at one instant (docs/metrics.md, "Input records").
///
/// The raw values are the lifecycle order used to break ties in `ts`:
/// arrive, answer, transfer, then the terminal events.
public enum EventKind: UInt8, Sendable, CaseIterable {
    case arrive = 0, answer = 1, transfer = 2, abandon = 3, blocked = 4, end = 5

    /// Position in a call's lifecycle; the three terminal events share the last place.
    package var lifecycleRank: UInt8 { self.rawValue < 3 ? self.rawValue : 3 }
    var isTerminal: Bool { self.rawValue >= 3 }

    public var name: String {
        switch self {
        case .arrive: "arrive"
        case .answer: "answer"
        case .transfer: "transfer"
        case .abandon: "abandon"
        case .blocked: "blocked"
        case .end: "end"
        }
    }
}

/// The outcome recorded on a call's `end` event; `resolved` when absent.
public enum Outcome: UInt8, Sendable {
    case resolved = 0, pending = 1, unresolved = 2
}

/// A keyed pseudonym of a caller identifier (128 bits of SipHash output).
public struct CallerKey: Hashable, Sendable {
    public var hi: UInt64
    public var lo: UInt64
    /// No caller. Computed and inlinable, not a stored `static let`: that is reached
    /// through a lazy initialiser's check on every use, once per event in the builder.
    @inlinable public static var none: CallerKey { CallerKey(hi: 0, lo: 0) }
    @inlinable public init(hi: UInt64, lo: UInt64) { self.hi = hi; self.lo = lo }
}

/// One accepted line of input: a validated canonical call event.
///
/// Strings that repeat (centre, service, reason) are interned to small integers by the
/// `Interner`s of the run; `call` is a `CallID`, held inline. An event is a plain value:
/// batches of them move between threads without reference counting.
///
/// The fields are declared in the order that packs them into 80 bytes (the one-byte
/// fields fill the tail of the 41-byte `CallID`): batches of events cross from the
/// parser's core to the merge's, so every byte of an event is paid for per event.
public struct Event: Sendable {
    /// Event time, UTC milliseconds.
    public var ts: Int64
    public var call: CallID
    public var kind: EventKind
    /// False for an empty or withheld caller (docs/metrics.md, "Values"); meaningful on
    /// `arrive` only.
    public var identified: Bool
    public var outcome: Outcome
    public var centre: Int32
    /// Arrival service on `arrive`, destination on `transfer`; -1 when absent.
    public var service: Int32
    /// Interned reason code, -1 when empty or absent.
    public var reason: Int32
    /// Pseudonymised caller; meaningful on `arrive` only.
    public var caller: CallerKey

    @inlinable
    package init(
        ts: Int64, call: CallID, kind: EventKind, identified: Bool, outcome: Outcome, centre: Int32, service: Int32,
        reason: Int32, caller: CallerKey
    ) {
        self.ts = ts; self.call = call; self.kind = kind; self.identified = identified; self.outcome = outcome
        self.centre = centre; self.service = service; self.reason = reason; self.caller = caller
    }
}

extension Event {
    /// What a slot holds until an event is built there (`EventBuilder.build(_:into:)`).
    @inlinable package static var placeholder: Event {
        Event(
            ts: 0, call: CallID(), kind: .arrive, identified: false,
            outcome: .resolved, centre: -1, service: -1, reason: -1, caller: .none)
    }
}

/// Why an input line was rejected. The raw value is the name used in the output and in
/// the `--rejects` file.
public enum RejectReason: String, Sendable, CaseIterable {
    case invalidUTF8 = "invalid_utf8"
    case nulByte = "nul_byte"
    case lineTooLong = "line_too_long"
    case unterminatedQuote = "unterminated_quote"
    case badQuote = "bad_quote"
    case fieldCount = "field_count"
    case badJSON = "bad_json"
    case badValue = "bad_value"
    case truncatedInput = "truncated_input"
    case missingTs = "missing_ts"
    case badTs = "bad_ts"
    case missingCentre = "missing_centre"
    case missingCall = "missing_call"
    case missingEvent = "missing_event"
    case unknownEvent = "unknown_event"
    case missingCaller = "missing_caller"
    case missingService = "missing_service"
    case badOutcome = "bad_outcome"
}
