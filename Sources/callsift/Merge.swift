import CallSiftCore
import CallSiftInput
import CallSiftAccredit
import CallSiftGenerate
import ArgumentParser
import CallSift
import Foundation

/// `callsift merge`: one report from the JSON outputs of several partial `analyze` runs.
struct Merge: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Merge the JSON outputs of several analyze runs into one, adding counters exactly.",
        discussion: """
            Each FILE is the JSON output of `callsift analyze` for part of the data: one \
            centre, one month, one machine's share. Counters are added per centre, service \
            and period, accounting is added, the horizon is the latest, and the inputs are \
            listed in order. Runs made with different settings (windows, scope, tz, period, \
            grouping, min cell, reason map) are refused with a message that names the setting. \
            So are a file given twice and two reports that count the same input file (known \
            by its content, whatever its name), which would add its figures twice; a day's \
            log split into morning and afternoon files merges as usual.

            Exact when the parts do not share callers' histories: for example one part per \
            centre with --scope centre or --scope service. Split by time, callers' repeats, \
            chases and retries across the cut are missed and FCR near the end of each part is \
            judged without the next part (see docs/accreditation.md).

            Examples:
              callsift merge -o year.json 2026-01.json 2026-02.json 2026-03.json
              callsift merge north.json south.json > all.json
            """
    )

    @Argument(help: "JSON outputs of callsift analyze.")
    var files: [String]

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write the merged JSON to PATH instead of standard output.", valueName: "path"))
    var output: String?

    func validate() throws {
        if files.isEmpty { throw ValidationError("give at least one JSON file to merge") }
    }

    func run() throws {
        let merged: Report
        do { merged = try ReportMerge.merge(paths: files) } catch let e as ReportReader.Error {
            throw ValidationError(e.description)
        } catch let e as UsageError {
            throw ValidationError(e.description)
        }
        let sink = try makeByteSink(path: output, compression: .none)
        try sink.write(JSONReportWriter.render(merged))
        try sink.finish()
    }
}
