#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One run of `callsift analyze`: inputs → merged events → calls → contacts →
/// classified contacts → counters → `Report`.
///
/// Stages, each with `record`/`advance`/`finish`:
/// - `InputCursor` per input: decode, cut records, parse, reject, judge lateness;
/// - the merge here: takes events from the inputs in time order and computes the
///   watermark, the least over unfinished inputs of (greatest ts read − lateness);
/// - `CallAssembler` (keyed by centre+call): calls, duplicates, validity;
/// - `Classifier` (keyed by caller scope): avoidable classes and FCR;
/// - `Aggregator`: counters per base group.
/// The watermark tells each keyed stage what is final, so state is dropped as time moves
/// on. Keys are what a parallel version partitions by; see docs/architecture.md.
public final class Analysis {
    public struct Outcome {
        public var report: Report
        /// Inputs that ended with an error (corrupt, truncated or unreadable); everything
        /// read before each error is in the report.
        public var errors: [InputError]
    }

    /// What a progress line shows.
    public struct Progress {
        public var inputsDone: Int
        public var inputs: Int
        public var events: Int64
        public var liveCalls: Int
        public var liveScopes: Int
    }

    private let settings: AnalysisSettings
    private let inputs: [String]
    private let files: [String]
    private let pseudonymiser: Pseudonymiser
    private let rejects: RejectsLog?
    private let progress: ((Progress) -> Void)?

    /// - Parameters:
    ///   - inputs: files, folders (their files, recursively, in name order) or `-`.
    public init(settings: AnalysisSettings, inputs: [String], pseudonymiser: Pseudonymiser,
                rejects: RejectsLog? = nil, progress: ((Progress) -> Void)? = nil) throws {
        if let problem = settings.problem() { throw UsageError(problem) }
        self.settings = settings
        self.inputs = inputs
        self.files = try Self.expand(inputs)
        self.pseudonymiser = pseudonymiser
        self.rejects = rejects
        self.progress = progress
    }

    /// Files of `inputs` in reading order: a folder contributes its regular files,
    /// recursively, sorted by path; hidden files are skipped.
    public static func expand(_ inputs: [String]) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for input in inputs {
            var isDir: ObjCBool = false
            if input != "-", fm.fileExists(atPath: input, isDirectory: &isDir), isDir.boolValue {
                guard let e = fm.enumerator(atPath: input) else { throw UsageError("cannot read folder \(input)") }
                var found: [String] = []
                while let rel = e.nextObject() as? String {
                    let name = (rel as NSString).lastPathComponent
                    if name.hasPrefix(".") { if (e.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { e.skipDescendants() }; continue }
                    if (e.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { found.append(rel) }
                }
                found.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                out += found.map { (input as NSString).appendingPathComponent($0) }
            } else {
                out.append(input)
            }
        }
        return out
    }

    public func run() throws -> Outcome {
        let calendar = try LocalCalendar(identifier: settings.timeZone)
        let centres = Interner(), services = Interner(), reasons = Interner()
        let builder = EventBuilder(centres: centres, services: services, reasons: reasons, pseudonymiser: pseudonymiser)
        let assembler = CallAssembler(callTimeout: settings.callTimeout, centres: centres)
        let aggregator = Aggregator(calendar: calendar)
        let classifier = Classifier(settings: settings, reasons: reasons, aggregator: aggregator)

        let cursors = files.enumerated().map {
            InputCursor(path: $0.element, index: $0.offset, settings: settings, builder: builder, rejects: rejects)
        }
        // Place each input in the merge by its first event, read in a dry run and then
        // closed again, so that only inputs the merge has reached hold decoders and
        // buffers. Standard input cannot be read twice; it is opened at once, as is an
        // input without any event (only its accounting is left to do).
        var firstTs = [Int64](repeating: .min, count: files.count)
        for (i, path) in files.enumerated() where path != "-" {
            let dry = InputCursor(path: path, index: i, settings: settings, builder: builder, rejects: nil, dryRun: true)
            dry.refill()
            if let first = dry.firstBound { firstTs[i] = first }
            dry.close()
        }
        struct Entry: Comparable {
            var ts: Int64
            var input: Int
            static func < (a: Entry, b: Entry) -> Bool { a.ts != b.ts ? a.ts < b.ts : a.input < b.input }
        }
        var heap = MinHeap<Entry>()
        for i in files.indices { heap.push(Entry(ts: firstTs[i], input: i)) }
        // Inputs not yet opened leave the merge in order of their first event.
        let unopenedFirsts = firstTs.sorted()
        var unopenedNext = 0
        var open: [Int] = []
        var opened = [Bool](repeating: false, count: files.count)
        var done = 0
        var events: Int64 = 0
        var watermark = Int64.min
        var lastProgress = Date()

        func advanceWatermark() {
            var wm = unopenedNext < unopenedFirsts.count ? unopenedFirsts[unopenedNext] &- settings.lateness : .max
            for i in open { wm = min(wm, cursors[i].watermark) }
            guard wm > watermark, wm != .max else { return }
            watermark = wm
            assembler.advance(to: wm) { classifier.record($0) }
            classifier.advance(to: wm)
        }

        func report() {
            guard let progress, Date().timeIntervalSince(lastProgress) >= 1 else { return }
            lastProgress = Date()
            progress(Progress(inputsDone: done, inputs: files.count, events: events,
                              liveCalls: assembler.liveKeys, liveScopes: classifier.liveScopes))
        }

        while let top = heap.pop() {
            let cursor = cursors[top.input]
            if !opened[top.input] {
                opened[top.input] = true
                unopenedNext += 1
                open.append(top.input)
            }
            let limit = heap.min?.ts ?? .max
            while true {
                if !cursor.hasPending {
                    cursor.refill()
                    if !cursor.hasPending { break }
                }
                if cursor.next.ts > limit { break }
                assembler.record(cursor.take())
                events += 1
                if events & 8191 == 0 {
                    advanceWatermark()
                    report()
                }
            }
            if cursor.hasPending {
                heap.push(Entry(ts: cursor.next.ts, input: top.input))
            } else {
                open.removeAll { $0 == top.input }
                done += 1
                advanceWatermark()
            }
        }

        assembler.finish { classifier.record($0) }
        let horizon = assembler.accounting.horizon
        classifier.finish(horizon: horizon)

        var lines = LineAccounting()
        var errors: [InputError] = []
        for c in cursors {
            lines.merge(c.accounting)
            if let e = c.error { errors.append(e) }
            if let e = c.rejectsError { throw e }
        }
        try rejects?.finish()
        let rows = Report.rows(keys: aggregator.keys, counters: aggregator.counters, centres: centres,
                               services: services, settings: settings)
        let report = Report(settings: settings, inputs: inputs, horizon: horizon == .min ? nil : horizon,
                            lines: lines, calls: assembler.accounting, rows: rows)
        return Outcome(report: report, errors: errors)
    }
}

/// A problem with the command line or settings, reported before any input is read.
public struct UsageError: Error, CustomStringConvertible {
    public var description: String
    public init(_ message: String) { description = message }
}
