/// Why an adapter's record was counted as `skipped` (docs/metrics.md, "Accounting"): valid
/// in its format, but not a call event of inbound demand. `rawValue` is the name printed in
/// `accounting.skipped_kinds` and stored in a state.
///
/// Each format declares its own kinds, beside its adapter, and lists them where it is
/// registered (`FormatRegistry`), so that the kinds are a fixed set that hostile input
/// cannot grow, and a new format's kinds touch nothing else. A state stores its counts by
/// name, so a kind added later leaves every state written before readable.
public struct SkipKind: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    /// Hashed once here: a kind is counted per skipped record.
    private let hash: Int

    public init(rawValue: String) {
        self.rawValue = rawValue
        hash = rawValue.hashValue
    }

    public static func == (a: SkipKind, b: SkipKind) -> Bool { a.rawValue == b.rawValue }
    public func hash(into hasher: inout Hasher) { hasher.combine(hash) }
    public var description: String { rawValue }
}
