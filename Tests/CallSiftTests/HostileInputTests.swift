#if canImport(Glibc)
import Glibc
#endif
import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Hostile input (issue 4): every case ends in a clear error or counted rejections, never a
/// crash, a hang or memory that grows with the input, and the accounting identity holds.
@Suite(.serialized) struct HostileInputTests {
    static let header = "ts,centre,call,event,caller,service,outcome,reason\n"
    static let good = "2026-03-02T09:00:00Z,C1,a,arrive,0700,S1,,\n2026-03-02T09:00:10Z,C1,a,abandon,,,,\n"

    func run(_ paths: [String], _ configure: (inout AnalysisSettings) -> Void = { _ in }) throws -> Analysis.Outcome {
        var s = AnalysisSettings()
        s.period = .all
        s.centre = "C1"
        configure(&s)
        let outcome = try Analysis(settings: s, inputs: paths, pseudonymiser: Pseudonymiser(k0: 1, k1: 2)).run()
        #expect(outcome.report.accountingHolds)
        return outcome
    }

    func write(_ bytes: [UInt8], _ dir: TempDir, _ name: String, _ compression: Compression = .none) throws -> String {
        let path = dir.path(name)
        let sink = try makeByteSink(path: path, compression: compression)
        try sink.write(bytes)
        try sink.finish()
        return path
    }

    /// Peak resident memory of this process so far, in bytes.
    static func peakRSS() -> Int {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return usage.ru_maxrss * 1024
    }

    // MARK: - Damaged compressed streams

    @Test(arguments: [Compression.zstd, .lz4, .gzip])
    func truncatedStreamsAreAnErrorWithTheOffset(_ compression: Compression) throws {
        let dir = try TempDir()
        var text = Self.header
        for i in 0..<5000 { text += "2026-03-02T09:00:00Z,C1,c\(i),arrive,07\(i),S1,,\n" }
        let path = try write(Array(text.utf8), dir, "in", compression)
        let full = try Data(contentsOf: URL(fileURLWithPath: path))
        // From just past the magic number (shorter cuts are plain text) to the last byte.
        for cut in [5, 12, full.count / 3, full.count - 1] {
            try full.prefix(cut).write(to: URL(fileURLWithPath: path))
            let outcome = try run([path])
            let error = try #require(outcome.errors.first, "a stream cut at \(cut) of \(full.count) must be an error")
            #expect(error.input == path)
            #expect(error.offset >= 0 && error.offset <= Int64(cut))
        }
    }

    @Test(arguments: [Compression.zstd, .lz4, .gzip])
    func corruptedStreamsEndInAnErrorOrCountedRejections(_ compression: Compression) throws {
        let dir = try TempDir()
        var text = Self.header
        for i in 0..<3000 { text += "2026-03-02T09:\(String(format: "%02d", i % 60)):00Z,C1,c\(i),arrive,07\(i),S1,,\n" }
        let path = try write(Array(text.utf8), dir, "in", compression)
        let clean = try Data(contentsOf: URL(fileURLWithPath: path))
        var rng = SystemRandomNumberGenerator()
        for trial in 0..<12 {
            var bytes = [UInt8](clean)
            // Keep the magic (else it is plain text) and damage a few bytes after it.
            for _ in 0...trial % 4 {
                let at = Int.random(in: 4..<bytes.count, using: &rng)
                bytes[at] ^= UInt8.random(in: 1...255, using: &rng)
            }
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            let outcome = try run([path])
            let r = outcome.report
            // Either the decoder (or its checksum) noticed, or the damage went into the
            // text and was counted: nothing is lost without a trace.
            #expect(!outcome.errors.isEmpty || r.lines.lines >= 1)
        }
    }

    // MARK: - Long lines and bombs

    /// A single 1 GiB line, compressed (zstd of 1 GiB of `a` is small), streams through
    /// the decoder and the record splitter: one `line_too_long`, the lines after it still
    /// read, and memory does not follow the line's length.
    @Test func aOneGiBLineStreams() throws {
        let dir = try TempDir()
        let path = dir.path("long.csv.zst")
        let sink = try makeByteSink(path: path, compression: .zstd, level: 1)
        try sink.write(Self.header)
        let block = [UInt8](repeating: 0x61, count: 1 << 20)
        for _ in 0..<1024 { try sink.write(block) }
        try sink.write("\n" + Self.good)
        try sink.finish()
        let before = Self.peakRSS()
        let outcome = try run([path])
        let grew = Self.peakRSS() - before
        #expect(outcome.errors.isEmpty)
        let r = outcome.report
        #expect(r.lines.lines == 3)
        #expect(r.lines.rejected(.lineTooLong) == 1)
        #expect(r.calls.contacts == 1)
        #expect(grew < 256 << 20, "peak memory grew by \(grew >> 20) MiB reading a 1 GiB line")
    }

    /// The object splitter (contact trace records) passes over an over-long object without
    /// keeping it: 64 MiB of one JSON string, then a good record.
    @Test func anOverLongRecordOfContactTraceRecordsStreams() throws {
        let dir = try TempDir()
        let path = dir.path("long.json.zst")
        let sink = try makeByteSink(path: path, compression: .zstd, level: 1)
        try sink.write("[{\"ContactId\":\"x\",\"Attributes\":{\"a\":\"")
        let block = [UInt8](repeating: 0x61, count: 1 << 20)
        for _ in 0..<64 { try sink.write(block) }
        try sink.write("\"}},\n" + ContactTraceAdapterTests.record("ok", connected: "00:10") + "]\n")
        try sink.finish()
        let before = Self.peakRSS()
        let outcome = try run([path]) { $0.centre = nil }
        #expect(Self.peakRSS() - before < 128 << 20)
        let r = outcome.report
        #expect(r.lines.rejected(.lineTooLong) == 1)
        #expect(r.calls.contacts == 1)
    }

