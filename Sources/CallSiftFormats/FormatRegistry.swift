import CallSiftCore

/// How a format's records are cut from its bytes.
package enum RecordCutting: Equatable {
    /// One record a line; `quoteAware`: a quoted CSV field may hold line breaks.
    case lines(quoteAware: Bool)
    /// One record a top-level JSON object (NDJSON, a JSON array, or objects back to back).
    case jsonObjects
}

/// One format callsift reads: how `--format auto` recognises it, and, for a platform's own
/// format, how its adapter is made (for a stream's first bytes) and made again from what a
/// durable state carried (`FormatAdapter.save`).
package struct FormatEntry: Sendable {
    package let format: AnalysisSettings.InputFormat
    /// Whether an input's first decoded bytes (after a byte-order mark and white space;
    /// not empty) are of this format.
    let recognises: @Sendable (UnsafeRawBufferPointer) -> Bool
    /// An adapter format's adapter for a stream whose first bytes are given; nil for CSV
    /// and NDJSON, the canonical records.
    package let makeAdapter: (@Sendable (UnsafeRawBufferPointer, AnalysisSettings) throws -> FormatAdapter)?
    /// An adapter format's adapter as a state carried it.
    package let restoreAdapter: (@Sendable (inout AdapterStateReader, AnalysisSettings) throws -> FormatAdapter)?
}

/// The formats, in the order `--format auto` tries them (docs/formats.md, "Choosing the
/// format"): the one list a new format is added to. Each adapter format's recognition and
/// construction live with its adapter.
package enum FormatRegistry {
    package static let all: [FormatEntry] = [
        FormatEntry(
            format: .ctr, recognises: ContactTraceAdapter.recognises,
            makeAdapter: { _, settings in ContactTraceAdapter(centre: settings.centre, settings: settings) },
            restoreAdapter: { r, settings in try ContactTraceAdapter(restoring: &r, settings: settings) }),
        FormatEntry(format: .ndjson, recognises: { $0[0] == UInt8(ascii: "{") }, makeAdapter: nil, restoreAdapter: nil),
        FormatEntry(
            format: .queuelog, recognises: QueueLogAdapter.recognises,
            makeAdapter: { first, settings in
                guard let centre = settings.centre else { throw QueueLogAdapter.needsCentre }
                return try QueueLogAdapter(first: first, centre: centre, settings: settings)
            },
            restoreAdapter: { r, settings in try QueueLogAdapter(restoring: &r, settings: settings) }),
        FormatEntry(format: .csv, recognises: { _ in true }, makeAdapter: nil, restoreAdapter: nil),
    ]

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
