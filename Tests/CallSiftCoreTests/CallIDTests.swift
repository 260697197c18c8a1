import Testing
@testable import CallSiftCore

/// Call ids as plain values: up to `inlineCapacity` (40) bytes held inline, longer ones
/// interned in `LongCallIDs` (the same bytes, the same index); equal exactly when their
/// bytes are equal; ordered by their bytes (a prefix first), short and long alike; their
/// bytes and text given back unchanged.
@Suite struct CallIDTests {
    static func id(_ bytes: [UInt8], _ long: LongCallIDs) -> CallID {
        bytes.withUnsafeBytes { CallID($0, long: long) }
    }

    static func id(_ text: String, _ long: LongCallIDs) -> CallID { id(Array(text.utf8), long) }

    /// Ids of every length from 0 to past the inline capacity, with bytes of every kind
    /// (NUL and 0xFF included).
    static func samples() -> [[UInt8]] {
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15
        func next() -> UInt64 {
            state ^= state << 13; state ^= state >> 7; state ^= state << 17
            return state
        }
        var out: [[UInt8]] = []
        for length in 0...60 {
            for _ in 0..<3 {
                out.append((0..<length).map { _ in UInt8(truncatingIfNeeded: next()) })
            }
            // Low-variety bytes, so that many ids share long prefixes.
            out.append((0..<length).map { _ in [0x00, 0x41, 0xFF][Int(next() % 3)] })
        }
        out += [
            [], [0], [0, 0], [0xFF], Array(repeating: 0xFF, count: 40), Array(repeating: 0xFF, count: 41),
            Array(repeating: 0, count: 40), Array(repeating: 0, count: 41),
        ]
        return out
    }

    /// Up to 40 bytes stay inline, from 41 on the id is interned; the boundary is the
    /// published capacity.
    @Test func shortIdsInlineLongIdsInterned() {
        let long = LongCallIDs()
        #expect(CallID.inlineCapacity == 40)
        for length in [0, 1, 7, 8, 9, 16, 39, 40] {
            #expect(!Self.id(Array(repeating: 0x61, count: length), long).isLong, "\(length)")
        }
        for length in [41, 64, 1000] {
            #expect(Self.id(Array(repeating: 0x61, count: length), long).isLong, "\(length)")
        }
        #expect(long.all.count == 3)
        // `init(short:)` and the general initialiser agree on short ids.
        let bytes = Array("1772442060.1".utf8)
        #expect(bytes.withUnsafeBytes { CallID(short: $0) } == Self.id(bytes, long))
    }

    /// The bytes and the text of every id come back exactly, inline or interned.
    @Test func bytesAndTextRoundTrip() {
        let long = LongCallIDs()
        for bytes in Self.samples() {
            let id = Self.id(bytes, long)
            #expect(long.bytes(of: id) == bytes, "\(bytes)")
        }
        for text in [
            "", "a", "1772442060.1", "6f1c2b9e-3d4a-4e5f-8a7b-0c1d2e3f4a5b", "é✓😀",
            String(repeating: "long-call-id-", count: 10),
        ] {
            #expect(Self.id(text, long).string(long: long) == text)
        }
    }

    /// The same long id interned twice is the same index (and the same `CallID`); every
    /// distinct one gets the next index, and `all` lists them in that order.
    @Test func longIdsAreInternedOnce() {
        let long = LongCallIDs()
        let a = Array(repeating: UInt8(ascii: "a"), count: 50)
        let b = Array(repeating: UInt8(ascii: "b"), count: 41)
        let ia = Self.id(a, long), ib = Self.id(b, long), ia2 = Self.id(a, long)
        #expect(ia == ia2)
        #expect(ia != ib)
        #expect(ia.w0 == 0 && ib.w0 == 1)
        #expect(long.all == [a, b])
        // A separate table starts again at 0: indexes are per table.
        let other = LongCallIDs()
        #expect(Self.id(b, other).w0 == 0)
    }

    /// Equal exactly when the bytes are equal: a trailing NUL, a prefix or one changed byte
    /// makes another id; equal ids hash equally (both the `Hashable` hash and `hash64`).
    @Test func equalityFollowsTheBytes() {
        let long = LongCallIDs()
        let samples = Self.samples()
        let ids = samples.map { Self.id($0, long) }
        var mismatches = 0
        for i in ids.indices {
            for j in ids.indices where (ids[i] == ids[j]) != (samples[i] == samples[j]) {
                mismatches += 1
            }
        }
        #expect(mismatches == 0)
        for (bytes, id) in zip(samples, ids) {
            let again = Self.id(bytes, long)
            #expect(again == id)
            #expect(again.hashValue == id.hashValue)
            #expect(again.hash64 == id.hash64)
        }
        #expect(Self.id([0x61], long) != Self.id([0x61, 0x00], long))
        #expect(Self.id([], long) != Self.id([0x00], long))
        // As set members and dictionary keys.
        #expect(Set(ids).count == Set(samples).count)
    }

    /// `hash64` tells apart any two ids that differ in one byte (whatever the change, at
    /// any of the 40 inline positions) or only in length (trailing NULs).
    @Test func hash64TellsApartOneByteChanges() {
        let long = LongCallIDs()
        let base = Array("1772442060.123456-centre-north-000000042".utf8)
        #expect(base.count == 40)
        let baseHash = Self.id(base, long).hash64
        var same = 0
        for position in base.indices {
            for mask: UInt8 in 1...255 {
                var bytes = base
                bytes[position] ^= mask
                if Self.id(bytes, long).hash64 == baseHash { same += 1 }
            }
        }
        #expect(same == 0)
        let byLength = Set((0...40).map { Self.id(Array(repeating: 0, count: $0), long).hash64 })
        #expect(byLength.count == 41)
    }

