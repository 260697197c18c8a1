import CMemory
import CallSiftCore
/// A cursor over one JSON text in memory, with the grammar's pieces that the NDJSON
/// reader and the contact-trace-record reader share: whitespace, literals, numbers,
/// strings checked and passed over, and whole values passed over. What a reader keeps,
/// and which values it refuses, is its own business; this only says whether the bytes
/// are well-formed JSON (RFC 8259), throwing `Malformed` at the first that are not.
struct JSONReader {
    /// Deepest nesting accepted, so that hostile input cannot exhaust the stack.
    static let maxDepth = 64

    struct Malformed: Error {}

    let bytes: UnsafeRawBufferPointer
    var index = 0

    init(bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inline(__always)
    func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    @inline(__always)
    mutating func next() throws -> UInt8 {
        guard index < bytes.count else { throw Malformed() }
        defer { index += 1 }
        return bytes[index]
    }

    @inline(__always)
    mutating func expect(_ c: UInt8) throws {
        if try next() != c { throw Malformed() }
    }

    @inline(__always)
    mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    mutating func literal(_ word: StaticString) throws {
        let n = word.utf8CodeUnitCount
        guard index + n <= bytes.count else { throw Malformed() }
        let w = UnsafeRawBufferPointer(start: word.utf8Start, count: n)
        guard w.elementsEqual(bytes[index..<index + n]) else { throw Malformed() }
        index += n
    }

    /// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
    mutating func number() throws {
        func digits() throws {
            let start = index
            while let c = peek(), c >= 0x30 && c <= 0x39 { index += 1 }
            if index == start { throw Malformed() }
        }
        if peek() == 0x2D { index += 1 }
        if peek() == 0x30 { index += 1 } else { try digits() }
        if peek() == 0x2E { index += 1; try digits() }
        if let c = peek(), c == 0x65 || c == 0x45 {
            index += 1
            if let s = peek(), s == 0x2B || s == 0x2D { index += 1 }
            try digits()
        }
    }

    /// Passes over one value of any kind, checking it; `depth` is the nesting it is at.
    mutating func skipValue(depth: Int) throws {
        guard depth <= Self.maxDepth else { throw Malformed() }
        switch peek() {
        case 0x22:
            try skipString()
        case 0x7B:
            index += 1; skipSpace()
            if peek() == 0x7D { index += 1; return }
            while true {
                skipSpace()
                try skipString()
                skipSpace(); try expect(0x3A); skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                let c = try next()
                if c == 0x7D { return }
                if c != 0x2C { throw Malformed() }
            }
        case 0x5B:
            index += 1; skipSpace()
            if peek() == 0x5D { index += 1; return }
            while true {
                skipSpace()
                try skipValue(depth: depth + 1)
                skipSpace()
                let c = try next()
                if c == 0x5D { return }
                if c != 0x2C { throw Malformed() }
            }
        case 0x74: try literal("true")
        case 0x66: try literal("false")
        case 0x6E: try literal("null")
        default: try number()
        }
    }

    /// Reads an object's key and returns its place in `names` (-1 when it is none of them),
    /// comparing the key's bytes where they lie; only a key with escapes is unescaped
    /// first (into `scratch`).
    @inline(__always)
    mutating func key(in names: [[UInt8]], scratch: inout [UInt8]) throws -> Int {
        try expect(0x22)
        let start = index
        scanPlain()
        if index < bytes.count && bytes[index] == 0x22 {
            let key = UnsafeRawBufferPointer(rebasing: bytes[start..<index])
            index += 1
            for (i, name) in names.enumerated() where name.count == key.count {
                if key.count == 0 || name.withUnsafeBytes({ bytesEqual($0.baseAddress!, key.baseAddress!, key.count) }) { return i }
            }
            return -1
        }
        index = start - 1
        scratch.removeAll(keepingCapacity: true)
        try string(into: &scratch)
        return names.firstIndex(of: scratch) ?? -1
    }

    /// Passes over a string, checking its escapes and storing nothing.
    mutating func skipString() throws {
        try expect(0x22)
        while true {
            scanPlain()
            let c = try next()
            if c == 0x22 { return }
            if c != 0x5C { throw Malformed() }  // a raw control character
            guard JSONEscape.decode(bytes, &index, { _ in }) else { throw Malformed() }
        }
    }

    /// Moves past string bytes that stand for themselves: up to a quote, a backslash,
    /// a control character or the end.
    /// Sixteen bytes at a time (`callsift_json_string_stop`).
    @inline(__always)
    mutating func scanPlain() {
        guard let base = bytes.baseAddress else { return }
        let n = bytes.count
        while index < n {
            let stops = callsift_json_string_stop(base + index, n &- index)
            if stops != 0 {
                index &+= stops.trailingZeroBitCount
                return
            }
            index &+= 16
        }
        index = n
    }
}
