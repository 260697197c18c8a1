import CallSiftCore
import CallSiftFormats

/// The carried adapters (`CarriedAdapters`, in CallSiftFormats) in the state: written and
/// read here, in the engine, with the state codec.
extension CarriedAdapters {
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