    /// Structured ids that an earlier `hash64` (words XORed together before mixing, a
    /// shift dropping a bit, multiplies carrying differences only upwards) sent to the same
    /// hash: a change in bit 7 of byte 32; matching changes in bytes 24...31 and 32...39;
    /// ids differing only in the leading bytes of words 1...3.
    @Test func hash64KeepsStructuredIdsApart() {
        let long = LongCallIDs()
        do {
            var a = [UInt8](repeating: UInt8(ascii: "y"), count: 33)
            var b = a
            b[32] ^= 0x80
            #expect(Self.id(a, long).hash64 != Self.id(b, long).hash64)
            a = [UInt8](repeating: UInt8(ascii: "x"), count: 40)
            b = a
            a[25] ^= 0x02
            b[33] ^= 0x01
            #expect(Self.id(a, long).hash64 != Self.id(b, long).hash64)
            var hashes: Set<UInt64> = []
            let base = Array("CALLREF-0000000-0000000-0000000-0000000".utf8)
            for x in UInt8(ascii: "0")...UInt8(ascii: "9") {
                for y in UInt8(ascii: "A")...UInt8(ascii: "Z") {
                    for z in UInt8(ascii: "a")...UInt8(ascii: "d") {
                        var bytes = base
                        bytes[8] = x; bytes[16] = y; bytes[24] = z
                        hashes.insert(Self.id(bytes, long).hash64)
                    }
                }
            }
            #expect(hashes.count == 10 * 26 * 4)
        }
    }

    /// Ids are ordered by their bytes, as unsigned bytes, a prefix before the longer id;
    /// long (interned) ids take their place among short ones by their bytes, not by
    /// their index.
    @Test func orderIsByteOrder() {
        let long = LongCallIDs()
        let samples = Self.samples()
        let ids = samples.map { Self.id($0, long) }
        var mismatches = 0
        for i in ids.indices {
            for j in ids.indices {
                let expected = samples[i].lexicographicallyPrecedes(samples[j])
                if CallID.precedes(ids[i], ids[j], long: long) != expected { mismatches += 1 }
            }
        }
        #expect(mismatches == 0)
        // Spot checks, each against the plain reading of the rule.
        func before(_ a: [UInt8], _ b: [UInt8]) -> Bool { CallID.precedes(Self.id(a, long), Self.id(b, long), long: long) }
        #expect(before([], [0]))
        #expect(before([0x61], [0x61, 0x00]))
        #expect(!before([0x61, 0x00], [0x61]))
        #expect(before([0x7F], [0x80]))
        #expect(before([0x41, 0xFF], [0x42]))
        #expect(!before([0x61], [0x61]))
        // Differences in the last inline word, and between a 40-byte id and its 41-byte extension.
        let forty = Array(repeating: UInt8(ascii: "x"), count: 40)
        #expect(before(Array(forty.dropLast()) + [0x01], forty))
        #expect(before(forty, forty + [0x00]))
        #expect(!before(forty + [0x00], forty))
        // A long id interned first (index 0) still sorts after a short id with smaller bytes.
        let late = LongCallIDs()
        let zz = Self.id(Array(repeating: UInt8(ascii: "z"), count: 45), late)
        let aa = Self.id(Array(repeating: UInt8(ascii: "a"), count: 45), late)
        #expect(CallID.precedes(aa, zz, long: late))
        #expect(!CallID.precedes(zz, aa, long: late))
        #expect(CallID.precedes(Self.id("y", late), zz, long: late))
        #expect(!CallID.precedes(zz, Self.id("y", late), long: late))
    }

    /// Sorting with `precedes` gives the same order as sorting the bytes.
    @Test func sortingMatchesSortingTheBytes() {
        let long = LongCallIDs()
        let samples = Self.samples().shuffled()
        let sortedIDs = samples.map { Self.id($0, long) }.sorted { CallID.precedes($0, $1, long: long) }
        #expect(sortedIDs.map { long.bytes(of: $0) } == samples.sorted { $0.lexicographicallyPrecedes($1) })
    }

    /// Ids read from unaligned bytes (inside a larger record) are the same ids.
    @Test func unalignedBytesGiveTheSameId() {
        let long = LongCallIDs()
        for bytes in Self.samples() {
            let direct = Self.id(bytes, long)
            for offset in 1...7 {
                let padded = [UInt8](repeating: 0xEE, count: offset) + bytes + [0xEE, 0xEE]
                let shifted = padded.withUnsafeBytes { CallID(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + bytes.count]), long: long) }
                #expect(shifted == direct)
            }
        }
    }

    /// One table shared by several threads interns each long id once.
    @Test func longIdsInternSafelyAcrossThreads() async {
        let long = LongCallIDs()
        let texts = (0..<200).map { Array("a-call-id-long-enough-to-be-interned-every-time-\($0)".utf8) }
        #expect(texts.allSatisfy { $0.count > CallID.inlineCapacity })
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    for t in texts { _ = t.withUnsafeBytes { CallID($0, long: long) } }
                }
            }
        }
        #expect(long.all.count == texts.count)
        #expect(Set(long.all) == Set(texts))
        for t in texts { #expect(long.bytes(of: Self.id(t, long)) == t) }
    }
}
