import CallSiftCore
import CallSiftInput
import CallSiftAccredit
import CallSiftGenerate
import ArgumentParser
import CallSift
import Foundation

/// `callsift generate`: a synthetic, deterministic call-event workload.
struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Generate a realistic synthetic call-event log (deterministic from --seed).",
        discussion: """
            Writes call events in callsift's canonical CSV or NDJSON form, roughly in time \
            order, for testing and benchmarking. The traffic looks like a week of public-sector \
            contact centres: busy mid-mornings and early afternoons, quiet nights and weekends; \
            callers who redial after being blocked or giving up, chase pending requests days \
            later, or call again when their issue was not resolved; transfers to the right \
            service; about 8% withheld numbers; some calls that run past midnight; timestamps \
            in RFC 3339 (UTC or +01:00) and epoch milliseconds.

            --calls counts every call, follow-ups included: clean output has exactly that many \
            `arrive` lines. The same options always produce the same bytes.

            --dirty adds, at rates of about 0.5-2% each, what real feeds contain: duplicated \
            lines, malformed lines (bad timestamps, unknown events, missing fields, noise, an \
            unterminated CSV quote or a cut-off JSON object), events written more than 10 \
            minutes late, calls missing their arrival or their end, conflicting calls, blank \
            lines, and (CSV) the header repeated at each new day.

            --split centre-day writes CSV as centres deliver it: -o names a folder, which \
            gets one file per centre and UTC day (DAY/CENTRE.csv, .zst etc. when compressed), \
            each with the header row; a line goes to its own centre's and day's file.

            Examples:
              callsift generate --calls 20000 -o week.csv
              callsift generate --calls 1000000 --centres 40 --compress zstd --split centre-day -o month/
              callsift generate --seed 7 --format ndjson --dirty --compress zstd -o week.ndjson.zst
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case csv, ndjson
    }

    enum Codec: String, ExpressibleByArgument, CaseIterable {
        case none, zstd, lz4, gzip
    }

    enum Split: String, ExpressibleByArgument, CaseIterable {
        case centreDay = "centre-day"
    }

    @Option(help: ArgumentHelp("Write one file per centre and day into the folder -o names (CSV only).", valueName: "centre-day"))
    var split: Split?

    @Option(help: "Seed for every random choice.")
    var seed: UInt64 = 1

    @Option(help: "Total calls (redials, chases and repeats included).")
    var calls: Int = 100_000

    @Option(help: "Number of contact centres (C01, C02, ...).")
    var centres: Int = 5

    @Option(help: "Number of days of traffic.")
    var days: Int = 7

    @Option(help: ArgumentHelp("First day (UTC), as YYYY-MM-DD.", valueName: "date"))
    var start: String = "2026-03-02"

    @Option(help: "Output encoding.")
    var format: Format = .csv

    @Option(help: "Compress the output.")
    var compress: Codec = .none

    @Option(name: [.short, .long], help: ArgumentHelp("Output file ('-' or omitted: standard output).", valueName: "path"))
    var output: String?

    @Flag(help: "Add duplicates, malformed, late, incomplete and conflicting records and blank lines.")
    var dirty = false

    @Option(help: "Services (lines of business) run by each centre (1-12).")
    var servicesPerCentre: Int = 3

    @Flag(help: "Print counts of what was generated (calls, events, lines, each kind of dirt) to standard error.")
    var summary = false

    func validate() throws {
        if split != nil {
            guard let output, output != "-" else { throw ValidationError("--split needs -o FOLDER") }
            guard format == .csv else { throw ValidationError("--split writes CSV only") }
        }
        guard GeneratorOptions.parseStartDay(start) != nil else {
            throw ValidationError("--start must be a date written YYYY-MM-DD, e.g. 2026-03-02")
        }
        do {
            try options().validate()
        } catch let error as GeneratorError {
            throw ValidationError(error.description)
        }
    }

    private func options() -> GeneratorOptions {
        GeneratorOptions(
            seed: seed, calls: calls, centres: centres, days: days,
            startDay: GeneratorOptions.parseStartDay(start) ?? GeneratorOptions.defaultStartDay,
            format: format == .csv ? .csv : .ndjson, dirty: dirty, servicesPerCentre: servicesPerCentre)
    }

    func run() throws {
        let compression = Compression(rawValue: compress.rawValue) ?? .none
        let sink: ByteSink =
            if split != nil, let output {
                try CentreDaySplitSink(directory: output, compression: compression)
            } else {
                try makeByteSink(path: output, compression: compression)
            }
        let result = try generateWorkload(options(), into: sink)
        if summary {
            var text = ""
            let rows: [(String, Int)] = [
                ("calls", result.calls), ("events", result.events), ("lines", result.lines),
                ("bytes", result.bytes), ("midnight_crossings", result.midnightCrossings),
                ("reused_call_ids", result.reusedCallIds), ("duplicate_lines", result.duplicateLines),
                ("bad_timestamp_lines", result.badTimestampLines), ("unknown_event_lines", result.unknownEventLines),
                ("missing_field_lines", result.missingFieldLines), ("garbage_lines", result.garbageLines),
                ("broken_syntax_lines", result.brokenSyntaxLines), ("late_events", result.lateEvents),
                ("blank_lines", result.blankLines), ("repeated_headers", result.repeatedHeaders),
                ("incomplete_calls", result.incompleteCalls), ("conflicting_calls", result.conflictingCalls),
            ]
            for (name, value) in rows { text += "\(name)\t\(value)\n" }
            FileHandle.standardError.write(Data(text.utf8))
        }
    }
}
