import Foundation
import Testing

/// `analyze --follow --serve` as a process, looked at in a real browser: headless Chromium,
/// driven by Playwright (`scripts/wallboard-browser-check.py`), shows the follower's
/// figures, and after a burst is appended to the log shows the new ones without a reload,
/// equal to `/report.json`'s.
@Suite(.serialized) struct WallboardCLITests {
    /// A follower serving on a free port; its port, read from what it says on stderr.
    static func follower(log: String, dir: URL, extra: [String] = []) throws -> (Process, Int, String) {
        let stderrPath = dir.appendingPathComponent("stderr.txt").path
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let p = Process()
        p.executableURL = CLITests.products.appendingPathComponent("callsift")
        p.arguments = ["analyze", "--follow", "--emit-every", "300ms", "-o", dir.appendingPathComponent("report.json").path, "--serve", ":0"] + extra + [log]
        p.environment = ProcessInfo.processInfo.environment.merging(FollowCLITests.env) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            let said = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            if let r = said.range(of: "serving the wallboard on http://127.0.0.1:") {
                let digits = said[r.upperBound...].prefix { $0.isNumber }
                if let port = Int(digits) { return (p, port, stderrPath) }
            }
            if !p.isRunning { break }
            Thread.sleep(forTimeInterval: 0.05)
        }
        _ = FollowCLITests.stop(p)
        throw CLITestError("the follower did not start serving: \((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
    }

    @Test func theWallboardShowsEachBurstWithoutAReload() throws {
        let dir = try AccreditCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        // One day of calls at two centres: the first two thirds of its lines are the log,
        // the rest is the burst appended while the page is open.
        let all = dir.appendingPathComponent("all.csv").path
        let g = try CLITests.run(["generate", "--seed", "9", "--calls", "1500", "--centres", "2", "--days", "1", "-o", all])
        #expect(g.status == 0, "\(g.stderr)")
        // Without the few ends that fall after midnight: the page shows the day of the
        // latest event, and that day must be the one with the calls.
        let lines = try String(contentsOfFile: all, encoding: .utf8).split(separator: "\n")
            .filter { $0.hasPrefix("ts,") || $0.hasPrefix("2026-03-02") }
        let cut = lines.count * 2 / 3
        let log = dir.appendingPathComponent("log.csv").path
        let burst = dir.appendingPathComponent("burst.csv").path
        try Data((lines[..<cut].joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: log))
        try Data((lines[cut...].joined(separator: "\n") + "\n").utf8).write(to: URL(fileURLWithPath: burst))

        let (p, port, stderrPath) = try Self.follower(log: log, dir: dir)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        check.arguments = [
            "python3", CLITests.packageRoot.appendingPathComponent("scripts/wallboard-browser-check.py").path, "http://127.0.0.1:\(port)", log, burst,
        ]
        let out = Pipe(), err = Pipe()
        check.standardOutput = out
        check.standardError = err
        try check.run()
        let errReader = PipeReader(err.fileHandleForReading)
        let said = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let problems = String(decoding: errReader.wait(), as: UTF8.self)
        check.waitUntilExit()
        #expect(FollowCLITests.stop(p) == 0, "\((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
        if check.terminationStatus == 2 && ProcessInfo.processInfo.environment["CALLSIFT_SKIP_BROWSER"] == "1" { return }
        #expect(check.terminationStatus == 0, "\(said)\n\(problems)")
        #expect(said.contains("page updated"), "\(said)")
    }

