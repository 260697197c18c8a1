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
        /// With a `Continuation`: the engine state to write back, as the state file's bytes
        /// (everything still live, and every counter, as of the end of this run's inputs,
        /// before the report finishes everything off).
        public var engineState: StateFile?
    }

    /// What a run with `--state` continues from (docs/metrics.md, "Daily runs").
    public struct Continuation {
        /// The engine state file written by the run before (`Outcome.engineState`); nil
        /// on the first run.
        public var engineState: [UInt8]?
        /// Its name, for messages.
        public var engineFile: String
        /// False for a run whose engine state is not kept (a live report, `--follow`):
        /// `Outcome.engineState` is then nil and the encoding is skipped.
        public var keepsState: Bool
        public init(engineState: [UInt8]?, engineFile: String, keepsState: Bool = true) {
            self.engineState = engineState
            self.engineFile = engineFile
            self.keepsState = keepsState
        }
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
        /// With durable state: seconds to rebuild the engine from the state read, and to
        /// encode the new one; the caller scopes and calls in progress it holds.
        public var restoreSeconds: Double = 0
        public var encodeSeconds: Double = 0
        public var stateScopes = 0
        public var stateCalls = 0
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
    private let continuation: Continuation?
    /// Inputs read from memory rather than from the file of their name (`--follow`).
    private let memory: [String: MemoryInput]

    /// - Parameters:
    ///   - inputs: files, folders (their files, recursively, in name order) or `-`.
    ///   - memory: inputs held in memory, each given in `inputs` by its name.
    public init(
        settings: AnalysisSettings, inputs: [String], pseudonymiser: Pseudonymiser,
        rejects: RejectsLog? = nil, execution: ExecutionOptions = ExecutionOptions(),
        continuation: Continuation? = nil, memory: [MemoryInput] = [],
        progress: ((Progress) -> Void)? = nil
    ) throws {
        self.execution = execution
        self.continuation = continuation
        if let problem = settings.problem() { throw UsageError(problem) }
        self.settings = settings
        self.inputs = inputs
        let memory = Dictionary(memory.map { ($0.name, $0) }) { a, _ in a }
        self.memory = memory
        self.files = try inputs.flatMap { memory[$0] != nil ? [$0] : try Self.expand([$0]) }
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
        let builder = EventBuilder(
            centres: Interner(), services: Interner(), reasons: Interner(),
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
            EventBuilder(
                centres: centres, services: services, reasons: reasons,
                longCallIDs: longCallIDs, pseudonymiser: pseudonymiser)
        }
        func makeShard(centre: Int32 = -1) -> Shard {
            Shard(
                settings: settings, calendar: calendar, centres: centres, reasons: reasons, longCallIDs: longCallIDs,
                sweepInterval: execution.scopeSweepInterval, centre: centre)
        }
        // With durable state, the stages are partitioned so that each part can be left at
        // a point of its own (docs/metrics.md, "Daily runs"): by centre, unless caller
        // scopes span centres (`--scope global`), then one part for everything. Without,
        // by hash, as many shards as asked for.
        let stateMode = continuation != nil
        /// How far behind its events' greatest ts a part is made final (`Shard.finalPoint`).
        let finalMargin = settings.lateness &+ settings.callTimeout
        let byCentre = stateMode && settings.scope != .global
        var shards: [Shard] = []
        var priorLines = LineAccounting()
        var restoreSeconds = 0.0
        if let continuation, let bytes = continuation.engineState {
            let restoring = Date()
            var r = try StateReader(container: bytes, file: continuation.engineFile, kind: .engine)
            priorLines = try Self.restore(
                from: &r, centres: centres, services: services, reasons: reasons,
                longCallIDs: longCallIDs, makeShard: makeShard, into: &shards)
            guard r.isAtEnd else { throw r.malformed("bytes after the last record") }
            restoreSeconds = Date().timeIntervalSince(restoring)
        } else if stateMode && !byCentre {
            shards = [makeShard()]
        } else if !stateMode {
            shards = (0..<execution.shards).map { _ in makeShard() }
        }
        /// With durable state, the part of each centre's events, by centre id (-1: none yet).
        var partitionOfCentre: [Int] = []
        if byCentre {
            for (i, shard) in shards.enumerated() {
                let c = Int(shard.centre)
                if partitionOfCentre.count <= c { partitionOfCentre += Array(repeating: -1, count: c + 1 - partitionOfCentre.count) }
                partitionOfCentre[c] = i
            }
        }
        // An event older than what the state has made final for its centre (for the
        // whole stream, under `--scope global`) is late.
        let floors =
            stateMode
            ? LateFloors(
                global: byCentre ? nil : shards.first?.finalPoint(margin: finalMargin),
                byCentre: byCentre ? partitionOfCentre.map { $0 < 0 ? Int64.min : shards[$0].finalPoint(margin: finalMargin) } : [])
            : nil
        var parallelShards: Bool { execution.threads >= 2 && shards.count > 1 }

        // With several inputs, each writes its rejected lines to a file of its own, joined
        // in input order at the end, so the rejects file does not depend on scheduling.
        let spool = rejects != nil && files.count > 1 ? try RejectsSpool(count: files.count) : nil
        // With more than one thread, each shard's classification runs on a thread of its
        // own. Nothing below throws before those threads are finished and joined.
        let stages = execution.threads >= 2 && !stateMode ? shards.enumerated().map { ClassificationStage(shard: $1, index: $0) } : nil
        // With more than one thread, every open input is decoded and parsed by one pool of
        // workers, as many as the threads asked for, however many inputs there are.
        let inputPool = execution.threads >= 2 ? InputPool(workers: execution.threads) : nil
        defer { inputPool?.shutDown() }
        let cursors = files.enumerated().map { i, path in
            InputCursor(
                parser: InputParser(
                    path: path, index: i, settings: settings, builder: builder(),
                    rejects: spool?.log(i) ?? rejects, floors: floors, memory: memory[path]),
                lateness: settings.lateness)
        }
        // Place each input in the merge by its first event, read in a dry run and then
        // closed again, so that only inputs the merge has reached hold decoders and
        // buffers. Standard input cannot be read twice; it is opened at once, as is an
        // input without any event (only its accounting is left to do).
        var firstTs = [Int64](repeating: .min, count: files.count)
        for (i, path) in files.enumerated() where path != "-" {
            let dry = InputParser(
                path: path, index: i, settings: settings, builder: builder(), rejects: nil, floors: floors,
                memory: memory[path], dryRun: true)
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
        var heap = Heap<Entry>()
        for i in files.indices { heap.insert(Entry(ts: firstTs[i], input: i)) }
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
        stats.restoreSeconds = restoreSeconds

        func forEachShard(_ body: (Shard) -> Void) {
            if parallelShards {
                DispatchQueue.concurrentPerform(iterations: shards.count) { body(shards[$0]) }
            } else {
                shards.forEach(body)
            }
        }

        /// Hands the events taken since the last step to their shards, and everything the
        /// watermark `wm` makes final down the stages.
        func step(to wm: Int64, capped: Bool = true) {
            if stateMode {
                // Each part goes no further than its own point (its events' greatest ts
                // less the lateness bound and the call timeout), so that an input still to come for it, in a
                // later run, finds it as one run over everything would have.
                forEachShard { $0.advancePartition(to: wm, capped: capped, margin: finalMargin) }
                stats.peakLiveCalls = max(stats.peakLiveCalls, shards.reduce(0) { $0 + $1.assembler.liveKeys })
                let scopes = shards.reduce(0) { $0 + $1.classifier.liveScopes }
                if scopes > stats.peakScopes {
                    stats.peakScopes = scopes
                    stats.scopeBytesAtPeak = shards.reduce(0) { $0 + $1.classifier.scopeTableBytes }
                }
                return
            }
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
            progress(
                Progress(
                    inputsDone: done, inputs: files.count, events: events,
                    liveCalls: shards.reduce(0) { $0 + $1.assembler.liveKeys },
                    liveScopes: stages?.reduce(0) { $0 + $1.liveScopes } ?? shards.reduce(0) { $0 + $1.classifier.liveScopes }))
        }

        while let top = heap.popMin() {
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
                    if byCentre {
                        for e in run {
                            let c = Int(e.centre)
                            if c >= partitionOfCentre.count { partitionOfCentre += Array(repeating: -1, count: c + 1 - partitionOfCentre.count) }
                            if partitionOfCentre[c] < 0 {
                                partitionOfCentre[c] = shards.count
                                shards.append(makeShard(centre: e.centre))
                            }
                            shards[partitionOfCentre[c]].inbox.append(e)
                        }
                    } else if shards.count == 1 {
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
                heap.insert(Entry(ts: cursor.next.ts, input: top.input))
            } else {
                open.removeAll { $0 == top.input }
                done += 1
                advanceWatermark()
            }
        }

        var lines = priorLines
        var errors: [InputError] = []
        var inputFiles: [Report.InputFile] = []
        var rejectsError: Error?
        for c in cursors {
            lines.merge(c.parser.accounting)
            inputFiles.append(Report.InputFile(path: c.parser.path, content: c.parser.fingerprint, lines: c.parser.accounting.lines))
            if let e = c.parser.error { errors.append(e) }
            if let e = c.parser.rejectsError, rejectsError == nil { rejectsError = e }
        }

        // With durable state: each part goes as far as its own point, and is written as
        // it stands then; the report below finishes everything off, as if no input were
        // to come, without changing what was written.
        var engineState: StateFile?
        var finality: Report.Finality?
        if stateMode {
            step(to: .max, capped: true)
            stats.stateScopes = shards.reduce(0) { $0 + $1.classifier.liveScopes }
            stats.stateCalls = shards.reduce(0) { $0 + $1.assembler.liveKeys }
            if continuation?.keepsState == true {
                let encoding = Date()
                engineState = Self.encode(
                    shards: shards, lines: lines, centres: centres, services: services,
                    reasons: reasons, longCallIDs: longCallIDs)
                stats.encodeSeconds = Date().timeIntervalSince(encoding)
            }
            finality = Report.Finality(
                settings: settings, calendar: calendar,
                points: Dictionary(shards.map { ($0.centre, $0.finalPoint(margin: finalMargin)) }) { a, _ in a })
        }
        // End of input: everything is final.
        step(to: .max, capped: false)
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

        if let rejectsError { throw rejectsError }
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
        let rows = Report.rows(
            keys: Array(totals.keys), counters: Array(totals.values), centres: centres,
            services: services, settings: settings, finality: finality)
        var report = Report(
            settings: settings, inputs: inputs, horizon: horizon == .min ? nil : horizon,
            lines: lines, calls: calls, rows: rows)
        report.inputFiles = inputFiles
        stats.events = events
        stats.seconds = Date().timeIntervalSince(started)
        return Outcome(report: report, errors: errors, stats: stats, engineState: engineState)
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
    /// With durable state, the centre whose events this part holds (-1: every centre's).
    let centre: Int32
    /// With durable state, the watermark this part has been taken to.
    var advancedTo = Int64.min

    init(
        settings: AnalysisSettings, calendar: LocalCalendar, centres: Interner, reasons: Interner,
        longCallIDs: LongCallIDs, sweepInterval: Int64 = Classifier.defaultSweepInterval, centre: Int32 = -1
    ) {
        self.centre = centre
        assembler = CallAssembler(callTimeout: settings.callTimeout, lateness: settings.lateness)
        aggregator = Aggregator(calendar: calendar)
        classifier = Classifier(
            settings: settings, centres: centres, reasons: reasons,
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

    /// With durable state: how far this part may be made final, its events' greatest ts
    /// less `margin` (the lateness bound plus the call timeout; `.min` before its first
    /// event). An input still to come for it whose events are not older than that finds
    /// it as one run over everything would. The call timeout is there because a centre's
    /// file may end with the last events of calls that began in it, which the next file
    /// does not overlap by more than a call's length.
    func finalPoint(margin: Int64) -> Int64 {
        let h = assembler.accounting.horizon
        return h == .min ? .min : h &- margin
    }

    /// With durable state: records the inbox and takes the part to `wm`, or (`capped`) no
    /// further than its `finalPoint`; its contacts are classified here, in the part.
    func advancePartition(to wm: Int64, capped: Bool, margin: Int64) {
        recordInbox()
        let w = capped ? min(wm, finalPoint(margin: margin)) : wm
        guard w > advancedTo else { return }
        advancedTo = w
        completed.removeAll(keepingCapacity: true)
        assembler.advance(to: w, into: &completed)
        classifier.take(&completed)
        classify(to: w)
    }

    /// About how many bytes `encode` writes, so that its buffer is made once.
    var encodedSizeEstimate: Int {
        4096 + assembler.liveKeys * 90 + classifier.liveScopes * 40 + classifier.pendingVerdicts * 6
    }

    /// Writes the part: its centre, how far it has gone, and each stage's state.
    func encode(into w: inout StateWriter) {
        w.int(centre)
        w.int(advancedTo)
        assembler.encode(into: &w)
        classifier.encode(into: &w)
        aggregator.encode(into: &w)
    }

    /// Reads what `encode` wrote (after the centre, which `init` was given) into this new part.
    func restore(from r: inout StateReader) throws {
        advancedTo = try r.int()
        try assembler.restore(from: &r)
        try classifier.restore(from: &r)
        try aggregator.restore(from: &r)
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

    public init(
        threads: Int = ProcessInfo.processInfo.activeProcessorCount, shards: Int = 1,
        scopeSweepInterval: Int64 = Classifier.defaultSweepInterval
    ) {
        self.threads = max(1, threads)
        self.shards = max(1, shards)
        self.scopeSweepInterval = max(1, scopeSweepInterval)
    }
}

/// With durable state: below what point each centre's events are late, because the state
/// has already made everything before it final (docs/metrics.md, "Daily runs"). Fixed for
/// the run; read by every input's parser.
final class LateFloors: Sendable {
    /// Under `--scope global`, one point for every centre.
    let global: Int64?
    /// Otherwise by centre id; a centre not listed is new to the state, with no floor.
    let byCentre: [Int64]

    init(global: Int64?, byCentre: [Int64]) {
        self.global = global
        self.byCentre = byCentre
    }

    @inline(__always)
    func floor(centre: Int32) -> Int64 {
        if let global { return global }
        return Int(centre) < byCentre.count ? byCentre[Int(centre)] : .min
    }
}

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
        var parts = [[UInt8]](repeating: [], count: shards.count)
        parts.withUnsafeMutableBufferPointer { out in
            DispatchQueue.concurrentPerform(iterations: shards.count) { i in
                var pw = StateWriter(reserving: shards[i].encodedSizeEstimate)
                shards[i].encode(into: &pw)
                out[i] = pw.bytes
            }
        }
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
        var failures = [Error?](repeating: nil, count: parts)
        let restored = shards.suffix(parts)
        failures.withUnsafeMutableBufferPointer { failed in
            DispatchQueue.concurrentPerform(iterations: parts) { i in
                var part = readers[i]
                do {
                    try restored[restored.startIndex + i].restore(from: &part)
                    if !part.isAtEnd { failed[i] = part.malformed("a part longer than its records") }
                } catch {
                    failed[i] = error
                }
            }
        }
        if let e = failures.lazy.compactMap({ $0 }).first { throw e }
        return lines
    }
}
