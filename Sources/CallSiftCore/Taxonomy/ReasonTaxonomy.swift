import Foundation

/// A centre's own reason codes mapped onto the reserved codes of docs/metrics.md, "Classes
/// and FCR" (`progress_chase`, `clarification`, `misdirected`), read from a TOML file
/// (`TOMLDocument`; `analyze --reason-map`).
///
/// The file has one table, `[reasons]`, of `"own code" = "reserved code"`:
///
/// ```toml
/// [reasons]
/// CHASE = "progress_chase"
/// "wrong dept" = "misdirected"
/// misdirected = "none"      # this centre uses the word for something else
/// ```
///
/// A mapped code classifies as its target; `none` makes a code (even a reserved one)
/// classify as nothing. Codes not in the map keep their meaning in docs/metrics.md,
/// "Classes and FCR": the reserved codes classify as themselves, every other code is kept
/// for reporting only. So an empty map behaves exactly like no map, except that the map is
/// recorded in the output's `config`.
public enum ReasonTaxonomy {
    /// Targets a code may map to.
    public static let targets: [String] = ["progress_chase", "clarification", "misdirected", "none"]

    /// Parses a taxonomy file's text into code → target.
    public static func parse(_ text: String) throws -> [String: String] {
        let doc: TOMLTable
        do { doc = try TOMLDocument.parse(text) } catch let e as TOMLError { throw UsageError("--reason-map: \(e)") }
        for key in doc.keys where key != "reasons" {
            throw UsageError("--reason-map: line \(doc.lines[key] ?? 0): unknown key '\(key)' (expected a [reasons] table)")
        }
        guard let table = doc["reasons"]?.table else {
            throw UsageError("--reason-map: the file needs a [reasons] table of \"code\" = \"progress_chase\" | \"clarification\" | \"misdirected\" | \"none\"")
        }
        var map: [String: String] = [:]
        for (code, value) in table.entries {
            guard let target = value.string, targets.contains(target) else {
                throw UsageError(
                    "--reason-map: line \(table.lines[code] ?? 0): '\(code)' must map to one of \(targets.map { "\"\($0)\"" }.joined(separator: ", "))")
            }
            guard !code.isEmpty else { throw UsageError("--reason-map: line \(table.lines[code] ?? 0): an empty code never occurs (empty reasons are absent)") }
            map[code] = target
        }
        return map
    }

    /// Reads and parses a taxonomy file. Errors name the file, then the line and key.
    public static func load(path: String) throws -> [String: String] {
        guard let data = FileManager.default.contents(atPath: path) else { throw UsageError("--reason-map: cannot read \(path)") }
        do { return try parse(String(decoding: data, as: UTF8.self)) } catch let e as UsageError {
            let flag = "--reason-map: "
            let what = e.description.hasPrefix(flag) ? String(e.description.dropFirst(flag.count)) : e.description
            throw UsageError("--reason-map \(path): \(what)")
        }
    }

    /// The avoidable class a reason code gives under `map` (nil: none), the reserved codes
    /// of docs/metrics.md, "Classes and FCR", when `map` is nil.
    public static func avoidableClass(of code: String, map: [String: String]?) -> AvoidableClass? {
        switch map?[code] ?? code {
        case "progress_chase": .progressChase
        case "misdirected": .misdirected
        case "clarification": .clarification
        default: nil
        }
    }
}