    /// A gzip bomb: 1 MiB of gzip that inflates to 1 GiB (1024 members of 1 MiB of zeros).
    /// The guard is the design: the stream is decoded in fixed 128 KiB chunks and records
    /// are capped at 64 KiB, so it costs time in proportion to its inflated size and no
    /// memory; it ends as one counted `line_too_long`.
    @Test func aGzipBombDecodesInFlatMemory() throws {
        let dir = try TempDir()
        let member = try write([UInt8](repeating: 0, count: 1 << 20), dir, "member.gz", .gzip)
        let one = try Data(contentsOf: URL(fileURLWithPath: member))
        var bomb = Data()
        for _ in 0..<1024 { bomb.append(one) }
        #expect(bomb.count < 2 << 20)
        let path = dir.path("bomb.gz")
        try bomb.write(to: URL(fileURLWithPath: path))
        let before = Self.peakRSS()
        let outcome = try run([path])
        #expect(outcome.errors.isEmpty)
        #expect(Self.peakRSS() - before < 256 << 20)
        #expect(outcome.report.lines.lines == 1)
        #expect(outcome.report.lines.rejected(.lineTooLong) == 1)
    }

    // MARK: - Bytes that are not text

    @Test func invalidUTF8AndNULBytesAreRejectedInEveryFormat() throws {
        let dir = try TempDir()
        let bad: [UInt8] = [0xC3, 0x28]  // a lead byte without its continuation
        let nul: [UInt8] = [0x00]
        func line(_ prefix: String, _ inject: [UInt8], _ suffix: String) -> [UInt8] { Array(prefix.utf8) + inject + Array(suffix.utf8) }
        let inputs: [(String, [UInt8])] = [
            (
                "csv",
                Array(Self.header.utf8) + line("2026-03-02T09:00:00Z,C1,a,arrive,07", bad, ",S1,,\n")
                    + line("2026-03-02T09:00:00Z,C1,b,arrive,07", nul, ",S1,,\n")
            ),
            (
                "ndjson",
                line("{\"ts\":\"2026-03-02T09:00:00Z\",\"centre\":\"C", bad, "\"}\n")
                    + line("{\"ts\":\"2026-03-02T09:00:00Z\",\"centre\":\"C", nul, "\"}\n")
            ),
            (
                "queue_log",
                line("1772442000|1.1|q", bad, "|NONE|ENTERQUEUE||0700|1\n")
                    + line("1772442000|1.2|q", nul, "|NONE|ENTERQUEUE||0700|1\n")
            ),
            ("ctr", line("{\"ContactId\":\"", bad, "\"}\n") + line("{\"ContactId\":\"", nul, "\"}\n")),
        ]
        for (name, bytes) in inputs {
            let r = try run([try write(bytes, dir, name)]).report
            #expect(r.lines.lines == 2, "\(name)")
            #expect(r.lines.rejected(.invalidUTF8) == 1, "\(name)")
            #expect(r.lines.rejected(.nulByte) == 1, "\(name)")
        }
    }

    // MARK: - Nothing to read

    @Test func anEmptyFileAndAFileOfOnlyAHeaderAreEmptyReports() throws {
        let dir = try TempDir()
        let cases: [(String, String, AnalysisSettings.InputFormat)] = [
            ("empty", "", .auto), ("empty-ctr", "", .ctr), ("empty-queuelog", "", .queuelog),
            ("header.csv", Self.header, .auto), ("header-crlf.csv", Self.header.replacingOccurrences(of: "\n", with: "\r\n"), .csv),
            ("export.csv", "id,time,callid,queuename,agent,event,data1,data2,data3,data4,data5\n", .auto),
            ("array.json", "[]\n", .auto), ("blank", "\n\n  \n", .auto),
        ]
        for (name, text, format) in cases {
            for compression in [Compression.none, .zstd] {
                let path = try write(Array(text.utf8), dir, name + "." + compression.rawValue, compression)
                let outcome = try run([path]) { $0.format = format }
                #expect(outcome.errors.isEmpty, "\(name)")
                #expect(outcome.report.lines.lines == 0, "\(name)")
                #expect(outcome.report.horizon == nil && outcome.report.rows.isEmpty, "\(name)")
            }
        }
    }

    // MARK: - The fuzzers' corpus

    /// Every committed fuzz input, through the format its fuzzer uses: no crash, and the
    /// accounting identity holds (the fuzzers assert the same on everything they try).
    @Test func theFuzzCorpusKeepsTheAccountingIdentity() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let formats: [String: AnalysisSettings.InputFormat] = [
            "csv": .csv, "ndjson": .ndjson, "queuelog": .queuelog, "ctr": .ctr, "genesys": .genesys, "zstd": .auto, "lz4": .auto, "gzip": .auto,
        ]
        var seen = 0
        for (target, format) in formats {
            let dir = root.appendingPathComponent("Fuzz/corpus/\(target)")
            let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
            for file in files.sorted() {
                _ = try run([dir.appendingPathComponent(file).path]) {
                    $0.format = format
                    $0.callTimeout = 30 * 60_000
                    $0.lateness = 60_000
                }
                seen += 1
            }
        }
        #expect(seen >= 20)
    }
}
