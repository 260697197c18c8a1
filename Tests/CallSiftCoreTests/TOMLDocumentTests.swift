import Foundation
import Testing

@testable import CallSiftCore

@Suite struct TOMLDocumentTests {
    @Test func readsValuesInTheOrderWrittenWithTheirLines() throws {
        let doc = try TOMLDocument.parse(
            """
            # comment
            name = "Standard \\"A\\"" # trailing comment
            min_cell = 1_000
            ratio = 0.70
            neg = -3
            exp = 1e-3
            on = true
            lit = 'C:\\path'
            [thresholds]
            zeta = ">= 0.70"
            "odd key" = "x"
            alpha = \"\"\"
            b = not a key
            \"\"\"
            [[peer_group]]
            name = "A"
            services = ["benefits",
              "tax", # comment inside
            ]
            [[peer_group]]
            name = "B"
            [a.b]
            c = 1
            inline = {y = 2, x = 1}
            """)
        #expect(doc["name"] == .string("Standard \"A\""))
        #expect(doc["min_cell"] == .integer(1000))
        #expect(doc["ratio"] == .float(0.7))
        #expect(doc["neg"] == .integer(-3))
        #expect(doc["exp"] == .float(0.001))
        #expect(doc["on"] == .boolean(true))
        #expect(doc["lit"] == .string("C:\\path"))
        #expect(doc.keys == ["name", "min_cell", "ratio", "neg", "exp", "on", "lit", "thresholds", "peer_group", "a"])
        #expect(doc.lines["lit"] == 8 && doc.lines["thresholds"] == 9 && doc.lines["peer_group"] == 15 && doc.lines["a"] == 22)
        let thresholds = try #require(doc["thresholds"]?.table)
        #expect(thresholds.keys == ["zeta", "odd key", "alpha"])
        #expect(thresholds.lines == ["zeta": 10, "odd key": 11, "alpha": 12])
        #expect(thresholds["alpha"] == .string("b = not a key\n"))
        guard case .array(let groups) = doc["peer_group"] else { Issue.record("peer_group"); return }
        #expect(groups.count == 2)
        #expect(groups[0].table?["services"] == .array([.string("benefits"), .string("tax")]))
        #expect(groups[0].table?.lines["services"] == 17)
        #expect(groups[1].table?["name"] == .string("B"))
        #expect(groups[1].table?.lines["name"] == 21)
        let b = try #require(doc["a"]?.table?["b"]?.table)
        #expect(b["c"] == .integer(1) && b.lines["c"] == 23)
        // Keys of an inline table take its line, in TOMLKit's order.
        #expect(b["inline"]?.table?.keys == ["x", "y"] && b["inline"]?.table?.lines["y"] == 24)
    }

    /// A byte-order mark and Windows line ends change neither the order nor the lines.
    @Test func byteOrderMarkAndCRLF() throws {
        let doc = try TOMLDocument.parse("\u{FEFF}[reasons]\r\nZ9 = \"none\"\r\nA1 = \"misdirected\"\r\n")
        let reasons = try #require(doc["reasons"]?.table)
        #expect(reasons.keys == ["Z9", "A1"] && reasons.lines == ["Z9": 2, "A1": 3] && doc.lines["reasons"] == 1)
    }

    @Test func errorsNameTheLine() {
        func error(_ text: String) -> TOMLError? {
            do { _ = try TOMLDocument.parse(text); return nil } catch let e as TOMLError { return e } catch { return nil }
        }
        #expect(error("a = 1\na = 2")?.line == 2)
        #expect(error("\n\nx = bare")?.line == 3)
        #expect(error("x = \"open")?.line == 1)
        #expect(error("ok = 1\nx = 1 2")?.line == 2)
        #expect(error("[t]\n[t]")?.line == 2)
        #expect(error("x = 01")?.line == 1)
        let date = error("a = 1\nfrom = 2026-01-01")
        #expect(date?.line == 2 && date?.message.contains("quoted strings") == true)
    }

