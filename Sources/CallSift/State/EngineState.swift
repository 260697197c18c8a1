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
    /// Writes the engine state file to `out`: the interned strings (ids are kept), the line
    /// accounting so far, the number of parts, then each part (`Shard.encode`) preceded by
    /// its length.
    ///
    /// The parts are encoded side by side, and each is written as soon as it and every
    /// part before it are done, so that only a few are held at once: the file is written
    /// while it is made, and the buffers of parts written are reused (from the heap) for
    /// parts still to come rather than mapped afresh.
    static func encode(
        shards: [Shard], lines: LineAccounting, centres: Interner, services: Interner,
        reasons: Interner, longCallIDs: LongCallIDs, to out: StateFileWriter
    ) throws {
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
        w.count(shards.count)
        try out.append(w)
        let inOrder = PartsInOrder(out)
        DispatchQueue.concurrentPerform(iterations: shards.count) { i in
            var pw = StateWriter(reserving: shards[i].encodedSizeEstimate)
            shards[i].encode(into: &pw)
            var length = StateWriter(reserving: 10)
            length.count(pw.count)
            inOrder.put(i, [length, pw])
        }
        if let e = inOrder.failure { throw e }
    }

    /// Writes pieces numbered 0, 1, 2, … to a file in that order, whatever order they
    /// come in, holding those that come early. A thread that hands in a piece while no one
    /// is writing becomes the writer: it writes, outside the lock, every piece that is
    /// next in turn, while the other threads hand theirs in and go back to encoding
    /// rather than wait.
    private final class PartsInOrder: @unchecked Sendable {  // `out` is used by the one writer at a time
        private struct Queue {
            var next = 0
            var early: [Int: [StateWriter]] = [:]
            var writing = false
            var failure: StateError?

            /// The piece next in turn, if it is in, for the writer; none ends its turn.
            mutating func takeNext() -> [StateWriter]? {
                guard let p = early.removeValue(forKey: next) else {
                    writing = false
                    return nil
                }
                next += 1
                writing = true
                return failure == nil ? p : []  // after a failure, skipped
            }
        }
        private let out: StateFileWriter
        private let queue = Locked(Queue())

        init(_ out: StateFileWriter) { self.out = out }

        /// The first write that failed. Read once every piece is in.
        var failure: Error? { queue.withLock { $0.failure } }

        func put(_ n: Int, _ pieces: [StateWriter]) {
            var batch = queue.withLock { q -> [StateWriter]? in
                q.early[n] = pieces
                return q.writing ? nil : q.takeNext()
            }
            while let pieces = batch {
                var failed: StateError?
                do {
                    for piece in pieces { try out.append(piece) }
                } catch {
                    failed = error as? StateError ?? StateError("\(error)")
                }
                batch = queue.withLock { q in
                    if let failed, q.failure == nil { q.failure = failed }
                    return q.takeNext()
                }
            }
        }
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
        var readers: [StateReader] = []
        var seen = Set<Int32>()
        for _ in 0..<parts {
            var part = try r.subReader(length: try r.count())
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
