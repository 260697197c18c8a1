import CallSiftCore
import CallSiftFormats

/// The format adapters a durable state carries from one run to the next, with what they
/// still hold (a transfer chain waiting for its next leg, a queue_log call still open, the
/// contacts emitted lately), so that a platform's export cut into files across runs is one
/// stream (docs/formats.md, "One export across many files"). One per adapter format and
/// `--centre`: the input of that format takes it when its first file begins
/// (`InputParser.startStream`), and gives it back at the run's end, unfinished; the report
/// of the run finishes a copy (`AnalysisRun.flushCarried`).
final class CarriedAdapters {
    struct Key: Hashable {
        var format: AnalysisSettings.InputFormat
        var centre: String?
    }

    private(set) var adapters: [Key: FormatAdapter] = [:]

    init() {}

    /// The adapter carried for `key`, taken out (nil when none is).
    func take(_ key: Key) -> FormatAdapter? { adapters.removeValue(forKey: key) }

    /// Carries `adapter` on, if it holds anything.
    func put(_ key: Key, _ adapter: FormatAdapter) {
        precondition(adapters[key] == nil, "two adapters carried for one format and centre")
        if adapter.holdsAnything { adapters[key] = adapter }
    }

    /// Their keys in a fixed order (format, then centre), so that what is done with them
    /// is done the same way every time.
    var keysInOrder: [Key] {
        adapters.keys.sorted { ($0.format.rawValue, $0.centre ?? "") < ($1.format.rawValue, $1.centre ?? "") }
    }

    /// The least `ts` of the events they hold, by centre name.
    func heldFloors() -> [String: Int64] {
        var floors: [String: Int64] = [:]
        for a in adapters.values {
            for (centre, f) in a.heldFloors() { floors[centre] = min(floors[centre] ?? .max, f) }
        }
        return floors
    }

    /// In the engine file, after the line accounting (format 5): each adapter's format,
    /// `--centre` and bytes, in a fixed order.
    func encode(into w: inout StateWriter) {
        let keys = keysInOrder
        w.count(keys.count)
        for k in keys {
            w.string(k.format.rawValue)
            w.bool(k.centre != nil)
            if let c = k.centre { w.string(c) }
            var a = AdapterStateWriter()
            adapters[k]!.save(into: &a)
            w.blob(a.bytes)
        }
    }

    /// What `encode` wrote, for a run under `settings`.
    static func decode(from r: inout StateReader, settings: AnalysisSettings) throws -> CarriedAdapters {
        let carried = CarriedAdapters()
        for _ in 0..<(try r.count(minBytes: 3)) {
            let name = try r.string()
            let centre = try r.bool() ? try r.string() : nil
            var bytes = AdapterStateReader(try r.blob())
            let format = AnalysisSettings.InputFormat(rawValue: name)
            guard let restore = FormatRegistry.entry(format)?.restoreAdapter
            else { throw r.malformed("an adapter of format \(name)") }
            let adapter: FormatAdapter
            do {
                adapter = try restore(&bytes, settings)
            } catch {
                throw r.malformed("\(error)")
            }
            let key = Key(format: format, centre: centre)
            guard carried.adapters[key] == nil else { throw r.malformed("two adapters of format \(name)") }
            carried.adapters[key] = adapter
        }
        return carried
    }
}
