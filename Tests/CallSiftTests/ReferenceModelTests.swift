import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftFormats
@testable import CallSiftAccredit
@testable import CallSiftGenerate

/// The streaming pipeline against a brute-force reading of docs/metrics.md, on generated
/// traffic large enough to exercise eviction, queue compaction and every class.
@Suite struct ReferenceModelTests {
    @Test(arguments: [AnalysisSettings.Scope.centre, .service, .global])
    func pipelineAgreesWithTheReferenceModel(scope: AnalysisSettings.Scope) throws {
        let options = GeneratorOptions(seed: 11, calls: 30_000, centres: 3, days: 40)
        let csv = String(decoding: try generateWorkloadBytes(options).bytes, as: UTF8.self)
        var settings = AnalysisSettings()
        settings.scope = scope
        // Shorter windows than the defaults, so that scopes and FCR verdicts are evicted
        // many times over the 40 days.
        settings.repeatWindow = 2 * 86_400_000
        settings.chaseWindow = 5 * 86_400_000
        let expected = ReferenceModel.run(csv: csv, settings: settings)
        let report = try Scenario.analyze(csv, settings: settings)
        // Clean generated traffic holds only valid calls.
        #expect(report.calls.incomplete == 0 && report.calls.conflicting == 0)
        var actual: [String: Counters] = [:]
        for row in report.rows { actual["\(row.centre)|\(row.service!)|\(row.period)"] = row.counters }
        #expect(actual.count == expected.count)
        for (key, counters) in expected where actual[key] != counters {
            Issue.record("\(key): expected \(counters), got \(String(describing: actual[key]))")
        }
        let totals = expected.values.reduce(into: Counters()) { $0.merge($1) }
        #expect(totals.repeats > 0 && totals.retry > 0 && totals.progressChase > 0 && totals.misdirected > 0)
        #expect(totals.fcr > 0 && totals.fcrPending > 0)
    }
}
