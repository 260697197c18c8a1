import CallSiftCore
import CallSiftInput
import CallSiftFormats
/// Everything `analyze` prints: settings, accounting and the rolled-up rows
/// (docs/metrics.md, "Output"). Built once at the end; the writers in Output/ only format
/// it.
public struct Report: Sendable {
    public struct Row: Sendable, Equatable {
        public var centre: String
        /// Nil when rolled up over services (`--by centre`).
        public var service: String?
        public var period: String
        public var counters: Counters
        /// With durable state: whether no input still to come can change the row
        /// (`Finality`); nil otherwise, and then not printed.
        public var final: Bool?

        public init(centre: String, service: String?, period: String, counters: Counters, final: Bool? = nil) {
            self.centre = centre; self.service = service; self.period = period; self.counters = counters; self.final = final
        }
    }

    /// With durable state, which rows are final (docs/metrics.md, "Final and provisional
    /// rows"): a row is final when the end of its period, plus the reach `R` of every
    /// definition, is at or before the point its centre has been made final to (the
    /// stream's, under `--scope global`). R is the longest of the repeat (also FCR's),
    /// chase and retry windows, plus the call timeout and the lateness bound. A row of
    /// period `all` is never final.
    public struct Finality: Sendable {
        var settings: AnalysisSettings
        var calendar: LocalCalendar
        /// The final point by centre id; under `--scope global`, the single part's (key -1).
        var points: [Int32: Int64]

        var reach: Int64 {
            max(settings.repeatWindow, settings.chaseWindow, settings.retryWindow) &+ settings.callTimeout &+ settings.lateness
        }

        func isFinal(centre: Int32, day: Int32) -> Bool {
            guard let point = points[centre] ?? points[-1], point != .min,
                let last = settings.period.lastDay(ofDay: day)
            else { return false }
            let end = calendar.start(ofDay: last + 1)
            let (sum, overflow) = end.addingReportingOverflow(reach)
            return !overflow && sum <= point
        }
    }

    public var settings: AnalysisSettings
    /// Inputs as given on the command line (folders not expanded).
    public var inputs: [String]
    /// Each file read, in reading order (folders expanded), with its content fingerprint:
    /// how `merge` recognises two reports that count the same input.
    public var inputFiles: [InputFile] = []
    /// The `--state` folder the report was made from.
    public var statePath: String?
    /// Whether rows carry `final` (with `--state` or `--follow`).
    public var marksFinal = false
    /// Greatest accepted `ts`, nil for an input without events.
    public var horizon: Int64?
    public var lines: LineAccounting
    public var calls: CallAccounting
    public var rows: [Row]
    /// Callers waiting in a queue when the report was taken, per centre and service: a
    /// preview's only (a follower's report, docs/metrics.md, "Wallboard"); not written to
    /// the report file.
    public var waiting: [Waiting] = []
    /// The same groups by day and service, whatever the report's period and grouping
    /// (asked of a preview for the wallboard); nil otherwise. Not written to the report file.
    public var dayRows: [Row]?
    /// Arrivals by local hour of each centre's latest day, counted by a follower serving a
    /// wallboard (`HourlyArrivals`); empty otherwise. Not written to the report file.
    public var hourly: [String: HourlyArrivals.Day] = [:]

    public struct Waiting: Sendable, Equatable {
        public var centre: String
        public var service: String
        public var calls: Int
        /// From the earliest of their queue entries to the latest event read.
        public var longestMs: Int64
        public init(centre: String, service: String, calls: Int, longestMs: Int64) {
            self.centre = centre
            self.service = service
            self.calls = calls
            self.longestMs = longestMs
        }
    }

    public init(settings: AnalysisSettings, inputs: [String], horizon: Int64?, lines: LineAccounting, calls: CallAccounting, rows: [Row]) {
        self.settings = settings; self.inputs = inputs; self.horizon = horizon; self.lines = lines; self.calls = calls; self.rows = rows
    }

    /// One file an `analyze` run read.
    public struct InputFile: Sendable, Equatable {
        public var path: String
        /// Nil when the file could not be read to its end.
        public var content: ContentFingerprint?
        /// Lines counted from it (`accounting.lines`' share): 0 for an empty or header-only file.
        public var lines: Int64

        public init(path: String, content: ContentFingerprint?, lines: Int64) {
            self.path = path
            self.content = content
            self.lines = lines
        }
    }

    /// Duplicates found by call assembly plus records an adapter found delivered twice.
    public var duplicates: Int64 { calls.duplicates + lines.duplicates }

    /// Rolls base groups up to the report's period and grouping, sorted by
    /// (centre, service, period) as byte strings.
    static func rows(
        keys: [Aggregator.GroupKey], counters: [Counters], centres: Interner,
        services: Interner, settings: AnalysisSettings, finality: Finality? = nil
    ) -> [Row] {
        struct RowKey: Hashable { var centre: ByteString; var service: ByteString?; var period: ByteString }
        var sums: [RowKey: Counters] = [:]
        var finals: [RowKey: Bool] = [:]
        var labels: [Int32: String] = [:]
        for (key, c) in zip(keys, counters) {
            let label: String
            if let l = labels[key.day] {
                label = l
            } else {
                label = settings.period.label(ofDay: key.day)
                labels[key.day] = label
            }
            let rk = RowKey(
                centre: ByteString(centres[key.centre]),
                service: settings.grouping == .service ? ByteString(services[key.service]) : nil,
                period: ByteString(label))
            sums[rk, default: .zero].merge(c)
            if let finality {
                let f = finality.isFinal(centre: key.centre, day: key.day)
                finals[rk] = (finals[rk] ?? true) && f
            }
        }
        return sums.sorted { a, b in
            if a.key.centre != b.key.centre { return a.key.centre < b.key.centre }
            if a.key.service != b.key.service { return (a.key.service?.string ?? "").utf8.lexicographicallyPrecedes((b.key.service?.string ?? "").utf8) }
            return a.key.period < b.key.period
        }.map {
            Row(
                centre: $0.key.centre.string, service: $0.key.service?.string, period: $0.key.period.string, counters: $0.value,
                final: finals[$0.key])
        }
    }
}
