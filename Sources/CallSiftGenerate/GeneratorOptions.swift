import CallSiftCore
import CallSiftInput
// What `callsift generate` is asked for, and what it reports back.

/// The encoding of generated events (docs/metrics.md, "Input records").
public enum WorkloadFormat: String, Sendable, CaseIterable {
    /// CSV with the header `ts,centre,call,event,caller,service,outcome,reason`.
    case csv
    /// One JSON object a line with the same keys.
    case ndjson
}

/// Settings of one synthetic workload. The same settings always give the same bytes.
public struct GeneratorOptions: Sendable, Equatable {
    /// Seeds every random choice.
    public var seed: UInt64
    /// Total calls, i.e. `arrive` events in clean output (redials, chases and repeats included).
    public var calls: Int
    /// Contact centres, named `C01`, `C02`, ….
    public var centres: Int
    /// Days of traffic, starting at `startDay`.
    public var days: Int
    /// First day, in days since 1970-01-01 (UTC).
    public var startDay: Int64
    public var format: WorkloadFormat
    /// Adds duplicates, malformed lines, late events, incomplete and conflicting calls and
    /// blank lines at low rates; clean output has none of them.
    public var dirty: Bool
    /// Services (lines of business) run by each centre.
    public var servicesPerCentre: Int

    /// 2026-03-02, a Monday.
    public static let defaultStartDay: Int64 = CivilDate.days(year: 2026, month: 3, day: 2)
    /// The most services a centre can run (the length of the built-in service list).
    public static let maxServicesPerCentre = WorkloadModel.serviceCatalogue.count

    public init(
        seed: UInt64 = 1,
        calls: Int = 100_000,
        centres: Int = 5,
        days: Int = 7,
        startDay: Int64 = GeneratorOptions.defaultStartDay,
        format: WorkloadFormat = .csv,
        dirty: Bool = false,
        servicesPerCentre: Int = 3
    ) {
        self.seed = seed
        self.calls = calls
        self.centres = centres
        self.days = days
        self.startDay = startDay
        self.format = format
        self.dirty = dirty
        self.servicesPerCentre = servicesPerCentre
    }

    /// Parses a `--start` value, `YYYY-MM-DD`, into days since 1970-01-01.
    public static func parseStartDay(_ text: String) -> Int64? { CivilDate.parseDay(text) }

    /// Checks every setting once, up front; the error names the flag.
    public func validate() throws {
        func fail(_ flag: String, _ problem: String) -> GeneratorError {
            GeneratorError(.invalidOption(flag: flag, problem: problem))
        }
        guard calls >= 0 else { throw fail("--calls", "must not be negative") }
        guard (1...999).contains(centres) else { throw fail("--centres", "must be between 1 and 999") }
        guard (1...36_600).contains(days) else { throw fail("--days", "must be between 1 and 36600") }
        // Call ids carry nine digits per centre.
        guard calls / centres < 500_000_000 else { throw fail("--calls", "is too large for nine-digit call ids") }
        guard (1...GeneratorOptions.maxServicesPerCentre).contains(servicesPerCentre) else {
            throw fail("--services-per-centre", "must be between 1 and \(GeneratorOptions.maxServicesPerCentre)")
        }
        let first = CivilDate.civil(days: startDay)
        let last = CivilDate.civil(days: startDay + Int64(days))
        guard first.year >= 1971 && last.year <= 9998 else {
            throw fail("--start", "must leave every generated day between 1971 and 9998")
        }
    }
}

/// A generator setting that cannot be honoured.
public struct GeneratorError: Error, CustomStringConvertible, Equatable, Sendable {
    enum Kind: Equatable, Sendable {
        case invalidOption(flag: String, problem: String)
    }
    let kind: Kind
    init(_ kind: Kind) { self.kind = kind }

    public var description: String {
        switch kind {
        case let .invalidOption(flag, problem): return "\(flag) \(problem)"
        }
    }
}

/// What one run generated, for tests and for the command's `--summary`.
public struct GeneratorSummary: Sendable, Equatable {
    /// Calls simulated (each has one `arrive` before dirt is applied).
    public var calls = 0
    /// Call events simulated, before dirt.
    public var events = 0
    /// Lines written, blank lines, header rows and dirt included.
    public var lines = 0
    /// Bytes written before compression.
    public var bytes = 0
    /// Calls that cross midnight (UTC): arrive on one day, terminal event on the next.
    public var midnightCrossings = 0
    /// Call ids used a second time, more than the call timeout after their first use.
    public var reusedCallIds = 0

    // Dirt, all zero in clean mode.
    /// Exact copies of a line, written again at once or up to 7 minutes later.
    public var duplicateLines = 0
    /// Lines whose timestamp cannot be parsed.
    public var badTimestampLines = 0
    /// Lines whose event is not one of the six names.
    public var unknownEventLines = 0
    /// Lines missing `ts`, `centre`, `call` or `event`.
    public var missingFieldLines = 0
    /// Lines of noise (including invalid UTF-8).
    public var garbageLines = 0
    /// CSV lines with text after a closing quote, plus one final line whose quote is never
    /// closed; NDJSON lines cut short.
    public var brokenSyntaxLines = 0
    /// Events written 15 to 45 minutes after their place in time order.
    public var lateEvents = 0
    /// Empty lines.
    public var blankLines = 0
    /// CSV header rows repeated at day boundaries, as when daily files are concatenated.
    public var repeatedHeaders = 0
    /// Calls with their `arrive` or their terminal event removed.
    public var incompleteCalls = 0
    /// Calls with two answers, an `end` without `answer`, or times going backwards.
    public var conflictingCalls = 0

    public init() {}
}
