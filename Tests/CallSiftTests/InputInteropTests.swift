import Foundation
import Testing
@testable import CallSift

/// The files callsift meets come from the standard tools, and its own output goes back to
/// them; these tests run the tools when the machine has them and are skipped otherwise.
@Suite struct InputInteropTests {
    static func tool(_ name: String) -> String? {
        ["/usr/bin/\(name)", "/usr/local/bin/\(name)", "/opt/homebrew/bin/\(name)"]
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let toolsPresent = ["zstd", "lz4", "gzip"].allSatisfy { tool($0) != nil }

    /// Runs `tool arguments...` with stdin and stdout redirected to files.
    static func run(_ name: String, _ arguments: [String], stdin: String, stdout: String) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool(name)!)
        process.arguments = arguments
        _ = FileManager.default.createFile(atPath: stdout, contents: nil)
        process.standardInput = try FileHandle(forReadingFrom: URL(fileURLWithPath: stdin))
        process.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: stdout))
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "\(name) \(arguments)")
    }

    /// Tool invocations that make files with options our encoder never uses: other block
    /// sizes, independent blocks, block checksums, known content size, max levels.
    static let encodings: [(String, [String], Compression)] = [
        ("zstd", ["-c", "-1"], .zstd),
        ("zstd", ["-c", "-19", "--no-check"], .zstd),
        ("zstd", ["-c", "--long=27", "-3"], .zstd),
        ("lz4", ["-c", "-1"], .lz4),
        ("lz4", ["-c", "-9", "-BI", "-BX", "-B4"], .lz4),
        ("lz4", ["-c", "--content-size", "-B7"], .lz4),
        ("gzip", ["-c", "-1"], .gzip),
        ("gzip", ["-c", "-9", "-n"], .gzip),
    ]

    @Test(.enabled(if: toolsPresent))
    func readsWhatTheToolsWrite() throws {
        let dir = try ScratchDirectory()
        let data = InputSamples.text(bytes: 700_000, seed: 11)
        try InputSamples.store(data, at: dir.path("plain"))
        for (index, (name, arguments, compression)) in Self.encodings.enumerated() {
            let path = dir.path("tool-\(index)")
            try Self.run(name, arguments, stdin: dir.path("plain"), stdout: path)
            // Twice in one file: the tools' own way of making concatenated frames.
            let twice = try InputSamples.bytes(of: path) + InputSamples.bytes(of: path)
            try InputSamples.store(twice, at: path)
            let outcome = try readAll(path, chunkSize: 50_000)
            #expect(outcome.compression == compression, "\(name) \(arguments)")
            #expect(outcome.error == nil, "\(name) \(arguments)")
            #expect(outcome.bytes == data + data, "\(name) \(arguments)")
        }
    }

    @Test(.enabled(if: toolsPresent), arguments: [Compression.zstd, .lz4, .gzip])
    func toolsReadWhatWeWrite(compression: Compression) throws {
        let dir = try ScratchDirectory()
        let data = InputSamples.text(bytes: 700_000, seed: 12)
        try InputSamples.write(data, to: dir.path("ours"), as: compression)
        try Self.run(compression.rawValue, ["-d", "-c"], stdin: dir.path("ours"), stdout: dir.path("back"))
        #expect(try InputSamples.bytes(of: dir.path("back")) == data)
    }
}
