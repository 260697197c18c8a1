import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftFormats

/// An adapter saved part way through its input (`FormatAdapter.save`) and made again from
/// those bytes (`FormatRegistry`'s `restoreAdapter`) goes on exactly as one that never
/// stopped: what a durable state relies on to carry an export from one run to the next
/// (docs/formats.md, "Across runs").
@Suite struct AdapterStateTests {
    /// An input's parser as an adapter sees it, recording what it is told.
    final class Recorder: AdapterOutput {
        let builder: EventBuilder
        let lateness: Int64
        var maxKey = Int64.min
        var log: [String] = []
        init(builder: EventBuilder, lateness: Int64) {
            self.builder = builder
            self.lateness = lateness
        }
        func admit(orderKey key: Int64) -> Bool {
            if maxKey != .min && key < maxKey &- lateness { return false }
            maxKey = max(maxKey, key)
            return true
        }
        var releaseLimit: Int64 { .max }
        func emit(_ e: Event, extraLine: Bool) {
            log.append(
                "emit \(e.ts) \(e.call.length) \(e.call.w0) \(e.kind) \(e.centre) \(e.service) \(e.reason) \(e.caller.hi) \(e.identified) \(extraLine)")
        }
        func countDuplicate() { log.append("duplicate") }
        func countSkipped(_ kind: SkipKind) { log.append("skipped \(kind)") }
        func countRejected(_ reason: RejectReason) { log.append("rejected \(reason)") }
    }

    static func builder() -> EventBuilder {
        EventBuilder(
            centres: Interner(), services: Interner(), reasons: Interner(), longCallIDs: LongCallIDs(),
            pseudonymiser: Pseudonymiser(k0: 1, k1: 2))
    }

    /// The records of a bundled sample, as its adapter cuts them.
    static func records(_ sample: String, format: AnalysisSettings.InputFormat) throws -> [[UInt8]] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let bytes = Array(try Data(contentsOf: root.appendingPathComponent("samples/\(sample)")))
        if format == .ctr || format == .genesys {
            var out: [[UInt8]] = []
            var s = JSONObjectSplitter()
            bytes.withUnsafeBytes { b in s.feed(b) { out.append(Array($0.bytes)) } }
            s.finish(truncated: false) { out.append(Array($0.bytes)) }
            return out
        }
        return bytes.split(separator: 0x0A).map(Array.init)
    }

    /// Reads `records` with one adapter throughout, and again with an adapter saved after
    /// record `cut` and restored: both tell the same story, the finish included.
    static func check(_ format: AnalysisSettings.InputFormat, _ records: [[UInt8]], settings: AnalysisSettings) throws {
        let entry = try #require(FormatRegistry.entry(format))
        let first = records.first ?? []
        func read(_ a: FormatAdapter, _ rs: ArraySlice<[UInt8]>, _ out: Recorder) {
            for r in rs { r.withUnsafeBytes { out.log.append("\(a.read($0, out))") } }
        }
        let builder = Self.builder()
        let steady = Recorder(builder: builder, lateness: settings.lateness)
        let one = try first.withUnsafeBytes { try entry.makeAdapter!($0, settings) }
        read(one, records[...], steady)
        one.finish(steady)
        for cut in 0...records.count {
            let out = Recorder(builder: builder, lateness: settings.lateness)
            let before = try first.withUnsafeBytes { try entry.makeAdapter!($0, settings) }
            read(before, records[..<cut], out)
            var w = AdapterStateWriter()
            before.save(into: &w)
            var r = AdapterStateReader(w.bytes)
            let after = try entry.restoreAdapter!(&r, settings)
            first.withUnsafeBytes { after.beginFile(first: $0) }
            read(after, records[cut...], out)
            after.finish(out)
            #expect(out.log == steady.log, "\(format), saved after record \(cut)")
            // Saved again at once, the bytes are the same: nothing is lost or added.
            var again = AdapterStateWriter()
            var r2 = AdapterStateReader(w.bytes)
            try entry.restoreAdapter!(&r2, settings).save(into: &again)
            #expect(again.bytes == w.bytes)
        }
    }

    @Test func contactTraceRecords() throws {
        try Self.check(.ctr, try Self.records("ctr.ndjson", format: .ctr), settings: AnalysisSettings())
    }

    @Test func queueLog() throws {
        var s = AnalysisSettings()
        s.centre = "leeds"
        try Self.check(.queuelog, try Self.records("queue_log", format: .queuelog), settings: s)
    }

    /// Damaged bytes are refused with a reason, never trusted or trapped on.
    static let samples: [AnalysisSettings.InputFormat: String] = [.ctr: "ctr.ndjson", .queuelog: "queue_log", .genesys: "genesys.ndjson"]

    @Test(arguments: [AnalysisSettings.InputFormat.ctr, .queuelog, .genesys])
    func damagedStateIsRefused(format: AnalysisSettings.InputFormat) throws {
        var s = AnalysisSettings()
        s.centre = "leeds"
        let entry = try #require(FormatRegistry.entry(format))
        let records = try Self.records(Self.samples[format]!, format: format)
        let a = try records[0].withUnsafeBytes { try entry.makeAdapter!($0, s) }
        let out = Recorder(builder: Self.builder(), lateness: s.lateness)
        for r in records.prefix(records.count / 2) { r.withUnsafeBytes { _ = a.read($0, out) } }
        var w = AdapterStateWriter()
        a.save(into: &w)
        for cut in stride(from: 0, to: w.bytes.count, by: max(1, w.bytes.count / 40)) {
            var r = AdapterStateReader(Array(w.bytes[..<cut]))
            #expect(throws: (any Error).self) { try entry.restoreAdapter!(&r, s) }
        }
        var longer = AdapterStateReader(w.bytes + [0])
        #expect(throws: (any Error).self) { try entry.restoreAdapter!(&longer, s) }
    }
}
