import CallSiftCore
import CallSiftInput
import CallSiftFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The byte encoding of the state files (docs/architecture.md, "Durable state").
///
/// Integers are little-endian; counts, ids and times mostly go as LEB128 varints
/// (signed ones zigzagged), since most are small or are stored as small differences.
/// Every file is one container:
///
/// ```
/// magic "CALLSIFT" (8 bytes) · format version u32 · kind u32
/// payload
/// payload length u64 · checksum: ContentFingerprint of everything before it (16 bytes, high, low)
/// ```
///
/// The length and checksum come last so that a file can be written in one pass, as it is
/// made (`StateFileWriter`). A flipped byte fails the checksum, a truncated file the
/// length, and a file of another format version is named as such; none of them is read
/// any further.
///
/// A writer appends to a buffer of its own through a pointer kept in the struct, with one
/// capacity check per value rather than an array append per byte (encoding millions of
/// caller scopes is most of what a daily run writes). Copies of a writer share its buffer:
/// a writer is passed `inout` and never written through two copies. Sendable: a writer
/// is handed from the thread that filled it to the one that writes it out, whole, and is
/// not written to after that.
///
/// Checked: every store lies within the buffer (`count + n <= capacity`, after `reserve`),
/// and the buffer is written and read only through the copy that wrote it last (a copy
/// is stale once another has written through the same buffer). Both are `assert`s on the
/// per-value paths, kept in debug builds only, where a count of writes per buffer and per
/// copy (`debugWrites`) tells a stale copy; `withBytes`, once per piece written out,
/// checks its bounds with `precondition`.
struct StateWriter: @unchecked Sendable {
    /// Owns the buffer; a new one replaces it when the writer grows.
    private final class Storage {
        let base: UnsafeMutableRawPointer
        /// Debug builds only (kept by `assert` conditions): writes made to the buffer,
        /// through any copy.
        var debugWrites = 0
        init(capacity: Int) { base = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: 16) }
        deinit { base.deallocate() }
    }

    private var storage: Storage
    private var base: UnsafeMutableRawPointer
    private var capacity: Int
    private(set) var count = 0
    /// Debug builds only: `storage.debugWrites` as of this copy's last write. A copy whose
    /// number is behind its storage's is stale: another has written since.
    private var debugWrites = 0

    init(reserving capacity: Int = 1 << 16) {
        self.capacity = max(capacity, 64)
        storage = Storage(capacity: self.capacity)
        base = storage.base
    }

    /// The bytes written, as a new array.
    var bytes: [UInt8] { withBytes { Array($0) } }

    /// The bytes written, valid in `body` only.
    func withBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        precondition(count >= 0 && count <= capacity, "StateWriter: count past the buffer")
        assert(isCurrent(room: 0), "StateWriter: read through a stale copy")
        return try withExtendedLifetime(storage) { try body(UnsafeRawBufferPointer(start: base, count: count)) }
    }

    /// Makes room for `n` more bytes.
    @inline(__always)
    private mutating func reserve(_ n: Int) {
        if count + n > capacity { grow(to: count + n) }
        assert(isCurrent(room: n), "StateWriter: written through a stale copy, or past its buffer")
    }

    /// For `assert`: this copy's buffer is its storage's, `n` more bytes fit, and no other
    /// copy has written since this one.
    private func isCurrent(room n: Int) -> Bool {
        storage.base == base && count + n <= capacity && storage.debugWrites == debugWrites
    }

    /// For `assert`, after a write: this copy is the one that wrote last.
    private mutating func noteWritten() -> Bool {
        storage.debugWrites += 1
        debugWrites = storage.debugWrites
        return true
    }

    private mutating func grow(to needed: Int) {
        let bigger = Storage(capacity: max(needed, capacity * 2))
        bigger.base.copyMemory(from: base, byteCount: count)
        storage = bigger
        base = bigger.base
        capacity = max(needed, capacity * 2)
        assert(noteWritten())
    }

    @inline(__always)
    mutating func u8(_ v: UInt8) {
        reserve(1)
        base.storeBytes(of: v, toByteOffset: count, as: UInt8.self)
        count += 1
        assert(noteWritten())
    }

    @inline(__always)
    mutating func bool(_ v: Bool) { u8(v ? 1 : 0) }

    @inline(__always)
    mutating func u64(_ v: UInt64) {
        reserve(8)
        base.storeBytes(of: v.littleEndian, toByteOffset: count, as: UInt64.self)
        count += 8
        assert(noteWritten())
    }

    @inline(__always)
    mutating func u32(_ v: UInt32) {
        reserve(4)
        base.storeBytes(of: v.littleEndian, toByteOffset: count, as: UInt32.self)
        count += 4
        assert(noteWritten())
    }

    /// An unsigned LEB128 varint: 7 bits a byte, low first.
    @inline(__always)
    mutating func varint(_ v: UInt64) {
        reserve(10)
        var v = v
        var at = count
        while v >= 0x80 {
            base.storeBytes(of: UInt8(truncatingIfNeeded: v) | 0x80, toByteOffset: at, as: UInt8.self)
            at += 1
            v >>= 7
        }
        base.storeBytes(of: UInt8(v), toByteOffset: at, as: UInt8.self)
        count = at + 1
        assert(noteWritten())
    }

    /// A signed varint, zigzagged so that small negative numbers stay short.
    @inline(__always)
    mutating func int(_ v: Int64) { varint(UInt64(bitPattern: (v << 1) ^ (v >> 63))) }

    mutating func int(_ v: Int32) { int(Int64(v)) }

    mutating func count(_ n: Int) { varint(UInt64(n)) }

    /// Forgets what was written, keeping the buffer (shared with any copy: see above).
    mutating func removeAll() {
        assert(isCurrent(room: 0), "StateWriter: emptied through a stale copy")
        count = 0
        assert(noteWritten())
    }

    mutating func string(_ s: String) { blob(Array(s.utf8)) }

    mutating func blob(_ b: [UInt8]) {
        count(b.count)
        reserve(b.count)
        b.withUnsafeBytes { if let p = $0.baseAddress { (base + count).copyMemory(from: p, byteCount: b.count) } }
        count += b.count
        assert(noteWritten())
    }
}

