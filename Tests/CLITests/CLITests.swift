import Foundation
import Testing

/// Runs the built `callsift` executable the way a user would and compares whole outputs.
@Suite struct CLITests {
    /// The folder holding the built products (the test bundle sits beside the executable).
    static let products: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 where !FileManager.default.fileExists(atPath: url.appendingPathComponent("callsift").path) {
            url = url.deletingLastPathComponent()
        }
        return url
    }()

    static let packageRoot: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ args: [String], stdin: Data? = nil, env: [String: String] = ["CALLSIFT_KEY": "test-key"]) throws -> Result {
        let p = Process()
        p.executableURL = products.appendingPathComponent("callsift")
        p.arguments = args
        p.currentDirectoryURL = packageRoot
        var environment = ProcessInfo.processInfo.environment
        environment["CALLSIFT_KEY"] = nil
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe(), err = Pipe(), inp = Pipe()
        p.standardOutput = out
        p.standardError = err
        p.standardInput = inp
        try p.run()
        if let stdin { inp.fileHandleForWriting.write(stdin) }
        try inp.fileHandleForWriting.close()
        // Read both pipes to the end before waiting, so a large output cannot block the child.
        let errReader = PipeReader(err.fileHandleForReading)
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        let errData = errReader.wait()
        p.waitUntilExit()
        return Result(
            status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self))
    }

    @Test func helpIsThere() throws {
        let r = try Self.run(["analyze", "--help"])
        #expect(r.status == 0)
        #expect(r.stdout.contains("--repeat-window"))
        #expect(r.stdout.contains("--scope"))
    }

    @Test func badFlagsNameTheFlag() throws {
        let r = try Self.run(["analyze", "--repeat-window", "0s", "samples/calls.csv.zst"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("--repeat-window must be positive"))
        let tz = try Self.run(["analyze", "--tz", "Mars/Olympus", "samples/calls.csv.zst"])
        #expect(tz.status == 64)
        #expect(tz.stderr.contains("Mars/Olympus"))
    }

    @Test func noKeyGivesANote() throws {
        let r = try Self.run(["analyze", "-"], stdin: Data(), env: [:])
        #expect(r.status == 0)
        #expect(r.stderr.contains("random key"))
    }
}

/// Reads a pipe to its end on another thread, so that a child process writing to two pipes
/// cannot block on the one nobody is reading; `wait()` returns what was read.
final class PipeReader: @unchecked Sendable {
    private let done = DispatchGroup()
    /// Written only by the reading thread, before it leaves `done`; read only after `done.wait()`.
    private var data = Data()

    init(_ handle: FileHandle) {
        done.enter()
        DispatchQueue.global().async {
            self.data = handle.readDataToEndOfFile()
            self.done.leave()
        }
    }

    func wait() -> Data {
        done.wait()
        return data
    }
}

/// The bundled samples, compared whole with the outputs committed in samples/expected/.
@Suite struct SampleTests {
    static func expected(_ name: String) throws -> String {
        try String(contentsOf: CLITests.packageRoot.appendingPathComponent("samples/expected/\(name)"), encoding: .utf8)
    }

    /// The report without its `config.input_files` block, which names each file read and
    /// its content: the same figures from other bytes or another name differ only there.
    static func withoutInputFiles(_ json: String) -> String {
        json.replacingOccurrences(of: #"\n    "input_files": \[\n(      \{[^\n]*\n)*    \],"#, with: "", options: .regularExpression)
    }

    @Test func csvSampleMatchesExpectedOutput() throws {
        let r = try CLITests.run(["analyze", "--tz", "Europe/London", "--period", "week", "samples/calls.csv.zst"])
        #expect(r.status == 0)
        #expect(r.stdout == (try Self.expected("calls.json")))
    }

    @Test func ndjsonLZ4SampleGivesTheSameFigures() throws {
        let r = try CLITests.run(["analyze", "--tz", "Europe/London", "--period", "week", "samples/calls.ndjson.lz4"])
        #expect(r.status == 0)
        let expected = Self.withoutInputFiles(try Self.expected("calls.json"))
            .replacingOccurrences(of: "\"inputs\": [\"samples/calls.csv.zst\"]", with: "\"inputs\": [\"samples/calls.ndjson.lz4\"]")
        #expect(Self.withoutInputFiles(r.stdout) == expected)
        #expect(r.stdout.contains("\"input_files\": [\n      {\"file\": \"samples/calls.ndjson.lz4\", \"content\": \""))
    }

    @Test func standardInputGivesTheSameFigures() throws {
        let data = try Data(contentsOf: CLITests.packageRoot.appendingPathComponent("samples/calls.csv.zst"))
        let r = try CLITests.run(["analyze", "--tz", "Europe/London", "--period", "week", "-"], stdin: data)
        #expect(r.status == 0)
        // The same bytes: the same content fingerprint, under the name `-`.
        let expected = try Self.expected("calls.json")
            .replacingOccurrences(of: "\"inputs\": [\"samples/calls.csv.zst\"]", with: "\"inputs\": [\"-\"]")
            .replacingOccurrences(of: "{\"file\": \"samples/calls.csv.zst\"", with: "{\"file\": \"-\"")
        #expect(r.stdout == expected)
    }

    @Test func dirtySampleMatchesExpectedOutputAndRejects() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let rejects = dir.appendingPathComponent("rejects.tsv").path
        let r = try CLITests.run(["analyze", "--period", "all", "--by", "centre", "--rejects", rejects, "samples/dirty.csv.gz"])
        #expect(r.status == 0)
        #expect(r.stdout == (try Self.expected("dirty.json")))
        // Raw lines, invalid UTF-8 included: compare bytes.
        let expectedRejects = try Data(contentsOf: CLITests.packageRoot.appendingPathComponent("samples/expected/dirty.rejects.tsv"))
        #expect(try Data(contentsOf: URL(fileURLWithPath: rejects)) == expectedRejects)
    }

