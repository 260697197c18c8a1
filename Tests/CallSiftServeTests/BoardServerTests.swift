import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore
@testable import CallSiftInput
@testable import CallSiftServe

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `--serve`: what each path answers, from the feed's last snapshot, over real HTTP on a
/// free port (docs/metrics.md, "Wallboard").
@Suite struct BoardServerTests {
    /// Two days of calls at one centre, the second day the latest.
    static let log = """
        ts,centre,call,event,caller,service,outcome,reason
        2026-02-01T09:00:00Z,C1,a,arrive,0700,S1,,
        2026-02-01T09:00:20Z,C1,a,answer,,,,
        2026-02-01T09:05:00Z,C1,a,end,,,resolved,
        2026-02-01T10:00:00Z,C1,b,arrive,0711,S1,,
        2026-02-01T10:00:30Z,C1,b,abandon,,,,
        2026-03-03T09:00:00Z,C1,c,arrive,0700,S2,,
        2026-03-03T09:00:10Z,C1,c,answer,,,,
        2026-03-03T09:03:00Z,C1,c,end,,,resolved,

        """

    static func report() throws -> Report {
        var s = AnalysisSettings()
        s.minCell = 1
        let bytes = Array(log.utf8)
        let input = bytes.withUnsafeBytes { MemoryInput(name: "log.csv", bytes: $0) }
        return try Analysis(settings: s, inputs: ["log.csv"], pseudonymiser: Pseudonymiser(k0: 1, k1: 2), memory: [input]).run().report
    }

    /// A server on a free port, with `report` published unless nil.
    static func serving(_ report: Report?) async throws -> (BoardServer, BoardFeed, Int) {
        // An hour: a loaded machine may take a while between the emit and the requests.
        let feed = BoardFeed(stallAfter: 3600, minCell: 1)
        if let report { feed.publish(report: report, health: FollowHealth()) }
        let server = BoardServer(host: "127.0.0.1", port: 0, feed: feed)
        try await server.start()
        return (server, feed, try #require(server.boundPort))
    }

    static func get(_ port: Int, _ path: String, method: String = "GET") async throws -> (status: Int, type: String?, body: String) {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)\(path)")!)
        request.httpMethod = method
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = try #require(response as? HTTPURLResponse)
        return (http.statusCode, http.value(forHTTPHeaderField: "Content-Type"), String(decoding: data, as: UTF8.self))
    }

    @Test func eachPathAnswersFromTheLastEmit() async throws {
        let report = try Self.report()
        let (server, _, port) = try await Self.serving(report)
        defer { server.stop() }

        let page = try await Self.get(port, "/")
        #expect(page.status == 200 && page.type?.hasPrefix("text/html") == true)
        // Nothing fetched from elsewhere: no link, no source or reference out of the page.
        #expect(page.body.contains("new EventSource(\"/events\")"))
        for outside in ["<link", "src=", "href=", "@import", "url(", "fetch(\"http"] { #expect(!page.body.contains(outside), "\(outside)") }

        let json = try await Self.get(port, "/report.json")
        #expect(json.status == 200 && json.body == JSONReportWriter.render(report))

        let board = try await Self.get(port, "/board.json")
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(board.body.utf8)) as? [String: Any])
        #expect(figures["period"] as? String == "2026-03-03")
        let centres = try #require(figures["centres"] as? [[String: Any]])
        #expect(centres.count == 1 && centres[0]["centre"] as? String == "C1")
        let total = try #require(centres[0]["total"] as? [String: Any])
        // Only the latest day: call c.
        #expect(total["contacts"] as? Int == 1 && total["handled"] as? Int == 1 && total["asa_ms"] as? Int == 10_000)
        let fcr = try #require(centres[0]["fcr"] as? [String: Any])
        #expect(fcr["period"] as? String == "2026-02-01" && fcr["x"] as? Int == 1 && fcr["n"] as? Int == 1)

