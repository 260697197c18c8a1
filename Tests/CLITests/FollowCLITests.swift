import Foundation
import Testing

/// `analyze --follow` as a process: a log grown in bursts while a reader keeps parsing the
/// report, killed and restarted, rotated, compressed, fed on standard input, stopped with
/// SIGTERM. Each ends with the figures of one batch run over the same bytes.
@Suite(.serialized) struct FollowCLITests {
    static let env = ["CALLSIFT_KEY": "follow-test-key"]

    /// A dirty CSV log (bad lines, duplicates, late events, ...) cut into bursts of whole
    /// lines; the first burst starts with the header.
    static func bursts(in dir: URL, count: Int, calls: Int = 3000) throws -> (all: String, bursts: [Data]) {
        let all = dir.appendingPathComponent("all.csv").path
        let g = try CLITests.run(["generate", "--seed", "5", "--calls", "\(calls)", "--centres", "2", "--days", "3", "--dirty", "-o", all])
        #expect(g.status == 0, "\(g.stderr)")
        let lines = try Data(contentsOf: URL(fileURLWithPath: all)).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let body = lines.last?.isEmpty == true ? lines.dropLast() : lines[...]
        var out: [Data] = []
        let per = (body.count + count - 1) / count
        var i = body.startIndex
        while i < body.endIndex {
            let j = min(i + per, body.endIndex)
            var d = Data()
            for line in body[i..<j] { d.append(contentsOf: line); d.append(UInt8(ascii: "\n")) }
            out.append(d)
            i = j
        }
        return (all, out)
    }

    static func append(_ data: Data, to path: String) throws {
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.seekToEnd()
        try h.write(contentsOf: data)
        try h.close()
    }

    /// The parts of a JSON report that must equal a batch run's: rows without `final`,
    /// accounting and horizon.
    static func figures(_ json: Data) throws -> NSDictionary {
        let o = try #require(try JSONSerialization.jsonObject(with: json) as? [String: Any])
        let rows = (o["rows"] as? [[String: Any]] ?? []).map { r in r.filter { $0.key != "final" } }
        return ["rows": rows, "accounting": o["accounting"] ?? NSNull(), "horizon": o["horizon"] ?? NSNull()] as NSDictionary
    }

    static func batch(_ inputs: [String]) throws -> NSDictionary {
        let r = try CLITests.run(["analyze"] + inputs, env: env)
        #expect(r.status == 0, "\(r.stderr)")
        return try figures(Data(r.stdout.utf8))
    }

