import CallSiftCore
import CallSiftInput
import CallSiftAccredit
import CallSiftServe
import CallSiftGenerate
import ArgumentParser
import CallSift
import CallSiftConcurrency
import Foundation

/// A duration flag value: `90s`, `10m`, `6h`, `7d`, `500ms`, or combinations like `1h30m`.
struct DurationArgument: ExpressibleByArgument {
    var millis: Int64
    init?(argument: String) {
        guard let ms = HumanDuration.parse(argument) else { return nil }
        millis = ms
    }
    init(millis: Int64) { self.millis = millis }
    var defaultValueDescription: String { HumanDuration.format(millis: millis) }
}

extension AnalysisSettings.Scope: ExpressibleByArgument {}
extension AnalysisSettings.Grouping: ExpressibleByArgument {}
extension AnalysisSettings.InputFormat: ExpressibleByArgument {
    /// A registered format's name (`FormatRegistry`), or `auto`.
    public init?(argument: String) {
        guard FormatRegistry.names.contains(argument) else { return nil }
        self.init(rawValue: argument)
    }
    public static var allValueStrings: [String] { FormatRegistry.names }
}
extension Period: ExpressibleByArgument {}

struct Analyze: ParsableCommand {
    enum Emit: String, ExpressibleByArgument, CaseIterable { case json, csv }

    static let configuration = CommandConfiguration(
        abstract: "Compute FCR and avoidable-contact figures from call-event logs.",
        discussion: """
            INPUT is a file, a folder (all its files, by name, a rotated log's oldest \
            first: queue_log.2.gz, queue_log.1, queue_log) or - for standard \
            input; give as many as you like. Each file may be plain or compressed with zstd, \
            lz4 or gzip (recognised from its first bytes, whatever its name) and holds CSV \
            with a header row or NDJSON, one event per line, with the keys ts, centre, call, \
            event, caller, service, outcome and reason; or a real system's log: Asterisk \
            queue_log (give --centre), Amazon Connect contact trace records or Genesys \
            Cloud conversation detail records (give --centre; see docs/formats.md for how \
            they map onto calls).

            Results: one row per centre (and service, with --by service) and period, with \
            counts of contacts, handled, abandoned and blocked calls, avoidable contacts by \
            class (progress chase, repeat, retry, misdirected, clarification), first-contact \
            resolution, and rates with 95% Wilson intervals. Rates whose denominator is \
            below --min-cell are left out (null). The accounting section shows where every \
            input line went: lines = events + duplicates + rejected_total + late + skipped.

            Caller numbers are replaced by keyed pseudonyms as they are read and never \
            printed. Give the same key (--key-file or the CALLSIFT_KEY environment \
            variable) to every run whose results you want to compare or merge.

            Exit status: 0 on success; 1 when an input was corrupt, truncated or \
            unreadable (the figures for everything read are still printed); 64 for a \
            usage error.

            Examples:
              callsift analyze samples/calls.csv.zst
              callsift analyze --period month --by centre --tz Europe/London logs/
              zcat today.csv.gz | callsift analyze --emit csv -o today.csv -
              callsift analyze --state /var/lib/callsift --key-file key /data/2026-12-05/
              callsift analyze --follow --state /var/lib/callsift-live --key-file key \\
                  --emit-every 30s --metrics-file /var/lib/node_exporter/callsift.prom \\
                  -o /srv/live/today.json /var/log/asterisk/queue_log --centre C01
            """
    )

    @Argument(help: "Files, folders or - (standard input). Default: standard input.")
    var inputs: [String] = []

    @Option(help: "Output format: json or csv.")
    var emit: Emit = .json

    @Option(name: [.short, .customLong("output")], help: ArgumentHelp("Write the results to PATH instead of standard output.", valueName: "path"))
    var output: String?

    @Option(
        help: ArgumentHelp(
            "Write every rejected and late line to PATH as line_no<TAB>reason<TAB>raw line. Holds raw caller numbers: handle as personal data.",
            valueName: "path"))
    var rejects: String?

