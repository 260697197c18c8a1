import Foundation
import Testing
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSift
@testable import CallSiftAccredit

@Suite struct StandardTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    @Test func sampleStandardReads() throws {
        let s = try Standard.load(path: Self.root.appendingPathComponent("samples/standard.toml").path)
        #expect(s.minCell == 10)
        #expect(s.thresholds.map(\.text) == ["fcr_rate >= 0.7", "avoidable_rate <= 0.25", "service_level >= 0.8", "abandon_rate <= 0.05"])
        #expect(s.period == Standard.DayRange(from: Standard.parseDay("2026-03-09")!, to: Standard.parseDay("2026-03-22")!))
        #expect(s.baseline?.from == Standard.parseDay("2026-03-02"))
        #expect(s.targetReduction == 0.5)
        #expect(s.peerGroups.map(\.name) == ["All centres", "Benefits centres"])
        #expect(s.peerGroups[1].services == ["benefits"])
    }

    @Test func mistakesAreNamed() {
        func message(_ text: String) -> String {
            do { _ = try Standard.parse(text); return "" } catch { return "\(error)" }
        }
        #expect(message("[thresholds]\nfcr = \">= 0.7\"").contains("unknown measure 'fcr'"))
        #expect(message("[thresholds]\nfcr_rate = \"at least 0.7\"").contains("line 2"))
        #expect(message("[thresholds]\nfcr_rate = \">= 70\"").contains("fcr_rate must be"))
        #expect(message("min_cell = 10").contains("[thresholds]"))
        #expect(message("[thresholds]\nfcr_rate = \">= 0.7\"\n[period]\nfrom = \"2026-03-09\"\nto = \"2026-02-30\"").contains("to = \"YYYY-MM-DD\""))
        #expect(
            message(
                "[thresholds]\nfcr_rate = \">= 0.7\"\n[period]\nfrom = \"2026-03-09\"\nto = \"2026-03-22\"\n[baseline]\nfrom = \"2026-03-01\"\nto = \"2026-03-10\""
            ).contains("overlaps"))
        #expect(message("[thresholds]\nfcr_rate = \">= 0.7\"\n[[peer_group]]\nname = \"x\"\nservices = [\"a\"]\ncentres = [\"b\"]").contains("give one"))
    }

    @Test func periodLabelSpans() {
        func span(_ l: String, _ p: Period) -> String? { Standard.span(ofLabel: l, period: p)?.text }
        #expect(span("2026-03-02", .day) == "2026-03-02 to 2026-03-02")
        #expect(span("2026-W10", .week) == "2026-03-02 to 2026-03-08")
        #expect(span("2026-W53", .week) == "2026-12-28 to 2027-01-03")
        #expect(span("2027-W01", .week) == "2027-01-04 to 2027-01-10")
        #expect(span("2026-02", .month) == "2026-02-01 to 2026-02-28")
        #expect(span("2024-02", .month) == "2024-02-01 to 2024-02-29")
        #expect(span("2026-Q1", .quarter) == "2026-01-01 to 2026-03-31")
        #expect(span("2026-27 Q1", .fyquarter) == "2026-04-01 to 2026-06-30")
        #expect(span("2026-27 Q4", .fyquarter) == "2027-01-01 to 2027-03-31")
        #expect(span("all", .all) == nil)
        // Every day's label falls in its own span, for every period.
        for day in Int32(20_000)..<Int32(20_800) {
            for p in [Period.day, .week, .month, .quarter, .fyquarter] {
                let r = Standard.span(ofLabel: p.label(ofDay: day), period: p)
                #expect(r?.contains(Int64(day)) == true, "\(p) \(day)")
            }
        }
    }

    @Test func reasonTaxonomy() throws {
        let map = try ReasonTaxonomy.load(path: Self.root.appendingPathComponent("samples/reason-map.toml").path)
        #expect(map["status check"] == "progress_chase")
        #expect(ReasonTaxonomy.avoidableClass(of: "status check", map: map) == .progressChase)
        #expect(ReasonTaxonomy.avoidableClass(of: "misdirected", map: map) == .misdirected)
        #expect(ReasonTaxonomy.avoidableClass(of: "misdirected", map: ["misdirected": "none"]) == nil)
        #expect(ReasonTaxonomy.avoidableClass(of: "status check", map: nil) == nil)
        #expect(throws: UsageError.self) { try ReasonTaxonomy.parse("[reasons]\nX = \"repeat\"") }
    }

    /// A reason map refused names its file, then the line and key (found by the `toml` fuzz
    /// target's rule that a refused file is named: the message named only the flag).
    @Test func reasonMapErrorsNameTheFile() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-test-\(UUID().uuidString).toml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try Data("[reasons]\nX = \"repeat\"\n".utf8).write(to: URL(fileURLWithPath: path))
        #expect {
            try ReasonTaxonomy.load(path: path)
        } throws: { e in
            "\(e)".hasPrefix("--reason-map \(path): line 2: 'X' must map to one of")
        }
    }
}
