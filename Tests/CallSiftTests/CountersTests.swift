import Foundation
import Testing
@testable import CallSift
@testable import CallSiftCore

/// `Counters` written out field by field (`merge`, `values`) agrees with `fields`, the
/// one list of names and key paths.
@Suite struct CountersTests {
    /// Counters whose fields all differ: field `i` holds `base + i`.
    static func distinct(_ base: Int64) -> Counters {
        var c = Counters()
        for (i, f) in Counters.fields.enumerated() { c[keyPath: f.path] = base + Int64(i) }
        return c
    }

    @Test func valuesAreInTheOrderOfFields() {
        let c = Self.distinct(100)
        #expect(c.values == Counters.fields.map { c[keyPath: $0.path] })
    }

    @Test func mergeAddsEveryField() {
        var a = Self.distinct(100)
        a.merge(Self.distinct(1000))
        #expect(a.values == Counters.fields.indices.map { Int64(1100 + 2 * $0) })
    }
}

/// The line accounting in the state: by name from version 5, by position before.
@Suite struct LineAccountingStateTests {
    /// Every kind and reason a version 2 to 4 state may hold by position is still one this
    /// callsift knows by name, so those states stay readable whatever is added later.
    @Test func positionalNamesAreStillKnown() {
        #expect(StateCodec.skipKindsByPosition.allSatisfy { FormatRegistry.skipKind(named: $0) != nil })
        #expect(StateCodec.rejectReasonsByPosition.allSatisfy { RejectReason(rawValue: $0) != nil })
        #expect(Set(StateCodec.skipKindsByPosition).count == StateCodec.skipKindsByPosition.count)
    }

    /// Written and read back: every count where it was, kinds and reasons by name.
    @Test func roundTrip() throws {
        var a = LineAccounting()
        a.lines = 100
        a.late = 3
        a.duplicates = 2
        for (i, k) in FormatRegistry.skipKinds.enumerated() where i % 2 == 0 {
            for _ in 0...i { a.skip(k) }
        }
        for (i, r) in RejectReason.allCases.enumerated() where i % 3 == 1 {
            for _ in 0...i { a.reject(r) }
        }
        var w = StateWriter()
        StateCodec.encode(a, into: &w)
        var framing = ContainerFraming(kind: .engine)
        var file = framing.header
        w.withBytes { framing.add($0) }
        file += w.bytes
        file += framing.trailer()
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-lines-\(UUID().uuidString)").path
        defer { unlink(path) }
        try Data(file).write(to: URL(fileURLWithPath: path))
        var r = try StateReader(container: try StateBytes(mapping: path), file: path, kind: .engine)
        #expect(try StateCodec.decodeLineAccounting(from: &r) == a)
        #expect(r.isAtEnd)
    }
}
