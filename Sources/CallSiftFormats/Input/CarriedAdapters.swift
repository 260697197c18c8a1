import CallSiftCore

/// The format adapters a durable state carries from one run to the next, with what they
/// still hold (a transfer chain waiting for its next leg, a queue_log call still open, the
/// contacts emitted lately), so that a platform's export cut into files across runs is one
/// stream (docs/formats.md, "One export across many files"). One per adapter format and
/// `--centre`: the input of that format takes it when its first file begins
/// (`InputParser.startStream`), and gives it back at the run's end, unfinished; the report
/// of the run finishes a copy (`AnalysisRun.flushCarried`).
package final class CarriedAdapters {
    package struct Key: Hashable {
        package var format: AnalysisSettings.InputFormat
        package var centre: String?

        package init(format: AnalysisSettings.InputFormat, centre: String?) {
            self.format = format
            self.centre = centre
        }
    }

    /// Set directly only by the engine's reading of the state (`CarriedAdapters.decode`).
    package var adapters: [Key: FormatAdapter] = [:]

    package init() {}

    /// The adapter carried for `key`, taken out (nil when none is).
    package func take(_ key: Key) -> FormatAdapter? { adapters.removeValue(forKey: key) }

    /// Carries `adapter` on, if it holds anything.
    package func put(_ key: Key, _ adapter: FormatAdapter) {
        precondition(adapters[key] == nil, "two adapters carried for one format and centre")
        if adapter.holdsAnything { adapters[key] = adapter }
    }

    /// Their keys in a fixed order (format, then centre), so that what is done with them
    /// is done the same way every time.
    package var keysInOrder: [Key] {
        adapters.keys.sorted { ($0.format.rawValue, $0.centre ?? "") < ($1.format.rawValue, $1.centre ?? "") }
    }

    /// The least `ts` of the events they hold, by centre name.
    package func heldFloors() -> [String: Int64] {
        var floors: [String: Int64] = [:]
        for a in adapters.values {
            for (centre, f) in a.heldFloors() { floors[centre] = min(floors[centre] ?? .max, f) }
        }
        return floors
    }
}
