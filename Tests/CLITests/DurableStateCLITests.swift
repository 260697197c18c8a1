import Foundation
import Testing

/// `analyze --state` as a process: killed at any moment, run twice at once, fed from
/// standard input. The library tests (DurableStateTests) hold the figures.
@Suite(.serialized) struct DurableStateCLITests {
    static let env = ["CALLSIFT_KEY": "state-test-key"]

    /// A dirty log as one folder per day (each with a file per centre), made by `generate`.
    static func days(in dir: URL) throws -> [String] {
        let folder = dir.appendingPathComponent("days").path
        let g = try CLITests.run([
            "generate", "--seed", "3", "--calls", "6000", "--centres", "3", "--days", "4", "--dirty",
            "--compress", "zstd", "--split", "centre-day", "-o", folder,
        ])
        #expect(g.status == 0, "\(g.stderr)")
        return try FileManager.default.contentsOfDirectory(atPath: folder).sorted().map { folder + "/" + $0 }
    }

    static func temp() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Starts `callsift args` without waiting for it.
    static func start(_ args: [String], env extra: [String: String] = [:]) throws -> Process {
        let p = Process()
        p.executableURL = CLITests.products.appendingPathComponent("callsift")
        p.arguments = args
        p.currentDirectoryURL = CLITests.packageRoot
        var environment = ProcessInfo.processInfo.environment
        for (k, v) in env.merging(extra, uniquingKeysWith: { $1 }) { environment[k] = v }
        p.environment = environment
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Runs killed with SIGKILL at random moments (reading, classifying, writing the
    /// state: the commit is stretched so that many kills land in it), each followed by the
    /// same command again: after the last day, exactly the output of uninterrupted runs.
    /// After every kill the state is whole: it reports without error.
    @Test func killedRunsThenRerunEqualUninterruptedRuns() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let days = try Self.days(in: dir)
        let reference = dir.appendingPathComponent("reference").path
        var expected = ""
        // Kills land within the time an uninterrupted run of that day takes (with the
        // commit stretched as below), so that most attempts are killed on a fast machine
        // too; each day's first attempt within the first half of it, so that every day sees
        // a kill even when the machine has become faster since the uninterrupted runs.
        var duration: [Double] = []
        for day in days {
            let started = Date()
            let r = try CLITests.run(
                ["analyze", "--state", reference, "--threads", "2", day],
                env: Self.env.merging(["CALLSIFT_TEST_COMMIT_PAUSE_MS": "40"]) { $1 })
            duration.append(max(Date().timeIntervalSince(started), 0.05))
            #expect(r.status == 0, "\(r.stderr)")
            expected = r.stdout
        }
        let state = dir.appendingPathComponent("state").path
        let pause = ["CALLSIFT_TEST_COMMIT_PAUSE_MS": "40"]
        var rng = SystemRandomNumberGenerator()
        var kills = 0
        for (day, seconds) in zip(days, duration) {
            for attempt in 0..<4 {
                let p = try Self.start(["analyze", "--state", state, "--threads", "2", day], env: pause)
                let window = seconds * (attempt == 0 ? 0.5 : 1) * 1_000_000
                usleep(UInt32.random(in: 0..<UInt32(window), using: &rng))
                if p.isRunning {
                    kill(p.processIdentifier, SIGKILL)
                    kills += 1
                }
                p.waitUntilExit()
                let check = try CLITests.run(["analyze", "--state", state], env: Self.env)
                #expect(check.status == 0, "state not whole after a kill: \(check.stderr)")
            }
            let r = try CLITests.run(["analyze", "--state", state, "--threads", "2", day], env: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
        }
        let final = try CLITests.run(["analyze", "--state", state], env: Self.env)
        #expect(final.stdout.replacingOccurrences(of: state, with: reference) == expected)
        #expect(kills >= days.count, "\(kills) kills")
        // The files of the uninterrupted runs' state, no more: the manifest, the lock, one
        // engine file, one part file per centre and its layers of caller scopes. Nothing a
        // kill left behind.
        let names = try FileManager.default.contentsOfDirectory(atPath: state).sorted()
        #expect(names == (try FileManager.default.contentsOfDirectory(atPath: reference).sorted()))
        #expect(names.contains("MANIFEST") && names.contains("callsift.lock"), "\(names)")
        #expect(names.filter { $0.hasPrefix("engine-") }.count == 1, "\(names)")
        #expect(names.filter { $0.hasPrefix("part-") && !$0.hasSuffix("-scopes.bin") }.count == 3, "\(names)")
        let layers = names.filter { $0.hasSuffix("-scopes.bin") }.count
        #expect(layers >= 3 && layers <= 3 * 4, "\(names)")
    }

    /// A second run on a state in use is refused at once; the first goes on undisturbed.
    @Test func concurrentRunIsRefused() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let days = try Self.days(in: dir)
        let state = dir.appendingPathComponent("state").path
        let out = dir.appendingPathComponent("first.json").path
        let first = try Self.start(["analyze", "--state", state, "-o", out, days[0]], env: ["CALLSIFT_TEST_COMMIT_PAUSE_MS": "400"])
        usleep(200_000)
        let started = Date()
        let second = try CLITests.run(["analyze", "--state", state, days[1]], env: Self.env)
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(second.status != 0)
        #expect(second.stderr.contains("in use by another callsift run"), "\(second.stderr)")
        first.waitUntilExit()
        #expect(first.terminationStatus == 0)
        let alone = try CLITests.run(["analyze", "--state", dir.appendingPathComponent("alone").path, days[0]], env: Self.env)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        #expect(text.replacingOccurrences(of: state, with: dir.appendingPathComponent("alone").path) == alone.stdout)
    }

    /// Standard input is an input like any other: fed once, and again it changes nothing.
    /// A damaged state exits non-zero naming the file; without a fixed key, a state is refused.
    @Test func standardInputDamageAndKey() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let days = try Self.days(in: dir)
        let state = dir.appendingPathComponent("state").path
        let file = try FileManager.default.contentsOfDirectory(atPath: days[0]).sorted().map { days[0] + "/" + $0 }[0]
        let bytes = try Data(contentsOf: URL(fileURLWithPath: file))
        let once = try CLITests.run(["analyze", "--state", state, "-"], stdin: bytes, env: Self.env)
        #expect(once.status == 0, "\(once.stderr)")
        let twice = try CLITests.run(["analyze", "--state", state, "-"], stdin: bytes, env: Self.env)
        #expect(twice.status == 0)
        #expect(twice.stderr.contains("standard input has the same content as -"), "\(twice.stderr)")
        #expect(twice.stdout == once.stdout)
        let byName = try CLITests.run(["analyze", "--state", state, file], env: Self.env)
        #expect(byName.stderr.contains("\(file) has the same content as -"))
        #expect(byName.stdout == once.stdout)

        let manifest = URL(fileURLWithPath: state + "/MANIFEST")
        var damaged = try Data(contentsOf: manifest)
        damaged[damaged.count - 3] ^= 1
        try damaged.write(to: manifest)
        let refused = try CLITests.run(["analyze", "--state", state, days[1]], env: Self.env)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("\(state)/MANIFEST: checksum mismatch"), "\(refused.stderr)")
        #expect(try Data(contentsOf: manifest) == damaged)