    /// A table header whose name starts with no key's character stopped callsift on an
    /// assertion inside toml++ (found by the `toml` fuzz target: the sample reason map with
    /// bytes changed, Fuzz/corpus/toml/regression-header-without-name, whose first byte
    /// picks the reason map). Refused first, naming the line.
    @Test func headersWithoutANameAreRefused() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let input = try Data(contentsOf: root.appendingPathComponent("Fuzz/corpus/toml/regression-header-without-name"))
        let message = "a table header must name its table: [name] or [[name]], the name bare (letters, digits, _ and -) or quoted"
        #expect(throws: TOMLError(line: 4, message: message)) {
            try TOMLDocument.parse(String(decoding: input.dropFirst(), as: UTF8.self))
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-test-\(UUID().uuidString).toml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try input.dropFirst().write(to: URL(fileURLWithPath: path))
        #expect {
            try ReasonTaxonomy.load(path: path)
        } throws: { e in
            "\(e)" == "--reason-map \(path): line 4: \(message)"
        }
        for text in ["[\u{E9}]\n", "[\u{FFFD}]\n", "[\u{1D}]\n", "[ \u{1D}]\n", "[[\u{E9}]]\n", "a = 1\n[\n", "[ # no name\n"] {
            #expect(throws: TOMLError.self, "\(text.debugDescription)") { try TOMLDocument.parse(text) }
        }
        // Headers that name their table still read, and `[` inside values is no header.
        let doc = try TOMLDocument.parse("x = [\n  [1],\n  [ \"a\" ],\n]\n[\"q\"]\n[ t ]\n[[u]]\n")
        #expect(doc.keys == ["x", "q", "t", "u"])
    }

    /// An array whose element is due (after `[` or `,`) and a `}` comes instead stopped
    /// callsift on another assertion inside toml++ (`parse_value`; found by the `toml`
    /// fuzz target, Fuzz/corpus/toml/regression-array-element-missing). Refused first,
    /// naming the line.
    @Test func arraysWithAMissingElementAreRefused() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let input = try Data(contentsOf: root.appendingPathComponent("Fuzz/corpus/toml/regression-array-element-missing"))
        let message = "an array's element is missing: '}' where a value or ']' was expected"
        #expect(throws: TOMLError(line: 2, message: message)) {
            try TOMLDocument.parse(String(decoding: input.dropFirst(), as: UTF8.self))
        }
        for text in ["x = [ }\n", "x = [}]\n", "x = [1, }\n", "x = [\n # c\n }\n", "x = {a=[}]}\n", "x = [[ }]]\n"] {
            #expect(throws: TOMLError.self, "\(text.debugDescription)") { try TOMLDocument.parse(text) }
        }
        // Braces elsewhere, and in strings, still read.
        let doc = try TOMLDocument.parse("a = [ { b = 1 }, {c = \"}\"} ]\nd = { e = [1, 2] }\nf = [\n  \"}\",\n]\n")
        #expect(doc.keys == ["a", "d", "f"])
    }

    /// Tables nested without end: `a.a.a…` keys 10,000 deep stopped callsift on a stack
    /// overflow (the conversion recursed once per table), and 100,000 deep took 23 GB and
    /// five minutes before the kernel killed it (the line index kept every prefix of the
    /// path). Found by hand while the `toml` target ran (its inputs are too short). Refused
    /// at 64 levels, naming the line, in every form that nests; 64 levels still read.
    @Test func tablesNestedWithoutEndAreRefused() throws {
        let message = "tables nest more than 64 deep"
        func dotted(_ n: Int) -> String { Array(repeating: "a", count: n).joined(separator: ".") }
        for n in [66, 10_000, 100_000] {
            #expect(throws: TOMLError(line: 2, message: message)) { try TOMLDocument.parse("x = 1\n\(dotted(n)) = 1\n") }
            #expect(throws: TOMLError(line: 1, message: message)) { try TOMLDocument.parse("[\(dotted(n))]\nb = 1\n") }
            #expect(throws: TOMLError(line: 1, message: message)) { try TOMLDocument.parse("[[\(dotted(n))]]\nb = 1\n") }
            #expect(throws: TOMLError(line: 3, message: message)) { try TOMLDocument.parse("[t]\nx = 1\n\(dotted(n)) = 1\n") }
        }
        // Dotted keys inside an inline table, which the line scan does not see.
        #expect(throws: TOMLError(line: 1, message: message)) { try TOMLDocument.parse("x = { \(dotted(10_000)) = 1 }\n") }
        // 64 tables deep (the key's own name is not a table) still read, in each form.
        var t = try TOMLDocument.parse("\(dotted(65)) = 1\n")
        for _ in 0..<64 { t = try #require(t["a"]?.table) }
        #expect(t["a"] == .integer(1))
        #expect(throws: TOMLError(line: 1, message: message)) { try TOMLDocument.parse("\(dotted(66)) = 1\n") }
        _ = try TOMLDocument.parse("[\(dotted(64))]\nb = 1\n")
        #expect(throws: TOMLError(line: 1, message: message)) { try TOMLDocument.parse("[\(dotted(65))]\nb = 1\n") }
        _ = try TOMLDocument.parse("[[\(dotted(63))]]\nb = 1\n")
        #expect(throws: TOMLError.self) { try TOMLDocument.parse("[[\(dotted(64))]]\nb = 1\n") }
    }
}
