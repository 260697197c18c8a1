import CallSiftCore
import CallSiftConcurrency
import CMemory

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A part's caller scopes as they lie on disk, used where they lie (docs/architecture.md,
/// "Caller scopes on disk").
///
/// A layer is a file of fixed-size records, sorted by the key's `tableHash` (then by the
/// key's fields, so that the order is total), with a bucket index over the hash's top
/// bits: a lookup reads one index entry and the one or two records of its bucket, in a
/// file mapped read-only, and nothing is rebuilt in memory. A part's scopes are a list
/// of layers, newest first: a run looks a caller up in its own table, then in each layer
/// in turn, and the first found is the scope's state. A run writes back only the scopes
/// it touched, as a new layer, and merges layers now and then (`Policy`,
/// `Classifier.writeScopes`), keeping the newest state of each scope and leaving out those
/// no contact still to come can need.
///
/// A layer's payload:
///
/// ```
/// records: count × 56 bytes, each
///     caller hi u64 · caller lo u64 · centre i32 · service i32
///     lastHandled i64 · lastPending i64 · lastFailed i64 · lastAnyFCR i64
/// index: (2^bits + 1) × u32, the first record of each bucket (a bucket: the hash's top
///     `bits` bits), then the count
/// count u64 · bits u64
/// ```
///
/// All little-endian, in the usual container (`StateFileKind.scopes`), checked whole when
/// it is opened; the index is checked to be in order and within the records, so that no
/// lookup reads outside the file whatever its bytes.
///
/// `@unchecked Sendable`: immutable once made; its pointers are into `bytes`, which it
/// keeps alive.
struct ScopeLayer: @unchecked Sendable {
    /// What the engine file records of a layer.
    struct Ref: Equatable, Sendable {
        var name: String
        var length: Int
        var checksumHigh: UInt64
        var checksumLow: UInt64
        var count: Int

        func encode(into w: inout StateWriter) {
            w.string(name)
            w.count(length)
            w.u64(checksumHigh)
            w.u64(checksumLow)
            w.count(count)
        }

    }

    static let recordSize = 56

    /// When a part's layers are merged (`Classifier.writeScopes`).
    struct Policy: Sendable {
        /// The most layers a part keeps (at least 2).
        var maxLayers = 4 {
            didSet { maxLayers = max(maxLayers, 2) }
        }
        /// Every layer is merged into one when those above the oldest outgrow this many
        /// sixteenths of it (plus the part's stagger, 0 to 3).
        var fullMergeSixteenths = 4
    }

    let ref: Ref
    private let bytes: StateBytes
    private let records: UnsafeRawPointer
    private let index: UnsafeRawPointer
    private let bits: Int
    var count: Int { ref.count }
    /// The greatest FCR queue number a scope of this layer names (-1: none): below the
    /// tail of its part's queue in any state a run wrote (`Classifier.restore` checks).
    let greatestFCREntry: Int64

