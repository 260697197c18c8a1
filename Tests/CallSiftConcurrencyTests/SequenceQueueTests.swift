import Testing
@testable import CallSiftConcurrency

@Suite struct SequenceQueueTests {
    struct Entry: Equatable {
        var value: Int64
        var flag: Bool
    }

    /// Random appends, updates by number and removals from the front against an array
    /// model, with the ring wrapped at every size it grows through. `big` starts past the
    /// 2 MiB at which the ring is mapped, so growing also goes through `mremap`.
    @Test(arguments: [false, true])
    func matchesAnArrayThroughWrapsAndGrowth(big: Bool) {
        let q = SequenceQueue<Entry>(minimumCapacity: big ? 1 << 17 : 4)
        var model: [Entry] = []
        var modelHead: Int64 = 0
        var state: UInt64 = 9
        func next() -> UInt64 { state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 33 }
        let steps = big ? 600_000 : 20_000
        for step in 0..<steps {
            switch next() % 10 {
            case 0..<5:
                let n = q.append(Entry(value: Int64(step), flag: false))
                #expect(n == modelHead + Int64(model.count))
                model.append(Entry(value: Int64(step), flag: false))
            case 5, 6:
                if !model.isEmpty {
                    let k = Int(next() % UInt64(model.count))
                    q[modelHead + Int64(k)].flag.toggle()
                    model[k].flag.toggle()
                }
            default:
                if !model.isEmpty {
                    #expect(q.first == model.first)
                    q.removeFirst()
                    model.removeFirst()
                    modelHead += 1
                }
            }
            if step % 997 == 0 || step == steps - 1 {
                #expect(q.count == model.count)
                #expect(q.head == modelHead)
                for (k, e) in model.enumerated() where q[modelHead + Int64(k)] != e {
                    Issue.record("entry \(modelHead + Int64(k)) differs")
                    return
                }
            }
        }
        #expect(q.capacity >= model.count)
    }
}
