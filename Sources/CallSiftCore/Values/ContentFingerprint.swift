/// What an input file holds, recognised by its bytes rather than its name: a 128-bit hash
/// of every byte as stored (compressed or not) and the byte count.
///
/// It tells when two reports count the same input (`callsift merge` refuses them) however
/// the file was named or copied. It guards against accidents, not against an adversary:
/// the hash is fast (xxHash64's round over four lanes, about as fast as reading from the
/// page cache), not cryptographic.
public struct ContentFingerprint: Hashable, Sendable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64
    public var byteCount: Int64

    public init(high: UInt64, low: UInt64, byteCount: Int64) {
        self.high = high
        self.low = low
        self.byteCount = byteCount
    }

    /// `32 hex digits-byte count`, as written in a report's config.
    public var description: String {
        func hex(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return hex(high) + hex(low) + "-" + String(byteCount)
    }

    /// Reads `description` back; nil when it is not one.
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count == 32, let count = Int64(parts[1]), count >= 0,
            let high = UInt64(parts[0].prefix(16), radix: 16), let low = UInt64(parts[0].suffix(16), radix: 16)
        else { return nil }
        self.init(high: high, low: low, byteCount: count)
    }

    /// The fingerprint of `bytes`, whole.
    public static func of(_ bytes: UnsafeRawBufferPointer) -> ContentFingerprint {
        var h = ContentHasher()
        h.update(bytes)
        return h.finish()
    }
}

/// Builds a `ContentFingerprint` from bytes given in pieces of any size; the result does
/// not depend on where the pieces are cut.
///
/// Four lanes each take every fourth 8-byte word of each 32-byte stripe through xxHash64's
/// round (add the word times a prime, rotate, multiply); a stripe cut between two pieces
/// waits in `pending`. The lanes are then folded two different ways into two words, each
/// with the byte count and the last partial stripe mixed in.
public struct ContentHasher: Sendable {
    private static let p1: UInt64 = 0x9E37_79B1_85EB_CA87
    private static let p2: UInt64 = 0xC2B2_AE3D_27D4_EB4F
    private static let p3: UInt64 = 0x1656_67B1_9E37_79F9
    private static let p4: UInt64 = 0x85EB_CA77_C2B2_AE63

    private var lanes: (UInt64, UInt64, UInt64, UInt64) = (p1 &+ p2, p2, 0, 0 &- p1)
    /// Bytes of a stripe not yet complete, and how many.
    private var pending: (UInt64, UInt64, UInt64, UInt64) = (0, 0, 0, 0)
    private var pendingCount = 0
    /// The bytes hashed so far.
    public private(set) var byteCount: Int64 = 0

    public init() {}

    /// The hasher's state as ten words (four lanes, the pending stripe's four words, how
    /// many of its bytes are pending, the bytes seen), for a hash continued in another
    /// process (`init?(words:)`).
    public var words: [UInt64] {
        [
            lanes.0, lanes.1, lanes.2, lanes.3, pending.0, pending.1, pending.2, pending.3, UInt64(pendingCount),
            UInt64(bitPattern: byteCount),
        ]
    }

    /// A hasher continuing from `words`; nil if they are not a hasher's state.
    public init?(words w: [UInt64]) {
        guard w.count == 10, w[8] < 32, Int64(bitPattern: w[9]) >= 0, w[9] % 32 == w[8] else { return nil }
        lanes = (w[0], w[1], w[2], w[3])
        pending = (w[4], w[5], w[6], w[7])
        pendingCount = Int(w[8])
        byteCount = Int64(bitPattern: w[9])
    }

    @inline(__always)
    private static func round(_ lane: UInt64, _ word: UInt64) -> UInt64 {
        let x = lane &+ word &* p2
        return ((x << 31) | (x >> 33)) &* p1
    }

    @inline(__always)
    private mutating func stripe(_ p: UnsafeRawPointer) {
        lanes.0 = Self.round(lanes.0, UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
        lanes.1 = Self.round(lanes.1, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt64.self)))
        lanes.2 = Self.round(lanes.2, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 16, as: UInt64.self)))
        lanes.3 = Self.round(lanes.3, UInt64(littleEndian: p.loadUnaligned(fromByteOffset: 24, as: UInt64.self)))
    }

    public mutating func update(_ bytes: UnsafeRawBufferPointer) {
        guard var p = bytes.baseAddress, bytes.count > 0 else { return }
        var n = bytes.count
        byteCount += Int64(n)
        if pendingCount > 0 {
            let take = min(32 - pendingCount, n)
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.advanced(by: pendingCount).copyMemory(from: p, byteCount: take) }
            pendingCount += take
            p += take
            n -= take
            guard pendingCount == 32 else { return }
            var full = pending
            withUnsafeBytes(of: &full) { stripe($0.baseAddress!) }
            pendingCount = 0
        }
        while n >= 32 {
            stripe(p)
            p += 32
            n -= 32
        }
        if n > 0 {
            pending = (0, 0, 0, 0)
            withUnsafeMutableBytes(of: &pending) { $0.baseAddress!.copyMemory(from: p, byteCount: n) }
            pendingCount = n
        }
    }

    @inline(__always)
    private static func avalanche(_ v: UInt64) -> UInt64 {
        var h = v
        h ^= h >> 33; h = h &* p2
        h ^= h >> 29; h = h &* p3
        return h ^ (h >> 32)
    }

    public func finish() -> ContentFingerprint {
        func rotl(_ x: UInt64, _ r: UInt64) -> UInt64 { (x << r) | (x >> (64 - r)) }
        var tail = pending
        if pendingCount < 32 {
            // Zero the bytes past the partial stripe (they may hold an older stripe's).
            withUnsafeMutableBytes(of: &tail) {
                _ = $0.baseAddress!.advanced(by: pendingCount).initializeMemory(as: UInt8.self, repeating: 0, count: 32 - pendingCount)
            }
        }
        let (a, b, c, d) = lanes
        let n = UInt64(bitPattern: byteCount)
        var high = rotl(a, 1) &+ rotl(b, 7) &+ rotl(c, 12) &+ rotl(d, 18)
        var low = rotl(d, 1) &+ rotl(c, 7) &+ rotl(b, 12) &+ rotl(a, 18) &+ Self.p4
        for w in [tail.0, tail.1, tail.2, tail.3] {
            high = Self.round(high, w) &+ Self.p4
            low = Self.round(low ^ Self.p3, w ^ Self.p1)
        }
        return ContentFingerprint(
            high: Self.avalanche(high ^ n), low: Self.avalanche(low &+ n &* Self.p3),
            byteCount: byteCount)
    }
}