/// The container's header and trailer around a payload given in pieces, with the
/// checksum kept as they go by.
struct ContainerFraming {
    let header: [UInt8]
    private var hasher = ContentHasher()
    private var payloadLength: UInt64 = 0
    /// Set by `trailer()`.
    private(set) var checksum: ContentFingerprint?

    init(kind: StateFileKind) {
        var w = StateWriter(reserving: 16)
        for b in StateFormat.magic { w.u8(b) }
        w.u32(StateFormat.version)
        w.u32(kind.rawValue)
        header = w.bytes
        header.withUnsafeBytes { hasher.update($0) }
    }

    mutating func add(_ piece: UnsafeRawBufferPointer) {
        hasher.update(piece)
        payloadLength += UInt64(piece.count)
    }

    /// The bytes after the payload: its length, then the checksum of everything before.
    mutating func trailer() -> [UInt8] {
        var w = StateWriter(reserving: 24)
        w.u64(payloadLength)
        w.withBytes { hasher.update($0) }
        let sum = hasher.finish()
        w.u64(sum.high)
        w.u64(sum.low)
        checksum = sum
        return w.bytes
    }
}

/// What a state file holds (the container's `kind`).
enum StateFileKind: UInt32 {
    case manifest = 1
    case engine = 2
    case follow = 3
    /// One part of the engine (`Part`'s body), in a file of its own (format 3).
    case part = 4
    /// A layer of a part's caller scopes (`ScopeLayer`, format 4).
    case scopes = 5
}

enum StateFormat {
    static let magic: [UInt8] = Array("CALLSIFT".utf8)
    /// Raised whenever the encoding of any state file changes. Version 2 moved the payload
    /// length to the end (so that files are written in one pass) and put each engine part's
    /// length before it. Version 3 gives each engine part a summary of what its end would
    /// count (`PartSummary`), so that a run leaves the parts its inputs do not name as they
    /// lie. Version 4 takes the caller scopes out of the parts' bodies into layers of
    /// their own (`ScopeLayer`), which the parts' records name, so that a run looks scopes
    /// up where they lie and writes only those it touched. Version 5 stores the line
    /// accounting's skip kinds and reject reasons by name, not by position, so that a kind
    /// or reason added later leaves states readable. Files are written in `version`.
    static let version: UInt32 = 5
    /// The versions this callsift reads: version 2 differs only in its engine parts, which
    /// have no summary; a run restores each of them and writes version 3 (the state is
    /// upgraded in place by its next run that feeds it). Others are refused, never
    /// converted.
    static let readable: ClosedRange<UInt32> = 2...5
}

