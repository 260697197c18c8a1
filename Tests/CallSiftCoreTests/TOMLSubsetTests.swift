import Testing
@testable import CallSiftCore

@Suite struct TOMLSubsetTests {
    @Test func readsTheSubset() throws {
        let doc = try TOMLSubset.parse(
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
            fcr_rate = ">= 0.70"
            "odd key" = "x"
            [[peer_group]]
            name = "A"
            services = ["benefits",
              "tax", # comment inside
            ]
            [[peer_group]]
            name = "B"
            [a.b]
            c = 1
            """)
        #expect(doc["name"] == .string("Standard \"A\""))
        #expect(doc["min_cell"] == .integer(1000))
        #expect(doc["ratio"] == .float(0.7))
        #expect(doc["neg"] == .integer(-3))
        #expect(doc["exp"] == .float(0.001))
        #expect(doc["on"] == .boolean(true))
        #expect(doc["lit"] == .string("C:\\path"))
        #expect(doc["thresholds"]?.table?["odd key"] == .string("x"))
        #expect(doc["thresholds"]?.table?.keys == ["fcr_rate", "odd key"])
        guard case .array(let groups)? = doc["peer_group"] else { Issue.record("no groups"); return }
        #expect(groups.count == 2)
        #expect(groups[0].table?["services"] == .array([.string("benefits"), .string("tax")]))
        #expect(groups[1].table?["name"] == .string("B"))
        #expect(doc["a"]?.table?["b"]?.table?["c"] == .integer(1))
    }

    @Test func errorsNameTheLine() {
        func error(_ text: String) -> TOMLError? {
            do { _ = try TOMLSubset.parse(text); return nil } catch let e as TOMLError { return e } catch { return nil }
        }
        #expect(error("a = 1\na = 2")?.line == 2)
        #expect(error("a = {b = 1}")?.message.contains("inline tables") == true)
        #expect(error("\n\nx = bare")?.line == 3)
        #expect(error("x = \"open")?.message.contains("unterminated") == true)
        #expect(error("x = 1 2")?.message.contains("unexpected") == true)
        #expect(error("a.b = 1")?.message.contains("dotted keys") == true)
        #expect(error("[t]\n[t]")?.message.contains("twice") == true)
        #expect(error("x = .5")?.message != nil)
        #expect(error("x = 01")?.message.contains("leading zeros") == true)
    }
}
