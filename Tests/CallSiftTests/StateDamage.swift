// How the `state` and `checkpoint` fuzz targets damage a state folder's files. One file
// for both users: the test target compiles it as one of its sources, and scripts/fuzz.sh
// compiles it into the fuzz binary beside Fuzz/FuzzTargets.swift, so that a finding
// replayed by FuzzedStateTests is damaged exactly as the target damaged it.
import CallSiftCore

/// A state file's container (docs/architecture.md, "Durable state"): a 16-byte header
/// (magic, version, kind), the payload, the payload's length and the checksum of
/// everything before it.
struct StateContainer {
    let header: [UInt8]
    let payload: [UInt8]

    init(file bytes: [UInt8]) {
        precondition(bytes.count >= 40, "a template state file of \(bytes.count) bytes")
        header = Array(bytes[0..<16])
        payload = Array(bytes[16..<bytes.count - 24])
    }

    init(header: [UInt8], payload: [UInt8]) {
        self.header = header
        self.payload = payload
    }

    /// The file's bytes, framed as a writer frames them, so that the checksum holds.
    var framed: [UInt8] {
        var out = header + payload + StateDamage.le(UInt64(payload.count))
        let sum = out.withUnsafeBytes { ContentFingerprint.of($0) }
        out += StateDamage.le(sum.high) + StateDamage.le(sum.low)
        return out
    }
}

enum StateDamage {
    static func le(_ v: UInt64) -> [UInt8] { withUnsafeBytes(of: v.littleEndian) { Array($0) } }

    static func varint(_ v: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        var v = v
        while v >= 0x80 {
            out.append(UInt8(truncatingIfNeeded: v) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
        return out
    }

    /// `bytes` with every occurrence of `old` replaced by `new`.
    static func replacing(_ old: [UInt8], with new: [UInt8], in bytes: [UInt8]) -> [UInt8] {
        guard !old.isEmpty, bytes.count >= old.count else { return bytes }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        while i < bytes.count {
            if i + old.count <= bytes.count && bytes[i..<i + old.count].elementsEqual(old) {
                out += new
                i += old.count
            } else {
                out.append(bytes[i])
                i += 1
            }
        }
        return out
    }

    /// The reference to `file` in the file that names it: its length (a varint in an
    /// engine file, eight bytes in the manifest), then its checksum, from its trailer.
    static func reference(to file: [UInt8], varintLength: Bool) -> [UInt8] {
        let n = UInt64(file.count)
        return (varintLength ? varint(n) : le(n)) + Array(file[(file.count - 16)...])
    }

    /// The `state` target's damage: the state folder `files` (by name, without the lock)
    /// with one file changed by `input`. Byte 0 picks the file (its low six bits, modulo
    /// the number of files, by name: the manifest, the engine file, the part files and
    /// their caller-scope layers) and how: with the high bit clear the rest is the file's
    /// payload, framed as a writer frames it (so that the checksum holds and the decoders
    /// behind it are reached), and the references to it (an engine file's part and layer
    /// records, the manifest's engine record) are made to match its new length and
    /// checksum; set, the rest is the whole file, container and all, as it lies on disk.
    ///
    /// - Returns: the folder's files, and the name of the one damaged.
    static func damage(_ files: [String: [UInt8]], by input: [UInt8]) -> (files: [String: [UInt8]], damaged: String) {
        precondition(!input.isEmpty, "no byte to pick the file")
        let names = files.keys.sorted()
        let damaged = names[Int(input[0] & 0x3F) % names.count]
        let rest = Array(input[1...])
        var out = files
        if input[0] & 0x80 != 0 {
            out[damaged] = rest
            return (out, damaged)
        }
        let original = files[damaged]!
        let new = StateContainer(header: Array(original[0..<16]), payload: rest).framed
        out[damaged] = new
        guard let engineName = names.first(where: { $0.hasPrefix("engine-") }) else { return (out, damaged) }
        if damaged.hasPrefix("part-") {
            let engine = StateContainer(file: files[engineName]!)
            let repointed = replacing(
                reference(to: original, varintLength: true), with: reference(to: new, varintLength: true),
                in: engine.payload)
            out[engineName] = StateContainer(header: engine.header, payload: repointed).framed
        }
        if out[engineName]! != files[engineName]!, let manifestFile = files["MANIFEST"] {
            let manifest = StateContainer(file: manifestFile)
            let repointed = replacing(
                reference(to: files[engineName]!, varintLength: false),
                with: reference(to: out[engineName]!, varintLength: false), in: manifest.payload)
            out["MANIFEST"] = StateContainer(header: manifest.header, payload: repointed).framed
        }
        return (out, damaged)
    }
}