    @Option(
        help:
            "How input records are encoded: auto (recognised from each input's first bytes), csv, ndjson, queuelog (Asterisk queue_log, file or database export), ctr (Amazon Connect contact trace records) or genesys (Genesys Cloud conversation detail records: NDJSON or result pages)."
    )
    var format: AnalysisSettings.InputFormat = .auto

    @Option(
        help: ArgumentHelp(
            "The centre of inputs whose records name none: required for Asterisk queue_log and Genesys Cloud records; for contact trace records it replaces the Connect instance id.",
            valueName: "name"))
    var centre: String?

    @Option(
        help: ArgumentHelp(
            "Genesys Cloud records: the names of queues whose records give only an id, from FILE as the routing queues API lists them ({\"entities\": [{\"id\", \"name\"}, ...]}).",
            valueName: "file"))
    var queueNames: String?

    @Option(
        help: ArgumentHelp(
            "Genesys Cloud records: the customer participant's attribute keys that hold the outcome, reason and (for a call that never queued) service, as outcome=KEY,reason=KEY,service=KEY (any of them; default: outcome, reason, service).",
            valueName: "keys"))
    var attributeKeys: String?

    @Option(
        help:
            "Which contacts of a caller see each other: centre (same caller and centre), service (same caller, centre and arrival service) or global (same caller anywhere)."
    )
    var scope: AnalysisSettings.Scope = .centre

    @Option(help: "Reporting period: day, week (ISO), month, quarter, fyquarter (UK financial year, Q1 = April-June) or all.")
    var period: Period = .day

    @Option(help: "One row per centre, or per centre and arrival service.")
    var by: AnalysisSettings.Grouping = .service

    @Option(help: "Time zone for days and periods, an IANA name such as Europe/London.")
    var tz: String = "UTC"

    @Option(help: "Contacts within this time after an earlier handled one by the same caller are repeats; FCR looks this far ahead.")
    var repeatWindow = DurationArgument(millis: 7 * 86_400_000)

    @Option(help: "Contacts within this time after a handled contact left pending are progress chases.")
    var chaseWindow = DurationArgument(millis: 28 * 86_400_000)

    @Option(help: "Contacts within this time after an abandoned or blocked one are retries.")
    var retryWindow = DurationArgument(millis: 3_600_000)

    @Option(help: "Abandoned with a wait shorter than this is a short abandon (left out of abandon rate and service level).")
    var shortAbandon = DurationArgument(millis: 5_000)

    @Option(help: "Answered within this wait counts toward the service level.")
    var slThreshold = DurationArgument(millis: 20_000)

    @Option(help: "Events of one call id further apart than this from its first event belong to a new call.")
    var callTimeout = DurationArgument(millis: 6 * 3_600_000)

    @Option(help: "An event more than this far behind the latest one already read from its input is late, counted and not used.")
    var lateness = DurationArgument(millis: 10 * 60_000)

    @Option(help: "Rates with a denominator below this are printed as null (small-cell suppression).")
    var minCell: Int64 = 10

    @Option(
        help: ArgumentHelp(
            "File holding the secret pseudonymisation key (any bytes; e.g. 32 random bytes). It must be yours and private (mode 0600). Default: the CALLSIFT_KEY environment variable, else a random key for this run only.",
            valueName: "path"))
    var keyFile: String?

    @Flag(help: "Use a --key-file that other users can read or change (refused otherwise), with a warning.")
    var allowSharedKey = false

    @Option(
        help:
            "Threads to use (default: the machine's cores). 1 runs everything on one thread; more decodes and parses each input on its own thread and runs the shards (--shards) side by side. Results are identical for every value."
    )
    var threads: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(help: "Partitions of the call and caller state. Results are identical for every value.")
    var shards: Int = 1

    @Option(
        help: ArgumentHelp(
            "Reason-code taxonomy (TOML): a [reasons] table mapping this centre's own codes onto progress_chase, clarification, misdirected or none. Without it, only those reserved codes classify.",
            valueName: "path"))
    var reasonMap: String?

