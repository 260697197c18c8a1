import Foundation

/// Keyed pseudonymisation of caller identifiers (docs/metrics.md, "Privacy").
///
/// A caller number is replaced on ingest by SipHash-2-4 with 128-bit output under a
/// secret 128-bit key. An unkeyed hash of a phone number can be reversed by enumerating
/// the few billion possible numbers; a keyed one cannot without the key. 128 bits keep
/// accidental collisions (which would merge two callers) out of reach even for billions
/// of callers.
public struct Pseudonymiser: Sendable {
    private let k0: UInt64
    private let k1: UInt64

    /// A pseudonymiser under the 128-bit key (k0, k1).
    public init(k0: UInt64, k1: UInt64) { self.k0 = k0; self.k1 = k1 }

    /// Derives the key from secret material of any length (a key file's bytes, or the
    /// `CALLSIFT_KEY` environment variable). Trailing newlines are ignored so that a key
    /// file written by `echo` works.
    public init(secret: [UInt8]) {
        var s = secret[...]
        while let last = s.last, last == 0x0A || last == 0x0D { s = s.dropLast() }
        let derive = Pseudonymiser(k0: 0x6361_6c6c_7369_6674, k1: 0x6b65_792d_6b64_6631)
        let k = Array(s).withUnsafeBytes { derive.pseudonym($0) }
        self.init(k0: k.hi, k1: k.lo)
    }

    /// A fresh random key: pseudonyms are then stable within this run only.
    public static func random() -> Pseudonymiser {
        var g = SystemRandomNumberGenerator()
        return Pseudonymiser(k0: g.next(), k1: g.next())
    }

    /// The pseudonym of `bytes`.
    public func pseudonym(_ bytes: UnsafeRawBufferPointer) -> CallerKey {
        let (a, b) = SipHash.hash128(bytes, k0: k0, k1: k1)
        return CallerKey(hi: a, lo: b)
    }
}

/// SipHash-2-4 (Aumasson and Bernstein), 64- and 128-bit outputs.
enum SipHash {
    struct State {
        var v0: UInt64, v1: UInt64, v2: UInt64, v3: UInt64

        @inline(__always) mutating func round() {
            v0 &+= v1; v1 = v1.rotl(13); v1 ^= v0; v0 = v0.rotl(32)
            v2 &+= v3; v3 = v3.rotl(16); v3 ^= v2
            v0 &+= v3; v3 = v3.rotl(21); v3 ^= v0
            v2 &+= v1; v1 = v1.rotl(17); v1 ^= v2; v2 = v2.rotl(32)
        }

        @inline(__always) mutating func compress(_ m: UInt64) {
            v3 ^= m; round(); round(); v0 ^= m
        }

        @inline(__always) var folded: UInt64 { v0 ^ v1 ^ v2 ^ v3 }
    }

    @inline(__always)
    static func absorb(_ bytes: UnsafeRawBufferPointer, into s: inout State) {
        let n = bytes.count
        var i = 0
        while i + 8 <= n {
            s.compress(UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: i, as: UInt64.self)))
            i += 8
        }
        // Last block: the remaining bytes, little-endian, with the length's low byte on top.
        var last = UInt64(truncatingIfNeeded: n) << 56
        var shift: UInt64 = 0
        while i < n {
            last |= UInt64(bytes[i]) << shift
            shift += 8; i += 1
        }
        s.compress(last)
    }

    static func hash128(_ bytes: UnsafeRawBufferPointer, k0: UInt64, k1: UInt64) -> (UInt64, UInt64) {
        var s = State(
            v0: k0 ^ 0x736f6d6570736575, v1: k1 ^ 0x646f72616e646f6d ^ 0xee,
            v2: k0 ^ 0x6c7967656e657261, v3: k1 ^ 0x7465646279746573)
        absorb(bytes, into: &s)
        s.v2 ^= 0xee
        s.round(); s.round(); s.round(); s.round()
        let a = s.folded
        s.v1 ^= 0xdd
        s.round(); s.round(); s.round(); s.round()
        return (a, s.folded)
    }

    static func hash64(_ bytes: UnsafeRawBufferPointer, k0: UInt64, k1: UInt64) -> UInt64 {
        var s = State(
            v0: k0 ^ 0x736f6d6570736575, v1: k1 ^ 0x646f72616e646f6d,
            v2: k0 ^ 0x6c7967656e657261, v3: k1 ^ 0x7465646279746573)
        absorb(bytes, into: &s)
        s.v2 ^= 0xff
        s.round(); s.round(); s.round(); s.round()
        return s.folded
    }
}

extension UInt64 {
    @inline(__always) func rotl(_ n: UInt64) -> UInt64 { (self << n) | (self >> (64 - n)) }
}