/// A state file that cannot be used: damaged, truncated, of another version, or not one.
public struct StateError: Error, CustomStringConvertible {
    public var description: String
    init(_ message: String) { description = message }
}

/// A state file's bytes, mapped read-only (`mmap`) rather than copied: a file of hundreds
/// of megabytes then costs no fresh memory and no copy, only the page cache it is in.
/// The mapping lasts as long as this object. The file must not be truncated meanwhile
/// (reading past a file's end faults): the state folder's lock keeps other callsift runs
/// away, and a commit writes new files rather than changing old ones.
final class StateBytes: @unchecked Sendable {  // immutable once made
    let base: UnsafeRawPointer
    let count: Int
    private let mapped: Bool

    /// `populate`: the whole file is about to be read, so its page-table entries are made
    /// at once; otherwise pages are mapped as they are first touched.
    init(mapping path: String, populate: Bool = true) throws {
        // Not blocking: a FIFO put where a state file was would wait for a writer forever.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw StateError("\(path): cannot open: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw StateError("\(path): cannot read: \(String(cString: strerror(errno)))") }
        guard info.st_mode & S_IFMT == S_IFREG else { throw StateError("\(path): not a regular file") }
        count = Int(info.st_size)
        guard count > 0 else {
            base = UnsafeRawPointer(UnsafeMutableRawPointer.allocate(byteCount: 1, alignment: 8))
            mapped = false
            return
        }
        #if os(Linux)
        let flags = populate ? MAP_PRIVATE | MAP_POPULATE : MAP_PRIVATE
        #else
        let flags = MAP_PRIVATE
        #endif
        guard let p = mmap(nil, count, PROT_READ, flags, fd, 0), p != MAP_FAILED else {
            throw StateError("\(path): cannot map: \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
        mapped = true
    }

    deinit {
        if mapped { munmap(UnsafeMutableRawPointer(mutating: base), count) } else { base.deallocate() }
    }

    /// Lets go of the pages read so far: they stay in the page cache, and are mapped again
    /// when next touched. For a big file read whole once (its checksum) and then only here
    /// and there, so that the process does not keep all of it resident.
    func releasePages() {
        if mapped { _ = madvise(UnsafeMutableRawPointer(mutating: base), count, MADV_DONTNEED) }
    }
}

/// Reads what `StateWriter` wrote; every read is bounds-checked and a short or malformed
/// payload throws, naming the file. Sendable: it reads bytes nobody changes, through a
/// pointer into `storage`, which it keeps alive.
struct StateReader: @unchecked Sendable {
    private let storage: StateBytes
    private let base: UnsafeRawPointer
    private var at: Int
    private var end: Int
    let file: String
    /// How many names of each kind the engine file holds, once read (`EngineState.read`),
    /// so that every id read after them is checked to name one (`nameID`); copied into
    /// the readers of the records and part files that follow.
    var nameCounts: NameCounts?

    struct NameCounts {
        var centres: Int
        var services: Int
        var reasons: Int
    }

    enum NameKind: String {
        case centre, service, reason
    }

    /// The container's checksum, as checked.
    private(set) var checksum = ContentFingerprint(high: 0, low: 0, byteCount: 0)
    /// The container's format version (`StateFormat.readable`).
    let version: UInt32

    /// Checks the container of `bytes` (read from `file`) and positions the reader at the
    /// start of its payload. `verified`: the bytes' checksum was checked when they were
    /// read (`StateStore`), and is not computed again.
    init(container bytes: StateBytes, file: String, kind: StateFileKind, verified: ContentFingerprint? = nil) throws {
        self.file = file
        storage = bytes
        base = bytes.base
        let size = bytes.count
        let header = StateFormat.magic.count + 8
        let trailer = 24
        guard size >= header,
            StateFormat.magic.withUnsafeBytes({ memcmp($0.baseAddress!, bytes.base, StateFormat.magic.count) == 0 })
        else {
            throw StateError("\(file): not a callsift state file (no CALLSIFT header), or truncated to \(size) bytes")
        }
        at = StateFormat.magic.count
        end = size
        // Read in place: `version` is set before any method of the reader is called.
        let version = UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self))
        self.version = version
        at += 4
        guard StateFormat.readable.contains(version) else {
            throw StateError(
                "\(file): state format version \(version), but this callsift reads versions \(StateFormat.readable.lowerBound) to \(StateFormat.readable.upperBound); use the callsift that wrote it (or rebuild the state from the original inputs)"
            )
        }
        let k = try u32Raw()
        guard k == kind.rawValue else { throw StateError("\(file): holds state of kind \(k), expected \(kind.rawValue)") }
        guard size >= header + trailer else { throw StateError("\(file): truncated to \(size) bytes") }
        let length = UInt64(littleEndian: base.loadUnaligned(fromByteOffset: size - trailer, as: UInt64.self))
        guard length == UInt64(size - header - trailer) else {
            throw StateError("\(file): truncated or extended: \(size) bytes, its trailer says \(length &+ UInt64(header + trailer))")
        }
        let stored = ContentFingerprint(
            high: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: size - 16, as: UInt64.self)),
            low: UInt64(littleEndian: base.loadUnaligned(fromByteOffset: size - 8, as: UInt64.self)),
            byteCount: Int64(size - 16))
        let sum = verified ?? ContentFingerprint.of(UnsafeRawBufferPointer(start: base, count: size - 16))
        guard sum.high == stored.high, sum.low == stored.low else {
            throw StateError("\(file): checksum mismatch: the file is damaged")
        }
        checksum = sum
        end = size - trailer
    }

    var isAtEnd: Bool { at == end }

    /// The bytes not yet read, lent for as long as `body` runs (the reader keeps them alive).
    func withRemainingBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try withExtendedLifetime(storage) { try body(UnsafeRawBufferPointer(start: base + at, count: end - at)) }
    }

    /// A reader of the next `length` bytes, which this one skips.
    mutating func subReader(length: Int) throws -> StateReader {
        guard length >= 0, at + length <= end else { throw short() }
        var sub = self
        sub.end = at + length
        at += length
        return sub
    }

    private func short() -> StateError { StateError("\(file): malformed (a record runs past the end of its data)") }

    private mutating func u32Raw() throws -> UInt32 {
        guard at + 4 <= end else { throw short() }
        defer { at += 4 }
        return UInt32(littleEndian: base.loadUnaligned(fromByteOffset: at, as: UInt32.self))
    }

    @inline(__always)
    mutating func u8() throws -> UInt8 {
        guard at < end else { throw short() }
        at += 1
        return base.load(fromByteOffset: at - 1, as: UInt8.self)
    }

    mutating func bool() throws -> Bool {
        let b = try u8()
        guard b <= 1 else { throw StateError("\(file): malformed (a flag of value \(b))") }
        return b == 1
    }

    @inline(__always)
    mutating func u64() throws -> UInt64 {
        guard at + 8 <= end else { throw short() }
        let v = base.loadUnaligned(fromByteOffset: at, as: UInt64.self)
        at += 8
        return UInt64(littleEndian: v)
    }

    @inline(__always)
    mutating func varint() throws -> UInt64 {
        var v: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard at < end, shift < 64 else { throw short() }
            let b = base.load(fromByteOffset: at, as: UInt8.self)
            at += 1
            v |= UInt64(b & 0x7F) << shift
            if b < 0x80 { return v }
            shift += 7
        }
    }

    @inline(__always)
    mutating func int() throws -> Int64 {
        let z = try varint()
        return Int64(bitPattern: (z >> 1) ^ (0 &- (z & 1)))
    }

    /// The most a count of lines, events, calls or contacts may be (2^48, far beyond any
    /// state's): sums of them over parts and runs cannot overflow.
    static let maxTally: Int64 = 1 << 48

    /// A counter's most (2^56: it may be a sum of milliseconds).
    static let maxCounter: Int64 = 1 << 56

    /// A count of lines, events, calls or contacts (`int` as written): 0 to `most`.
    mutating func tally(most: Int64 = maxTally) throws -> Int64 {
        let v = try int()
        guard v >= 0, v <= most else { throw malformed("a count of \(v)") }
        return v
    }

    mutating func int32() throws -> Int32 {
        let v = try int()
        guard let i = Int32(exactly: v) else { throw StateError("\(file): malformed (an id of \(v))") }
        return i
    }

    /// The id of a name of `kind` (an index into the engine's names), checked to name one
    /// once their number is known (`nameCounts`); `orNone`: or -1, none.
    mutating func nameID(_ kind: NameKind, orNone: Bool = false) throws -> Int32 {
        let v = try int32()
        if let counts = nameCounts {
            let bound: Int
            switch kind {
            case .centre: bound = counts.centres
            case .service: bound = counts.services
            case .reason: bound = counts.reasons
            }
            guard v >= (orNone ? -1 : 0), Int(v) < bound else {
                throw malformed("a \(kind.rawValue) id of \(v), of \(bound) \(kind.rawValue) names")
            }
        }
        return v
    }

    /// A count, checked against what the rest of the payload could hold at `minBytes` each.
    mutating func count(minBytes: Int = 1) throws -> Int {
        let n = try varint()
        guard n <= UInt64(end - at) / UInt64(max(minBytes, 1)) + 1 else { throw short() }
        return Int(n)
    }

    mutating func blob() throws -> [UInt8] {
        let n = try count()
        guard at + n <= end else { throw short() }
        defer { at += n }
        return Array(UnsafeRawBufferPointer(start: base + at, count: n))
    }

    mutating func string() throws -> String {
        let b = try blob()
        guard let s = String(validating: b, as: UTF8.self) else { throw StateError("\(file): malformed (a string that is not UTF-8)") }
        return s
    }

    func malformed(_ what: String) -> StateError { StateError("\(file): malformed (\(what))") }
}

