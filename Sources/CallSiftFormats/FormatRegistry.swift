import CallSiftCore

/// How a format's records are cut from its bytes.
package enum RecordCutting: Equatable {
    /// One record a line; `quoteAware`: a quoted CSV field may hold line breaks.
    case lines(quoteAware: Bool)
    /// One record a top-level JSON object (NDJSON, a JSON array, or objects back to back).
    case jsonObjects
    /// One record an object inside the array that each top-level object holds under the
    /// member named: an API's result pages (`JSONObjectSplitter(pages:)`).
    case jsonPages(member: String)
}

/// One format callsift reads: how `--format auto` recognises it, what it skips, and, for a
/// platform's own format, how its adapter is made (for a stream's first bytes) and made
/// again from what a durable state carried (`FormatAdapter.save`). Each format's entry lives
/// in its own folder, beside its reader.
package struct FormatEntry: Sendable {
    package let format: AnalysisSettings.InputFormat
    /// Whether an input's first decoded bytes (after a byte-order mark and white space;
    /// not empty) are of this format.
    let recognises: @Sendable (UnsafeRawBufferPointer) -> Bool
    /// The kinds its adapter counts records as `skipped` (none for CSV and NDJSON).
    package let skipKinds: [SkipKind]
    /// Its records name no centre: `--centre` must give it.
    package let needsCentre: Bool
    /// The first problem with the options it reads (`AnalysisSettings.formatOptions`),
    /// naming the flag, or nil.
    let problem: @Sendable (AnalysisSettings) -> String?
    /// An adapter format's adapter for a stream whose first bytes are given; nil for CSV
    /// and NDJSON, the canonical records.
    package let makeAdapter: (@Sendable (UnsafeRawBufferPointer, AnalysisSettings) throws -> FormatAdapter)?
    /// An adapter format's adapter as a state carried it.
    package let restoreAdapter: (@Sendable (inout AdapterStateReader, AnalysisSettings) throws -> FormatAdapter)?

    init(
        format: AnalysisSettings.InputFormat, recognises: @escaping @Sendable (UnsafeRawBufferPointer) -> Bool,
        skipKinds: [SkipKind] = [], needsCentre: Bool = false,
        problem: @escaping @Sendable (AnalysisSettings) -> String? = { _ in nil },
        makeAdapter: (@Sendable (UnsafeRawBufferPointer, AnalysisSettings) throws -> FormatAdapter)? = nil,
        restoreAdapter: (@Sendable (inout AdapterStateReader, AnalysisSettings) throws -> FormatAdapter)? = nil
    ) {
        self.format = format
        self.recognises = recognises
        self.skipKinds = skipKinds
        self.needsCentre = needsCentre
        self.problem = problem
        self.makeAdapter = makeAdapter
        self.restoreAdapter = restoreAdapter
    }
}

/// The formats, in the order `--format auto` tries them (docs/formats.md, "Choosing the
/// format"): the one list a new format is added to. Each entry lives in its format's
/// folder.
package enum FormatRegistry {
    package static let all: [FormatEntry] = [
        GenesysAdapter.entry,
        ContactTraceAdapter.entry,
        FormatEntry(format: .ndjson, recognises: { $0[0] == UInt8(ascii: "{") }),
        QueueLogAdapter.entry,
        FormatEntry(format: .csv, recognises: { _ in true }),
    ]

    /// Every format's name, for `--format` (and `auto`).
    package static var names: [String] { [AnalysisSettings.InputFormat.auto.rawValue] + all.map(\.format.rawValue) }

    /// Every skip kind of every format, each once.
    package static let skipKinds: [SkipKind] = {
        var seen = Set<SkipKind>()
        return all.flatMap(\.skipKinds).filter { seen.insert($0).inserted }
    }()

    /// The skip kind of this name, if a format has it.
    package static func skipKind(named name: String) -> SkipKind? { skipKinds.first { $0.rawValue == name } }

    /// The first problem with `settings`, naming the flag, or nil: the settings' own, then
    /// the format's (`--centre` for a format whose records name none, its options).
    package static func problem(_ settings: AnalysisSettings) -> String? {
        if let p = settings.problem() { return p }
        guard settings.format == .auto || entry(settings.format) != nil else {
            return "--format: '\(settings.format)' is not one of \(names.joined(separator: ", "))"
        }
        if let e = entry(settings.format), e.needsCentre, settings.centre == nil {
            return "--centre is required with --format \(e.format) (its records name no centre)"
        }
        for e in all { if let p = e.problem(settings) { return p } }
        return nil
    }

    /// The entry of `format` (`.auto` has none).
    package static func entry(_ format: AnalysisSettings.InputFormat) -> FormatEntry? {
        all.first { $0.format == format }
    }

    /// `--format auto`: the first format in `all` that recognises `bytes`, an input's first
    /// decoded bytes; CSV for nothing but white space.
    package static func detect(_ bytes: UnsafeRawBufferPointer) -> AnalysisSettings.InputFormat {
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        guard i < bytes.count else { return .csv }
        let rest = UnsafeRawBufferPointer(rebasing: bytes[i...])
        return all.first { $0.recognises(rest) }?.format ?? .csv
    }

    /// Whether `haystack` holds `needle`'s bytes.
    static func contains(_ haystack: UnsafeRawBufferPointer, _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard haystack.count >= n.count else { return false }
        var i = 0
        while i + n.count <= haystack.count {
            if haystack[i] == n[0] && n.elementsEqual(haystack[i..<i + n.count]) { return true }
            i += 1
        }
        return false
    }
}
