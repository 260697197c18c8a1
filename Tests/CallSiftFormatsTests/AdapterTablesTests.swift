import Testing
@testable import CallSiftCore
@testable import CallSiftFormats

/// The small tables adapters keep per record: `IDIndex` and `LazyMinimum`, each driven
/// by random operations beside a plain model (a `Dictionary`, a sorted array).
@Suite struct AdapterTablesTests {
    /// A reproducible stream of numbers (SplitMix64).
    struct Numbers {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    static func id(_ n: Int) -> CallID {
        var s = "call-\(n)"
        return s.withUTF8 { CallID(short: UnsafeRawBufferPointer($0)) }
    }

    @Test(arguments: [1, 2, 3])
    func idIndexAgreesWithADictionary(seed: UInt64) {
        var numbers = Numbers(state: seed)
        var index = IDIndex()
        var model: [Int: Int32] = [:]
        // Few distinct ids, so that inserts, updates and removals meet in long probe runs.
        for step in 0..<20_000 {
            let n = numbers.next(600)
            switch numbers.next(3) {
            case 0, 1:
                index[Self.id(n)] = Int32(step)
                model[n] = Int32(step)
            default:
                #expect(index.removeValue(forKey: Self.id(n)) == model.removeValue(forKey: n))
            }
            #expect(index.count == model.count)
            let probe = numbers.next(600)
            #expect(index[Self.id(probe)] == model[probe])
        }
        #expect(Set(index.keys) == Set(model.keys.map(Self.id)))
        for (n, v) in model { #expect(index[Self.id(n)] == v) }
        index.removeAll()
        #expect(index.isEmpty && index[Self.id(1)] == nil)
    }

    @Test(arguments: [1, 2, 3])
    func lazyMinimumGivesTheOrderOfAHeap(seed: UInt64) {
        var numbers = Numbers(state: seed)
        var lazy = LazyMinimum<Int>()
        // (at, serial) of what is held, in pop order.
        var model: [(at: Int64, serial: Int)] = []
        var serial = 0
        var now: Int64 = 1_000
        for _ in 0..<20_000 {
            switch numbers.next(10) {
            case 0..<6:
                // Nearly in order: mostly ahead of `now`, sometimes behind it.
                now += Int64(numbers.next(5))
                let at = numbers.next(5) == 0 ? now - Int64(numbers.next(200)) : now
                serial += 1
                lazy.push(at, serial)
                model.append((at, serial))
                model.sort { $0.at != $1.at ? $0.at < $1.at : $0.serial < $1.serial }
            case 6..<9:
                let limit = now - Int64(numbers.next(50))
                let popped = lazy.pop(below: limit)
                if let first = model.first, first.at < limit {
                    model.removeFirst()
                    #expect(popped?.at == first.at && popped?.tag == first.serial)
                } else {
                    #expect(popped == nil)
                }
            default:
                // Entries with an odd tag are stale: dropped when they come to the top.
                let top = lazy.min { _, tag in tag % 2 == 0 }
                while let first = model.first, first.serial % 2 != 0 { model.removeFirst() }
                #expect(top?.at == model.first?.at && top?.tag == model.first?.serial)
            }
            #expect(lazy.count == model.count && lazy.isEmpty == model.isEmpty)
        }
    }

    /// `RecordBytes.check` (its first look sixteen bytes at a time, the last sixteen
    /// overlapping) against Swift's own UTF-8 validation: every length up to 70, a NUL, a
    /// stray high byte or a valid two-byte character at every place, each at the end of a
    /// page too (where the bytes past the record are not readable).
    @Test func recordBytesAgreeWithTheStandardLibrary() {
        func model(_ bytes: [UInt8]) -> RejectReason? {
            if bytes.contains(0) { return .nulByte }
            return String(validating: bytes, as: UTF8.self) == nil ? .invalidUTF8 : nil
        }
        let page = 4096
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 2 * page, alignment: page)
        defer { buffer.deallocate() }
        for n in 0...70 {
            var cases: [[UInt8]] = [Array(repeating: UInt8(ascii: "a"), count: n)]
            for at in 0..<n {
                for bad: [UInt8] in [[0], [0xFF], [0xC3, 0xA9], [0xC3]] where at + bad.count <= n {
                    var b = cases[0]
                    b.replaceSubrange(at..<at + bad.count, with: bad)
                    cases.append(b)
                }
            }
            for bytes in cases {
                let expected = model(bytes)
                bytes.withUnsafeBytes { #expect(RecordBytes.check($0) == expected, "\(bytes)") }
                // The same bytes ending at a page's end.
                let start = page - n
                buffer.baseAddress!.advanced(by: start).copyMemory(from: bytes, byteCount: n)
                let atEnd = UnsafeRawBufferPointer(start: buffer.baseAddress! + start, count: n)
                #expect(RecordBytes.check(atEnd) == expected, "\(bytes) at a page's end")
            }
        }
    }
}