        let health = try await Self.get(port, "/healthz")
        #expect(health.status == 200)
        let missing = try await Self.get(port, "/nothing-here")
        #expect(missing.status == 404)
        let post = try await Self.get(port, "/metrics", method: "POST")
        #expect(post.status == 405)
        let head = try await Self.get(port, "/metrics", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty)
    }

    @Test func metricsAreValidExposition() async throws {
        let (server, _, port) = try await Self.serving(try Self.report())
        defer { server.stop() }
        let metrics = try await Self.get(port, "/metrics")
        #expect(metrics.status == 200 && metrics.type?.hasPrefix("text/plain; version=0.0.4") == true)
        let problems = ExpositionCheck.problems(metrics.body)
        #expect(problems.isEmpty, "\(problems)")
        for family in [
            "callsift_contacts", "callsift_handled", "callsift_fcr_rate_lower", "callsift_build_info", "callsift_last_emit_seconds", "callsift_bytes_read",
            "callsift_lines_rejected",
        ] {
            #expect(metrics.body.contains("# TYPE \(family) gauge\n"), "\(family)")
        }
        #expect(metrics.body.contains("callsift_contacts{centre=\"C1\",service=\"S1\"} 2\n"))
    }

    @Test func beforeTheFirstEmitFiguresAreNotReady() async throws {
        let (server, _, port) = try await Self.serving(nil)
        defer { server.stop() }
        for path in ["/metrics", "/report.json", "/board.json", "/healthz"] {
            let r = try await Self.get(port, path)
            #expect(r.status == 503, "\(path)")
        }
        #expect(try await Self.get(port, "/").status == 200)
    }

    @Test func aPortInUseIsAClearError() async throws {
        let (server, _, port) = try await Self.serving(nil)
        defer { server.stop() }
        let second = BoardServer(host: "127.0.0.1", port: port, feed: BoardFeed(stallAfter: 60, minCell: 1))
        await #expect {
            try await second.start()
        } throws: { error in
            "\(error)".contains("already in use")
        }
    }

    @Test func aStalledFeedFailsTheHealthCheck() {
        let feed = BoardFeed(stallAfter: 5, minCell: 1)
        #expect(!feed.isKeepingUp())
        let then = Date(timeIntervalSince1970: 1_000_000)
        feed.publish(
            report: Report(settings: AnalysisSettings(), inputs: [], horizon: nil, lines: LineAccounting(), calls: CallAccounting(), rows: []),
            health: FollowHealth(), at: then)
        #expect(feed.isKeepingUp(at: then.addingTimeInterval(5)))
        #expect(!feed.isKeepingUp(at: then.addingTimeInterval(6)))
        // A quiet log: nothing new to emit, but the follower's loop goes on.
        feed.touch(at: then.addingTimeInterval(8))
        #expect(feed.isKeepingUp(at: then.addingTimeInterval(12)))
        #expect(feed.snapshot?.version == 1)
    }
}

/// A strict reader of Prometheus' text exposition format (0.0.4): every sample line is a
/// metric name, optional labels with quoted, escaped values, and a number; every family's
/// HELP and TYPE come before its samples, once each.
enum ExpositionCheck {
    static func problems(_ text: String) -> [String] {
        var problems: [String] = []
        var typed = Set<String>(), helped = Set<String>()
        let name = "[a-zA-Z_:][a-zA-Z0-9_:]*"
        let label = "[a-zA-Z_][a-zA-Z0-9_]*=\"(?:[^\"\\\\\\n]|\\\\[\\\\\"n])*\""
        let sample = try! NSRegularExpression(pattern: "^(\(name))(\\{\(label)(,\(label))*\\})? (-?[0-9.eE+-]+|NaN|\\+Inf|-Inf)$")
        guard text.hasSuffix("\n") else { return ["does not end with a newline"] }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() {
            let l = String(line)
            if l.hasPrefix("# HELP ") || l.hasPrefix("# TYPE ") {
                let parts = l.split(separator: " ", maxSplits: 3)
                guard parts.count >= 4 else { problems.append("short comment: \(l)"); continue }
                let family = String(parts[2])
                if l.hasPrefix("# TYPE ") {
                    if !typed.insert(family).inserted { problems.append("TYPE twice: \(family)") }
                    if !["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts[3])) { problems.append("bad type: \(l)") }
                } else if !helped.insert(family).inserted {
                    problems.append("HELP twice: \(family)")
                }
                continue
            }
            let range = NSRange(l.startIndex..., in: l)
            guard let m = sample.firstMatch(in: l, range: range), let r = Range(m.range(at: 1), in: l) else {
                problems.append("not a sample: \(l)")
                continue
            }
            let family = String(l[r])
            if !typed.contains(family) || !helped.contains(family) { problems.append("sample before HELP and TYPE: \(l)") }
            let value = l.split(separator: " ").last.map(String.init) ?? ""
            if Double(value) == nil && !["NaN", "+Inf", "-Inf"].contains(value) { problems.append("bad value: \(l)") }
        }
        return problems
    }
}
