import Foundation

/// A call identifier as a plain value: up to 40 bytes held inline, compared as bytes.
///
/// Call ids are the highest-cardinality strings in the input (one per call), so they are
/// never kept as `String`s: an id of up to 40 bytes (Asterisk unique ids, UUIDs, most
/// systems' ids) sits in five big-endian words, which compare in byte order and hash
/// without touching the heap. A longer id is interned in `LongCallIDs` and stands here as
/// its index; those are rare and compared through the table.
public struct CallID: Hashable, Sendable {
    public static let inlineCapacity = 40
    /// Marks an interned long id; `w0` is then its index.
    @usableFromInline static let longMarker: UInt8 = 0xFF

    @usableFromInline package var w0: UInt64 = 0, w1: UInt64 = 0, w2: UInt64 = 0, w3: UInt64 = 0, w4: UInt64 = 0
    @usableFromInline package var length: UInt8 = 0

    /// The empty id (that of no bytes).
    @inlinable package init() {}

    /// The id of `bytes`; long ones are interned in `long`.
    @inline(__always)
    package init(_ bytes: UnsafeRawBufferPointer, long: borrowing LongCallIDs) {
        self = bytes.count > Self.inlineCapacity ? Self.interned(bytes, long: long) : CallID(short: bytes)
    }

    /// The id of at most `inlineCapacity` bytes, held inline.
    ///
    /// Inlined, with no table to pass, because this runs once per event: returning the id
    /// from a call goes through memory, which the caller then reads back in wider loads
    /// than were stored, a stall per event.
    /// `@inlinable` as well, so that the parsers' module (another than this one) inlines it:
    /// `@_transparent` alone is not inlined across modules.
    @_transparent @inlinable
    package init(short bytes: UnsafeRawBufferPointer) {
        let n = bytes.count
        length = UInt8(n)
        guard let p = bytes.baseAddress else { return }
        w0 = Self.word(p, n, 0); w1 = Self.word(p, n, 8); w2 = Self.word(p, n, 16)
        w3 = Self.word(p, n, 24); w4 = Self.word(p, n, 32)
    }

    /// A long id, by its index in `long`. Out of line: rare.
    @inline(never)
    package static func interned(_ bytes: UnsafeRawBufferPointer, long: borrowing LongCallIDs) -> CallID {
        CallID(index: long.intern(bytes))
    }

    private init(index: UInt32) {
        w0 = UInt64(index)
        length = Self.longMarker
    }

    /// Bytes `at ..< at + 8` of `p[0 ..< n]` as a big-endian word (so that comparing words
    /// compares bytes in order), zero past `n`.
    ///
    /// Read with whole-word loads that stay inside the `n` bytes: a partial last word is
    /// the word that ends at `n`, shifted. This runs once per event, where copying the
    /// bytes into a zeroed tuple cost a `memmove` call.
    @inlinable @inline(__always)
    static func word(_ p: UnsafeRawPointer, _ n: Int, _ at: Int) -> UInt64 {
        if at &+ 8 <= n { return UInt64(bigEndian: p.loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
        if at >= n { return 0 }
        let rest = n &- at  // 1 ... 7
        if n >= 8 {
            let last = UInt64(bigEndian: p.loadUnaligned(fromByteOffset: n &- 8, as: UInt64.self))
            return last << UInt64(8 &* (8 &- rest))
        }
        var w: UInt64 = 0
        for i in 0..<rest {
            w |= UInt64(p.load(fromByteOffset: at &+ i, as: UInt8.self)) << UInt64(56 &- 8 &* i)
        }
        return w
    }

    @inlinable package var isLong: Bool { length == Self.longMarker }

    /// Hashed by `hash64` alone: one word for `Hasher` to take, where the six stored
    /// words and the length had been seven (an adapter's tables look ids up per line).
    public func hash(into hasher: inout Hasher) { hasher.combine(hash64) }

    /// Lends the id's bytes to `body` (from the words, on the stack, for an inline id).
    /// `@inlinable`, so that an adapter's module specialises it for its closure: the
    /// contact trace adapter lends a chain's id once per event it builds.
    @inlinable
    package func withBytes<R>(long: LongCallIDs, _ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        if isLong { return try long.bytes(of: self).withUnsafeBytes(body) }
        var words = (w0.bigEndian, w1.bigEndian, w2.bigEndian, w3.bigEndian, w4.bigEndian)
        return try withUnsafeBytes(of: &words) { try body(UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
    }

    /// A well-mixed hash of the id: each word (and then the length) is folded in by a
    /// full 64×64→128-bit multiply whose halves are XORed, so a difference anywhere in a
    /// word reaches every bit of the state before the next word comes in.
    @inlinable @inline(__always)
    package var hash64: UInt64 {
        @inline(__always) func fold(_ a: UInt64, _ k: UInt64) -> UInt64 {
            let m = a.multipliedFullWidth(by: k)
            return m.high ^ m.low
        }
        var h = fold(w0 ^ 0x243F_6A88_85A3_08D3, 0x9E37_79B9_7F4A_7C15)
        h = fold(h ^ w1, 0xC2B2_AE3D_27D4_EB4F)
        h = fold(h ^ w2, 0x1656_67B1_9E37_79F9)
        h = fold(h ^ w3, 0x27D4_EB2F_1656_67C5)
        h = fold(h ^ w4, 0x85EB_CA77_C2B2_AE63)
        return fold(h ^ UInt64(length), 0x9E37_79B9_7F4A_7C15)
    }

    /// Byte order, as docs/metrics.md, "Classes and FCR", orders call ids.
    package static func precedes(_ a: CallID, _ b: CallID, long: LongCallIDs) -> Bool {
        if a.isLong || b.isLong { return long.bytes(of: a).lexicographicallyPrecedes(long.bytes(of: b)) }
        if a.w0 != b.w0 { return a.w0 < b.w0 }
        if a.w1 != b.w1 { return a.w1 < b.w1 }
        if a.w2 != b.w2 { return a.w2 < b.w2 }
        if a.w3 != b.w3 { return a.w3 < b.w3 }
        if a.w4 != b.w4 { return a.w4 < b.w4 }
        return a.length < b.length  // zero padding: the shorter is a prefix
    }

    /// The id as text (for messages and tests).
    func string(long: LongCallIDs) -> String { String(decoding: long.bytes(of: self), as: UTF8.self) }
}

/// Call ids longer than `CallID.inlineCapacity`, interned for the run.
///
/// Thread-safe: inputs parsed on several threads share it (its table is `Locked`).
public final class LongCallIDs: Sendable {
    private let table = Locked(DenseIDs<[UInt8], [UInt8]>())

    public init() {}

    package func intern(_ bytes: UnsafeRawBufferPointer) -> UInt32 {
        let key = Array(bytes)
        return UInt32(table.withLock { $0.id(of: key) { key } })
    }

    /// Every long id interned so far, by index (for durable state).
    package var all: [[UInt8]] { table.withLock { $0.list } }

    /// The bytes of any id, inline or long.
    @usableFromInline
    package func bytes(of id: CallID) -> [UInt8] {
        if id.isLong {
            let index = Int(id.w0)
            return table.withLock { $0.list[index] }
        }
        var words = (id.w0.bigEndian, id.w1.bigEndian, id.w2.bigEndian, id.w3.bigEndian, id.w4.bigEndian)
        return withUnsafeBytes(of: &words) { Array($0.prefix(Int(id.length))) }
    }
}