    static func stop(_ p: Process) -> Int32 {
        kill(p.processIdentifier, SIGTERM)
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// A writer process appends bursts while a reader loops on the report: every read parses, the
    /// report catches up while the follower runs, and SIGTERM exits 0 with the
    /// figures of a batch run over the whole file. A Prometheus file is kept beside it.
    @Test func burstsWhileAReaderParses() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (all, bursts) = try Self.bursts(in: dir, count: 8)
        let live = dir.appendingPathComponent("live.csv").path
        let report = dir.appendingPathComponent("report.json").path
        let metrics = dir.appendingPathComponent("callsift.prom").path
        try Self.append(bursts[0], to: live)
        let p = try DurableStateCLITests.start(
            [
                "analyze", "--follow", "--emit-every", "300ms", "--metrics-file", metrics,
                "-o", report, live,
            ], env: Self.env)
        let reading = ReaderTally()
        let reader = Thread {
            while !reading.isDone {
                if let d = FileManager.default.contents(atPath: report) {
                    do { _ = try JSONSerialization.jsonObject(with: d); reading.parsed() } catch { reading.failed("\(error)") }
                }
            }
        }
        reader.start()
        // The writer: a process of its own appending the other bursts, a quarter of a second apart.
        for (i, b) in bursts.enumerated().dropFirst() { try b.write(to: dir.appendingPathComponent("burst-\(i)")) }
        let writer = Process()
        writer.executableURL = URL(fileURLWithPath: "/bin/sh")
        writer.arguments = ["-c", "for f in burst-*; do sleep 0.25; cat \"$f\" >> live.csv; done"]
        writer.currentDirectoryURL = dir
        try writer.run()
        writer.waitUntilExit()
        #expect(writer.terminationStatus == 0)
        // While the follower still runs, the report comes to hold every line. How soon is a
        // performance figure (scripts/follow-growth.py measures it; alone it is well under a
        // second): here the deadline only keeps a broken follower from hanging the suite,
        // since in CI every suite runs at once on two cores and one run missed 3.3 s.
        let expected = try Self.batch([all])
        let deadline = Date().addingTimeInterval(60)
        var caughtUp = false
        while Date() < deadline && !caughtUp {
            if let d = FileManager.default.contents(atPath: report), let f = try? Self.figures(d), f == expected { caughtUp = true }
            usleep(20_000)
        }
        #expect(caughtUp, "the report did not show the last burst while the follower ran")
        #expect(Self.stop(p) == 0)
        reading.finish()
        while !reader.isFinished { usleep(10_000) }
        #expect(reading.failures.isEmpty, "\(reading.failures.prefix(3))")
        #expect(reading.parses > 10)
        #expect(try Self.figures(Data(contentsOf: URL(fileURLWithPath: report))) == expected)
        let prom = try String(contentsOfFile: metrics, encoding: .utf8)
        #expect(prom.contains("# TYPE callsift_contacts gauge") && prom.contains("callsift_avoidable_rate{centre=\"C01\",service="))
        let o = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: report))) as! [String: Any]
        #expect((o["rows"] as! [[String: Any]]).allSatisfy { $0["final"] is Bool })
    }

    /// With --state, a follower killed with SIGKILL at random moments and started again
    /// with the same command ends with the figures of a batch run: nothing counted twice,
    /// nothing lost. A rotation on the way (the file renamed, a new one begun) is finished
    /// into the state, also when it happens while nothing follows.
    @Test func killedAndRotatedFollowerEqualsABatchRun() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (_, bursts) = try Self.bursts(in: dir, count: 10)
        let header = Data(bursts[0].prefix { $0 != UInt8(ascii: "\n") }) + Data([UInt8(ascii: "\n")])
        let live = dir.appendingPathComponent("live.csv").path
        let report = dir.appendingPathComponent("report.json").path
        let state = dir.appendingPathComponent("state").path
        let args = ["analyze", "--follow", "--state", state, "--emit-every", "200ms", "--checkpoint-every", "300ms", "-o", report, live]
        var files = [live + ".1", live + ".2", live]
        var written = 0
        var p = try DurableStateCLITests.start(args, env: Self.env)
        var startedAt = Date()
        /// Waits until the follower started last has checkpointed the file it follows: a
        /// rotation before that is one before it ever followed, which no checkpoint can
        /// know of (a slow build, under ThreadSanitizer, takes seconds to get there).
        func waitForCheckpoint() throws {
            let follow = state + "/FOLLOW"
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if let m = try? FileManager.default.attributesOfItem(atPath: follow)[.modificationDate] as? Date,
                    m >= startedAt.addingTimeInterval(-0.01)
                {
                    return
                }
                usleep(20_000)
            }
            Issue.record("no checkpoint within 60 s of the follower's start")
        }
        var rng = SystemRandomNumberGenerator()
        for (i, b) in bursts.enumerated() {
            if i == 4 || i == 7 {
                // Rotate: to .1 while following; to .2 while nothing follows.
                try waitForCheckpoint()
                if i == 7 {
                    kill(p.processIdentifier, SIGKILL)
                    p.waitUntilExit()
                }
                try FileManager.default.moveItem(atPath: live, toPath: i == 4 ? files[0] : files[1])
                try Self.append(header, to: live)
                if i == 7 {
                    p = try DurableStateCLITests.start(args, env: Self.env)
                    startedAt = Date()
                }
            }
            try Self.append(b, to: live)
            written += 1
            usleep(UInt32.random(in: 100_000..<400_000, using: &rng))
            if i % 3 == 1 {
                kill(p.processIdentifier, SIGKILL)
                p.waitUntilExit()
                p = try DurableStateCLITests.start(args, env: Self.env)
                startedAt = Date()
            }
        }
        usleep(800_000)
        #expect(Self.stop(p) == 0)
        files = files.filter { FileManager.default.fileExists(atPath: $0) }
        #expect(files.count == 3)
        #expect(try Self.figures(Data(contentsOf: URL(fileURLWithPath: report))) == (try Self.batch(files)))
        // The state goes on as any state. It holds the file followed up to its last
        // checkpoint; rotated away while nothing follows, that file is finished by the next
        // follower, and a report on the state alone then shows the three files.
        let rotated = live + ".3"
        try FileManager.default.moveItem(atPath: live, toPath: rotated)
        _ = FileManager.default.createFile(atPath: live, contents: nil)
        p = try DurableStateCLITests.start(args, env: Self.env)
        let all = try Self.batch(Array(files.prefix(2)) + [rotated])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? Self.figures(Data(contentsOf: URL(fileURLWithPath: report)))) != all { usleep(50_000) }
        #expect(Self.stop(p) == 0)
        let r = try CLITests.run(["analyze", "--state", state], env: Self.env)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try Self.figures(Data(r.stdout.utf8)) == all)
    }

    /// `d` as one gzip member.
    static func gzip(_ d: Data) throws -> Data {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", "gzip -c"]
        let i = Pipe(), o = Pipe()
        p.standardInput = i
        p.standardOutput = o
        try p.run()
        let w = Thread {
            i.fileHandleForWriting.write(d); try? i.fileHandleForWriting.close()
        }
        w.start()
        let out = o.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return out
    }

    /// Appended gzip members, the last one still being written, are followed; a zstd file
    /// after a rotation too.
    @Test func compressedInput() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (all, bursts) = try Self.bursts(in: dir, count: 4)
        let live = dir.appendingPathComponent("live.gz").path
        let report = dir.appendingPathComponent("report.json").path
        let members = try bursts.map(Self.gzip)
        try Self.append(members[0], to: live)
        let p = try DurableStateCLITests.start(["analyze", "--follow", "--emit-every", "200ms", "-o", report, live], env: Self.env)
        for m in members.dropFirst() {
            usleep(200_000)
            // Half a member, then the rest: the follower waits for the frame to end.
            try Self.append(m.prefix(m.count / 2), to: live)
            usleep(300_000)
            try Self.append(m.suffix(from: m.count / 2), to: live)
        }
        usleep(800_000)
        #expect(Self.stop(p) == 0)
        #expect(try Self.figures(Data(contentsOf: URL(fileURLWithPath: report))) == (try Self.batch([all])))
    }

    /// With --state the file read so far is written into the state as the follower goes
    /// (--checkpoint-every), so that a restart after SIGKILL reads on from where the
    /// state stands, not from the file's start: it says from which byte, and ends with the
    /// figures of a batch run, and a rejects file holding each rejected line once, as the
    /// batch run's does (the record still open at the end aside): cut back to its size at
    /// the checkpoint first.
    @Test func restartReadsOnFromTheCheckpoint() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (all, bursts) = try Self.bursts(in: dir, count: 6)
        let live = dir.appendingPathComponent("live.csv").path
        let report = dir.appendingPathComponent("report.json").path
        let rejects = dir.appendingPathComponent("rejects.txt").path
        let state = dir.appendingPathComponent("state").path
        let args = [
            "analyze", "--follow", "--state", state, "--emit-every", "200ms", "--checkpoint-every", "200ms",
            "--rejects", rejects, "-o", report, live,
        ]
        func start(_ log: String) throws -> Process {
            let p = Process()
            p.executableURL = CLITests.products.appendingPathComponent("callsift")
            p.arguments = args
            p.environment = ProcessInfo.processInfo.environment.merging(Self.env) { $1 }
            p.standardOutput = FileHandle.nullDevice
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            try p.run()
            return p
        }
        /// Waits until the follower has written the file's first lines into the state (its
        /// first commit makes the manifest).
        func waitForState() {
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline && !FileManager.default.fileExists(atPath: state + "/MANIFEST") { usleep(20_000) }
            #expect(FileManager.default.fileExists(atPath: state + "/MANIFEST"), "no checkpoint within 60 s")
        }
        for b in bursts.prefix(3) { try Self.append(b, to: live) }
        var p = try start(dir.appendingPathComponent("first.log").path)
        waitForState()
        usleep(300_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        // A daily run may not feed the file the state holds part of.
        let daily = try CLITests.run(["analyze", "--state", state, live], env: Self.env)
        #expect(daily.status == 64 && daily.stderr.contains("would be counted twice"), "\(daily.stderr)")
        // What a follower killed after its checkpoint had written of lines it read after
        // it: cut back on the restart, which reads those lines again.
        try Self.append(Data("999999\tlate\tread after the checkpoint\n".utf8), to: rejects)
        for b in bursts.dropFirst(3) { try Self.append(b, to: live) }
        let second = dir.appendingPathComponent("second.log").path
        p = try start(second)
        let expected = try Self.batch([all])
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? Self.figures(Data(contentsOf: URL(fileURLWithPath: report)))) != expected { usleep(50_000) }
        #expect(Self.stop(p) == 0)
        #expect(try Self.figures(Data(contentsOf: URL(fileURLWithPath: report))) == expected)
        let said = try String(contentsOfFile: second, encoding: .utf8)
        let from = said.range(of: "from byte ").map { Int(said[$0.upperBound...].prefix { $0.isNumber }) ?? 0 } ?? 0
        #expect(from > 0, "\(said)")
        // The rejects file: each line once, as the batch run writes them.
        let batchRejects = dir.appendingPathComponent("batch-rejects.txt").path
        #expect(try CLITests.run(["analyze", "--rejects", batchRejects, all], env: Self.env).status == 0)
        func numbers(_ path: String) throws -> [Int] {
            // Raw lines, invalid UTF-8 and all: only each line's number is read.
            try Data(contentsOf: URL(fileURLWithPath: path)).split(separator: UInt8(ascii: "\n")).compactMap {
                Int(String(decoding: $0.prefix { $0 != UInt8(ascii: "\t") }, as: UTF8.self))
            }
        }
        let mine = try numbers(rejects), theirs = try numbers(batchRejects)
        #expect(Set(mine).count == mine.count, "a rejected line written twice")
        #expect(mine.count > 20 && mine.count >= theirs.count - 1 && Set(mine).isSubset(of: Set(theirs)), "\(mine.count) against \(theirs.count)")
    }

    /// A compressed log is checkpointed at the end of a frame (here a gzip member; a frame
    /// cannot be entered in the middle), never inside one, and a restart after SIGKILL
    /// reads it on from there: from the same file, or, when it was rotated while nothing
    /// followed it, from the old file found by its inode and then the new one. The figures
    /// end as a batch run's over the same files.
    @Test(arguments: [false, true])
    func compressedRestartReadsOnFromAFrameEnd(rotated: Bool) throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (all, bursts) = try Self.bursts(in: dir, count: 6)
        let members = try bursts.map(Self.gzip)
        let live = dir.appendingPathComponent("live.gz").path
        let report = dir.appendingPathComponent("report.json").path
        let state = dir.appendingPathComponent("state").path
        let args = [
            "analyze", "--follow", "--state", state, "--emit-every", "200ms", "--checkpoint-every", "200ms", "-o", report,
            live,
        ]
        for m in members.prefix(3) { try Self.append(m, to: live) }
        var p = try DurableStateCLITests.start(args, env: Self.env)
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !FileManager.default.fileExists(atPath: state + "/MANIFEST") { usleep(20_000) }
        #expect(FileManager.default.fileExists(atPath: state + "/MANIFEST"), "no checkpoint within 60 s")
        // Half a member: its lines are read, but no checkpoint can stand among them.
        try Self.append(members[3].prefix(members[3].count / 2), to: live)
        usleep(600_000)
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        try Self.append(members[3].suffix(from: members[3].count / 2), to: live)
        let expected: NSDictionary
        if rotated {
            let old = live + ".1"
            try FileManager.default.moveItem(atPath: live, toPath: old)
            let header = Data(bursts[0].prefix { $0 != UInt8(ascii: "\n") }) + Data([UInt8(ascii: "\n")])
            try Self.append(try Self.gzip(header + bursts[4] + bursts[5]), to: live)
            let plainOld = dir.appendingPathComponent("old.csv").path, plainNew = dir.appendingPathComponent("new.csv").path
            try (bursts[0] + bursts[1] + bursts[2] + bursts[3]).write(to: URL(fileURLWithPath: plainOld))
            try (header + bursts[4] + bursts[5]).write(to: URL(fileURLWithPath: plainNew))
            expected = try Self.batch([plainOld, plainNew])
        } else {
            for m in members.suffix(2) { try Self.append(m, to: live) }
            expected = try Self.batch([all])
        }
        let second = dir.appendingPathComponent("second.log").path
        _ = FileManager.default.createFile(atPath: second, contents: nil)
        p = Process()
        p.executableURL = CLITests.products.appendingPathComponent("callsift")
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(Self.env) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: second))
        try p.run()
        let until = Date().addingTimeInterval(60)
        while Date() < until, (try? Self.figures(Data(contentsOf: URL(fileURLWithPath: report)))) != expected { usleep(50_000) }
        #expect(Self.stop(p) == 0)
        #expect(try Self.figures(Data(contentsOf: URL(fileURLWithPath: report))) == expected)
        let said = try String(contentsOfFile: second, encoding: .utf8)
        let from = said.range(of: "from byte ").map { Int(said[$0.upperBound...].prefix { $0.isNumber }) ?? 0 } ?? 0
        let memberEnds = (1...3).map { members.prefix($0).reduce(0) { $0 + $1.count } }
        #expect(memberEnds.contains(from), "\(said)")
        if rotated {
            // The old file is in the state fingerprinted by all its bytes as stored, as a
            // daily run given it would fingerprint it.
            func contents(_ json: String) throws -> [String] {
                let o = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
                let files = (o["config"] as? [String: Any])?["input_files"] as? [[String: Any]] ?? []
                return files.compactMap { $0["content"] as? String }
            }
            let fed = try contents(try String(contentsOfFile: report, encoding: .utf8))
            let whole = try contents(try CLITests.run(["analyze", live + ".1"], env: Self.env).stdout)
            #expect(whole.count == 1 && fed.first == whole.first, "\(fed) against \(whole)")
        }
    }

    /// A queue_log rotated in the middle of a call (a caller who timed out of one queue, and
    /// joins another after the rotation) is one call: the adapter, with the calls it holds,
    /// goes on in the state from the rotated file into the new one, and the figures end as
    /// a batch run's over the log in one file.
    @Test func queueLogRotatedMidCallIsOneCall() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let sample = try String(contentsOfFile: CLITests.packageRoot.appendingPathComponent("samples/queue_log").path, encoding: .utf8)
        let lines = sample.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        let cut = try #require(lines.firstIndex { $0.contains("EXITWITHTIMEOUT") }) + 1
        let live = dir.appendingPathComponent("queue_log").path
        let report = dir.appendingPathComponent("report.json").path
        let state = dir.appendingPathComponent("state").path
        try Self.append(Data((lines[..<cut].joined(separator: "\n") + "\n").utf8), to: live)
        let p = try DurableStateCLITests.start(
            ["analyze", "--follow", "--centre", "leeds", "--state", state, "--emit-every", "200ms", "-o", report, live], env: Self.env)
        var deadline = Date().addingTimeInterval(60)
        while Date() < deadline && !FileManager.default.fileExists(atPath: report) { usleep(50_000) }
        usleep(400_000)
        try FileManager.default.moveItem(atPath: live, toPath: live + ".1")
        try Self.append(Data((lines[cut...].joined(separator: "\n") + "\n").utf8), to: live)
        let b = try CLITests.run(["analyze", "--centre", "leeds", "samples/queue_log"], env: Self.env)
        #expect(b.status == 0, "\(b.stderr)")
        let expected = try Self.figures(Data(b.stdout.utf8))
        deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? Self.figures(Data(contentsOf: URL(fileURLWithPath: report)))) != expected { usleep(50_000) }
        #expect(Self.stop(p) == 0)
        let got = try Data(contentsOf: URL(fileURLWithPath: report))
        #expect(try Self.figures(got) == expected)
        let accounting = (try JSONSerialization.jsonObject(with: got) as? [String: Any])?["accounting"] as? [String: Any]
        let calls = try #require(accounting?["calls"] as? [String: Any])
        #expect(calls["conflicting"] as? Int == 0 && calls["contacts"] as? Int == 7, "\(calls)")
    }

    /// A file rewritten in place while nothing followed it (copied and truncated, then
    /// written again: the same inode) no longer holds the bytes the checkpoint saw before
    /// its point: the restart says so, keeps what the state holds of the old file as the
    /// whole of it, and follows the new content from its start, as daily runs over the two
    /// would count them.
    @Test func aFileRewrittenInPlaceIsNotReadOnFromTheCheckpoint() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (_, bursts) = try Self.bursts(in: dir, count: 6)
        let header = Data(bursts[0].prefix { $0 != UInt8(ascii: "\n") }) + Data([UInt8(ascii: "\n")])
        let old = dir.appendingPathComponent("old.csv").path, new = dir.appendingPathComponent("new.csv").path
        try (bursts[0] + bursts[1] + bursts[2]).write(to: URL(fileURLWithPath: old))
        try (header + bursts[3] + bursts[4] + bursts[5]).write(to: URL(fileURLWithPath: new))
        let live = dir.appendingPathComponent("live.csv").path
        let report = dir.appendingPathComponent("report.json").path
        let state = dir.appendingPathComponent("state").path
        let args = ["analyze", "--follow", "--state", state, "--emit-every", "200ms", "-o", report, live]
        try FileManager.default.copyItem(atPath: old, toPath: live)
        var p = try DurableStateCLITests.start(args, env: Self.env)
        let first = try Self.batch([old])
        var deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? Self.figures(Data(contentsOf: URL(fileURLWithPath: report)))) != first { usleep(50_000) }
        #expect(Self.stop(p) == 0)  // checkpointed at the stop, at the end of the old content
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: live))
        try h.truncate(atOffset: 0)
        try h.write(contentsOf: try Data(contentsOf: URL(fileURLWithPath: new)))
        try h.close()
        p = try DurableStateCLITests.start(args, env: Self.env)
        let both = try Self.batch([old, new])
        deadline = Date().addingTimeInterval(60)
        while Date() < deadline, (try? Self.figures(Data(contentsOf: URL(fileURLWithPath: report)))) != both { usleep(50_000) }
        #expect(Self.stop(p) == 0)
        #expect(try Self.figures(Data(contentsOf: URL(fileURLWithPath: report))) == both)
    }

    /// Standard input is followed to its end, and the run then ends by itself.
    @Test func standardInput() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let (all, bursts) = try Self.bursts(in: dir, count: 5)
        let report = dir.appendingPathComponent("report.csv").path
        let p = Process()
        p.executableURL = CLITests.products.appendingPathComponent("callsift")
        p.arguments = ["analyze", "--follow", "--emit", "csv", "--emit-every", "200ms", "-o", report, "-"]
        p.environment = ProcessInfo.processInfo.environment.merging(Self.env) { $1 }
        let input = Pipe()
        p.standardInput = input
        p.standardError = FileHandle.nullDevice
        try p.run()
        for b in bursts {
            input.fileHandleForWriting.write(b)
            usleep(150_000)
        }
        try input.fileHandleForWriting.close()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let csv = try String(contentsOfFile: report, encoding: .utf8)
        let b = try CLITests.run(["analyze", "--emit", "csv", all], env: Self.env)
        // The same rows, each with a final column at the end.
        let mine = csv.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).dropLast().joined(separator: ",") }
        #expect(mine == b.stdout.split(separator: "\n").map(String.init))
        #expect(csv.hasPrefix(b.stdout.prefix { $0 != "\n" } + ",final\n"))
    }

    @Test func usageErrors() throws {
        let r1 = try CLITests.run(["analyze", "--follow", "samples/calls.csv.zst"], env: Self.env)
        #expect(r1.status == 64 && r1.stderr.contains("--follow needs -o FILE"))
        let r2 = try CLITests.run(["analyze", "--follow", "-o", "/tmp/x.json", "samples/calls.csv.zst", "samples/calls.ndjson.lz4"], env: Self.env)
        #expect(r2.status == 64 && r2.stderr.contains("follows one input"))
        let r3 = try CLITests.run(["analyze", "--metrics-file", "/tmp/x.prom", "samples/calls.csv.zst"], env: Self.env)
        #expect(r3.status == 64 && r3.stderr.contains("--metrics-file goes with --follow"))
        let r4 = try CLITests.run(["analyze", "--checkpoint-every", "1s", "samples/calls.csv.zst"], env: Self.env)
        #expect(r4.status == 64 && r4.stderr.contains("--checkpoint-every goes with --follow and --state"))
        let r5 = try CLITests.run(["analyze", "--follow", "--checkpoint-every", "1s", "-o", "/tmp/x.json", "samples/calls.csv.zst"], env: Self.env)
        #expect(r5.status == 64 && r5.stderr.contains("--checkpoint-every goes with --state"))
    }
}

/// What the reader thread saw: reports parsed, and failures to parse.
final class ReaderTally: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    private var count = 0
    private var problems: [String] = []
    var isDone: Bool { lock.withLock { done } }
    var parses: Int { lock.withLock { count } }
    var failures: [String] { lock.withLock { problems } }
    func parsed() { lock.withLock { count += 1 } }
    func failed(_ why: String) { lock.withLock { problems.append(why) } }
    func finish() { lock.withLock { done = true } }
}