    /// Maps and checks the layer `ref` names, in `folder`.
    init(_ ref: Ref, folder: PartFolder) throws {
        let (bytes, path) = try folder.bytes(ref.name, populate: false)
        let r = try StateReader(container: bytes, file: path, kind: .scopes)
        guard bytes.count == ref.length, r.checksum.high == ref.checksumHigh, r.checksum.low == ref.checksumLow else {
            throw StateError("\(path): not the caller scopes the engine state names (length or checksum differ)")
        }
        var greatest: Int64 = -1
        let (records, index, bits) = try r.withRemainingBytes { payload -> (UnsafeRawPointer, UnsafeRawPointer, Int) in
            guard payload.count >= 16, let base = payload.baseAddress else { throw r.malformed("a scope file without its counts") }
            let count = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: payload.count - 16, as: UInt64.self))
            let bits = UInt64(littleEndian: payload.loadUnaligned(fromByteOffset: payload.count - 8, as: UInt64.self))
            guard bits <= 32, count == UInt64(ref.count), count <= UInt64(payload.count / Self.recordSize) else {
                throw r.malformed("scope counts that do not fit the file")
            }
            let buckets = 1 << Int(bits)
            guard payload.count == Int(count) * Self.recordSize + (buckets + 1) * 4 + 16 else {
                throw r.malformed("a scope file of the wrong length for its counts")
            }
            let index = base + Int(count) * Self.recordSize
            var previous: UInt32 = 0
            for b in 0...buckets {
                let v = UInt32(littleEndian: index.loadUnaligned(fromByteOffset: b * 4, as: UInt32.self))
                guard v >= previous, UInt64(v) <= count, b < buckets || UInt64(v) == count else {
                    throw r.malformed("a scope index out of order")
                }
                previous = v
            }
            // The records in their one order (`ScopeOrder`), each in its hash's bucket:
            // lookups search only that bucket, and a merge writes the records as they
            // come, so a record out of place would be lost to one and stop the other.
            var last: (hash: UInt64, key: Classifier.ScopeKey)?
            for i in 0..<Int(count) {
                let key = Self.key(at: base + i * Self.recordSize)
                greatest = max(greatest, Int64(bitPattern: Self.u64(base + i * Self.recordSize, 48)))
                let h = key.tableHash
                let b = bits == 0 ? 0 : Int(truncatingIfNeeded: h >> (64 - bits))
                let from = Int(UInt32(littleEndian: index.loadUnaligned(fromByteOffset: b * 4, as: UInt32.self)))
                let to = Int(UInt32(littleEndian: index.loadUnaligned(fromByteOffset: (b + 1) * 4, as: UInt32.self)))
                guard i >= from, i < to else { throw r.malformed("a scope record outside its bucket of the index") }
                if let last, !ScopeOrder.precedes(last.hash, last.key, h, key) {
                    throw r.malformed("scope records out of order")
                }
                last = (h, key)
            }
            return (base, index, Int(bits))
        }
        // Checked whole, then used only where lookups land.
        bytes.releasePages()
        self.ref = ref
        self.bytes = bytes
        self.records = records
        self.index = index
        self.bits = bits
        greatestFCREntry = greatest
    }

    @inline(__always)
    private func bucket(_ h: UInt64) -> Int { bits == 0 ? 0 : Int(truncatingIfNeeded: h >> UInt64(64 - bits)) }

    @inline(__always)
    private func start(of b: Int) -> Int { Int(UInt32(littleEndian: index.loadUnaligned(fromByteOffset: b * 4, as: UInt32.self))) }

    /// Starts fetching the index entry of hash `h` (`prefetchRecords`, a while later, the
    /// records it points to).
    @inline(__always)
    func prefetchIndex(hash h: UInt64) { callsift_prefetch(index + bucket(h) * 4) }

    @inline(__always)
    func prefetchRecords(hash h: UInt64) {
        callsift_prefetch_bytes(records + start(of: bucket(h)) * Self.recordSize, Self.recordSize * 2)
    }

    /// The state of scope `key` (whose `tableHash` is `h`) in this layer, nil if it has none.
    @inline(__always)
    func find(_ key: Classifier.ScopeKey, hash h: UInt64) -> Classifier.ScopeState? {
        let b = bucket(h)
        var i = start(of: b)
        let end = start(of: b + 1)
        while i < end {
            let p = records + i * Self.recordSize
            if Self.key(at: p) == key { return Self.state(at: p) }
            i += 1
        }
        return nil
    }

    @inline(__always)
    private static func u64(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
        UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    @inline(__always)
    private static func i32(_ p: UnsafeRawPointer, _ offset: Int) -> Int32 {
        Int32(bitPattern: UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self)))
    }

    @inline(__always)
    static func key(at p: UnsafeRawPointer) -> Classifier.ScopeKey {
        Classifier.ScopeKey(caller: CallerKey(hi: u64(p, 0), lo: u64(p, 8)), centre: i32(p, 16), service: i32(p, 20))
    }

    @inline(__always)
    static func state(at p: UnsafeRawPointer) -> Classifier.ScopeState {
        var s = Classifier.ScopeState()
        s.lastHandled = Int64(bitPattern: u64(p, 24))
        s.lastPending = Int64(bitPattern: u64(p, 32))
        s.lastFailed = Int64(bitPattern: u64(p, 40))
        s.lastAnyFCR = Int64(bitPattern: u64(p, 48))
        return s
    }

    /// Record `i`'s key and state.
    func record(_ i: Int) -> (key: Classifier.ScopeKey, state: Classifier.ScopeState) {
        let p = records + i * Self.recordSize
        return (Self.key(at: p), Self.state(at: p))
    }
}

/// Writes a layer (`ScopeLayer`), its records given in order, as it goes.
struct ScopeLayerWriter {
    private let file: StateFileWriter
    private let name: String
    private var buffer = StateWriter(reserving: 1 << 20)
    private var starts: [UInt32]
    private let bits: Int
    private(set) var count = 0
    private var last: (hash: UInt64, key: Classifier.ScopeKey)?

    /// `atMost`: at least as many records as will be added (it sets the index's size:
    /// a bucket for every two).
    init(file: StateFileWriter, name: String, atMost: Int) {
        self.file = file
        self.name = name
        let half = UInt64(max(atMost / 2, 1))
        bits = min(32, 64 - half.leadingZeroBitCount - (half.nonzeroBitCount == 1 ? 1 : 0))
        starts = [UInt32](repeating: 0, count: (1 << bits) + 1)
    }

