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

/// A part of an engine file as it lies there: read, checked for its place, but not rebuilt
/// (docs/architecture.md, "Durable state"). A run rebuilds the parts its inputs name
/// (`Analysis.restore`) and copies the others' records, unread, into its own engine file;
/// their share of the report comes from their summaries.
struct StoredPart {
    /// The centre whose part it is (-1: every centre's, under `--scope global`).
    var centre: Int32
    /// The whole record after its length, as it is copied.
    var record: StateReader
    /// Where the body (what `Part.restore` reads) is: in a file of its own, named with its
    /// length and checksum (format 3), or in the record itself (format 2).
    enum Body {
        case file(name: String, length: Int, checksum: (high: UInt64, low: UInt64))
        case inline(StateReader)
    }
    var body: Body
    /// The layers of its caller scopes, newest first (format 4: `ScopeLayer`; before, the
    /// scopes are in the body).
    var scopes: [ScopeLayer.Ref] = []
    /// The summary (`PartSummary`) after the body; nil in a version 2 file, which has none.
    var summaryBytes: StateReader?

    /// The part files it names: its body's, if in a file, and its scope layers'.
    var partFiles: [String] {
        var names = scopes.map(\.name)
        if case .file(let name, _, _) = body { names.append(name) }
        return names
    }

    /// A reader of the body, the part file mapped and checked against what the record says
    /// of it (`store` holds the part files).
    func bodyReader(store: PartFolder?) throws -> StateReader {
        switch body {
        case .inline(let r):
            return r
        case .file(let name, let length, let checksum):
            guard let store else { throw record.malformed("a part file without its state folder") }
            let (bytes, path) = try store.bytes(name)
            var r = try StateReader(container: bytes, file: path, kind: .part)
            r.nameCounts = record.nameCounts
            guard bytes.count == length, r.checksum.high == checksum.high, r.checksum.low == checksum.low else {
                throw StateError("\(path): not the part the engine state names (length or checksum differ)")
            }
            return r
        }
    }

    /// The greatest `ts` of the part's events, read from the start of its summary.
    func horizon() throws -> Int64 {
        guard var r = summaryBytes else { return .min }
        for _ in 0..<5 { _ = try r.int() }
        return try r.int()
    }

    /// Its summary; with `verdictsLater`, its FCR verdicts are read by `settle`, not now.
    func summary(verdictsLater: Bool = false) throws -> PartSummary {
        guard var r = summaryBytes else { throw record.malformed("a part without its summary") }
        let s = try PartSummary(from: &r, verdictsLater: verdictsLater)
        guard verdictsLater || r.isAtEnd else { throw r.malformed("a part summary longer than its records") }
        return s
    }
}

extension Analysis {
    /// One piece of the engine file: bytes made by this run, or a part's record copied from
    /// the engine file before.
    enum Piece {
        case made(StateWriter)
        case copied(StateReader)
    }

