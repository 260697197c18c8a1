import CallSiftCore

/// The canonical record's two encodings (docs/metrics.md, "Input records"): no adapter,
/// nothing skipped.
extension AnalysisSettings.InputFormat {
    /// CSV with a header row.
    public static let csv = Self(rawValue: "csv")
    /// One JSON object a line.
    public static let ndjson = Self(rawValue: "ndjson")
}
