import CallSiftCore
import CallSiftInput
import CallSiftFormats
/// Values that combine exactly: merging partial results (shards, files, machines) in any
/// grouping gives the same totals.
public protocol Mergeable {
    static var zero: Self { get }
    mutating func merge(_ other: Self)
}

/// The additive counters of one base group (docs/metrics.md, "Output").
public struct Counters: Mergeable, Equatable, Sendable {
    public var contacts: Int64 = 0
    public var identified: Int64 = 0
    public var handled: Int64 = 0
    public var abandoned: Int64 = 0
    public var shortAbandoned: Int64 = 0
    public var blocked: Int64 = 0
    public var transferred: Int64 = 0
    public var answeredInSL: Int64 = 0
    public var waitMsSum: Int64 = 0
    public var handleMsSum: Int64 = 0
    public var avoidable: Int64 = 0
    public var progressChase: Int64 = 0
    public var repeats: Int64 = 0
    public var retry: Int64 = 0
    public var misdirected: Int64 = 0
    public var clarification: Int64 = 0
    public var fcrEligible: Int64 = 0
    public var fcr: Int64 = 0
    public var fcrPending: Int64 = 0

    public init() {}
    public static var zero: Counters { Counters() }

    /// The counters in the product definition's order (docs/metrics.md, "Output"), with
    /// their output names.
    public static let fields: [(name: String, path: any WritableKeyPath<Counters, Int64> & Sendable)] = [
        ("contacts", \.contacts), ("identified", \.identified), ("handled", \.handled),
        ("abandoned", \.abandoned), ("short_abandoned", \.shortAbandoned), ("blocked", \.blocked),
        ("transferred", \.transferred), ("answered_in_sl", \.answeredInSL),
        ("wait_ms_sum", \.waitMsSum), ("handle_ms_sum", \.handleMsSum), ("avoidable", \.avoidable),
        ("progress_chase", \.progressChase), ("repeat", \.repeats), ("retry", \.retry),
        ("misdirected", \.misdirected), ("clarification", \.clarification),
        ("fcr_eligible", \.fcrEligible), ("fcr", \.fcr), ("fcr_pending", \.fcrPending),
    ]

    /// Field by field, written out: through `fields`' key paths, summing a year's groups
    /// was a tenth of a report's cost.
    public mutating func merge(_ o: Counters) {
        contacts += o.contacts; identified += o.identified; handled += o.handled
        abandoned += o.abandoned; shortAbandoned += o.shortAbandoned; blocked += o.blocked
        transferred += o.transferred; answeredInSL += o.answeredInSL
        waitMsSum += o.waitMsSum; handleMsSum += o.handleMsSum; avoidable += o.avoidable
        progressChase += o.progressChase; repeats += o.repeats; retry += o.retry
        misdirected += o.misdirected; clarification += o.clarification
        fcrEligible += o.fcrEligible; fcr += o.fcr; fcrPending += o.fcrPending
    }

    /// The counters' values in `fields`' order.
    var values: [Int64] {
        [
            contacts, identified, handled, abandoned, shortAbandoned, blocked, transferred, answeredInSL, waitMsSum,
            handleMsSum, avoidable, progressChase, repeats, retry, misdirected, clarification, fcrEligible, fcr, fcrPending,
        ]
    }

    /// The rates of docs/metrics.md, "Output", in the product definition's order, as
    /// (name, x, n).
    public var rates: [(name: String, x: Int64, n: Int64)] {
        let answerable = handled + abandoned - shortAbandoned
        return [
            ("fcr_rate", fcr, fcrEligible),
            ("avoidable_rate", avoidable, contacts),
            ("repeat_rate", repeats, contacts),
            ("abandon_rate", abandoned - shortAbandoned, answerable),
            ("service_level", answeredInSL, answerable),
            ("transfer_rate", transferred, handled),
        ]
    }

    /// Average speed of answer in seconds; nil without handled contacts.
    public var asaSeconds: Double? { handled == 0 ? nil : Double(waitMsSum) / Double(handled) / 1000 }
    /// Average handle time in seconds; nil without handled contacts.
    public var ahtSeconds: Double? { handled == 0 ? nil : Double(handleMsSum) / Double(handled) / 1000 }
}
