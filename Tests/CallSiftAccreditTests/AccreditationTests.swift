import Testing
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSift
@testable import CallSiftAccredit

@Suite struct AccreditationTests {
    /// A row of one centre and day with `contacts` contacts of which `avoidable` avoidable,
    /// everything handled in the service level and resolved first time.
    static func row(_ centre: String, _ service: String, _ day: String, contacts: Int64, avoidable: Int64) -> Report.Row {
        var c = Counters()
        c.contacts = contacts; c.identified = contacts; c.handled = contacts; c.answeredInSL = contacts
        c.avoidable = avoidable; c.repeats = avoidable
        c.fcrEligible = contacts; c.fcr = contacts - avoidable
        return Report.Row(centre: centre, service: service, period: day, counters: c)
    }

    static func report(_ rows: [Report.Row], period: Period = .day) -> Report {
        var s = AnalysisSettings()
        s.period = period
        return Report(settings: s, inputs: ["x"], horizon: nil, lines: LineAccounting(), calls: CallAccounting(), rows: rows)
    }

    static let standard = try! Standard.parse(
        """
        [thresholds]
        avoidable_rate = "<= 0.25"
        [period]
        from = "2026-03-09"
        to = "2026-03-15"
        [baseline]
        from = "2026-03-02"
        to = "2026-03-08"
        [[peer_group]]
        name = "Tax"
        services = ["tax"]
        """)

    @Test func verdictsGroupsAndBaseline() throws {
        let rows = [
            // A: 100/1000 avoidable in the period (interval 8.3–12.0%): meets; baseline 300/1000.
            Self.row("A", "tax", "2026-03-02", contacts: 1000, avoidable: 300),
            Self.row("A", "tax", "2026-03-10", contacts: 1000, avoidable: 100),
            // B: 400/1000: does not meet.
            Self.row("B", "tax", "2026-03-11", contacts: 1000, avoidable: 400),
            // C: 3/12: 25% with a wide interval: not yet conclusive; runs no tax service.
            Self.row("C", "housing", "2026-03-12", contacts: 12, avoidable: 3),
            // D: 9 contacts: suppressed, and left out of the pooled rate.
            Self.row("D", "tax", "2026-03-13", contacts: 9, avoidable: 9),
            // E: only outside both periods.
            Self.row("E", "tax", "2026-03-20", contacts: 50, avoidable: 1),
        ]
        let a = try Accreditation(report: Self.report(rows), standard: Self.standard)
        #expect(a.centres.map(\.centre) == ["A", "B", "C", "D"])
        #expect(a.centres.map(\.status) == [.accredited, .notAccredited, .notYetDecided, .notYetDecided])
        #expect(a.centres.map { $0.judgements[0].verdict } == [.meets, .doesNotMeet, .notYetConclusive, .suppressed])
        let tax = a.groups[0]
        #expect(tax.centres == ["A", "B", "D"])
        let f = tax.funnels[0]
        #expect(f.pooledX == 500 && f.pooledN == 2000)  // D's 9 of 9 are not pooled
        #expect(f.suppressed == ["D"])
        #expect(f.points.map(\.centre) == ["A", "B"])  // lower avoidable rate ranks first
        #expect(f.points[0].position == .below998 && f.points[0].better == true)
        #expect(f.points[1].position == .above998 && f.points[1].better == false)
        let b = a.centres[0].baseline!
        #expect(b.baselineX == 300 && b.periodX == 100)
        #expect(b.verdict == .aimMet)
        #expect(a.overallBaseline?.baselineN == 1000)
        // Every output names each centre.
        let html = AccreditationHTMLWriter.render(a), json = AccreditationJSONWriter.render(a), csv = AccreditationCSVWriter.render(a)
        for name in ["A", "B"] { #expect(csv.contains(",\(name),")) }
        #expect(json.contains("\"verdict\": \"does_not_meet\""))
        #expect(html.contains("<svg class=\"funnel\"") && html.contains("<table class=\"league\""))
        #expect(!html.contains("<script") && !html.contains("src=") && !html.contains("<link"))
    }

    /// A report may hold counts up to `Int64.max` (the report reader checks only that its
    /// sums fit). The funnel's volume axis ends above the largest volume, at 10^19 here, and
    /// its tick labels were made Int64s: `accredit --html` stopped on the conversion.
    /// Found by the `report` fuzz target (`Fuzz/corpus/report/regression-volume-past-int64.json`).
    @Test func volumesNearTheLargestCountAreDrawn() throws {
        let huge = Int64.max - 1000
        let rows = [
            Self.row("A", "tax", "2026-03-10", contacts: huge, avoidable: huge / 10),
            Self.row("B", "tax", "2026-03-11", contacts: 1000, avoidable: 400),
        ]
        let a = try Accreditation(report: Self.report(rows), standard: Self.standard)
        #expect(a.groups[0].funnels[0].points.map(\.judgement.n) == [huge, 1000])
        let html = AccreditationHTMLWriter.render(a)
        #expect(html.contains(">10,000,000,000,000,000,000</text>"))  // the axis's last tick
        #expect(html.contains(">9,223,372,036,854,774,807<") || html.contains("of 9,223,372,036,854,774,807,"))
        #expect(AccreditationHTMLWriter.int(-1_234_567.0) == "-1,234,567" && AccreditationHTMLWriter.int(Int64.min) == "-9,223,372,036,854,775,808")
    }

    @Test func rowsMustFitThePeriod() {
        let rows = [Self.row("A", "tax", "2026-W11", contacts: 10, avoidable: 1)]
        // Week 11 is 2026-03-09..15: fits exactly.
        #expect(throws: Never.self) { _ = try Accreditation(report: Self.report(rows, period: .week), standard: Self.standard) }
        // A month straddles both.
        let months = [Self.row("A", "tax", "2026-03", contacts: 10, avoidable: 1)]
        #expect { _ = try Accreditation(report: Self.report(months, period: .month), standard: Self.standard) } throws: { "\($0)".contains("straddles") }
        let all = [Self.row("A", "tax", "all", contacts: 10, avoidable: 1)]
        #expect { _ = try Accreditation(report: Self.report(all, period: .all), standard: Self.standard) } throws: { "\($0)".contains("--period day") }
    }
}
