import CallSiftCore
import CallSiftInput
import CallSiftAccredit
import CallSiftGenerate
import ArgumentParser
import CallSift
import CallSiftConcurrency
import Foundation

/// `callsift accredit`: judges every centre against a standard and against its peers.
struct Accredit: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Judge every centre against an accreditation standard and compare it with its peers.",
        discussion: """
            INPUT is either the JSON output of `callsift analyze` (one or more files, merged \
            as `callsift merge` does) or raw call-event logs (files, folders or -), which are \
            analysed first with one row per centre, service and day.

            The standard (TOML; samples/standard.toml is the documented default) gives the \
            thresholds, the reporting period, the baseline period, the minimum cell size and \
            the peer groups. For each centre and measure the rate over the period is shown with \
            its 95% Wilson interval and judged: meets (whole interval on the right side of the \
            threshold), does not meet (wholly on the wrong side), not yet conclusive (the \
            interval straddles it) or suppressed (n below the minimum cell). A centre is \
            accredited when it meets every measure. Each peer group gets a funnel plot per \
            measure (95% and 99.8% control limits around the group's pooled rate) and a league \
            table; avoidable contact is compared with the baseline as a relative reduction with \
            a 95% interval.

            A short summary goes to standard output; --html, --json and --csv write the report.

            Examples:
              callsift accredit --standard samples/standard.toml --html report.html samples/calls.csv.zst
              callsift accredit --standard standard.toml --json out.json --csv league.csv month-*.json
            """
    )

    @Argument(help: "analyze JSON outputs, or call-event logs (files, folders or -).")
    var inputs: [String] = []

    @Option(help: ArgumentHelp("The standard file (TOML).", valueName: "path"))
    var standard: String

    @Option(help: ArgumentHelp("Write the report as one self-contained HTML page.", valueName: "path"))
    var html: String?

    @Option(help: ArgumentHelp("Write every judgement, interval and control limit as JSON.", valueName: "path"))
    var json: String?

    @Option(help: ArgumentHelp("Write the league tables as CSV.", valueName: "path"))
    var csv: String?

    @Option(help: ArgumentHelp("Reporting period start (YYYY-MM-DD), overriding the standard's.", valueName: "date"))
    var from: String?

    @Option(help: ArgumentHelp("Reporting period end, inclusive (YYYY-MM-DD), overriding the standard's.", valueName: "date"))
    var to: String?

    @Option(help: ArgumentHelp("Baseline start (YYYY-MM-DD), overriding the standard's.", valueName: "date"))
    var baselineFrom: String?

    @Option(help: ArgumentHelp("Baseline end, inclusive (YYYY-MM-DD), overriding the standard's.", valueName: "date"))
    var baselineTo: String?

    @Option(help: "Raw logs only: time zone for days, an IANA name such as Europe/London.")
    var tz: String = "UTC"

    @Option(help: "Raw logs only: which contacts of a caller see each other (centre, service or global).")
    var scope: AnalysisSettings.Scope = .centre

    @Option(help: ArgumentHelp("Raw logs only: reason-code taxonomy (TOML), as for analyze --reason-map.", valueName: "path"))
    var reasonMap: String?

    @Option(
        help: ArgumentHelp(
            "Raw logs only: file holding the pseudonymisation key, yours and mode 0600 (default: CALLSIFT_KEY, else a random key).", valueName: "path"))
    var keyFile: String?

    @Flag(help: "Raw logs only: use a --key-file that other users can read or change, with a warning.")
    var allowSharedKey = false

    @Option(
        help: ArgumentHelp(
            "Judge the figures of the state in DIR (made by analyze --state), with the settings it was created with, instead of reports or logs.",
            valueName: "dir"))
    var state: String?

    @Flag(help: "Print how long reading and judging took to standard error.")
    var timing = false

    func validate() throws {
        for (flag, v) in [("--from", from), ("--to", to), ("--baseline-from", baselineFrom), ("--baseline-to", baselineTo)] {
            if let v, Standard.parseDay(v) == nil { throw ValidationError("\(flag) must be a date written YYYY-MM-DD") }
        }
        if (try? LocalCalendar(identifier: tz)) == nil { throw ValidationError("--tz: unknown time zone '\(tz)' (use an IANA name such as Europe/London)") }
    }

    func run() throws {
        let start = Date()
        var std: Standard
        do { std = try Standard.load(path: standard) } catch let e as UsageError { throw ValidationError("--standard: \(e.description)") }
        if from != nil || to != nil {
            let base = std.period
            guard let f = from.flatMap(Standard.parseDay) ?? base?.from, let t = to.flatMap(Standard.parseDay) ?? base?.to else {
                throw ValidationError("--from and --to: give both when the standard has no [period]")
            }
            guard f <= t else { throw ValidationError("--to is before --from") }
            std.period = Standard.DayRange(from: f, to: t)
        }
        if baselineFrom != nil || baselineTo != nil {
            guard let f = baselineFrom.flatMap(Standard.parseDay) ?? std.baseline?.from,
                let t = baselineTo.flatMap(Standard.parseDay) ?? std.baseline?.to
            else {
                throw ValidationError("--baseline-from and --baseline-to: give both when the standard has no [baseline]")
            }
            guard f <= t else { throw ValidationError("--baseline-to is before --baseline-from") }
            std.baseline = Standard.DayRange(from: f, to: t)
        }
        if let p = std.period, let b = std.baseline, b.to >= p.from && b.from <= p.to {
            throw ValidationError("the baseline (\(b.text)) overlaps the reporting period (\(p.text))")
        }

        let list = inputs.isEmpty ? ["-"] : inputs
        let jsonInputs = list.map { $0 != "-" && ReportReader.looksLikeReport(path: $0) }
        var report: Report
        var inputErrors: [InputError] = []
        if let state {
            guard inputs.isEmpty else { throw ValidationError("give either --state or inputs, not both") }
            var s = AnalysisSettings()
            s.period = .day
            s.grouping = .service
            s.minCell = std.minCell
            guard FileManager.default.fileExists(atPath: state + "/MANIFEST") else {
                throw ValidationError("--state \(state): no state there (feed one with analyze --state first)")
            }
            LargeMemory.preferHugePages(false)  // the state's tables, restored at once
            do {
                let store = try StateStore(path: state)
                guard store.manifest != nil else { throw ValidationError("--state \(state): no state there yet (feed it with analyze --state first)") }
                report = try DailyRun.run(state: store, settings: s, inputs: [], pseudonymiser: Pseudonymiser(k0: 0, k1: 0)).report
            } catch let e as UsageError {
                throw ValidationError(e.description)
            }
        } else if jsonInputs.allSatisfy({ $0 }) {
            do { report = try ReportMerge.merge(paths: list) } catch let e as ReportReader.Error {
                throw ValidationError(e.description)
            } catch let e as UsageError {
                throw ValidationError(e.description)
            }
        } else if jsonInputs.contains(true) {
            throw ValidationError(
                "give either analyze JSON outputs or raw logs, not both (JSON: \(zip(list, jsonInputs).filter { $0.1 }.map { $0.0 }.joined(separator: ", ")))")
        } else {
            var s = AnalysisSettings()
            s.period = .day
            s.grouping = .service
            s.timeZone = tz
            s.scope = scope
            s.minCell = std.minCell
            if let reasonMap {
                do { s.reasonMap = try ReasonTaxonomy.load(path: reasonMap) } catch let e as UsageError { throw ValidationError(e.description) }
            }
            let analysis: Analysis
            do { analysis = try Analysis(settings: s, inputs: list, pseudonymiser: try loadKey()) } catch let e as UsageError {
                throw ValidationError(e.description)
            }
            let outcome = try analysis.run()
            report = outcome.report
            inputErrors = outcome.errors
        }
        let read = Date()

        let result: Accreditation
        do { result = try Accreditation(report: report, standard: std) } catch let e as UsageError { throw ValidationError(e.description) }
        if let html { try write(AccreditationHTMLWriter.render(result), to: html) }
        if let json { try write(AccreditationJSONWriter.render(result), to: json) }
        if let csv { try write(AccreditationCSVWriter.render(result), to: csv) }
        print(summary(result), terminator: "")
        let done = Date()
        if timing {
            printError(
                String(
                    format: "callsift: timing: reading %.2f s, judging and writing %.2f s, total %.2f s",
                    read.timeIntervalSince(start), done.timeIntervalSince(read), done.timeIntervalSince(start)))
        }
        for e in inputErrors { printError("callsift: error: \(e)") }
        if !inputErrors.isEmpty { throw ExitCode(1) }
    }

    private func write(_ text: String, to path: String) throws {
        let sink = try makeByteSink(path: path, compression: .none)
        try sink.write(text)
        try sink.finish()
    }

    /// A plain-text summary: one line per centre, then the centres outside funnel limits.
    private func summary(_ a: Accreditation) -> String {
        var o = "\(a.standard.name): period \(a.periodText), \(a.centres.count) centres\n"
        let width = max(6, a.centres.map(\.centre.count).max() ?? 6)
        let measures = a.standard.thresholds.map(\.measure)
        o += "centre".padding(toLength: width, withPad: " ", startingAt: 0) + "  " + "status".padding(toLength: 16, withPad: " ", startingAt: 0)
        o += measures.map { $0.padding(toLength: 24, withPad: " ", startingAt: 0) }.joined() + "\n"
        for c in a.centres {
            o += c.centre.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + c.status.rawValue.padding(toLength: 16, withPad: " ", startingAt: 0)
            for j in c.judgements {
                let cell = j.value.map { String(format: "%.3f %@", $0, short(j.verdict)) } ?? "n=\(j.n) suppressed"
                o += cell.padding(toLength: 24, withPad: " ", startingAt: 0)
            }
            o += "\n"
        }
        for g in a.groups {
            for f in g.funnels {
                let outside = f.points.filter { $0.position.isOutside }
                if !outside.isEmpty {
                    o += "\(g.group.name), \(f.measure): " + outside.map { "\($0.centre) \($0.position.rawValue)" }.joined(separator: "; ") + "\n"
                }
            }
        }
        if let b = a.overallBaseline, let r = b.reduction {
            o += String(
                format: "%@ vs baseline: relative reduction %.1f%% (95%% CI %.1f%% to %.1f%%), %@\n", a.standard.baselineMeasure,
                r * 100, (b.reductionLo ?? .nan) * 100, (b.reductionHi ?? .nan) * 100, b.verdict.rawValue)
        }
        return o
    }

    private func short(_ v: Verdict) -> String {
        switch v {
        case .meets: "meets"
        case .doesNotMeet: "fails"
        case .notYetConclusive: "open"
        case .suppressed: "supp"
        }
    }

    private func loadKey() throws -> Pseudonymiser { try loadPseudonymisationKey(keyFile: keyFile, allowShared: allowSharedKey) }
}