    /// Writes the engine state file to `out`: the interned strings (ids are kept), the line
    /// accounting so far, the number of parts, then each part's record preceded by its
    /// length: those of `live` with their summaries (`Part.record`), then those of `stored`,
    /// copied as they lay. Each live part is finished on the way (`Part.finish`), its FCR
    /// verdicts judged against `horizon`: its aggregator then holds its share of the report.
    ///
    /// The live parts are encoded and finished side by side, and each is written as soon
    /// as it and every part before it are done, so that only a few are held at once: the
    /// file is written while it is made, and the buffers of parts written are reused (from
    /// the heap) for parts still to come rather than mapped afresh. With no `out`, the parts
    /// are only finished.
    ///
    /// Each live part's body goes to a part file of its own (`PartFolder.writer`),
    /// which the record names with its length and checksum, and the caller scopes it
    /// touched to a layer of their own (`Classifier.writeScopes`), named after it with
    /// the layers it keeps; a stored part's record, copied, names the files it named
    /// before.
    ///
    /// - Returns: the live parts' calls, all cut, in order (the live parts are used up); the
    ///   files written (paths), to be removed if the run does not commit; and every part
    ///   file the engine file names.
    static func encode(
        live: [Part], stored: [StoredPart], horizon: Int64, lines: LineAccounting, centres: Interner,
        services: Interner, reasons: Interner, longCallIDs: LongCallIDs, to out: StateFileWriter?, store: PartFolder?,
        layers policy: ScopeLayer.Policy = ScopeLayer.Policy(), carried: CarriedAdapters? = nil, extra: [[Event]] = []
    ) throws -> (calls: [CallAssembler.Accounting], written: [String], partFiles: [String], scopes: Int) {
        let calls = DisjointSlots<CallAssembler.Accounting>(count: live.count, repeating: CallAssembler.Accounting())
        // What the carried adapters would still emit (`extra[i]` for `live[i]`) is counted
        // in the report, after the part is written, never in the state.
        @Sendable func recordExtra(_ i: Int) {
            if i < extra.count, !extra[i].isEmpty { extra[i].withUnsafeBufferPointer { live[i].record($0) } }
        }
        guard let out else {
            DispatchQueue.concurrentPerform(iterations: live.count) { i in
                var none: StateWriter?
                recordExtra(i)
                calls[i] = live[i].finish(horizon: horizon, summary: &none)
            }
            return (calls.values, [], [], 0)
        }
        guard let store else { throw StateError("\(out.temporaryPath): no state folder for its part files") }
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
        (carried ?? CarriedAdapters()).encode(into: &w)
        w.count(live.count + stored.count)
        try out.append(w)
        let inOrder = PartsInOrder(out)
        let written = DisjointSlots<[String]>(count: live.count, repeating: [])
        let named = DisjointSlots<[String]>(count: live.count, repeating: [])
        let scopeRecords = DisjointSlots<Int>(count: live.count, repeating: 0)
        let failed = DisjointSlots<Error?>(count: live.count, repeating: nil)
        DispatchQueue.concurrentPerform(iterations: live.count) { i in
            let body = live[i].encodeBody()
            var layers: [ScopeLayer.Ref] = []
            do {
                let (refs, scopeFile) = try live[i].classifier.writeScopes(
                    to: store, index: i, policy: policy, stagger: Int(UInt32(bitPattern: live[i].centre) % 4))
                layers = refs
                if let scopeFile { written[i].append(scopeFile) }
            } catch {
                failed[i] = error
            }
            let records = layers.reduce(0) { $0 + $1.count }
            scopeRecords[i] = records
            recordExtra(i)
            var summary: StateWriter? = StateWriter(reserving: 1 << 16)
            calls[i] = live[i].finish(horizon: horizon, scopes: records, summary: &summary)
            guard failed[i] == nil else {
                inOrder.put(i, [])
                return
            }
            do {
                let (name, file) = try store.writer(index: i)
                written[i].append(file.temporaryPath)
                try file.append(body)
                let image = try file.finish()
                named[i] = [name] + layers.map(\.name)
                inOrder.put(i, live[i].record(file: name, image: image, scopes: layers, summary: summary!).map { .made($0) })
            } catch {
                failed[i] = error
                inOrder.put(i, [])
            }
        }
        let newFiles = written.values.flatMap { $0 }
        if let e = failed.values.lazy.compactMap({ $0 }).first {
            for f in newFiles { unlink(f) }
            throw e
        }
        for (j, part) in stored.enumerated() {
            var length = StateWriter(reserving: 10)
            length.count(part.record.withRemainingBytes { $0.count })
            inOrder.put(live.count + j, [.made(length), .copied(part.record)])
        }
        if let e = inOrder.failure {
            for f in newFiles { unlink(f) }
            throw e
        }
        let partFiles = named.values.flatMap { $0 } + stored.flatMap(\.partFiles)
        return (calls.values, newFiles, partFiles, scopeRecords.values.reduce(0, +))
    }

    /// Writes pieces numbered 0, 1, 2, … to a file in that order, whatever order they
    /// come in, holding those that come early. A thread that hands in a piece while no one
    /// is writing becomes the writer: it writes, outside the lock, every piece that is
    /// next in turn, while the other threads hand theirs in and go back to encoding
    /// rather than wait.
    private final class PartsInOrder: @unchecked Sendable {  // `out` is used by the one writer at a time
        private struct Queue {
            var next = 0
            var early: [Int: [Piece]] = [:]
            var writing = false
            var failure: StateError?