        let noKey = try CLITests.run(["analyze", "--state", dir.appendingPathComponent("other").path, days[0]], env: [:])
        #expect(noKey.status == 64)
        #expect(noKey.stderr.contains("--state needs a fixed pseudonymisation key"))
    }

    /// `accredit --state` judges the state's counters: the same verdicts as accrediting the
    /// raw logs (a folder of them, which once crashed the report sniffing) in one go. The
    /// report on a state needs no key and takes the state's own settings.
    @Test func accreditFromState() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let days = try Self.days(in: dir)
        let state = dir.appendingPathComponent("state").path
        for day in days {
            #expect(try CLITests.run(["analyze", "--state", state, "--scope", "global", day], env: Self.env).status == 0)
        }
        let folder = dir.appendingPathComponent("days").path
        let dates = ["--from", "2026-03-04", "--to", "2026-03-05", "--baseline-from", "2026-03-02", "--baseline-to", "2026-03-03"]
        let raw = try CLITests.run(["accredit", "--standard", "samples/standard.toml", "--scope", "global", folder] + dates, env: Self.env)
        #expect(raw.status == 0, "\(raw.stderr)")
        let fromState = try CLITests.run(["accredit", "--standard", "samples/standard.toml", "--state", state] + dates, env: [:])
        #expect(fromState.status == 0, "\(fromState.stderr)")
        #expect(fromState.stdout == raw.stdout)
        #expect(raw.stdout.contains("3 centres"))
        let report = try CLITests.run(["analyze", "--state", state, "--period", "all"], env: [:])
        #expect(report.status == 0)
        #expect(report.stdout.contains("\"scope\": \"global\""))
        let missing = try CLITests.run(["accredit", "--standard", "samples/standard.toml", "--state", dir.appendingPathComponent("none").path], env: [:])
        #expect(missing.status == 64)
    }
}

