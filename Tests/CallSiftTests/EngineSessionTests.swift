import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftGenerate

/// The engine session (docs/architecture.md, "The engine session"): fed a log a piece at a
/// time, its report at any moment is byte for byte the one a daily run over the state and
/// the bytes so far gives (what `--follow` printed when it re-read the file at every
/// emit), and committing it leaves the state a daily run over the whole file leaves.
@Suite struct EngineSessionTests {
    static let key = Pseudonymiser(k0: 3, k1: 4)

    /// Every format, every adapter: a dirty generated CSV and NDJSON, and generated calls
    /// as Asterisk queue_log (file form) and Amazon Connect contact trace records.
    static func logs() throws -> [(name: String, bytes: [UInt8], centre: String?)] {
        var options = GeneratorOptions(seed: 11, calls: 4000, centres: 3, days: 9)
        options.dirty = true
        let csv = try generateWorkloadBytes(options).bytes
        options.format = .ndjson
        let ndjson = try generateWorkloadBytes(options).bytes
        let calls = try AdapterConversionTests.generated(calls: 2500, centres: 1)
        let queueLog = Array(AdapterConversionTests.queueLog(calls).log.utf8)
        let ctr = Array(AdapterConversionTests.contactTraceRecords(calls).records.utf8)
        return [("calls.csv", csv, nil), ("calls.ndjson", ndjson, nil), ("queue_log", queueLog, "C01"), ("ctr.ndjson", ctr, nil)]
    }

    static func settings(centre: String?, scope: AnalysisSettings.Scope) -> AnalysisSettings {
        var s = AnalysisSettings()
        s.centre = centre
        s.scope = scope
        s.period = .week
        s.timeZone = "Europe/London"
        return s
    }

    /// Line ends at about `fractions` of `bytes`.
    static func cuts(_ bytes: [UInt8], at fractions: [Double]) -> [Int] {
        fractions.map { f in
            var i = min(bytes.count, Int(Double(bytes.count) * f))
            while i < bytes.count && bytes[i - 1] != 0x0A { i += 1 }
            return i
        }
    }

    /// The report's JSON; the state folder it names is left out (the re-runs use a copy).
    static func render(_ r: Report) -> String {
        var r = r
        r.statePath = nil
        return JSONReportWriter.render(r)
    }

