import Foundation
import Testing

/// Runs the built `callsift` executable the way a user would and compares whole outputs.
@Suite struct CLITests {
    /// The folder holding the built products (the test bundle sits beside the executable).
    static let products: URL = {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0 ..< 4 where !FileManager.default.fileExists(atPath: url.appendingPathComponent("callsift").path) {
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
        var outData = Data(), errData = Data()
        let group = DispatchGroup()
        group.enter()
        DispatchQueue.global().async { errData = err.fileHandleForReading.readDataToEndOfFile(); group.leave() }
        outData = out.fileHandleForReading.readDataToEndOfFile()
        group.wait()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
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
