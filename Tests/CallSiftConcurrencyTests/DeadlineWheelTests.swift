import Testing
@testable import CallSiftConcurrency

@Suite struct DeadlineWheelTests {
    /// Against a plain sorted model: after each step exactly the entries below the limit
    /// come out, whatever order (early, far, wrapped) they were pushed in.
    @Test func handsBackExactlyTheDueEntries() {
        let wheel = DeadlineWheel<Int>(span: 50_000, shift: 6)
        var model: [(Int64, Int)] = []
        var state: UInt64 = 7
        func next() -> Int64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int64(state >> 40) }
        var limit: Int64 = 100_000
        var id = 0
        for _ in 0..<400 {
            for _ in 0..<20 {
                // Mostly just ahead of the limit; some overdue, some far beyond the span.
                let r = next() % 100
                let at = r < 10 ? limit - next() % 5_000 : (r < 15 ? limit + 200_000 + next() % 100_000 : limit + next() % 60_000)
                wheel.push(at, id)
                model.append((at, id))
                id += 1
            }
            limit += next() % 3_000
            var due: [(at: Int64, item: Int)] = []
            var part: [(at: Int64, item: Int)] = []
            while wheel.takeDue(before: limit, into: &part) {
                #expect(!part.isEmpty)
                due += part
                part.removeAll()
            }
            let expected = Set(model.filter { $0.0 < limit }.map(\.1))
            model.removeAll { $0.0 < limit }
            #expect(Set(due.map(\.item)) == expected)
            #expect(due.count == expected.count)
            #expect(wheel.count == model.count)
        }
        var rest: [(at: Int64, item: Int)] = []
        var part: [(at: Int64, item: Int)] = []
        while wheel.takeDue(before: .max, into: &part) {
            rest += part
            part.removeAll()
        }
        #expect(Set(rest.map(\.item)) == Set(model.map(\.1)))
        #expect(wheel.isEmpty)
    }

    /// Items that are references (strings here) are copied out and released exactly once:
    /// wholly due buckets, partly due ones and the far heap, then the wheel's deinit with
    /// entries still inside.
    @Test func keepsReferenceItemsIntact() {
        var wheel: DeadlineWheel<String>? = DeadlineWheel<String>(span: 10_000, shift: 6)
        for i in 0..<5_000 { wheel!.push(Int64(i * 7 % 40_000), "item \(i)") }
        var due: [(at: Int64, item: String)] = []
        var seen: [String] = []
        while wheel!.takeDue(before: 20_000, into: &due) {
            seen += due.map(\.item)
            due.removeAll(keepingCapacity: true)
        }
        let expected = (0..<5_000).filter { $0 * 7 % 40_000 < 20_000 }.map { "item \($0)" }
        #expect(Set(seen) == Set(expected) && seen.count == expected.count)
        #expect(wheel!.count == 5_000 - expected.count)
        wheel = nil
    }
}
