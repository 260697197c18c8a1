import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Daily runs with durable state (`--state`, docs/metrics.md "Daily runs"): a log fed a
/// part at a time gives, after the last part, the figures of one run over every file.
@Suite struct DurableStateTests {
    static let key = Pseudonymiser(k0: 7, k1: 8)

    /// A dirty workload as one file per centre and day, with the days in order.
    static func write(_ options: GeneratorOptions, into dir: TempDir) throws -> [(day: String, files: [String])] {
        let folder = dir.path("days")
        _ = try generateWorkload(options, into: try CentreDaySplitSink(directory: folder, compression: .zstd))
        let days = try FileManager.default.contentsOfDirectory(atPath: folder).sorted()
        return try days.map { day in
            let d = (folder as NSString).appendingPathComponent(day)
            return (day, try FileManager.default.contentsOfDirectory(atPath: d).sorted().map { (d as NSString).appendingPathComponent($0) })
        }
    }

    static func settings(_ scope: AnalysisSettings.Scope) -> AnalysisSettings {
        var s = AnalysisSettings()
        s.scope = scope
        return s
    }

    /// One run over `files`, without state: what every split must come back to.
    static func oneRun(_ files: [String], scope: AnalysisSettings.Scope, threads: Int = 2) throws -> Report {
        try Analysis(
            settings: settings(scope), inputs: files, pseudonymiser: key,
            execution: ExecutionOptions(threads: threads)
        ).run().report
    }

    /// Feeds each of `runs` in turn into the state in `dir`; returns the last report.
    @discardableResult
    static func feed(
        _ runs: [[String]], into dir: String, scope: AnalysisSettings.Scope, threads: Int = 2,
        rejects: RejectsLog? = nil, centreScan: Int = 4096, layers: ScopeLayer.Policy = ScopeLayer.Policy(),
        afterEach: () throws -> Void = {}
    ) throws -> DailyRun.Result {
        var last: DailyRun.Result?
        var execution = ExecutionOptions(threads: threads)
        execution.centreScan = centreScan
        execution.scopeLayers = layers
        for run in runs {
            let store = try StateStore(path: dir)
            last = try DailyRun.run(
                state: store, settings: settings(scope), inputs: run, pseudonymiser: key,
                rejects: rejects, execution: execution)
            try afterEach()
        }
        return last!
    }

    /// The figures a split must reproduce: rows (without `final`), accounting, horizon.
    static func figures(_ r: Report) -> String {
        var r = r
        r.inputs = []
        r.inputFiles = []
        r.statePath = nil
        for i in r.rows.indices { r.rows[i].final = nil }
        return JSONReportWriter.render(r)
    }

