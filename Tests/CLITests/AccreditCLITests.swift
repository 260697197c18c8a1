import Foundation
import Testing

/// `callsift merge` and `callsift accredit` run the way a user would, on the samples.
@Suite struct AccreditCLITests {
    static func temp() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-accredit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func mergeOfOneFileIsTheFile() throws {
        for name in ["calls.json", "dirty.json"] {
            let r = try CLITests.run(["merge", "samples/expected/\(name)"])
            #expect(r.status == 0)
            #expect(r.stdout == (try SampleTests.expected(name)))
        }
    }

    @Test func mergeRefusesDifferentSettings() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let other = dir.appendingPathComponent("other.json").path
        let a = try CLITests.run(["analyze", "--tz", "Europe/London", "--period", "week", "--repeat-window", "3d", "-o", other, "samples/calls.csv.zst"])
        #expect(a.status == 0)
        let r = try CLITests.run(["merge", "samples/expected/calls.json", other])
        #expect(r.status == 64)
        #expect(r.stderr.contains("repeat_window_ms differs"))
    }

    @Test func accreditFromLogsAndFromJSONAgree() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let fromLogs = dir.appendingPathComponent("logs.json").path
        let r = try CLITests.run([
            "accredit", "--standard", "samples/standard.toml", "--tz", "Europe/London",
            "--json", fromLogs, "--csv", dir.appendingPathComponent("l.csv").path, "samples/calls.csv.zst",
        ])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("C01") && r.stdout.contains("C04"))
        // The same data analysed by day to JSON first, then accredited from the JSON.
        let day = dir.appendingPathComponent("day.json").path
        #expect(try CLITests.run(["analyze", "--tz", "Europe/London", "-o", day, "samples/calls.csv.zst"]).status == 0)
        let fromJSON = dir.appendingPathComponent("json.json").path
        #expect(try CLITests.run(["accredit", "--standard", "samples/standard.toml", "--json", fromJSON, day]).status == 0)
        func parts(_ path: String) throws -> [String: Any] {
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as! [String: Any]
        }
        let x = try parts(fromLogs), y = try parts(fromJSON)
        for key in ["centres", "peer_groups", "baseline", "summary", "standard"] {
            #expect(NSDictionary(dictionary: ["k": x[key]!]).isEqual(to: ["k": y[key]!]), "\(key)")
        }
        let csv = try String(contentsOfFile: dir.appendingPathComponent("l.csv").path, encoding: .utf8)
        #expect(csv.hasPrefix("group,measure,threshold,rank,centre,"))
        #expect(csv.split(separator: "\n").count == 1 + 4 * 4 + 4 * 3)  // All centres: 4 × 4 measures; benefits: 3 centres
    }

    @Test func accreditNamesStandardMistakes() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let bad = dir.appendingPathComponent("bad.toml")
        try Data("[thresholds]\nfcr_rate = \">= 0.7\"\nservice_levle = \">= 0.8\"\n".utf8).write(to: bad)
        let r = try CLITests.run(["accredit", "--standard", bad.path, "samples/calls.csv.zst"])
        #expect(r.status == 64)
        #expect(r.stderr.contains("line 3") && r.stderr.contains("service_levle"))
    }

    /// The browser test: headless Chromium renders the samples' report to PNG and dumps
    /// its DOM; the charts and tables must be there and the page must log nothing.
    @Test func reportRendersInChromium() throws {
        let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let chromium else {
            if ProcessInfo.processInfo.environment["CALLSIFT_SKIP_BROWSER"] == "1" { return }
            Issue.record("chromium is not installed (scripts/ensure-deps.sh installs it; CALLSIFT_SKIP_BROWSER=1 skips this test)")
            return
        }
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let html = dir.appendingPathComponent("report.html")
        let r = try CLITests.run(["accredit", "--standard", "samples/standard.toml", "--tz", "Europe/London", "--html", html.path, "samples/calls.csv.zst"])
        #expect(r.status == 0, "\(r.stderr)")

        func browse(_ args: [String]) throws -> (out: String, err: String, status: Int32) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: chromium)
            p.arguments =
                [
                    "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--enable-logging=stderr", "--v=0",
                    "--user-data-dir=\(dir.appendingPathComponent("profile").path)",
                ] + args + [html.absoluteString]
            let out = Pipe(), err = Pipe()
            p.standardOutput = out
            p.standardError = err
            try p.run()
            let errReader = PipeReader(err.fileHandleForReading)
            let outData = out.fileHandleForReading.readDataToEndOfFile()
            let errData = errReader.wait()
            p.waitUntilExit()
            return (String(decoding: outData, as: UTF8.self), String(decoding: errData, as: UTF8.self), p.terminationStatus)
        }
        let png = dir.appendingPathComponent("report.png")
        let shot = try browse(["--screenshot=\(png.path)", "--window-size=1280,2400"])
        #expect(shot.status == 0)
        let bytes = try Data(contentsOf: png)
        #expect(bytes.count > 20_000)
        #expect(bytes.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        let dom = try browse(["--dump-dom"])
        #expect(dom.status == 0)
        func count(_ s: String, _ needle: String) -> Int { s.components(separatedBy: needle).count - 1 }
        // Two peer groups × four measures, plus the baseline chart, each with its table.
        #expect(count(dom.out, "<svg class=\"funnel\"") == 8)
        #expect(count(dom.out, "<table class=\"league\"") == 8)
        #expect(count(dom.out, "<svg class=\"forest\"") == 1)
        #expect(count(dom.out, "<table class=\"baseline\"") == 1)
        #expect(count(dom.out, "<table class=\"summary\"") == 1)
        #expect(dom.out.contains("C01") && dom.out.contains("C04"))
        #expect(!dom.out.contains("<script") && !dom.out.contains("src=\"http") && !dom.out.contains("<link"))
        for log in [shot.err, dom.err] {
            let console = log.split(separator: "\n").filter { $0.contains(":CONSOLE") }
            #expect(console.isEmpty, "page logged: \(console)")
        }
    }
}