    @Flag(help: "Print run statistics on standard error: events per second, peak calls in progress, peak caller-scope entries and bytes per entry.")
    var stats = false

    @Option(
        help: ArgumentHelp(
            "Continue from the state in DIR (created on the first run) and write the new state there: feed a day at a time and get the figures of one run over every day, each row marked final or provisional. The settings that decide classification (--scope, the windows, --lateness, --call-timeout, --short-abandon, --sl-threshold, --tz, --reason-map) and the key are fixed when DIR is created. Without INPUT, report on the state as it is, with its settings. Feeding needs a fixed key (--key-file or CALLSIFT_KEY).",
            valueName: "dir"))
    var state: String?

    @Flag(help: "No progress line on standard error.")
    var quiet = false

    @Flag(
        help:
            "Follow INPUT (one file, or - for standard input) while it is written, as tail -F does (rotation included), and replace the -o file atomically every --emit-every with the report as if the input ended now, rows marked final or provisional. With --state, the file read so far is written into the state every --checkpoint-every and when stopped, and a restart reads on from there (a plain CSV or NDJSON file; others are read again from their start). SIGTERM or SIGINT stops it after a last report."
    )
    var follow = false

    @Option(help: "With --follow: how often to replace the report (and --metrics-file).")
    var emitEvery = DurationArgument(millis: 30_000)

    @Option(
        help:
            "With --follow and --state: how often to write the file read so far into the state, so that a restart reads only what came after (each costs about what the calls in progress take to write; default 30s)."
    )
    var checkpointEvery: DurationArgument?

    @Option(
        help: ArgumentHelp(
            "With --follow: also write the counters and rates per centre and service to PATH in Prometheus' text format, atomically (for node_exporter's textfile collector).",
            valueName: "path"))
    var metricsFile: String?

    @Option(
        help: ArgumentHelp(
            "With --follow: serve a live wallboard (/), its figures as Server-Sent Events (/events), /metrics for Prometheus, /report.json and /healthz over HTTP on ADDRESS:PORT, read-only. :PORT listens on 127.0.0.1 only; any other address is your choice to expose.",
            valueName: "address:port"))
    var serve: String?

    func settings() throws -> AnalysisSettings {
        var s = AnalysisSettings()
        if let reasonMap { s.reasonMap = try ReasonTaxonomy.load(path: reasonMap) }
        s.repeatWindow = repeatWindow.millis
        s.chaseWindow = chaseWindow.millis
        s.retryWindow = retryWindow.millis
        s.shortAbandon = shortAbandon.millis
        s.slThreshold = slThreshold.millis
        s.callTimeout = callTimeout.millis
        s.lateness = lateness.millis
        s.minCell = minCell
        s.scope = scope
        s.period = period
        s.grouping = by
        s.timeZone = tz
        s.format = format
        s.centre = centre
        if let queueNames { s.formatOptions["queue-names"] = queueNames }
        if let attributeKeys { s.formatOptions["attribute-keys"] = attributeKeys }
        return s
    }