    /// Adds scope `key`, whose `tableHash` is `h`, with state `s`; records come in the
    /// order `ScopeOrder.precedes` gives, each key once.
    mutating func add(_ key: Classifier.ScopeKey, _ s: Classifier.ScopeState, hash h: UInt64) throws {
        if let last { precondition(ScopeOrder.precedes(last.hash, last.key, h, key), "scope records out of order") }
        last = (h, key)
        buffer.u64(key.caller.hi)
        buffer.u64(key.caller.lo)
        buffer.u32(UInt32(bitPattern: key.centre))
        buffer.u32(UInt32(bitPattern: key.service))
        buffer.u64(UInt64(bitPattern: s.lastHandled))
        buffer.u64(UInt64(bitPattern: s.lastPending))
        buffer.u64(UInt64(bitPattern: s.lastFailed))
        buffer.u64(UInt64(bitPattern: s.lastAnyFCR))
        let b = bits == 0 ? 0 : Int(truncatingIfNeeded: h >> UInt64(64 - bits))
        starts[b + 1] += 1
        count += 1
        if buffer.count >= 1 << 20 {
            try file.append(buffer)
            buffer.removeAll()
        }
    }

    /// Writes the index and the counts and finishes (syncs) the file.
    mutating func finish() throws -> ScopeLayer.Ref {
        try file.append(buffer)
        buffer.removeAll()
        for b in 1..<starts.count { starts[b] &+= starts[b - 1] }
        for v in starts { buffer.u32(v) }
        buffer.u64(UInt64(count))
        buffer.u64(UInt64(bits))
        try file.append(buffer)
        let image = try file.finish()
        return ScopeLayer.Ref(
            name: name, length: image.length, checksumHigh: image.checksum.high, checksumLow: image.checksum.low, count: count)
    }
}

/// The one order of a layer's records: by `tableHash`, then by the key's fields.
enum ScopeOrder {
    @inline(__always)
    static func precedes(_ ha: UInt64, _ a: Classifier.ScopeKey, _ hb: UInt64, _ b: Classifier.ScopeKey) -> Bool {
        if ha != hb { return ha < hb }
        if a.caller.hi != b.caller.hi { return a.caller.hi < b.caller.hi }
        if a.caller.lo != b.caller.lo { return a.caller.lo < b.caller.lo }
        if a.centre != b.centre { return a.centre < b.centre }
        return a.service < b.service
    }
}

/// A scope of the run's own table, with its hash, for writing in order.
struct HashedScope {
    var hash: UInt64
    var key: Classifier.ScopeKey
    var state: Classifier.ScopeState
}

extension ScopeLayer {
    /// Merges `newest` (in order) and `layers` (newest first) into one layer written by
    /// `out`: of each scope the newest state, unless `forgettable` says no contact still
    /// to come can need it.
    static func merge(
        _ newest: [HashedScope], _ layers: [ScopeLayer], into out: inout ScopeLayerWriter,
        forgettable: (Classifier.ScopeState) -> Bool
    ) throws {
        // One cursor per source; source 0 is the newest.
        var heads: [HashedScope?] = []
        var at = [Int](repeating: 0, count: layers.count + 1)
        func head(_ source: Int) -> HashedScope? {
            if source == 0 { return at[0] < newest.count ? newest[at[0]] : nil }
            let layer = layers[source - 1]
            guard at[source] < layer.count else { return nil }
            let (k, s) = layer.record(at[source])
            return HashedScope(hash: k.tableHash, key: k, state: s)
        }
        for s in 0...layers.count { heads.append(head(s)) }
        while true {
            var best = -1
            for s in heads.indices {
                guard let h = heads[s] else { continue }
                if best < 0 || ScopeOrder.precedes(h.hash, h.key, heads[best]!.hash, heads[best]!.key) { best = s }
            }
            guard best >= 0 else { break }
            let chosen = heads[best]!
            // Every source holding the same scope moves past it; the newest (lowest
            // numbered) is the one kept.
            for s in heads.indices {
                if let h = heads[s], h.hash == chosen.hash, h.key == chosen.key {
                    at[s] += 1
                    heads[s] = head(s)
                }
            }
            if !forgettable(chosen.state) { try out.add(chosen.key, chosen.state, hash: chosen.hash) }
        }
    }
}

/// Read from the state (`encode`); in an extension, so that the memberwise initialiser
/// stays.
extension ScopeLayer.Ref {
    init(from r: inout StateReader) throws {
        name = try r.string()
        guard name.hasPrefix("part-"), !name.contains("/") else { throw r.malformed("a scope file named \(name)") }
        // Sizes of another file: not bounded by this one's bytes (`StateReader.count`).
        length = Int(truncatingIfNeeded: try r.varint())
        checksumHigh = try r.u64()
        checksumLow = try r.u64()
        count = Int(truncatingIfNeeded: try r.varint())
        guard length >= 0, count >= 0 else { throw r.malformed("a scope file of negative size") }
    }
}
