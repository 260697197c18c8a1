// Analyses the bundled sample through the CallSift library and prints each centre's
// first-contact resolution. Run from the repository root:
//     swift run library-example
import CallSift

var settings = AnalysisSettings()
settings.period = .all  // one row per centre over the whole log
settings.grouping = .centre
settings.timeZone = "Europe/London"

// Caller numbers are pseudonymised with this key as they are read (use your own secret).
let key = Pseudonymiser(secret: Array("an example key, not a secret".utf8))

let outcome = try Analysis(settings: settings, inputs: ["samples/calls.csv.zst"], pseudonymiser: key).run()
for row in outcome.report.rows {
    let c = row.counters
    let share = Double(c.fcr) / Double(max(c.fcrEligible, 1))
    print("\(row.centre): first-contact resolution \(c.fcr) of \(c.fcrEligible) (\(Int((share * 100).rounded()))%)")
}