    func validate() throws {
        let s: AnalysisSettings
        do { s = try settings() } catch let e as UsageError { throw ValidationError(e.description) }
        if let problem = FormatRegistry.problem(s) { throw ValidationError(problem) }
        if threads < 1 { throw ValidationError("--threads must be at least 1") }
        if shards < 1 || shards > 4096 { throw ValidationError("--shards must be between 1 and 4096") }
        if (try? LocalCalendar(identifier: tz)) == nil { throw ValidationError("--tz: unknown time zone '\(tz)' (use an IANA name such as Europe/London)") }
        if follow {
            if inputs.count > 1 {
                throw ValidationError(
                    "--follow follows one input (a file, or - for standard input); give the others to a run without --follow, or to --state runs")
            }
            if output == nil || output == "-" { throw ValidationError("--follow needs -o FILE: the report is replaced there atomically at each emit") }
            if emitEvery.millis < 100 { throw ValidationError("--emit-every must be at least 100ms") }
            if let c = checkpointEvery, c.millis < 100 { throw ValidationError("--checkpoint-every must be at least 100ms") }
            if checkpointEvery != nil && state == nil { throw ValidationError("--checkpoint-every goes with --state") }
            var isDir: ObjCBool = false
            if let p = inputs.first, p != "-", FileManager.default.fileExists(atPath: p, isDirectory: &isDir), isDir.boolValue {
                throw ValidationError("--follow follows one file, not a folder: \(p)")
            }
        } else if checkpointEvery != nil {
            throw ValidationError("--checkpoint-every goes with --follow and --state")
        } else if metricsFile != nil {
            throw ValidationError("--metrics-file goes with --follow")
        } else if serve != nil {
            throw ValidationError("--serve goes with --follow")
        }
        if let serve, Self.serveAddress(serve) == nil {
            throw ValidationError("--serve: expected ADDRESS:PORT or :PORT (a port from 0 to 65535), not '\(serve)'")
        }
    }