            /// The piece next in turn, if it is in, for the writer; none ends its turn.
            mutating func takeNext() -> [Piece]? {
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

        func put(_ n: Int, _ pieces: [Piece]) {
            var batch = queue.withLock { q -> [Piece]? in
                q.early[n] = pieces
                return q.writing ? nil : q.takeNext()
            }
            while let pieces = batch {
                var failed: StateError?
                do {
                    for piece in pieces {
                        switch piece {
                        case .made(let w): try out.append(w)
                        case .copied(let r): try r.withRemainingBytes { try out.append($0) }
                        }
                    }
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

    /// Reads an engine state file's interned names into the new interners given, and its
    /// parts as they lie (none is rebuilt); returns its line accounting and the parts.
    static func read(
        from r: inout StateReader, centres: Interner, services: Interner, reasons: Interner,
        longCallIDs: LongCallIDs, settings: AnalysisSettings
    ) throws -> (lines: LineAccounting, parts: [StoredPart], carried: CarriedAdapters) {
        for interner in [centres, services, reasons] {
            let n = try r.count()
            for i in 0..<n {
                guard interner.intern(try r.string()) == Int32(i) else { throw r.malformed("a name twice") }
            }
        }
        // Every id read from here on, in this file, its records and the part files they
        // name, must name one of these.
        r.nameCounts = StateReader.NameCounts(centres: centres.count, services: services.count, reasons: reasons.count)
        let longs = try r.count()
        for i in 0..<longs {
            let bytes = try r.blob()
            guard bytes.withUnsafeBytes({ longCallIDs.intern($0) }) == UInt32(i) else { throw r.malformed("a call id twice") }
        }
        let lines = try StateCodec.decodeLineAccounting(from: &r)
        let carried = r.version >= 5 ? try CarriedAdapters.decode(from: &r, settings: settings) : CarriedAdapters()
        let count = try r.count()
        var parts: [StoredPart] = []
        var seen = Set<Int32>()
        for _ in 0..<count {
            let record = try r.subReader(length: try r.count())
            var rest = record
            let centre = try rest.int32()
            guard centre >= -1, centre < Int32(centres.count), seen.insert(centre).inserted else { throw r.malformed("a part of centre \(centre)") }
            if r.version >= 3 {
                let name = try rest.string()
                guard name.hasPrefix("part-"), !name.contains("/") else { throw r.malformed("a part file named \(name)") }
                let length = Int(truncatingIfNeeded: try rest.varint())
                let checksum = (high: try rest.u64(), low: try rest.u64())
                var scopes: [ScopeLayer.Ref] = []
                if r.version >= 4 {
                    for _ in 0..<(try rest.count()) { scopes.append(try ScopeLayer.Ref(from: &rest)) }
                }
                parts.append(
                    StoredPart(
                        centre: centre, record: record, body: .file(name: name, length: length, checksum: checksum),
                        scopes: scopes, summaryBytes: rest))
            } else {
                parts.append(StoredPart(centre: centre, record: record, body: .inline(rest), summaryBytes: nil))
            }
        }
        return (lines, parts, carried)
    }

    /// Rebuilds `parts` side by side, each into a new part from `makePart`, reading their
    /// part files from `store`.
    static func restore(_ parts: [StoredPart], store: PartFolder?, makePart: (Int32) -> Part) throws -> [Part] {
        let shards = parts.map { makePart($0.centre) }
        let failed = DisjointSlots<Error?>(count: parts.count, repeating: nil)
        DispatchQueue.concurrentPerform(iterations: parts.count) { i in
            do {
                var body = try parts[i].bodyReader(store: store)
                var layers: [ScopeLayer] = []
                if !parts[i].scopes.isEmpty {
                    guard let store else { throw parts[i].record.malformed("caller scopes without their state folder") }
                    layers = try parts[i].scopes.map { try ScopeLayer($0, folder: store) }
                }
                try shards[i].restore(from: &body, scopes: layers)
                if !body.isAtEnd { failed[i] = body.malformed("a part longer than its records") }
                // A dormant part's late floor is taken from its summary's horizon, which is
                // its part file's or later (the summary also counts the events the carried
                // adapters would still emit, recorded after the part file was written).
                if parts[i].summaryBytes != nil, try parts[i].horizon() < shards[i].assembler.accounting.horizon {
                    failed[i] = body.malformed("a part whose horizon is past its summary's")
                }
            } catch {
                failed[i] = error
            }
        }
        if let e = failed.values.lazy.compactMap({ $0 }).first { throw e }
        return shards
    }
}