    /// The old way: a daily run over the state and the first `count` bytes, written nowhere.
    static func previewByRerun(_ dir: String, _ name: String, _ bytes: [UInt8], count: Int, settings: AnalysisSettings) throws -> String {
        let store = try StateStore(path: dir)
        let input = bytes.withUnsafeBytes { MemoryInput(name: name, bytes: UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        let r = try DailyRun.run(
            state: store, settings: settings, inputs: [name], pseudonymiser: key, memory: [input], preview: true)
        return render(r.report)
    }

    @Test(arguments: [AnalysisSettings.Scope.centre, .global])
    func reportsAtEveryCutEqualARerunOfTheBytesSoFar(scope: AnalysisSettings.Scope) throws {
        var logs = try Self.logs()
        // One centre's log on a state of three: the other two centres' parts stay as they
        // lie (reported from their summaries) while the horizon moves on.
        let csv = logs[0].bytes
        let split = Self.cuts(csv, at: [0.33])[0]
        let header = csv[..<(csv.firstIndex(of: 0x0A)! + 1)]
        let mine = csv[split...].split(separator: 0x0A).filter { $0.contains(Array(",C01,".utf8)) }
        let oneCentre = Array(csv[..<split]) + Array(header) + mine.flatMap { Array($0) + [0x0A] }
        logs.append(("calls-C01.csv", oneCentre, nil))
        for log in logs {
            let settings = Self.settings(centre: log.centre, scope: scope)
            let dir = try TempDir()
            let state = dir.path("state")
            // The state holds the first third as a file fed before; the session goes on
            // from it with the rest.
            let first = log.name == "calls-C01.csv" ? split : Self.cuts(log.bytes, at: [0.33])[0]
            let earlier = dir.path("earlier-" + log.name)
            try Data(log.bytes[0..<first]).write(to: URL(fileURLWithPath: earlier))
            _ = try DailyRun.run(state: try StateStore(path: state), settings: settings, inputs: [earlier], pseudonymiser: Self.key)
            let rest = Array(log.bytes[first...])
            // The same state, for the re-runs (the session holds the state's lock).
            let copy = dir.path("copy")
            try FileManager.default.copyItem(atPath: state, toPath: copy)
            try? FileManager.default.removeItem(atPath: dir.path("copy/callsift.lock"))

            let store = try StateStore(path: state)
            let session = try EngineSession(
                state: store, settings: settings, name: log.name, pseudonymiser: Self.key, rejects: nil,
                execution: ExecutionOptions(threads: 2))
            #expect(Self.render(session.report()) == (try Self.previewByRerun(copy, log.name, rest, count: 0, settings: settings)))
            var at = 0
            for cut in Self.cuts(rest, at: [0.001, 0.05, 0.2, 0.21, 0.5, 0.77, 1.0]) where cut > at {
                rest[at..<cut].withUnsafeBytes { session.push($0) }
                at = cut
                let live = Self.render(session.report())
                #expect(live == (try Self.previewByRerun(copy, log.name, rest, count: cut, settings: settings)), "\(log.name) at byte \(cut)")
                // Asking twice changes nothing.
                #expect(Self.render(session.report()) == live)
            }
            // Committed, the state is the one a daily run over the same file leaves.
            #expect(try session.commit(fingerprint: nil).isEmpty)
            let viaSession = Self.render(try DailyRun.run(state: store, settings: settings, inputs: [], pseudonymiser: Self.key).report)
            let other = dir.path("other")
            let whole = dir.path(log.name)
            try Data(rest).write(to: URL(fileURLWithPath: whole))
            _ = try DailyRun.run(state: try StateStore(path: other), settings: settings, inputs: [earlier], pseudonymiser: Self.key)
            let viaDaily = try DailyRun.run(state: try StateStore(path: other), settings: settings, inputs: [whole], pseudonymiser: Self.key)
            var expected = viaDaily.report
            expected.statePath = store.path
            expected.marksFinal = true
            expected.inputs = [earlier, log.name]
            expected.inputFiles[1].path = log.name
            #expect(viaSession == Self.render(expected), "\(log.name): the state after the commit")
        }
    }

    /// A checkpoint writes the input so far into the state, and a session made from it in
    /// another process (here: the state opened again) reads on from there: at every cut
    /// its report is the one of a session that never stopped, and after the commit the
    /// state is the same, the file's lines and content fingerprint included. A format
    /// adapter's input has no point to resume from: no checkpoint is written for it.
    @Test(arguments: [AnalysisSettings.Scope.centre, .global])
    func checkpointsAnywhereChangeNothing(scope: AnalysisSettings.Scope) throws {
        for log in try Self.logs() {
            let settings = Self.settings(centre: log.centre, scope: scope)
            let dir = try TempDir()
            var steady: EngineSession! = try EngineSession(
                state: try StateStore(path: dir.path("steady")), settings: settings, name: log.name, pseudonymiser: Self.key,
                rejects: nil, execution: ExecutionOptions(threads: 2))
            func reopened(_ resume: StateStore.FollowResume?) throws -> EngineSession {
                let store = try StateStore(path: dir.path("stopping"))
                #expect(store.manifest?.following == resume, "the point as the state holds it")
                return try EngineSession(
                    state: store, settings: settings, name: log.name, pseudonymiser: Self.key, rejects: nil,
                    execution: ExecutionOptions(threads: 2), resume: resume)
            }
            var session: EngineSession? = try reopened(nil)
            var at = 0
            var written = 0
            for cut in Self.cuts(log.bytes, at: [0.0005, 0.1, 0.3, 0.31, 0.6, 0.95, 1.0]) where cut > at {
                log.bytes[at..<cut].withUnsafeBytes { steady.push($0) }
                log.bytes[at..<cut].withUnsafeBytes { session!.push($0) }
                at = cut
                #expect(Self.render(session!.report()).replacingOccurrences(of: "stopping", with: "steady") == Self.render(steady.report()))
                // Where the parser stands inside a record (a quote left open by a damaged
                // line) there is no point; the session goes on, as a follower's does.
                guard let (point, notes) = try session!.checkpoint(device: 1, inode: 2, rejectsBytes: -1, tailCheck: 0) else { continue }
                #expect(point.offset == Int64(cut) && notes.isEmpty, "\(log.name) at \(cut)")
                written += 1
                session = nil  // let go of the state, as a process that stops
                session = try reopened(point)
            }
            // The plain formats stand between records at most cuts; an adapter never.
            let adapted = log.centre != nil || log.name.hasPrefix("ctr")
            #expect(adapted ? written == 0 : written >= 4, "\(log.name): \(written) checkpoints")
            _ = try steady.commit(fingerprint: nil)
            _ = try session!.commit(fingerprint: nil)
            (steady, session) = (nil, nil)
            func stateReport(_ name: String) throws -> String {
                var r = try DailyRun.run(state: try StateStore(path: dir.path(name)), settings: settings, inputs: [], pseudonymiser: Self.key).report
                r.statePath = nil
                return Self.render(r)
            }
            #expect(try stateReport("stopping") == (try stateReport("steady")), "\(log.name): the states after the commits")
        }
    }

    /// Late and rejected lines are written to the rejects file as they are read, once each,
    /// as a batch run over the same bytes writes them.
    @Test func rejectsAreWrittenAsABatchRunWritesThem() throws {
        let log = try Self.logs()[0]
        let settings = Self.settings(centre: nil, scope: .centre)
        let dir = try TempDir()
        let sessionRejects = RejectsLog(sink: try makeByteSink(path: dir.path("session.tsv"), compression: .none, ownerOnly: true))
        let session = try EngineSession(
            state: try StateStore(path: dir.path("s1")), settings: settings, name: "calls.csv", pseudonymiser: Self.key,
            rejects: sessionRejects, execution: ExecutionOptions(threads: 2))
        var at = 0
        for cut in Self.cuts(log.bytes, at: [0.1, 0.4, 0.9, 1.0]) where cut > at {
            log.bytes[at..<cut].withUnsafeBytes { session.push($0) }
            at = cut
            _ = session.report()
        }
        _ = try session.commit(fingerprint: nil)
        try sessionRejects.finish()
        let batchRejects = RejectsLog(sink: try makeByteSink(path: dir.path("batch.tsv"), compression: .none, ownerOnly: true))
        let input = log.bytes.withUnsafeBytes { MemoryInput(name: "calls.csv", bytes: $0) }
        _ = try DailyRun.run(
            state: try StateStore(path: dir.path("s2")), settings: settings, inputs: ["calls.csv"], pseudonymiser: Self.key,
            rejects: batchRejects, memory: [input])
        let a = try Data(contentsOf: URL(fileURLWithPath: dir.path("session.tsv")))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir.path("batch.tsv")))
        #expect(!b.isEmpty)
        #expect(a == b)
    }
}

extension EngineSessionTests {
    /// A session dropped without a commit, after pushes, reports and a look for a
    /// checkpoint, leaves the state as it found it (here: nothing written) and lets go of
    /// its lock.
    @Test func droppedSessionLeavesTheStateAndItsLock() throws {
        let log = try Self.logs()[0]
        let dir = try TempDir()
        do {
            let s = try EngineSession(
                state: try StateStore(path: dir.path("s")), settings: Self.settings(centre: nil, scope: .centre), name: "x.csv",
                pseudonymiser: Self.key, rejects: nil, execution: ExecutionOptions(threads: 2))
            let cut = Self.cuts(log.bytes, at: [0.01])[0]
            log.bytes[0..<cut].withUnsafeBytes { s.push($0) }
            _ = s.report()
            #expect(s.checkpointBytes == Int64(cut))
        }
        let again = try StateStore(path: dir.path("s"))
        #expect(again.manifest == nil)
    }
}