    /// `--serve`'s host and port: `:8080` is 127.0.0.1; `[::1]:8080` an IPv6 address.
    static func serveAddress(_ text: String) -> (host: String, port: Int)? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            return nil
        }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        return (host.isEmpty ? "127.0.0.1" : host, port)
    }

    func run() throws {
        LargeMemory.keepFreedMemoryInHeap()
        // A run from durable state restores gigabytes of tables at once, and every emit of
        // a follower does the same: ordinary pages (see `preferHugePages`).
        if state != nil || follow { LargeMemory.preferHugePages(false) }
        if follow { return try runFollowing() }
        if let state { return try runWithState(state) }
        let pseudonymiser = try loadKey()
        // The one output holding raw caller numbers: mode 0600 whatever the umask.
        let rejectsLog = try rejects.map { RejectsLog(sink: try makeByteSink(path: $0, compression: .none, ownerOnly: true)) }
        let showProgress = !quiet && isatty(2) != 0
        let analysis: Analysis
        do {
            analysis = try Analysis(
                settings: try settings(), inputs: inputs.isEmpty ? ["-"] : inputs,
                pseudonymiser: pseudonymiser, rejects: rejectsLog,
                execution: ExecutionOptions(threads: threads, shards: shards),
                progress: showProgress ? { Self.showProgress($0) } : nil)
        } catch let e as UsageError {
            throw ValidationError(e.description)
        }
        let outcome = try analysis.run()
        if showProgress { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
        let text = emit == .json ? JSONReportWriter.renderBytes(outcome.report) : Array(CSVReportWriter.render(outcome.report).utf8)
        let sink = try makeByteSink(path: output, compression: .none)
        try sink.write(text)
        try sink.finish()
        if stats {
            let s = outcome.stats
            let perEntry = s.peakScopes > 0 ? Double(s.scopeBytesAtPeak) / Double(s.peakScopes) : 0
            printError(
                String(
                    format:
                        "callsift: stats: %lld events in %.2f s (%.0f events/s); peak calls in progress %d; peak caller-scope entries %d, %.1f bytes each (table size at the peak / entries)",
                    s.events, s.seconds, Double(s.events) / max(s.seconds, 1e-9), s.peakLiveCalls, s.peakScopes, perEntry))
        }
        for e in outcome.errors { printError("callsift: error: \(e)") }
        if !outcome.errors.isEmpty { throw ExitCode(1) }
    }

    /// `--state DIR`: a daily run (docs/metrics.md, "Daily runs").
    private func runWithState(_ dir: String) throws {
        // Feeding needs the key the state was made with; reporting on it needs none.
        let fixedKey = keyFile != nil || !(ProcessInfo.processInfo.environment["CALLSIFT_KEY"] ?? "").isEmpty
        guard fixedKey || inputs.isEmpty else {
            throw ValidationError(
                "--state needs a fixed pseudonymisation key (--key-file or CALLSIFT_KEY): with a random one, callers could not be matched across runs")
        }
        let pseudonymiser = fixedKey ? try loadKey() : Pseudonymiser(k0: 0, k1: 0)
        let store: StateStore
        do { store = try StateStore(path: dir) } catch let e as UsageError { throw ValidationError(e.description) }
        let rejectsLog = try rejects.map { RejectsLog(sink: try makeByteSink(path: $0, compression: .none, ownerOnly: true)) }
        let showProgress = !quiet && isatty(2) != 0
        let result: DailyRun.Result
        do {
            result = try DailyRun.run(
                state: store, settings: try settings(), inputs: inputs, pseudonymiser: pseudonymiser,
                rejects: rejectsLog, execution: ExecutionOptions(threads: threads, shards: shards),
                progress: showProgress ? { Self.showProgress($0) } : nil)
        } catch let e as UsageError {
            throw ValidationError(e.description)
        }
        if showProgress { FileHandle.standardError.write("\r\u{1B}[K".data(using: .utf8)!) }
        for note in result.notes { printError(note) }
        let text = emit == .json ? JSONReportWriter.renderBytes(result.report) : Array(CSVReportWriter.render(result.report).utf8)
        let sink = try makeByteSink(path: output, compression: .none)
        try sink.write(text)
        try sink.finish()
        if stats {
            let s = result.stats
            printError(
                String(
                    format: "callsift: stats: %lld events in %.2f s (%.0f events/s); peak calls in progress %d; peak caller-scope entries %d",
                    s.events, s.seconds, Double(s.events) / max(s.seconds, 1e-9), s.peakLiveCalls, s.peakScopes))
            let bytes = store.stateBytes
            printError(
                String(
                    format:
                        "callsift: state: read %.2f s, restore %.2f s, encode and write %.2f s, commit %.2f s; %d caller-scope records (layers not yet merged hold a scope more than once), %d calls in progress; state files %d bytes (%.1f bytes per record)",
                    store.readSeconds, s.restoreSeconds, s.encodeSeconds, store.commitSeconds, s.stateScopes, s.stateCalls,
                    bytes, Double(bytes) / Double(max(s.stateScopes, 1))))
        }
        for e in result.errors { printError("callsift: error: \(e)") }
        if !result.errors.isEmpty { throw ExitCode(1) }
    }

    private func runFollowing() throws {
        let fixedKey = keyFile != nil || !(ProcessInfo.processInfo.environment["CALLSIFT_KEY"] ?? "").isEmpty
        if state != nil && !fixedKey {
            throw ValidationError(
                "--state needs a fixed pseudonymisation key (--key-file or CALLSIFT_KEY): with a random one, callers could not be matched across runs")
        }
        let pseudonymiser = try loadKey()
        let rejectsLog = try rejects.map { RejectsLog(sink: try makeByteSink(path: $0, compression: .none, ownerOnly: true, append: true)) }
        var options = FollowRun.Options(output: output!)
        options.emitEvery = Double(emitEvery.millis) / 1000
        if let c = checkpointEvery { options.checkpointEvery = Double(c.millis) / 1000 }
        options.rejectsPath = rejects
        options.csv = emit == .csv
        options.metricsFile = metricsFile
        options.stateDir = state
        // The server listens before any work starts, so that a port in use stops the run at once.
        var server: BoardServer?
        if let serve, let (host, port) = Self.serveAddress(serve) {
            let s = try settings()
            let feed = BoardFeed(stallAfter: max(3 * options.emitEvery, 10), minCell: s.minCell)
            let board = BoardServer(host: host, port: port, feed: feed)
            do { try board.start() } catch let e as ServeError { throw ValidationError(e.description) }
            let shown = host.contains(":") ? "[\(host)]" : host
            printError("callsift: serving the wallboard on http://\(shown):\(board.boundPort ?? port)/")
            options.onEmit = { report, bytes in
                var health = FollowHealth()
                health.bytesRead = bytes
                health.linesRejected = report.lines.rejectedTotal
                if let h = report.horizon { health.lagSeconds = Date().timeIntervalSince1970 - Double(h) / 1000 }
                feed.publish(report: report, health: health)
            }
            options.onTurn = { feed.touch() }
            server = board
        }
        defer { server?.stop() }
        let run: FollowRun
        do {
            run = try FollowRun(
                path: inputs.first ?? "-", settings: try settings(), pseudonymiser: pseudonymiser, rejects: rejectsLog,
                execution: ExecutionOptions(threads: threads, shards: shards), options: options
            ) { printError($0) }
        } catch let e as UsageError {
            throw ValidationError(e.description)
        }
        // A pipe whose reader has gone must give an error, not end the process.
        signal(SIGPIPE, SIG_IGN)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { run.requestStop() }
            source.resume()
            sources.append(source)
        }
        let status = try run.run()
        try rejectsLog?.finish()
        withExtendedLifetime(sources) {}
        if status != 0 { throw ExitCode(status) }
    }

    private func loadKey() throws -> Pseudonymiser { try loadPseudonymisationKey(keyFile: keyFile, allowShared: allowSharedKey) }

    private static func showProgress(_ p: Analysis.Progress) {
        let line = "\r\u{1B}[K\(p.inputsDone)/\(p.inputs) inputs, \(p.events) events, \(p.liveCalls) calls open, \(p.liveScopes) callers in window"
        FileHandle.standardError.write(line.data(using: .utf8)!)
    }
}

