import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// Faults while running (docs/reliability.md, "Faults"): the disk filling while a report,
/// a rejects file, a state or a follower's checkpoint is written; a report replaced while
/// `merge` reads it; a followed log whose disk goes away. Each run that fails says why and
/// exits 1, leaves what was there before as it was, and the next run after the fault is
/// gone gives what an uninterrupted run gives.
///
/// A full disk is a small filesystem of its own (tmpfs), filled up to a few bytes: that
/// needs `mount`, so root, as on CI. Without it these tests are skipped, and say so.
@Suite(.serialized) struct FaultCLITests {
    static let env = ["CALLSIFT_KEY": "fault-test-key"]

    /// A tmpfs of `kilobytes` mounted at a new folder, with a filler file to take its space.
    final class SmallDisk {
        let root: String
        private var filler: String { root + "/filler" }

        init(kilobytes: Int) throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-disk-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            guard Self.command("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", root]) == 0 else {
                try? FileManager.default.removeItem(atPath: root)
                throw CocoaError(.fileWriteNoPermission)
            }
        }

        deinit {
            _ = Self.command("/bin/umount", ["-l", root])
            try? FileManager.default.removeItem(atPath: root)
        }

        func path(_ name: String) -> String { root + "/" + name }

        /// Takes all the free space but `bytes` (rounded to the filesystem's pages).
        func fill(leaving bytes: Int) throws {
            free()
            var s = statvfs()
            guard statvfs(root, &s) == 0 else { throw CocoaError(.fileReadUnknown) }
            let available = Int(s.f_bavail) * Int(s.f_frsize)
            let fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
            defer { close(fd) }
            if available > bytes { #expect(posix_fallocate(fd, 0, off_t(available - bytes)) == 0) }
        }

        func free() { unlink(filler) }

        /// Unmounts the disk at once, as a disk that goes away (open files stay readable).
        func detach() { _ = Self.command("/bin/umount", ["-l", root]) }

        func attach(kilobytes: Int) {
            _ = Self.command("/bin/mount", ["-t", "tmpfs", "-o", "size=\(kilobytes)k", "tmpfs", root])
        }

        static func command(_ tool: String, _ args: [String]) -> Int32 {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = args
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            guard (try? p.run()) != nil else { return -1 }
            p.waitUntilExit()
            return p.terminationStatus
        }

        /// Whether a tmpfs can be mounted here.
        static let available: Bool = (try? SmallDisk(kilobytes: 64)) != nil
    }

    /// A generated day of calls at one centre, as CSV lines (the header first), each with
    /// its newline.
    static func sampleLines(in dir: URL) throws -> [String] {
        let path = dir.appendingPathComponent("sample.csv").path
        let g = try CLITests.run(["generate", "--seed", "5", "--calls", "300", "--centres", "1", "--days", "1", "-o", path])
        #expect(g.status == 0, "\(g.stderr)")
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map { $0 + "\n" }
    }

    /// `callsift` started with its standard error kept in a file, read as it goes.
    final class Follower {
        let process = Process()
        private let errPath = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-err-\(UUID().uuidString)").path

        init(_ args: [String], env: [String: String]) throws {
            process.executableURL = CLITests.products.appendingPathComponent("callsift")
            process.arguments = args
            process.currentDirectoryURL = CLITests.packageRoot
            var environment = ProcessInfo.processInfo.environment
            for (k, v) in env { environment[k] = v }
            process.environment = environment
            FileManager.default.createFile(atPath: errPath, contents: nil)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: errPath))
            try process.run()
        }

        deinit {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            unlink(errPath)
        }

        var stderrText: String { (try? String(contentsOfFile: errPath, encoding: .utf8)) ?? "" }

        func waitForExit(seconds: Double) throws -> Int32 {
            try FaultCLITests.waitFor(seconds: seconds) { !self.process.isRunning }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    struct Timeout: Error {}

    /// Waits until `condition` holds, checking every 50 ms, for at most `seconds`.
    static func waitFor(seconds: Double = 20, _ condition: () -> Bool) throws {
        let end = Date().addingTimeInterval(seconds)
        while !condition() {
            guard Date() < end else { throw Timeout() }
            usleep(50_000)
        }
    }

    /// `accounting.lines` of a JSON report.
    static func accountingLines(_ data: Data?) throws -> Int {
        guard let data, let json = try JSONSerialization.jsonObject(with: data) as? [String: Any],
            let accounting = json["accounting"] as? [String: Any], let lines = accounting["lines"] as? Int
        else { return -1 }
        return lines
    }

    static func bytes(_ path: String) -> Data? { FileManager.default.contents(atPath: path) }

    /// Files a failed write may leave behind: none.
    static func leftovers(_ folder: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter {
            $0.contains(".callsift-") || $0.hasSuffix(".tmp")
        }
    }

    /// `-o` and `--rejects` on a full disk: the run fails with the reason, the report is
    /// the previous one byte for byte, the rejects file is whole (the previous one, or
    /// this run's when it fitted before the report did not), nothing is left half written;
    /// with the space back, the same command writes what it writes elsewhere.
    @Test(.enabled(if: SmallDisk.available)) func aFullDiskKeepsThePreviousReport() throws {
        let disk = try SmallDisk(kilobytes: 2048)
        let report = disk.path("report.json"), rejects = disk.path("rejects.csv")
        let first = try CLITests.run(["analyze", "-o", report, "--rejects", rejects, "samples/dirty.csv.gz"], env: Self.env)
        #expect(first.status == 0, "\(first.stderr)")
        let oldReport = try #require(Self.bytes(report)), oldRejects = try #require(Self.bytes(rejects))
        let inputs = ["samples/dirty.csv.gz", "samples/calls.csv.zst", "samples/calls.ndjson.lz4"]
        let elsewhere = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: elsewhere) }
        let reference = try CLITests.run(
            ["analyze", "-o", elsewhere.path + "/report.json", "--rejects", elsewhere.path + "/rejects.csv"] + inputs, env: Self.env)
        #expect(reference.status == 0)
        let newReport = try #require(Self.bytes(elsewhere.path + "/report.json"))
        let newRejects = try #require(Self.bytes(elsewhere.path + "/rejects.csv"))
        #expect(newReport.count > 64 * 1024)
        for leave in [0, 8 * 1024, 64 * 1024] {
            try disk.fill(leaving: leave)
            let r = try CLITests.run(["analyze", "-o", report, "--rejects", rejects] + inputs, env: Self.env)
            #expect(r.status == 1)
            #expect(r.stderr.contains("No space left on device") && (r.stderr.contains(report) || r.stderr.contains(rejects)), "\(r.stderr)")
            #expect(Self.bytes(report) == oldReport, "left \(leave) bytes")
            let rejectsNow = Self.bytes(rejects)
            #expect(rejectsNow == oldRejects || rejectsNow == newRejects, "left \(leave) bytes")
            #expect(Self.leftovers(disk.root).isEmpty, "\(Self.leftovers(disk.root))")
        }
        disk.free()
        let again = try CLITests.run(["analyze", "-o", report, "--rejects", rejects] + inputs, env: Self.env)
        #expect(again.status == 0, "\(again.stderr)")
        #expect(Self.bytes(report) == newReport && Self.bytes(rejects) == newRejects)
    }

    /// A daily run whose state commit meets a full disk, at several points of the commit:
    /// it fails with the reason, the state reports exactly what it did before and holds
    /// no file of the failed run; with the space back, the day's run gives what runs that
    /// never met the fault give.
    @Test(.enabled(if: SmallDisk.available)) func aFullDiskDuringAStateCommit() throws {
        let disk = try SmallDisk(kilobytes: 8192)
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let days = try DurableStateCLITests.days(in: dir)
        let reference = dir.appendingPathComponent("reference").path
        let state = disk.path("state")
        func figures(_ text: String, _ folder: String) -> String { text.replacingOccurrences(of: folder, with: "STATE") }
        var expected: [String] = []
        for day in days.prefix(2) {
            let r = try CLITests.run(["analyze", "--state", reference, day], env: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            expected.append(figures(r.stdout, reference))
        }
        let first = try CLITests.run(["analyze", "--state", state, days[0]], env: Self.env)
        #expect(first.status == 0 && figures(first.stdout, state) == expected[0], "\(first.stderr)")
        var failures = 0
        for leave in [0, 4 * 1024, 16 * 1024, 32 * 1024, 48 * 1024, 64 * 1024] {
            try disk.fill(leaving: leave)
            let r = try CLITests.run(["analyze", "--state", state, days[1]], env: Self.env)
            disk.free()
            if r.status == 0 { break }  // it fitted: the day is in
            failures += 1
            #expect(r.status == 1)
            #expect(r.stderr.contains("No space left on device") && r.stderr.contains(state), "\(r.stderr)")
            let now = try CLITests.run(["analyze", "--state", state], env: Self.env)
            #expect(now.status == 0 && figures(now.stdout, state) == expected[0], "left \(leave) bytes: \(now.stderr)")
            #expect(Self.leftovers(state).isEmpty, "\(Self.leftovers(state))")
        }
        #expect(failures >= 3)
        let again = try CLITests.run(["analyze", "--state", state, days[1]], env: Self.env)
        let final = try CLITests.run(["analyze", "--state", state], env: Self.env)
        #expect(again.status == 0 || again.stderr.contains("already"), "\(again.stderr)")
        #expect(figures(final.stdout, state) == expected[1])
    }

    /// A follower whose checkpoint meets a full disk stops with the reason and exit 1,
    /// its report as the last emit left it; started again with the space back, it goes on
    /// from the checkpoint before and ends where an uninterrupted follower ends.
    @Test(.enabled(if: SmallDisk.available)) func aFullDiskDuringACheckpoint() throws {
        let disk = try SmallDisk(kilobytes: 4096)
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = try Self.sampleLines(in: dir)
        let log = dir.appendingPathComponent("live.csv").path
        let out = dir.appendingPathComponent("live.json").path
        try (lines[0] + lines[1..<150].joined()).write(toFile: log, atomically: false, encoding: .utf8)
        let state = disk.path("state")
        let follow = ["analyze", "--follow", "--state", state, "--emit-every", "200ms", "--checkpoint-every", "300ms", "-o", out, log]
        let p = try Follower(follow, env: Self.env)
        try Self.waitFor { Self.bytes(out) != nil }
        try disk.fill(leaving: 0)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        h.seekToEndOfFile()
        h.write(Data(lines[150..<300].joined().utf8))
        try h.close()
        let status = try p.waitForExit(seconds: 20)
        #expect(status == 1)
        #expect(p.stderrText.contains("No space left on device") && p.stderrText.contains(state), "\(p.stderrText)")
        #expect(Self.leftovers(state).isEmpty, "\(Self.leftovers(state))")
        disk.free()
        let again = try Follower(follow, env: Self.env)
        try Self.waitFor { again.stderrText.contains("continuing from the checkpoint") }
        usleep(600_000)
        kill(again.process.processIdentifier, SIGTERM)
        #expect(try again.waitForExit(seconds: 20) == 0, "\(again.stderrText)")
        let interrupted = try #require(Self.bytes(out))
        let refState = dir.appendingPathComponent("ref-state").path
        let refOut = dir.appendingPathComponent("ref.json").path
        let ref = try Follower(
            ["analyze", "--follow", "--state", refState, "--emit-every", "200ms", "-o", refOut, log], env: Self.env)
        try Self.waitFor { Self.bytes(refOut) != nil }
        usleep(600_000)
        kill(ref.process.processIdentifier, SIGTERM)
        #expect(try ref.waitForExit(seconds: 20) == 0)
        let a = String(decoding: interrupted, as: UTF8.self).replacingOccurrences(of: state, with: "STATE")
        let b = String(decoding: try #require(Self.bytes(refOut)), as: UTF8.self).replacingOccurrences(of: refState, with: "STATE")
        #expect(a == b)
    }

    /// The disk of a followed log goes away: the follower says so once, keeps its last
    /// report, reads on from the file it has open, and takes up the name when a disk with
    /// the file is back.
    @Test(.enabled(if: SmallDisk.available)) func aFollowedLogWhoseDiskGoesAway() throws {
        let disk = try SmallDisk(kilobytes: 1024)
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let lines = try Self.sampleLines(in: dir)
        let log = disk.path("live.csv")
        let out = dir.appendingPathComponent("live.json").path
        try (lines[0] + lines[1..<100].joined()).write(toFile: log, atomically: false, encoding: .utf8)
        let p = try Follower(["analyze", "--follow", "--emit-every", "200ms", "-o", out, log], env: Self.env)
        try Self.waitFor { Self.bytes(out) != nil }
        let before = try #require(Self.bytes(out))
        disk.detach()
        try Self.waitFor { p.stderrText.contains("cannot be found now") }
        #expect(p.process.isRunning && Self.bytes(out) == before)
        disk.attach(kilobytes: 1024)
        try (lines[0] + lines[100..<160].joined()).write(toFile: log, atomically: false, encoding: .utf8)
        try Self.waitFor { p.stderrText.contains("is there again") }
        try Self.waitFor { (try? Self.accountingLines(Self.bytes(out))) == 99 + 60 }
        kill(p.process.processIdentifier, SIGTERM)
        #expect(try p.waitForExit(seconds: 20) == 0)
        #expect(p.stderrText.components(separatedBy: "cannot be found now").count == 2, "said once: \(p.stderrText)")
    }

    /// `merge` reading reports while another process replaces one of them again and again
    /// (atomically, as callsift writes them): every merge gives the merge of the old file
    /// or of the new one, never a mix and never an error; and `merge -o` over one of its
    /// own inputs writes the merge of what that input held.
    @Test func aReportReplacedUnderMerge() throws {
        let dir = try DurableStateCLITests.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        func analyze(_ input: String, _ name: String) throws -> String {
            let path = dir.appendingPathComponent(name).path
            let r = try CLITests.run(["analyze", "--centre", "C1", "-o", path, input], env: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            return path
        }
        let a = try analyze("samples/calls.csv.zst", "a.json")
        let b1 = try analyze("samples/queue_log", "b1.json")
        let b2 = try analyze("samples/ctr.ndjson", "b2.json")
        let b = dir.appendingPathComponent("b.json").path
        try FileManager.default.copyItem(atPath: b1, toPath: b)
        let withB1 = try CLITests.run(["merge", a, b1], env: Self.env).stdout
        let withB2 = try CLITests.run(["merge", a, b2], env: Self.env).stdout
        #expect(!withB1.isEmpty && !withB2.isEmpty && withB1 != withB2)
        let stop = Locked(false)
        let replacer = Thread {
            var n = 0
            while !stop.value {
                let source = n % 2 == 0 ? b2 : b1
                let tmp = b + ".next"
                try? FileManager.default.removeItem(atPath: tmp)
                try? FileManager.default.copyItem(atPath: source, toPath: tmp)
                rename(tmp, b)
                n += 1
            }
        }
        replacer.start()
        var seen = Set<String>()
        for _ in 0..<20 {
            let r = try CLITests.run(["merge", a, b], env: Self.env)
            #expect(r.status == 0, "\(r.stderr)")
            let shown = r.stdout.replacingOccurrences(of: b, with: "B")
            #expect(shown == withB1.replacingOccurrences(of: b1, with: "B") || shown == withB2.replacingOccurrences(of: b2, with: "B"))
            seen.insert(shown)
        }
        stop.value = true
        while replacer.isExecuting { usleep(1000) }
        // Over one of its inputs.
        let copy = dir.appendingPathComponent("a-copy.json").path
        try FileManager.default.copyItem(atPath: a, toPath: copy)
        let expected = try CLITests.run(["merge", copy, b1], env: Self.env).stdout.replacingOccurrences(of: copy, with: "A")
        let over = try CLITests.run(["merge", "-o", a, a, b1], env: Self.env)
        #expect(over.status == 0, "\(over.stderr)")
        let written = String(decoding: try #require(Self.bytes(a)), as: UTF8.self).replacingOccurrences(of: a, with: "A")
        #expect(written == expected)
    }

    /// A flag shared between the test and its replacing thread.
    final class Locked<T>: @unchecked Sendable {
        private let lock = NSLock()
        private var stored: T
        init(_ value: T) { stored = value }
        var value: T {
            get { lock.withLock { stored } }
            set { lock.withLock { stored = newValue } }
        }
    }
}
