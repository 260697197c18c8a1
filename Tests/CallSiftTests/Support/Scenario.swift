import Foundation
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// Builds small canonical CSV inputs by hand, in milliseconds after a fixed instant, and
/// runs them through the whole pipeline.
struct Scenario {
    /// 2026-03-02T09:00:00Z, a Monday.
    static let t0: Int64 = 1_772_442_000_000
    static let second: Int64 = 1000
    static let minute: Int64 = 60_000
    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000

    /// (time, CSV line); written out sorted by time (stable), so calls may be added in any order.
    var lines: [(Int64, String)] = []

    mutating func event(
        _ at: Int64, _ call: String, _ kind: String, caller: String = "", service: String = "",
        outcome: String = "", reason: String = "", centre: String = "C1"
    ) {
        lines.append((at, "\(Self.t0 + at),\(centre),\(call),\(kind),\(caller),\(service),\(outcome),\(reason)"))
    }

    /// arrive, answer after `wait`, optional transfer, end after `handle`.
    mutating func handled(
        _ call: String, caller: String, at: Int64, wait: Int64 = 10_000, handle: Int64 = 60_000,
        outcome: String = "", reason: String = "", centre: String = "C1",
        service: String = "S1", transferTo: String? = nil
    ) {
        event(at, call, "arrive", caller: caller, service: service, centre: centre)
        event(at + wait, call, "answer", centre: centre)
        if let transferTo { event(at + wait + 1000, call, "transfer", service: transferTo, centre: centre) }
        event(at + wait + handle, call, "end", outcome: outcome, reason: reason, centre: centre)
    }

    mutating func abandoned(
        _ call: String, caller: String, at: Int64, wait: Int64 = 30_000,
        reason: String = "", centre: String = "C1", service: String = "S1"
    ) {
        event(at, call, "arrive", caller: caller, service: service, centre: centre)
        event(at + wait, call, "abandon", reason: reason, centre: centre)
    }

    mutating func blocked(_ call: String, caller: String, at: Int64, centre: String = "C1", service: String = "S1") {
        event(at, call, "arrive", caller: caller, service: service, centre: centre)
        event(at, call, "blocked", centre: centre)
    }

    /// Pushes the horizon to `at` with a lone event of an otherwise empty call in centre
    /// `ZZ` (counted as one incomplete call, no contact).
    mutating func horizon(_ at: Int64) {
        event(at, "horizon-\(at)", "answer", centre: "ZZ")
    }

    var csv: String {
        "ts,centre,call,event,caller,service,outcome,reason\n"
            + lines.enumerated().sorted { ($0.element.0, $0.offset) < ($1.element.0, $1.offset) }
            .map(\.element.1).joined(separator: "\n") + "\n"
    }

    /// Runs the scenario, sorted by time, as one CSV input.
    func run(_ configure: (inout AnalysisSettings) -> Void = { _ in }) throws -> Report {
        var s = AnalysisSettings()
        s.period = .all
        s.minCell = 0
        configure(&s)
        return try Self.analyze(csv, settings: s)
    }

    static func analyze(
        _ text: String, settings: AnalysisSettings, name: String = "input.csv",
        rejects: URL? = nil
    ) throws -> Report {
        let dir = try TempDir()
        let url = dir.url.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return try analyze(paths: [url.path], settings: settings, rejects: rejects)
    }

    static func analyze(paths: [String], settings: AnalysisSettings, rejects: URL? = nil, threads: Int? = nil) throws -> Report {
        let log = try rejects.map { RejectsLog(sink: try makeByteSink(path: $0.path, compression: .none)) }
        let analysis = try Analysis(
            settings: settings, inputs: paths, pseudonymiser: Pseudonymiser(k0: 1, k1: 2), rejects: log,
            execution: threads.map { ExecutionOptions(threads: $0) } ?? ExecutionOptions())
        return try analysis.run().report
    }
}

extension Report {
    /// Counters summed over rows of `centre` (all rows when nil).
    func total(centre: String? = "C1", service: String? = nil) -> Counters {
        var c = Counters()
        for r in rows where (centre == nil || r.centre == centre) && (service == nil || r.service == service) {
            c.merge(r.counters)
        }
        return c
    }

    /// The accounting identity of docs/metrics.md, "Accounting".
    var accountingHolds: Bool {
        lines.lines == calls.events + duplicates + lines.rejectedTotal + lines.late + lines.skipped
    }
}

/// A temporary folder removed when the value is released.
final class TempDir {
    let url: URL
    init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }
    deinit { try? FileManager.default.removeItem(at: url) }
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
}
