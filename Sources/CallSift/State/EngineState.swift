import CallSiftCore
import CallSiftInput
import CallSiftFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CallSiftConcurrency
import Foundation
import HeapModule

extension Analysis {
    /// The engine state file: the interned strings (ids are kept), the line accounting
    /// so far, then each part (`Shard.encode`).
    static func encode(
        shards: [Shard], lines: LineAccounting, centres: Interner, services: Interner,
        reasons: Interner, longCallIDs: LongCallIDs
    ) -> StateFile {
        var w = StateWriter(reserving: 1 << 20)
        for interner in [centres, services, reasons] {
            let strings = interner.strings
            w.count(strings.count)
            for s in strings { w.string(s) }
        }
        let longs = longCallIDs.all
        w.count(longs.count)
        for l in longs { w.blob(l) }
        StateCodec.encode(lines, into: &w)
        // Each part on its own, side by side, then joined in order.
        let out = DisjointSlots<[UInt8]>(count: shards.count, repeating: [])
        DispatchQueue.concurrentPerform(iterations: shards.count) { i in
            var pw = StateWriter(reserving: shards[i].encodedSizeEstimate)
            shards[i].encode(into: &pw)
            out[i] = pw.bytes
        }
        let parts = out.values
        // Each part's length first, so that they are read side by side too.
        w.count(shards.count)
        for p in parts { w.count(p.count) }
        return StateWriter.container(kind: .engine, pieces: [w.bytes] + parts)
    }

    /// Reads an engine state file into new interners and parts; returns its line accounting.
    static func restore(
        from r: inout StateReader, centres: Interner, services: Interner, reasons: Interner,
        longCallIDs: LongCallIDs, makeShard: (Int32) -> Shard, into shards: inout [Shard]
    ) throws -> LineAccounting {
        for interner in [centres, services, reasons] {
            let n = try r.count()
            for i in 0..<n {
                guard interner.intern(try r.string()) == Int32(i) else { throw r.malformed("a name twice") }
            }
        }
        let longs = try r.count()
        for i in 0..<longs {
            let bytes = try r.blob()
            guard bytes.withUnsafeBytes({ longCallIDs.intern($0) }) == UInt32(i) else { throw r.malformed("a call id twice") }
        }
        let lines = try StateCodec.decodeLineAccounting(from: &r)
        let parts = try r.count()
        var lengths: [Int] = []
        for _ in 0..<parts { lengths.append(try r.count()) }
        var readers: [StateReader] = []
        var seen = Set<Int32>()
        for n in lengths {
            var part = try r.subReader(length: n)
            let centre = try part.int32()
            guard centre >= -1, centre < Int32(centres.count), seen.insert(centre).inserted else { throw r.malformed("a part of centre \(centre)") }
            readers.append(part)
            shards.append(makeShard(centre))
        }
        let failed = DisjointSlots<Error?>(count: parts, repeating: nil)
        let restored = shards.suffix(parts)
        let partReaders = readers
        DispatchQueue.concurrentPerform(iterations: parts) { i in
            var part = partReaders[i]
            do {
                try restored[restored.startIndex + i].restore(from: &part)
                if !part.isAtEnd { failed[i] = part.malformed("a part longer than its records") }
            } catch {
                failed[i] = error
            }
        }
        if let e = failed.values.lazy.compactMap({ $0 }).first { throw e }
        return lines
    }
}
