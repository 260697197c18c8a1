/// Every setting that decides a figure (docs/metrics.md, sections 1–5), validated once, up
/// front.
public struct AnalysisSettings: Sendable, Equatable {
    /// Which contacts of one caller see each other (docs/metrics.md, "Classes and FCR").
    public enum Scope: String, Sendable, CaseIterable { case centre, service, global }
    /// The rows of the report: one per centre, or one per centre and arrival service.
    public enum Grouping: String, Sendable, CaseIterable { case centre, service }
    /// How an input's records are encoded, by the name `--format` takes; `auto` recognises
    /// each input from its first bytes. Each format declares its own name beside its reader
    /// and is registered in CallSiftFormats' `FormatRegistry` (docs/formats.md).
    public struct InputFormat: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }
        public var description: String { rawValue }
        /// Each input's format recognised from its first bytes.
        public static let auto = InputFormat(rawValue: "auto")
    }

    public var callTimeout: Int64 = 6 * 3_600_000
    public var lateness: Int64 = 10 * 60_000
    public var repeatWindow: Int64 = 7 * 86_400_000
    public var chaseWindow: Int64 = 28 * 86_400_000
    public var retryWindow: Int64 = 3_600_000
    public var shortAbandon: Int64 = 5_000
    public var slThreshold: Int64 = 20_000
    public var minCell: Int64 = 10
    public var scope: Scope = .centre
    public var period: Period = .day
    public var grouping: Grouping = .service
    public var timeZone: String = "UTC"
    public var format: InputFormat = .auto
    /// What a format reads besides its records, by option name (`--queue-names` and
    /// `--attribute-keys` of Genesys Cloud records, docs/formats.md): each format checks its
    /// own (`FormatRegistry.problem`). Not a figure's setting: two runs with different ones
    /// may share a state.
    public var formatOptions: [String: String] = [:]
    /// A centre's own reason codes → reserved code or `none` (`--reason-map`); nil means
    /// the reserved codes of docs/metrics.md, "Classes and FCR", only. Printed in `config`
    /// only when set.
    public var reasonMap: [String: String]? = nil
    /// The centre of inputs whose records name none (queue_log; contact trace records
    /// default to their Connect instance id).
    public var centre: String?

    public init() {}

    /// The first problem with these settings, naming the flag, or nil.
    public func problem() -> String? {
        let windows: [(String, Int64)] = [
            ("--call-timeout", callTimeout), ("--repeat-window", repeatWindow),
            ("--chase-window", chaseWindow), ("--retry-window", retryWindow),
        ]
        for (flag, v) in windows where v <= 0 { return "\(flag) must be positive" }
        let nonNegative: [(String, Int64)] = [
            ("--lateness", lateness), ("--short-abandon", shortAbandon),
            ("--sl-threshold", slThreshold), ("--min-cell", minCell),
        ]
        for (flag, v) in nonNegative where v < 0 { return "\(flag) must not be negative" }
        if let map = reasonMap, let bad = map.first(where: { !ReasonTaxonomy.targets.contains($0.value) }) {
            return "--reason-map: '\(bad.key)' maps to '\(bad.value)', not one of \(ReasonTaxonomy.targets.joined(separator: ", "))"
        }
        if let centre, centre.isEmpty { return "--centre must not be empty" }
        return nil
    }
}