    /// The real-format samples (hand-worked in QueueLogAdapterTests and
    /// ContactTraceAdapterTests): recognised by `--format auto`, accounted in full.
    @Test func queueLogAndContactTraceSamples() throws {
        let q = try CLITests.run(["analyze", "--centre", "C1", "--period", "all", "samples/queue_log"])
        #expect(q.status == 0)
        #expect(q.stdout.contains("\"centre\": \"C1\",\n    \"scope\""))
        #expect(q.stdout.contains("\"lines\": 28,\n    \"events\": 21,\n    \"duplicates\": 2,"))
        #expect(q.stdout.contains("\"skipped_kinds\": {\"agent\": 1, \"pause\": 1, \"queue_admin\": 1, \"reanswer\": 1, \"ring\": 1},"))
        #expect(q.stdout.contains("\"calls\": {\"contacts\": 7, \"incomplete\": 0, \"conflicting\": 0}"))
        let c = try CLITests.run(["analyze", "--period", "all", "samples/ctr.ndjson"])
        #expect(c.status == 0)
        #expect(c.stdout.contains("\"lines\": 17,\n    \"events\": 14,\n    \"duplicates\": 1,"))
        #expect(c.stdout.contains("\"skipped_kinds\": {\"monitor\": 1, \"outbound\": 1},"))
        #expect(c.stdout.contains("\"centre\": \"inst-a\""))
        // queue_log without --centre: a clear error naming the input and the flag.
        let bare = try CLITests.run(["analyze", "samples/queue_log"])
        #expect(bare.status == 1)
        #expect(bare.stderr.contains("samples/queue_log") && bare.stderr.contains("--centre"))
        let forced = try CLITests.run(["analyze", "--format", "queuelog", "samples/queue_log"])
        #expect(forced.status == 64 && forced.stderr.contains("--centre"))
    }

    @Test func csvOutputHasOneLinePerRow() throws {
        let r = try CLITests.run(["analyze", "--emit", "csv", "--period", "month", "--by", "centre", "samples/calls.csv.zst"])
        #expect(r.status == 0)
        let lines = r.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("centre,period,contacts,identified,handled,") == true)
        #expect(lines.count == 1 + 4)  // four centres, three weeks of March
    }

    @Test func truncatedInputPrintsFiguresAndFails() throws {
        let data = try Data(contentsOf: CLITests.packageRoot.appendingPathComponent("samples/calls.csv.zst"))
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("cut.csv.zst").path
        try data.prefix(data.count / 2).write(to: URL(fileURLWithPath: path))
        let r = try CLITests.run(["analyze", "--period", "all", path])
        #expect(r.status == 1)
        #expect(r.stderr.contains(path))
        #expect(r.stderr.contains("byte offset"))
        #expect(r.stdout.contains("\"contacts\":"))
    }

    /// The whole samples folder, as a newcomer's first try: files of every format and
    /// several that hold no event (the reason map, the standard, the expected outputs).
    /// It once crashed at every thread count. With `--centre` for the queue_log it runs
    /// cleanly, the same at every thread count; without, it still prints the figures and
    /// names the queue_log that needs a centre (exit 1).
    @Test func theWholeSamplesFolder() throws {
        var outputs: Set<String> = []
        for threads in ["1", "2", "4"] {
            let r = try CLITests.run(["analyze", "--threads", threads, "--centre", "leeds", "samples/"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.contains("\"rows\": ["))
            outputs.insert(r.stdout)
        }
        #expect(outputs.count == 1)
        let bare = try CLITests.run(["analyze", "samples/"])
        #expect(bare.status == 1)
        #expect(bare.stderr.contains("queue_log") && bare.stderr.contains("--centre"))
        #expect(bare.stdout.contains("\"rows\": ["))
    }
}

/// The README's library example is the file that is built and run, and it runs.
@Suite struct LibraryExampleTests {
    @Test func readmeShowsTheExampleThatRuns() throws {
        let root = CLITests.packageRoot
        let readme = try String(contentsOf: root.appendingPathComponent("README.md"), encoding: .utf8)
        let example = try String(contentsOf: root.appendingPathComponent("Examples/LibraryExample/main.swift"), encoding: .utf8)
        let section = try #require(readme.range(of: "## Using the library"))
        #expect(readme[section.upperBound...].contains("```swift\n" + example + "```"))

        let p = Process()
        p.executableURL = CLITests.products.appendingPathComponent("library-example")
        p.currentDirectoryURL = root
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0)
        let lines = text.split(separator: "\n")
        #expect(lines.count == 4)
        #expect(lines.first == "C01: first-contact resolution 549 of 790 (69%)")
        #expect(readme.contains("`" + String(lines[0]) + "`"))
    }
}
