/// Everything `analyze` prints: settings, accounting and the rolled-up rows
/// (SPEC.md section 5). Built once at the end; the writers in Output/ only format it.
public struct Report: Sendable {
    public struct Row: Sendable, Equatable {
        public var centre: String
        /// Nil when rolled up over services (`--by centre`).
        public var service: String?
        public var period: String
        public var counters: Counters
    }

    public var settings: AnalysisSettings
    /// Inputs as given on the command line (folders not expanded).
    public var inputs: [String]
    /// Each file read, in reading order (folders expanded), with its content fingerprint:
    /// how `merge` recognises two reports that count the same input.
    public var inputFiles: [InputFile] = []
    /// Greatest accepted `ts`, nil for an input without events.
    public var horizon: Int64?
    public var lines: LineAccounting
    public var calls: CallAssembler.Accounting
    public var rows: [Row]

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
    static func rows(keys: [Aggregator.GroupKey], counters: [Counters], centres: Interner,
                     services: Interner, settings: AnalysisSettings) -> [Row] {
        struct RowKey: Hashable { var centre: ByteString; var service: ByteString?; var period: ByteString }
        var sums: [RowKey: Counters] = [:]
        var labels: [Int32: String] = [:]
        for (key, c) in zip(keys, counters) {
            let label: String
            if let l = labels[key.day] { label = l } else {
                label = settings.period.label(ofDay: key.day)
                labels[key.day] = label
            }
            let rk = RowKey(centre: ByteString(centres[key.centre]),
                            service: settings.grouping == .service ? ByteString(services[key.service]) : nil,
                            period: ByteString(label))
            sums[rk, default: .zero].merge(c)
        }
        return sums.sorted { a, b in
            if a.key.centre != b.key.centre { return a.key.centre < b.key.centre }
            if a.key.service != b.key.service { return (a.key.service?.string ?? "").utf8.lexicographicallyPrecedes((b.key.service?.string ?? "").utf8) }
            return a.key.period < b.key.period
        }.map { Row(centre: $0.key.centre.string, service: $0.key.service?.string, period: $0.key.period.string, counters: $0.value) }
    }
}