/// Encodings of the values several stages keep.
enum StateCodec {
    static func encode(_ id: CallID, into w: inout StateWriter) {
        w.u8(id.length)
        if id.isLong {
            w.varint(id.w0)
            return
        }
        // Only the words that hold bytes of the id.
        let words = [id.w0, id.w1, id.w2, id.w3, id.w4]
        for i in 0..<(Int(id.length) + 7) / 8 { w.u64(words[i]) }
    }

    static func decodeCallID(from r: inout StateReader) throws -> CallID {
        var id = CallID(short: UnsafeRawBufferPointer(start: nil, count: 0))
        id.length = try r.u8()
        if id.isLong {
            id.w0 = try r.varint()
            return id
        }
        guard Int(id.length) <= CallID.inlineCapacity else { throw r.malformed("a call id of \(id.length) bytes") }
        var words: [UInt64] = [0, 0, 0, 0, 0]
        for i in 0..<(Int(id.length) + 7) / 8 { words[i] = try r.u64() }
        id.w0 = words[0]; id.w1 = words[1]; id.w2 = words[2]; id.w3 = words[3]; id.w4 = words[4]
        return id
    }

    static func encode(_ c: Contact, into w: inout StateWriter) {
        w.int(c.t); w.int(c.wait); w.int(c.handle)
        w.u64(c.caller.hi); w.u64(c.caller.lo)
        encode(c.call, into: &w)
        w.int(c.centre); w.int(c.service); w.int(c.reason)
        w.u8(c.terminal.rawValue | c.outcome.rawValue << 3)
        w.u8((c.identified ? 1 : 0) | (c.handled ? 2 : 0) | (c.transferred ? 4 : 0) | (c.transferredElsewhere ? 8 : 0))
    }

