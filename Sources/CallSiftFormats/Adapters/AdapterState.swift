import CallSiftCore

/// What an adapter holds when a run with durable state ends (the chains, calls and records
/// it is still assembling), written as bytes into the state so that the next run's adapter
/// goes on from there: a platform's export cut into files across days is one stream
/// (docs/formats.md, "One export across many files"). The state's engine file holds these
/// bytes inside its checksummed container; the adapter only lays out its own values.
package struct AdapterStateWriter {
    package private(set) var bytes: [UInt8] = []

    package init() {}

    mutating func int(_ v: Int64) { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func bool(_ b: Bool) { bytes.append(b ? 1 : 0) }
    mutating func count(_ n: Int) { int(Int64(n)) }

    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        count(u.count)
        bytes += u
    }

    mutating func optionalInt(_ v: Int64?) {
        bool(v != nil)
        if let v { int(v) }
    }

    mutating func optionalString(_ s: String?) {
        bool(s != nil)
        if let s { string(s) }
    }

    /// An event as built (its names interned in the run's tables, which the state keeps
    /// in the same order, so that the ids stay valid in the next run).
    mutating func event(_ e: Event) {
        int(e.ts)
        u8(e.call.length)
        for w in [e.call.w0, e.call.w1, e.call.w2, e.call.w3, e.call.w4] { int(Int64(bitPattern: w)) }
        u8(e.kind.rawValue)
        bool(e.identified)
        u8(e.outcome.rawValue)
        int(Int64(e.centre))
        int(Int64(e.service))
        int(Int64(e.reason))
        int(Int64(bitPattern: e.caller.hi))
        int(Int64(bitPattern: e.caller.lo))
    }

    mutating func optionalEvent(_ e: Event?) {
        bool(e != nil)
        if let e { event(e) }
    }
}

/// Why an adapter's bytes in the state cannot be read back (the state is then refused,
/// naming its file).
package struct AdapterStateError: Error, CustomStringConvertible {
    package var description: String
}

/// Reads what `AdapterStateWriter` wrote; every read is bounds-checked.
package struct AdapterStateReader {
    private let bytes: [UInt8]
    private var at = 0

    package init(_ bytes: [UInt8]) { self.bytes = bytes }

    package var isAtEnd: Bool { at == bytes.count }

    private mutating func take(_ n: Int) throws(AdapterStateError) -> ArraySlice<UInt8> {
        guard n >= 0, bytes.count - at >= n else { throw AdapterStateError(description: "an adapter's state ends early") }
        defer { at += n }
        return bytes[at..<at + n]
    }

    mutating func int() throws(AdapterStateError) -> Int64 {
        var v: UInt64 = 0
        for (i, b) in try take(8).enumerated() { v |= UInt64(b) << (8 * UInt64(i)) }
        return Int64(bitPattern: v)
    }

    mutating func u8() throws(AdapterStateError) -> UInt8 { try take(1).first! }

    mutating func bool() throws(AdapterStateError) -> Bool {
        switch try u8() {
        case 0: return false
        case 1: return true
        default: throw AdapterStateError(description: "an adapter's state holds a flag that is neither 0 nor 1")
        }
    }

    /// A count of things at least `minBytes` long each, checked against what is left.
    mutating func count(minBytes: Int = 1) throws(AdapterStateError) -> Int {
        let n = try int()
        guard n >= 0, n <= Int64((bytes.count - at) / max(minBytes, 1)) else {
            throw AdapterStateError(description: "an adapter's state holds a count of \(n), more than its bytes")
        }
        return Int(n)
    }

    mutating func string() throws(AdapterStateError) -> String {
        let n = try count()
        return String(decoding: try take(n), as: UTF8.self)
    }

    mutating func optionalInt() throws(AdapterStateError) -> Int64? { try bool() ? try int() : nil }
    mutating func optionalString() throws(AdapterStateError) -> String? { try bool() ? try string() : nil }

    mutating func event() throws(AdapterStateError) -> Event {
        let ts = try int()
        var call = CallID(short: UnsafeRawBufferPointer(start: nil, count: 0))
        call.length = try u8()
        call.w0 = UInt64(bitPattern: try int())
        call.w1 = UInt64(bitPattern: try int())
        call.w2 = UInt64(bitPattern: try int())
        call.w3 = UInt64(bitPattern: try int())
        call.w4 = UInt64(bitPattern: try int())
        guard call.isLong || Int(call.length) <= CallID.inlineCapacity, let kind = EventKind(rawValue: try u8()) else {
            throw AdapterStateError(description: "an adapter's state holds an event it cannot read")
        }
        let identified = try bool()
        guard let outcome = Outcome(rawValue: try u8()) else {
            throw AdapterStateError(description: "an adapter's state holds an event of an unknown outcome")
        }
        func id() throws(AdapterStateError) -> Int32 {
            let v = try int()
            guard v >= -1, v <= Int64(Int32.max) else { throw AdapterStateError(description: "an adapter's state holds a name out of range") }
            return Int32(v)
        }
        let centre = try id(), service = try id(), reason = try id()
        let caller = CallerKey(hi: UInt64(bitPattern: try int()), lo: UInt64(bitPattern: try int()))
        return Event(
            ts: ts, call: call, kind: kind, identified: identified, outcome: outcome, centre: centre, service: service,
            reason: reason, caller: caller)
    }

    mutating func optionalEvent() throws(AdapterStateError) -> Event? { try bool() ? try event() : nil }
}
