import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput

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

    /// zstd decodes in place into a ring (`ZstdDecoder`) that must keep both the frame's
    /// window and every chunk a reader may still hold. Frames with a 1 KiB window (blocks
    /// far smaller than a chunk), the default 2 MiB and an 8 MiB window (a bigger ring,
    /// replacing the first while its chunks are still queued), each larger than the ring
    /// so it wraps; a reader that now and then stops long enough for the decoding thread
    /// to fill every slot of its ring; every chunk checked when it arrives and again after
    /// the pause, while it is still held.
    @Test(.enabled(if: toolsPresent))
    func zstdRingKeepsHeldChunksAndTheWindow() throws {
        let dir = try ScratchDirectory()
        let data = InputSamples.text(bytes: 12 << 20, seed: 13)
        try InputSamples.store(data, at: dir.path("plain"))
        var joined: [UInt8] = []
        for (index, options) in [["--zstd=wlog=10"], ["-3"], ["--long=23"], ["--zstd=wlog=10"]].enumerated() {
            // From a pipe-like stdin, so the frames do not record their size and keep their window.
            let path = dir.path("frame-\(index)")
            try Self.run("zstd", ["-c"] + options, stdin: dir.path("plain"), stdout: path)
            joined += try InputSamples.bytes(of: path)
        }
        try InputSamples.store(joined, at: dir.path("joined"))
        var expected: [UInt8] = []
        for _ in 0..<4 { expected += data }
        for (chunkSize, pauseEvery) in [(4096 + 7, 211), (128 * 1024, 50)] {
            let reader = try InputReader(path: dir.path("joined"), chunkSize: chunkSize)
            defer { reader.close() }
            reader.startReadAhead()
            var offset = 0, chunks = 0, mismatches = 0
            func matches(_ chunk: UnsafeRawBufferPointer) -> Bool {
                offset + chunk.count <= expected.count
                    && expected.withUnsafeBytes {
                        memcmp($0.baseAddress! + offset, chunk.baseAddress!, chunk.count) == 0
                    }
            }
            // While a chunk is lent, the decoding thread runs on and must not overwrite it.
            while try reader.readChunk({ (chunk) -> Void in
                if !matches(chunk) { mismatches += 1 }
                chunks += 1
                if chunks % pauseEvery == 0 {
                    usleep(30_000)
                    if !matches(chunk) { mismatches += 1 }
                }
                offset += chunk.count
            }) != nil {}
            #expect(mismatches == 0, "chunk size \(chunkSize)")
            #expect(offset == expected.count, "chunk size \(chunkSize)")
        }
    }

    /// A frame whose window is over zstd's default limit (128 MiB) is refused before
    /// anything is allocated for it, as `zstd -d` refuses it without `--memory`.
    @Test(.enabled(if: toolsPresent))
    func zstdRefusesAWindowOverTheDefaultLimit() throws {
        let dir = try ScratchDirectory()
        try InputSamples.store(InputSamples.small, at: dir.path("plain"))
        try Self.run("zstd", ["-c", "--long=28"], stdin: dir.path("plain"), stdout: dir.path("wide"))
        let outcome = try readAll(dir.path("wide"))
        #expect(outcome.bytes.isEmpty)
        let error = try #require(outcome.error)
        #expect(error.message.contains("Frame requires too much memory"), "\(error)")
        #expect(error.offset == 0)
    }
}