    static func decodeContact(from r: inout StateReader) throws -> Contact {
        let t = try r.int(), wait = try r.int(), handle = try r.int()
        let caller = CallerKey(hi: try r.u64(), lo: try r.u64())
        let call = try decodeCallID(from: &r)
        let centre = try r.nameID(.centre), service = try r.nameID(.service)
        let reason = try r.nameID(.reason, orNone: true)
        let kinds = try r.u8(), flags = try r.u8()
        guard let terminal = EventKind(rawValue: kinds & 7), let outcome = Outcome(rawValue: (kinds >> 3) & 3) else {
            throw r.malformed("a contact of terminal kind \(kinds & 7)")
        }
        return Contact(
            t: t, wait: wait, handle: handle, caller: caller, call: call, terminal: terminal,
            outcome: outcome, identified: flags & 1 != 0, centre: centre, service: service,
            reason: reason, handled: flags & 2 != 0, transferred: flags & 4 != 0,
            transferredElsewhere: flags & 8 != 0)
    }

    /// The line accounting, its skip kinds and reject reasons as (name, count) pairs for
    /// those counted (version 5; `decodeLineAccounting` reads versions 2 to 4 too).
    static func encode(_ a: LineAccounting, into w: inout StateWriter) {
        w.int(a.lines); w.int(a.late); w.int(a.skipped); w.int(a.duplicates)
        func named(_ pairs: [(String, Int64)]) {
            let counted = pairs.filter { $0.1 != 0 }
            w.count(counted.count)
            for (name, v) in counted {
                w.string(name)
                w.int(v)
            }
        }
        named(a.skippedKinds.map { ($0.rawValue, $1) }.sorted { $0.0 < $1.0 })
        named(zip(RejectReason.allCases, a.rejected).map { ($0.rawValue, $1) })
    }