    /// Callers in a queue now, from the calls in progress: a caller who arrived and has not
    /// been answered, one transferred on to another queue, and none for calls answered or
    /// ended.
    @Test func theBoardCountsCallersWaitingNow() throws {
        let dir = try AccreditCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("log.csv").path
        let text = """
            ts,centre,call,event,caller,service,outcome,reason
            2026-03-02T09:00:00Z,C1,a,arrive,0700,S1,,
            2026-03-02T09:01:00Z,C1,b,arrive,0701,S1,,
            2026-03-02T09:01:10Z,C1,b,answer,,,,
            2026-03-02T09:02:00Z,C1,c,arrive,0702,S1,,
            2026-03-02T09:03:00Z,C1,c,transfer,,S2,,
            2026-03-02T09:04:00Z,C1,d,arrive,0703,S2,,
            2026-03-02T09:04:30Z,C1,d,abandon,,,,
            2026-03-02T09:05:00Z,C2,e,arrive,0704,S1,,

            """
        try Data(text.utf8).write(to: URL(fileURLWithPath: log))
        // Today is a day even when the report is by week.
        let (p, port, stderrPath) = try Self.follower(log: log, dir: dir, extra: ["--period", "week"])
        defer { _ = FollowCLITests.stop(p) }
        var board: [String: Any] = [:]
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if let data = try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/board.json")!),
                let o = try? JSONSerialization.jsonObject(with: data) as? [String: Any]
            {
                board = o
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let centres = try #require(board["centres"] as? [[String: Any]], "\((try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? "")")
        func waiting(_ centre: String) -> [String] {
            let c = centres.first { $0["centre"] as? String == centre }
            return (c?["waiting"] as? [[String: Any]] ?? []).map { w in
                "\(w["service"] as? String ?? "?") \(w["calls"] as? Int ?? -1) \(w["longest_ms"] as? Int ?? -1)"
            }
        }
        // The latest event is at 09:05:00: a has waited 5 minutes in S1, c 2 in S2, e none.
        #expect(waiting("C1") == ["S1 1 300000", "S2 1 120000"])
        #expect(waiting("C2") == ["S1 1 0"])
        #expect(board["period"] as? String == "2026-03-02")
        // Arrivals hour by hour, the latest (held back by the merge) included.
        func hourly(_ centre: String) -> [Int] {
            (centres.first { $0["centre"] as? String == centre }?["hourly"] as? [Int]) ?? []
        }
        #expect(hourly("C1") == Array(repeating: 0, count: 9) + [4] + Array(repeating: 0, count: 14))
        #expect(hourly("C2") == Array(repeating: 0, count: 9) + [1] + Array(repeating: 0, count: 14))
        let c1 = try #require(centres.first { $0["centre"] as? String == "C1" })
        // A quiet log is not a stall: past the stall bound (10 s here) with nothing new to
        // emit, the follower is still keeping up.
        Thread.sleep(forTimeInterval: 11)
        let health = try Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/healthz")!)
        #expect(String(decoding: health, as: UTF8.self) == "ok\n")
        // Calls still in progress are not contacts yet (as in the report): only d, abandoned.
        #expect((c1["total"] as? [String: Any])?["contacts"] as? Int == 1)
    }

    /// `serve --state`: the state's report as `analyze --state DIR` gives it, read again
    /// after a daily run commits, with the run never blocked by the server.
    @Test func serveFollowsTheCommitsOfDailyRuns() throws {
        let dir = try AccreditCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        // Four days, one folder each (a file per centre); two daily runs feed the first two.
        let files = try DurableStateCLITests.days(in: dir)
        let state = dir.appendingPathComponent("state").path
        func feed(_ file: String) throws {
            let r = try CLITests.run(["analyze", "--state", state, "-o", dir.appendingPathComponent("fed.json").path, file], env: DurableStateCLITests.env)
            #expect(r.status == 0, "\(r.stderr)")
        }
        try feed(files[0])
        let stderrPath = dir.appendingPathComponent("serve.txt").path
        _ = FileManager.default.createFile(atPath: stderrPath, contents: nil)
        let p = Process()
        p.executableURL = CLITests.products.appendingPathComponent("callsift")
        p.arguments = ["serve", "--state", state, "--listen", ":0", "--every", "200ms"]
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: stderrPath))
        try p.run()
        defer { _ = FollowCLITests.stop(p) }
        var port = 0
        let started = Date()
        while port == 0 && Date().timeIntervalSince(started) < 60 {
            let said = (try? String(contentsOfFile: stderrPath, encoding: .utf8)) ?? ""
            if let r = said.range(of: "on http://127.0.0.1:") { port = Int(said[r.upperBound...].prefix { $0.isNumber }) ?? 0 }
            Thread.sleep(forTimeInterval: 0.05)
        }
        #expect(port > 0)
        func served() -> String? {
            (try? Data(contentsOf: URL(string: "http://127.0.0.1:\(port)/report.json")!)).map { String(decoding: $0, as: UTF8.self) }
        }
        func batch() throws -> String {
            let r = try CLITests.run(["analyze", "--state", state], env: [:])
            #expect(r.status == 0, "\(r.stderr)")
            return r.stdout
        }
        func waitFor(_ want: String) -> Bool {
            let deadline = Date().addingTimeInterval(30)
            while Date() < deadline {
                if served() == want { return true }
                Thread.sleep(forTimeInterval: 0.1)
            }
            return false
        }
        let first = try batch()
        #expect(waitFor(first), "\(served() ?? "nothing served")")
        try feed(files[1])
        let second = try batch()
        #expect(second != first)
        #expect(waitFor(second), "\(served() ?? "nothing served")")
    }

    @Test func aPortInUseStopsTheRunBeforeItStarts() throws {
        let dir = try AccreditCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let log = dir.appendingPathComponent("log.csv").path
        try Data("ts,centre,call,event,caller,service,outcome,reason\n".utf8).write(to: URL(fileURLWithPath: log))
        let (p, port, _) = try Self.follower(log: log, dir: dir)
        defer { _ = FollowCLITests.stop(p) }
        let r = try CLITests.run(["analyze", "--follow", "-o", dir.appendingPathComponent("second.json").path, "--serve", ":\(port)", log])
        #expect(r.status == 64)
        #expect(r.stderr.contains("already in use"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: dir.appendingPathComponent("second.json").path))
        let usage = try CLITests.run(["analyze", "--serve", ":8080", log])
        #expect(usage.status == 64 && usage.stderr.contains("--serve goes with --follow"))
    }
}

struct CLITestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