/// A state folder written by an earlier version (`Fixtures/state-vN`: the bundled
/// `samples/calls.csv.zst` fed into a new state, key `state-test-key`) is upgraded in place
/// by the first run that feeds it, and then gives what a state made by this version from
/// the same inputs gives.
@Suite struct StateUpgradeCLITests {
    static let env = ["CALLSIFT_KEY": "state-test-key"]

    /// The report without the state folder it names.
    static func figures(_ json: String, state: String) -> String { json.replacingOccurrences(of: state, with: "STATE") }

    /// A version 4 state written, as first released, by a follower stopped part way through
    /// a plain file (`Fixtures/follow-v4`: the first half of a generated day's log, key
    /// `follow-test-key`): its follow point, which has no place for a compressed file's
    /// stored offset, still reads, and the state reports what a batch run over that half does.
    @Test func followPointOfTheFirstVersion4Reads() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fixture = CLITests.packageRoot.appendingPathComponent("Tests/CLITests/Fixtures/follow-v4")
        let copy = dir.appendingPathComponent("follow").path
        try FileManager.default.copyItem(at: fixture, to: URL(fileURLWithPath: copy))
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: copy + "/state")
        let env = ["CALLSIFT_KEY": "follow-test-key"]
        let look = try CLITests.run(["analyze", "--state", copy + "/state"], env: env)
        #expect(look.status == 0, "\(look.stderr)")
        let batch = try CLITests.run(["analyze", copy + "/live.csv"], env: env)
        #expect(try FollowCLITests.figures(Data(look.stdout.utf8)) == (try FollowCLITests.figures(Data(batch.stdout.utf8))))
    }

    /// Format 2 (the engine file alone), format 3 (a part file per part, the caller scopes
    /// inside it) and format 4 (the line accounting's kinds by position), each written by
    /// the callsift of its time from the same inputs.
    @Test(arguments: [2, 3, 4])
    func previousVersionIsUpgradedInPlace(version: Int) throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fixture = CLITests.packageRoot.appendingPathComponent("Tests/CLITests/Fixtures/state-v\(version)")
        let old = dir.appendingPathComponent("old").path
        try FileManager.default.copyItem(at: fixture, to: URL(fileURLWithPath: old))
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: old)

        // Reporting on it alone reads it as it is and writes nothing.
        let before = try Data(contentsOf: URL(fileURLWithPath: old + "/engine-1.bin"))
        let look = try CLITests.run(["analyze", "--state", old], env: Self.env)
        #expect(look.status == 0, "\(look.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: old + "/engine-1.bin")) == before)

        let up = try CLITests.run(["analyze", "--state", old, "samples/dirty.csv.gz"], env: Self.env)
        #expect(up.status == 0, "\(up.stderr)")
        #expect(up.stderr.contains("state of format version \(version) upgraded to version 5"), "\(up.stderr)")

        let fresh = dir.appendingPathComponent("fresh").path
        let first = try CLITests.run(["analyze", "--state", fresh, "samples/calls.csv.zst"], env: Self.env)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(Self.figures(look.stdout, state: old) == Self.figures(first.stdout, state: fresh))
        let second = try CLITests.run(["analyze", "--state", fresh, "samples/dirty.csv.gz"], env: Self.env)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(!second.stderr.contains("upgraded"))
        #expect(Self.figures(up.stdout, state: old) == Self.figures(second.stdout, state: fresh))

        // Once upgraded, it is of this version: no note, the same report.
        let again = try CLITests.run(["analyze", "--state", old], env: Self.env)
        #expect(again.status == 0 && !again.stderr.contains("upgraded"), "\(again.stderr)")
        #expect(Self.figures(again.stdout, state: old) == Self.figures(up.stdout, state: old))
    }
}