    /// The skip kinds and reject reasons as versions 2 to 4 stored them, by position: the
    /// cases then, in their order then.
    static let skipKindsByPosition = [
        "ring", "agent", "pause", "queue_admin", "call_info", "reanswer", "other_queue_event", "outbound", "callback",
        "monitor", "api", "system", "other_initiation", "not_queued", "stale",
    ]
    static let rejectReasonsByPosition = [
        "invalid_utf8", "nul_byte", "line_too_long", "unterminated_quote", "bad_quote", "field_count", "bad_json",
        "bad_value", "truncated_input", "missing_ts", "bad_ts", "missing_centre", "missing_call", "missing_event",
        "unknown_event", "missing_caller", "missing_service", "bad_outcome",
    ]

    static func decodeLineAccounting(from r: inout StateReader) throws -> LineAccounting {
        var a = LineAccounting()
        a.lines = try r.tally(); a.late = try r.tally(); a.skipped = try r.tally(); a.duplicates = try r.tally()
        var named = Set<String>()
        func add(_ name: String, _ v: Int64) throws {
            guard named.insert("skip " + name).inserted else { throw r.malformed("the skip kind \(name) twice") }
            if let k = FormatRegistry.skipKind(named: name) {
                if v != 0 { a.skippedKinds[k, default: 0] += v }
            } else {
                throw r.malformed("a skip kind this callsift does not know: \(name)")
            }
        }
        func addReject(_ name: String, _ v: Int64) throws {
            guard named.insert("reject " + name).inserted else { throw r.malformed("the reject reason \(name) twice") }
            guard let reason = RejectReason(rawValue: name) else { throw r.malformed("a reject reason this callsift does not know: \(name)") }
            a.rejected[LineAccounting.index(reason)] += v
        }
        if r.version >= 5 {
            for _ in 0..<(try r.count(minBytes: 2)) { try add(try r.string(), try r.tally()) }
            for _ in 0..<(try r.count(minBytes: 2)) { try addReject(try r.string(), try r.tally()) }
        } else {
            guard try r.count() == Self.skipKindsByPosition.count else { throw r.malformed("skip kinds of another version") }
            for name in Self.skipKindsByPosition { try add(name, try r.tally()) }
            guard try r.count() == Self.rejectReasonsByPosition.count else { throw r.malformed("reject reasons of another version") }
            for name in Self.rejectReasonsByPosition { try addReject(name, try r.tally()) }
        }
        // Bounded by `maxTally` each, the sum cannot overflow.
        guard a.skipped == a.skippedKinds.values.reduce(0, +) else { throw r.malformed("skipped lines that are not the sum of their kinds") }
        return a
    }

    static func encode(_ c: Counters, into w: inout StateWriter) {
        for f in Counters.fields { w.int(c[keyPath: f.path]) }
    }

    static func decodeCounters(from r: inout StateReader) throws -> Counters {
        var c = Counters()
        for f in Counters.fields { c[keyPath: f.path] = try r.tally(most: StateReader.maxCounter) }
        return c
    }
}