    /// Whole days, every centre's file of a day in one run: the same as one run, in every scope.
    @Test(arguments: [AnalysisSettings.Scope.centre, .service, .global])
    func dayByDayEqualsOneRun(scope: AnalysisSettings.Scope) throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 21, calls: 24_000, centres: 5, days: 8, dirty: true), into: dir)
        let one = try Self.oneRun(days.flatMap(\.files), scope: scope)
        let result = try Self.feed(days.map(\.files), into: dir.path("state"), scope: scope, threads: scope == .service ? 1 : 2)
        #expect(Self.figures(result.report) == Self.figures(one))
        #expect(result.report.accountingHolds)
        #expect(one.rows.count > 30)
    }

    /// The Contact Council's pattern: each centre's daily file in a run of its own, the
    /// centres in another order each day. Exact under centre and service scope: one
    /// centre's progress never makes another centre's events late.
    @Test(arguments: [AnalysisSettings.Scope.centre, .service])
    func centreByCentreInShuffledOrderEqualsOneRun(scope: AnalysisSettings.Scope) throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 22, calls: 20_000, centres: 4, days: 7, dirty: true), into: dir)
        let one = try Self.oneRun(days.flatMap(\.files), scope: scope)
        var rng = SplitMix(seed: 5)
        let runs = days.flatMap { day in rng.shuffled(day.files).map { [$0] } }
        let result = try Self.feed(runs, into: dir.path("state"), scope: scope)
        #expect(Self.figures(result.report) == Self.figures(one))
        #expect(result.report.lines.late == one.lines.late)
    }

    /// The parts of centres a run's inputs do not seem to name stay in the state as they
    /// lie, reported from their summaries: rebuilt when an event of theirs comes after all
    /// (here no input is scanned ahead, so every part is), or left for days while the
    /// others go on (one centre's files all come in the last run). The same as one run.
    @Test func partsLeftAsTheyLieAndWokenLateEqualOneRun() throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 25, calls: 16_000, centres: 4, days: 6, dirty: true), into: dir)
        let files = days.flatMap(\.files)
        let one = try Self.oneRun(files, scope: .centre)
        let woken = try Self.feed(days.map(\.files), into: dir.path("woken"), scope: .centre, centreScan: 0)
        #expect(Self.figures(woken.report) == Self.figures(one))
        let late = days.map { $0.files.last! }
        var runs = days.map { Array($0.files.dropLast()) }
        runs.append(late)
        let behind = try Self.feed(runs, into: dir.path("behind"), scope: .centre)
        #expect(Self.figures(behind.report) == Self.figures(one))
        #expect(behind.report.lines.late == one.lines.late)
    }

    /// The caller scopes lie on disk in layers that runs look callers up in, each run adding
    /// one of those it touched and merging them now and then (docs/architecture.md, "Caller
    /// scopes on disk"). However they are merged: layers only ever added, up to the most a
    /// part keeps and then those above the oldest merged (`fullMergeSixteenths` too big to
    /// be reached); every layer merged into one at every run (-3, less than any stagger
    /// makes up); or the default share:
    /// the same as one run, with never more layers to a part than the most it keeps, and
    /// more than one where merges wait.
    @Test(arguments: [(3, 1000), (4, -3), (2, 4)])
    func scopeLayersMergedAnyWayEqualOneRun(maxLayers: Int, sixteenths: Int) throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 26, calls: 9_000, centres: 3, days: 12, dirty: true), into: dir)
        let one = try Self.oneRun(days.flatMap(\.files), scope: .centre)
        var policy = ScopeLayer.Policy()
        policy.maxLayers = maxLayers
        policy.fullMergeSixteenths = sixteenths
        let state = dir.path("state")
        var most = 0
        let result = try Self.feed(days.map(\.files), into: state, scope: .centre, layers: policy) {
            let layers = try FileManager.default.contentsOfDirectory(atPath: state).filter { $0.hasSuffix("-scopes.bin") }
            #expect(layers.count <= 3 * maxLayers)
            most = max(most, layers.count)
        }
        #expect(Self.figures(result.report) == Self.figures(one))
        #expect(sixteenths < 0 ? most == 3 : most > 3, "at most \(most) layers")
    }

    /// The files in order, cut into runs at random points (within a day too), and under
    /// global scope at random day boundaries: the same as one run.
    @Test func randomCutPointsEqualOneRun() throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 23, calls: 20_000, centres: 4, days: 7, dirty: true), into: dir)
        let files = days.flatMap(\.files)
        var rng = SplitMix(seed: 9)
        for trial in 0..<3 {
            var runs: [[String]] = [[]]
            for f in files {
                if !runs[runs.count - 1].isEmpty && rng.next() % 4 == 0 { runs.append([]) }
                runs[runs.count - 1].append(f)
            }
            let result = try Self.feed(runs, into: dir.path("state-\(trial)"), scope: .centre, threads: 1 + trial % 2)
            #expect(Self.figures(result.report) == Self.figures(try Self.oneRun(files, scope: .centre)), "cuts \(runs.map(\.count))")
        }
        var dayRuns: [[String]] = [[]]
        for day in days {
            if !dayRuns[dayRuns.count - 1].isEmpty && rng.next() % 2 == 0 { dayRuns.append([]) }
            dayRuns[dayRuns.count - 1] += day.files
        }
        let global = try Self.feed(dayRuns, into: dir.path("state-global"), scope: .global)
        #expect(Self.figures(global.report) == Self.figures(try Self.oneRun(files, scope: .global)))
    }

    /// Rows become final once the data has moved past them by the reach of every
    /// definition, and a final row never changes afterwards.
    @Test func finalRowsNeverChange() throws {
        let dir = try TempDir()
        var options = GeneratorOptions(seed: 24, calls: 12_000, centres: 2, days: 12, dirty: true)
        options.servicesPerCentre = 2
        let days = try Self.write(options, into: dir)
        var settings = Self.settings(.centre)
        settings.chaseWindow = 2 * 86_400_000
        settings.repeatWindow = 86_400_000
        var finals: [String: Report.Row] = [:]
        var sawProvisional = false
        for day in days {
            let store = try StateStore(path: dir.path("state"))
            let r = try DailyRun.run(state: store, settings: settings, inputs: day.files, pseudonymiser: Self.key).report
            for row in r.rows {
                let id = "\(row.centre)/\(row.service ?? "")/\(row.period)"
                if let before = finals[id] { #expect(row == before, "final row \(id) changed") }
                if row.final == true { finals[id] = row } else { sawProvisional = true }
            }
        }
        #expect(finals.count > 10)
        #expect(sawProvisional)
    }

    /// An input fed before, under any name, changes nothing; the run says which it repeats.
    @Test func refeedingChangesNothing() throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 25, calls: 8_000, centres: 3, days: 3, dirty: true), into: dir)
        let state = dir.path("state")
        let first = try Self.feed([days[0].files, days[1].files], into: state, scope: .centre)
        let copy = dir.path("renamed.csv.zst")
        try FileManager.default.copyItem(atPath: days[1].files[0], toPath: copy)
        let engine = try Data(contentsOf: URL(fileURLWithPath: state + "/engine-2.bin"))
        let again = try Self.feed([[copy] + days[0].files], into: state, scope: .centre)
        #expect(!again.committed)
        #expect(again.notes.count == days[0].files.count + 1)
        #expect(again.notes[0].contains("renamed.csv.zst has the same content as \(days[1].files[0])"))
        #expect(JSONReportWriter.render(again.report) == JSONReportWriter.render(first.report))
        #expect(try Data(contentsOf: URL(fileURLWithPath: state + "/engine-2.bin")) == engine)
    }

    /// An event older than what the state has made final for its centre is late: counted,
    /// written to the rejects file, never used and never counted twice.
    @Test func eventsOlderThanWhatIsFinalAreLate() throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 26, calls: 8_000, centres: 2, days: 4), into: dir)
        let state = dir.path("state")
        let before = try Self.feed(days.map(\.files), into: state, scope: .centre).report
        // Day 1 of another log (other bytes), after day 4: every event is older than what is final.
        let otherDir = try TempDir()
        let other = try Self.write(GeneratorOptions(seed: 27, calls: 2_000, centres: 2, days: 1), into: otherDir)
        let sink = MemoryByteSink()
        let log = RejectsLog(sink: sink)
        let after = try Self.feed([other[0].files], into: state, scope: .centre, rejects: log).report
        try log.finish()
        let oldLines = after.lines.lines - before.lines.lines
        #expect(oldLines > 1000)
        #expect(after.lines.late - before.lines.late == oldLines)
        #expect(Self.figures(after).contains("\"contacts\": \(before.calls.contacts)"))
        #expect(after.rows == before.rows)
        let text = String(decoding: sink.bytes, as: UTF8.self)
        #expect(text.split(separator: "\n").count == Int(oldLines))
        #expect(text.split(separator: "\n").allSatisfy { $0.split(separator: "\t")[1] == "late" })
    }

    /// The settings that decide classification, and the key, are fixed: a run with another
    /// is refused naming it, and the folder is left byte for byte as it was.
    @Test func otherSettingsAreRefusedAndChangeNothing() throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 28, calls: 4_000, centres: 2, days: 2), into: dir)
        let state = dir.path("state")
        try Self.feed([days[0].files], into: state, scope: .centre)
        let snapshot = try Self.contents(of: state)
        var changes: [(String, (inout AnalysisSettings) -> Void)] = [
            ("--scope", { $0.scope = .global }), ("--call-timeout", { $0.callTimeout += 1 }),
            ("--lateness", { $0.lateness += 1 }), ("--repeat-window", { $0.repeatWindow += 1 }),
            ("--chase-window", { $0.chaseWindow += 1 }), ("--retry-window", { $0.retryWindow += 1 }),
            ("--short-abandon", { $0.shortAbandon += 1 }), ("--sl-threshold", { $0.slThreshold += 1 }),
            ("--tz", { $0.timeZone = "Europe/London" }), ("--reason-map", { $0.reasonMap = ["X": "none"] }),
        ]
        changes.append(("key", { _ in }))
        for (flag, change) in changes {
            var s = Self.settings(.centre)
            change(&s)
            let key = flag == "key" ? Pseudonymiser(k0: 1, k1: 1) : Self.key
            let store = try StateStore(path: state)
            #expect {
                _ = try DailyRun.run(state: store, settings: s, inputs: days[1].files, pseudonymiser: key)
            } throws: { e in
                let text = "\(e)"
                return flag == "key" ? text.contains("pseudonymisation key is not the one") : text.contains("\(flag) is fixed when the state is created")
            }
        }
        // Output options may change.
        var s = Self.settings(.centre)
        s.period = .month
        s.grouping = .centre
        s.minCell = 50
        #expect(try DailyRun.run(state: try StateStore(path: state), settings: s, inputs: [], pseudonymiser: Self.key).report.rows.count == 2)
        #expect(try Self.contents(of: state) == snapshot)
    }

    /// A damaged, truncated or foreign-version state file is refused naming the file, and
    /// nothing in the folder changes; a second run on a folder in use is refused at once.
    @Test func damagedStateIsRefused() throws {
        let dir = try TempDir()
        let days = try Self.write(GeneratorOptions(seed: 29, calls: 4_000, centres: 2, days: 2), into: dir)
        let state = dir.path("state")
        try Self.feed([days[0].files], into: state, scope: .centre)
        let good = try Self.contents(of: state)
        for (name, bytes) in good where name != StateStore.lockName {
            var damaged: [(String, Data, String)] = []
            var flipped = bytes
            flipped[bytes.count / 2] ^= 0x10
            damaged.append(("flipped", flipped, "checksum mismatch"))
            damaged.append(("truncated", bytes.prefix(bytes.count - 7), "truncated"))
            damaged.append(("cut short", bytes.prefix(10), "truncated"))
            var version = bytes
            version[8] = 99
            damaged.append(("version", version, "state format version 99"))
            for (what, data, message) in damaged {
                try data.write(to: URL(fileURLWithPath: state + "/" + name))
                if name.hasPrefix("part-") {
                    // A part file is checked when its part is rebuilt: by a run whose inputs
                    // name its centre (both centres here), never trusted before.
                    #expect {
                        _ = try DailyRun.run(
                            state: try StateStore(path: state), settings: Self.settings(.centre), inputs: days[1].files,
                            pseudonymiser: Self.key)
                    } throws: { e in "\(e)".contains(name) && "\(e)".contains(message) }
                } else {
                    #expect {
                        _ = try StateStore(path: state)
                    } throws: { e in "\(e)".contains(name) && "\(e)".contains(message) }
                }
                #expect(try Self.contents(of: state)[name] == data, "\(name) \(what)")
                #expect(try Self.contents(of: state).count == good.count, "\(name) \(what)")
            }
            try bytes.write(to: URL(fileURLWithPath: state + "/" + name))
        }
        let holder = try StateStore(path: state)
        #expect { _ = try StateStore(path: state) } throws: { "\($0)".contains("in use by another callsift run") }
        _ = holder
    }

    /// The state holds pseudonyms only: no caller number of the input appears in it; its
    /// files are 0600 and the folder 0700.
    @Test func stateHoldsNoCallerNumber() throws {
        let dir = try TempDir()
        let options = GeneratorOptions(seed: 30, calls: 3_000, centres: 2, days: 2)
        let folder = dir.path("days")
        _ = try generateWorkload(options, into: try CentreDaySplitSink(directory: folder, compression: .none))
        let files = try Analysis.expand([folder])
        let state = dir.path("state")
        try Self.feed([files], into: state, scope: .centre)
        var numbers = Set<String>()
        for f in files {
            for line in try String(contentsOfFile: f, encoding: .utf8).split(separator: "\n") {
                let fields = line.split(separator: ",", omittingEmptySubsequences: false)
                if fields.count > 4, fields[4].count >= 10 { numbers.insert(String(fields[4])) }
            }
        }
        #expect(numbers.count > 500)
        for (name, bytes) in try Self.contents(of: state) {
            let text = String(decoding: bytes, as: UTF8.self)
            let digits = String(decoding: bytes.map { $0 >= 0x30 && $0 <= 0x39 ? $0 : 0x20 }, as: UTF8.self)
            #expect(!numbers.contains { text.contains($0) || digits.contains($0.filter(\.isNumber)) }, "\(name)")
            #expect(try FileManager.default.attributesOfItem(atPath: state + "/" + name)[.posixPermissions] as? Int == 0o600)
        }
        #expect(try FileManager.default.attributesOfItem(atPath: state)[.posixPermissions] as? Int == 0o700)
    }

    static func contents(of folder: String) throws -> [String: Data] {
        var out: [String: Data] = [:]
        for name in try FileManager.default.contentsOfDirectory(atPath: folder) {
            out[name] = try Data(contentsOf: URL(fileURLWithPath: folder + "/" + name))
        }
        return out
    }
}
