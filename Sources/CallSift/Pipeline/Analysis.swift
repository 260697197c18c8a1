#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CallSiftConcurrency
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
        public var stats: Stats
    }

    /// How the run went, for `--stats` and the benchmarks.
    public struct Stats: Sendable {
        public var seconds: Double = 0
        public var events: Int64 = 0
        /// Most calls in progress at once (sampled at each watermark step).
        public var peakLiveCalls = 0
        /// Most caller-scope entries held at once, and the scope tables' size then
        /// (sampled after each step's classification). With classification on threads of
        /// its own, each shard's peak is taken separately and the peaks are summed: exact
        /// with one shard, an upper bound with several.
        public var peakScopes = 0
        public var scopeBytesAtPeak = 0
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
    private let execution: ExecutionOptions

    /// - Parameters:
    ///   - inputs: files, folders (their files, recursively, in name order) or `-`.
    public init(settings: AnalysisSettings, inputs: [String], pseudonymiser: Pseudonymiser,
                rejects: RejectsLog? = nil, execution: ExecutionOptions = ExecutionOptions(),
                progress: ((Progress) -> Void)? = nil) throws {
        self.execution = execution
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

    /// Decodes and parses `inputs` (rejection and lateness included) without assembling
    /// anything: the input side on its own, for benchmarks. Returns the accepted events
    /// and the line accounting.
    public static func parseOnly(_ inputs: [String], settings: AnalysisSettings) throws -> (events: Int, lines: LineAccounting) {
        let builder = EventBuilder(centres: Interner(), services: Interner(), reasons: Interner(),
                                   longCallIDs: LongCallIDs(), pseudonymiser: Pseudonymiser(k0: 1, k1: 2))
        var events = 0
        var lines = LineAccounting()
        var batch: [Event] = []
        batch.reserveCapacity(EventBatch.size)
        for (i, path) in try expand(inputs).enumerated() {
            let parser = InputParser(path: path, index: i, settings: settings, builder: builder, rejects: nil)
            while !parser.isFinished {
                batch.removeAll(keepingCapacity: true)
                parser.fill(&batch, upTo: EventBatch.size)
                events += batch.count
            }
            if let e = parser.error { throw e }
            lines.merge(parser.accounting)
        }
        return (events, lines)
    }

    public func run() throws -> Outcome {
        let calendar = try LocalCalendar(identifier: settings.timeZone)
        let centres = Interner(), services = Interner(), reasons = Interner(), longCallIDs = LongCallIDs()
        func builder() -> EventBuilder {
            EventBuilder(centres: centres, services: services, reasons: reasons,
                         longCallIDs: longCallIDs, pseudonymiser: pseudonymiser)
        }
        let shards = (0 ..< execution.shards).map { _ in
            Shard(settings: settings, calendar: calendar, centres: centres, reasons: reasons, longCallIDs: longCallIDs,
                  sweepInterval: execution.scopeSweepInterval)
        }
        let parallelShards = execution.threads >= 2 && shards.count > 1

        // With several inputs, each writes its rejected lines to a file of its own, joined
        // in input order at the end, so the rejects file does not depend on scheduling.
        let spool = rejects != nil && files.count > 1 ? try RejectsSpool(count: files.count) : nil
        // With more than one thread, each shard's classification runs on a thread of its
        // own. Nothing below throws before those threads are finished and joined.
        let stages = execution.threads >= 2 ? shards.enumerated().map { ClassificationStage(shard: $1, index: $0) } : nil
        // With more than one thread, every open input is decoded and parsed by one pool of
        // workers, as many as the threads asked for, however many inputs there are.
        let inputPool = execution.threads >= 2 ? InputPool(workers: execution.threads) : nil
        defer { inputPool?.shutDown() }
        let cursors = files.enumerated().map { i, path in
            InputCursor(parser: InputParser(path: path, index: i, settings: settings, builder: builder(),
                                            rejects: spool?.log(i) ?? rejects),
                        lateness: settings.lateness)
        }
        // Place each input in the merge by its first event, read in a dry run and then
        // closed again, so that only inputs the merge has reached hold decoders and
        // buffers. Standard input cannot be read twice; it is opened at once, as is an
        // input without any event (only its accounting is left to do).
        var firstTs = [Int64](repeating: .min, count: files.count)
        for (i, path) in files.enumerated() where path != "-" {
            let dry = InputParser(path: path, index: i, settings: settings, builder: builder(), rejects: nil, dryRun: true)
            var first: [Event] = []
            dry.fill(&first, upTo: 1)
            // No event of the input is below its first one or, for an adapter, its floor.
            let bound = min(first.first?.ts ?? .max, dry.adapterFloor)
            if bound != .max { firstTs[i] = bound }
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
        /// The watermark moves on, and state is finalised and dropped, every this many events.
        let eventsPerStep: Int64 = 8192
        var eventsAtStep: Int64 = 0
        var watermark = Int64.min
        var lastProgress = Date()
        let started = Date()
        var stats = Stats()

        func forEachShard(_ body: (Shard) -> Void) {
            if parallelShards {
                DispatchQueue.concurrentPerform(iterations: shards.count) { body(shards[$0]) }
            } else {
                shards.forEach(body)
            }
        }

        /// Hands the events taken since the last step to their shards, and everything the
        /// watermark `wm` makes final down the stages.
        func step(to wm: Int64) {
            forEachShard { $0.assemble(to: wm, shardCount: shards.count) }
            stats.peakLiveCalls = max(stats.peakLiveCalls, shards.reduce(0) { $0 + $1.assembler.liveKeys })
            if let stages {
                for target in shards.indices { stages[target].send(from: shards, to: target, watermark: wm) }
                return
            }
            for target in shards.indices {
                for source in shards { shards[target].classifier.take(&source.outbox[target]) }
            }
            forEachShard { $0.classify(to: wm) }
            let scopes = shards.reduce(0) { $0 + $1.classifier.liveScopes }
            if scopes > stats.peakScopes {
                stats.peakScopes = scopes
                stats.scopeBytesAtPeak = shards.reduce(0) { $0 + $1.classifier.scopeTableBytes }
            }
        }

        func advanceWatermark() {
            // An input not yet opened bounds the watermark by its first event. One without
            // any event (`.min`: empty, header only, every line rejected, unreadable) is
            // opened before any other and holds the watermark at `.min` until then; it must
            // not wrap round to the far future, which would make every later event late.
            var wm = Int64.max
            if unopenedNext < unopenedFirsts.count {
                let first = unopenedFirsts[unopenedNext]
                wm = first == .min ? .min : first &- settings.lateness
            }
            for i in open { wm = min(wm, cursors[i].watermark) }
            guard wm > watermark, wm != .max else { return }
            watermark = wm
            step(to: wm)
        }

        func report() {
            guard let progress, Date().timeIntervalSince(lastProgress) >= 1 else { return }
            lastProgress = Date()
            progress(Progress(inputsDone: done, inputs: files.count, events: events,
                              liveCalls: shards.reduce(0) { $0 + $1.assembler.liveKeys },
                              liveScopes: stages?.reduce(0) { $0 + $1.liveScopes } ?? shards.reduce(0) { $0 + $1.classifier.liveScopes }))
        }

        while let top = heap.pop() {
            let cursor = cursors[top.input]
            if !opened[top.input] {
                opened[top.input] = true
                unopenedNext += 1
                open.append(top.input)
                if let inputPool { cursor.start(in: inputPool) }
            }
            // Up to the next input's turn, or a lateness bound past it: the stages decide
            // nothing by the order of events between two watermarks, and the watermark
            // trails every input by the lateness bound anyway, so this changes no result;
            // it makes the runs long when many inputs interleave in time (a folder of one
            // file per centre and day), where runs of one or two events each cost a turn
            // of the merge.
            var limit = Int64.max
            if let next = heap.min {
                let (ahead, overflow) = next.ts.addingReportingOverflow(settings.lateness)
                limit = overflow ? .max : ahead
            }
            while true {
                if !cursor.hasPending {
                    cursor.refill()
                    if !cursor.hasPending { break }
                }
                if cursor.next.ts > limit { break }
                // The events up to the next input's turn (a whole batch with one input),
                // stopping where the next watermark step is due.
                cursor.takeRun(upTo: limit, maxCount: Int(eventsPerStep - (events - eventsAtStep))) { run in
                    if shards.count == 1 {
                        // A long run (a batch of one input) goes straight to the assembler;
                        // short ones (many inputs interleaved in time: a folder of daily
                        // files) are gathered first, so that the assembler's look-ahead
                        // works on long stretches either way. The order is the merge's.
                        if run.count >= 256 {
                            shards[0].recordInbox()
                            shards[0].record(run)
                        } else {
                            shards[0].inbox.append(contentsOf: run)
                        }
                    } else {
                        for e in run { shards[Shard.index(of: e, count: shards.count)].inbox.append(e) }
                    }
                    events += Int64(run.count)
                }
                if events - eventsAtStep >= eventsPerStep {
                    eventsAtStep = events
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

        // End of input: everything is final.
        step(to: .max)
        let horizon = shards.map(\.assembler.accounting.horizon).max() ?? .min
        if let stages {
            for stage in stages { stage.finish(horizon: horizon) }
            for stage in stages { stage.join() }
            // Each shard's own peak, summed: exact with one shard, an upper bound with more.
            stats.peakScopes = stages.reduce(0) { $0 + $1.peakScopes }
            stats.scopeBytesAtPeak = stages.reduce(0) { $0 + $1.scopeBytesAtPeak }
        } else {
            forEachShard { $0.classifier.finish(horizon: horizon) }
        }

        var lines = LineAccounting()
        var errors: [InputError] = []
        var inputFiles: [Report.InputFile] = []
        for c in cursors {
            lines.merge(c.parser.accounting)
            inputFiles.append(Report.InputFile(path: c.parser.path, content: c.parser.fingerprint, lines: c.parser.accounting.lines))
            if let e = c.parser.error { errors.append(e) }
            if let e = c.parser.rejectsError { throw e }
        }
        if let spool, let rejects { try spool.drain(into: rejects) }
        try rejects?.finish()

        var calls = CallAssembler.Accounting()
        var totals: [Aggregator.GroupKey: Counters] = [:]
        for shard in shards {
            calls.merge(shard.assembler.accounting)
            for (key, counters) in zip(shard.aggregator.keys, shard.aggregator.counters) {
                totals[key, default: .zero].merge(counters)
            }
        }
        let rows = Report.rows(keys: Array(totals.keys), counters: Array(totals.values), centres: centres,
                               services: services, settings: settings)
        var report = Report(settings: settings, inputs: inputs, horizon: horizon == .min ? nil : horizon,
                            lines: lines, calls: calls, rows: rows)
        report.inputFiles = inputFiles
        stats.events = events
        stats.seconds = Date().timeIntervalSince(started)
        return Outcome(report: report, errors: errors, stats: stats)
    }
}

/// One partition of the keyed stages. Calls are assigned by hash of (centre, call),
/// contacts by hash of the caller (so every caller scope lives in one shard whatever the
/// scope), unidentified contacts by hash of the call. Shards share nothing while they run;
/// their counters are summed at the end, which is exact, so the output is the same for
/// any number of shards.
final class Shard: @unchecked Sendable {
    let assembler: CallAssembler
    let classifier: Classifier
    let aggregator: Aggregator
    /// Events taken for this shard since the last step, in merge order (with several
    /// shards; a single shard records long runs as they are taken and gathers short ones
    /// here).
    var inbox: [Event] = []
    /// Contacts this shard's assembler completed, by the classifier shard they belong to.
    var outbox: [[Contact]] = []
    private var completed: [Contact] = []

    init(settings: AnalysisSettings, calendar: LocalCalendar, centres: Interner, reasons: Interner,
         longCallIDs: LongCallIDs, sweepInterval: Int64 = Classifier.defaultSweepInterval) {
        assembler = CallAssembler(callTimeout: settings.callTimeout, lateness: settings.lateness)
        aggregator = Aggregator(calendar: calendar)
        classifier = Classifier(settings: settings, centres: centres, reasons: reasons,
                                longCallIDs: longCallIDs, aggregator: aggregator, sweepInterval: sweepInterval)
        inbox.reserveCapacity(8192)
    }

    static func index(of e: Event, count: Int) -> Int {
        Int(truncatingIfNeeded: mix64(e.call.hash64 ^ UInt64(UInt32(bitPattern: e.centre))) % UInt64(count))
    }

    static func index(of c: Contact, count: Int) -> Int {
        let h = c.identified ? mix64(c.caller.hi ^ c.caller.lo) : mix64(c.call.hash64 ^ UInt64(UInt32(bitPattern: c.centre)))
        return Int(truncatingIfNeeded: h % UInt64(count))
    }

    /// Records the inbox and finalises the calls `wm` makes final (all of them at `.max`).
    func assemble(to wm: Int64, shardCount: Int) {
        if outbox.count != shardCount { outbox = Array(repeating: [], count: shardCount) }
        for i in outbox.indices { outbox[i].removeAll(keepingCapacity: true) }
        recordInbox()
        if shardCount == 1 {
            assembler.advance(to: wm, into: &outbox[0])
        } else {
            completed.removeAll(keepingCapacity: true)
            assembler.advance(to: wm, into: &completed)
            for c in completed { outbox[Shard.index(of: c, count: shardCount)].append(c) }
        }
    }

    /// Hands the events gathered in the inbox to the assembler, and empties it.
    func recordInbox() {
        guard !inbox.isEmpty else { return }
        inbox.withUnsafeBufferPointer { record($0) }
        inbox.removeAll(keepingCapacity: true)
    }

    /// Hands `events`, in merge order, to the assembler.
    func record(_ events: UnsafeBufferPointer<Event>) { assembler.record(events) }

    func classify(to wm: Int64) {
        if wm != .max { classifier.advance(to: wm) }
    }
}

/// How a run is spread over threads. Never changes a figure.
public struct ExecutionOptions: Sendable {
    /// Threads to use: 1 runs everything on the calling thread; more decodes and parses the
    /// open inputs on a pool of this many workers (`InputPool`) and runs the shards side by
    /// side.
    public var threads: Int
    /// Partitions of the keyed stages.
    public var shards: Int
    /// How much watermark progress (ms) separates two sweeps of the caller-scope tables
    /// (`Classifier`). It trades memory against time and changes no result; tests vary it.
    public var scopeSweepInterval: Int64

    public init(threads: Int = ProcessInfo.processInfo.activeProcessorCount, shards: Int = 1,
                scopeSweepInterval: Int64 = Classifier.defaultSweepInterval) {
        self.threads = max(1, threads)
        self.shards = max(1, shards)
        self.scopeSweepInterval = max(1, scopeSweepInterval)
    }
}

/// A problem with the command line or settings, reported before any input is read.
public struct UsageError: Error, CustomStringConvertible {
    public var description: String
    public init(_ message: String) { description = message }
}