/// The pseudonymisation key: `--key-file`, else `CALLSIFT_KEY`, else a random key for this
/// run only (with a note, since pseudonyms then cannot be matched across runs).
///
/// A key file that other users may read or change weakens every pseudonym made with it
/// (with the key, a pseudonym of a phone number can be found by trying every number), so
/// it is refused, as ssh refuses such a private key: it must belong to the user running
/// callsift (or root) and give group and others no access (mode 0600 or 0400).
/// `allowShared` accepts it anyway, with a warning.
func loadPseudonymisationKey(keyFile: String?, allowShared: Bool = false) throws -> Pseudonymiser {
    if let keyFile {
        var info = stat()
        guard stat(keyFile, &info) == 0 else {
            throw ValidationError("--key-file: cannot read a key from \(keyFile): \(String(cString: strerror(errno)))")
        }
        let mode = info.st_mode & 0o7777
        var problems: [String] = []
        if mode & 0o077 != 0 {
            problems.append("its mode is 0\(String(mode, radix: 8)), so other users may read or change it")
        }
        if info.st_uid != geteuid() && info.st_uid != 0 {
            problems.append("it belongs to another user (uid \(info.st_uid))")
        }
        if !problems.isEmpty {
            let what = "--key-file \(keyFile): " + problems.joined(separator: ", and ")
            if !allowShared {
                throw ValidationError(
                    what
                        + ". An exposed key weakens every pseudonym made with it. Make it yours and private (chown $(id -u) \(keyFile); chmod 600 \(keyFile)), or give --allow-shared-key to use it anyway."
                )
            }
            printError("callsift: warning: \(what); used anyway (--allow-shared-key).")
        }
        guard let data = FileManager.default.contents(atPath: keyFile), !data.isEmpty else {
            throw ValidationError("--key-file: cannot read a key from \(keyFile)")
        }
        return Pseudonymiser(secret: Array(data))
    }
    if let env = ProcessInfo.processInfo.environment["CALLSIFT_KEY"], !env.isEmpty {
        return Pseudonymiser(secret: Array(env.utf8))
    }
    printError(
        "callsift: note: no key given (--key-file or CALLSIFT_KEY); caller pseudonyms use a random key for this run, so repeat callers cannot be matched across runs."
    )
    return Pseudonymiser.random()
}

func printError(_ message: String) {
    FileHandle.standardError.write((message + "\n").data(using: .utf8)!)
}
