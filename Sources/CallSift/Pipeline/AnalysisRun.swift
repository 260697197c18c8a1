import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSiftConcurrency
import Foundation
import HeapModule

/// One execution of `Analysis.run()`: what the run has done so far. `Analysis` says what
/// to do; this does it, in three steps:
/// - `init`: the stages' partitions (`Part`s) made or rebuilt from durable state, the
///   late floors, the inputs opened in a dry run and placed in the merge by their first
///   event;
/// - `merge()`: events taken from the inputs in time order and handed to their parts,
///   the watermark stepped every `eventsPerStep` events and whenever an input ends;
/// - `finish()`: with durable state, each part taken to its final point and encoded; then
///   everything made final, the classification threads joined, the rejects written, and
///   the counters summed into the `Report`.
final class AnalysisRun {
    private let settings: AnalysisSettings
    private let inputs: [String]
    private let files: [String]
    private let rejects: RejectsLog?
    private let progress: ((Analysis.Progress) -> Void)?
    private let execution: ExecutionOptions
    private let continuation: Analysis.Continuation?
    private let calendar: LocalCalendar
    /// A follower serving a wallboard: arrivals counted by hour as they are merged.
    var arrivals: HourlyArrivals?
    private let centres = Interner(), services = Interner(), reasons = Interner(), longCallIDs = LongCallIDs()

    // With durable state, the stages are partitioned so that each part can be left at a
    // point of its own (docs/metrics.md, "Daily runs"): by centre, unless caller scopes
    // span centres (`--scope global`), then one part for everything. Without, by hash, as
    // many parts as asked for.
    private let stateMode: Bool
    /// How far behind its events' greatest ts a part is made final (`Part.finalPoint`).
    private let finalMargin: Int64
    private let byCentre: Bool
    private var parts: [Part] = []
    /// With durable state, the part of each centre's events, by centre id (-1: none yet).
    private var partOfCentre: [Int] = []
    /// The line accounting of the runs the state continues.
    private var priorLines = LineAccounting()
    /// With durable state: the parts of the engine file not rebuilt (no input of this run
    /// named their centre), left as they lie, and where each centre's is.
    private var dormant: [StoredPart] = []
    private var dormantOfCentre: [Int32: Int] = [:]
    /// A dormant part that could not be rebuilt when an event of its centre came: the run
    /// fails at its end.
    private var wakeFailure: Error?
    /// The summaries of dormant parts, read and indexed once for the live reports.
    private var dormantSummaries: [Int32: PartSummary] = [:]
    /// The format version of the engine file continued, when older than this callsift's
    /// (it is written in the current one).
    private(set) var upgradedFrom: UInt32?
    /// With durable state: the format adapters the state carries from run to run, and the
    /// builder their held events are finished with for a report (`flushCarried`).
    private var carried: CarriedAdapters?
    private var flushBuilder: EventBuilder?

    /// With several inputs, each writes its rejected lines to a file of its own, joined in
    /// input order at the end, so the rejects file does not depend on scheduling.
    private var spool: RejectsSpool?
    /// With more than one thread, each part's classification runs on a thread of its own.
    /// Nothing throws between their start and `finish`, which joins them.
    private var stages: [ClassificationStage]?
    /// With more than one thread, every open input is decoded and parsed by one pool of
    /// workers, as many as the threads asked for, however many inputs there are.
    private var inputPool: InputPool?
    private var cursors: [InputCursor] = []

    /// An input's place in the merge: the `ts` of its next event.
    private struct Entry: Comparable {
        var ts: Int64
        var input: Int
        static func < (a: Entry, b: Entry) -> Bool { a.ts != b.ts ? a.ts < b.ts : a.input < b.input }
    }
    private var heap = Heap<Entry>()
    /// Inputs not yet opened leave the merge in order of their first event.
    private var unopenedFirsts: [Int64] = []
    private var unopenedNext = 0
    private var open: [Int] = []
    /// Pushed inputs with nothing more for now: out of the heap until `push` gives more.
    private var idle: [Int] = []
    /// Every input is pushed (`push`) rather than read (`--follow`).
    private let pushed: Bool
    private var opened: [Bool] = []
    private var done = 0
    private var events: Int64 = 0
    /// The watermark moves on, and state is finalised and dropped, every this many events.
    private let eventsPerStep: Int64 = 8192
    private var eventsAtStep: Int64 = 0
    private var watermark = Int64.min
    private var lastProgress = Date()
    private let started = Date()
    private var stats = Analysis.Stats()

    init(
        settings: AnalysisSettings, inputs: [String], files: [String], memory: [String: MemoryInput],
        pseudonymiser: Pseudonymiser, rejects: RejectsLog?, execution: ExecutionOptions,
        continuation: Analysis.Continuation?, progress: ((Analysis.Progress) -> Void)?, pushed: Bool = false,
        resume: InputParser.Resume? = nil
    ) throws {
        self.pushed = pushed
        self.settings = settings
        self.inputs = inputs
        self.files = files
        self.rejects = rejects
        self.progress = progress
        self.execution = execution
        self.continuation = continuation
        calendar = try LocalCalendar(identifier: settings.timeZone)
        stateMode = continuation != nil
        finalMargin = settings.lateness &+ settings.callTimeout
        byCentre = stateMode && settings.scope != .global

        var stored: [StoredPart] = []
        if let continuation, let engine = continuation.engineState {
            var r = try StateReader(container: engine.bytes, file: continuation.engineFile, kind: .engine, verified: engine.checksum)
            (priorLines, stored, carried) = try Analysis.read(
                from: &r, centres: centres, services: services, reasons: reasons, longCallIDs: longCallIDs,
                settings: settings)
            guard r.isAtEnd else { throw r.malformed("bytes after the last record") }
            if r.version < StateFormat.version { upgradedFrom = r.version }
        } else if stateMode && !byCentre {
            parts = [makePart()]
        } else if !stateMode {
            parts = (0..<execution.shards).map { _ in makePart() }
        }
        // Parts of centres the inputs name are rebuilt now, side by side; the others stay
        // as they lie, and are rebuilt only if an event of theirs comes after all. Under
        // `--scope global` the one part holds every centre, and a version 2 file has no
        // summaries to report from: all are rebuilt.
        let builder = { [centres, services, reasons, longCallIDs] in
            EventBuilder(
                centres: centres, services: services, reasons: reasons, longCallIDs: longCallIDs, pseudonymiser: pseudonymiser)
        }
        if stateMode {
            if carried == nil { carried = CarriedAdapters() }
            flushBuilder = builder()
        }
        // The centres whose events a carried adapter holds are rebuilt: its events go to
        // their parts.
        let heldAtStart = carried?.heldFloors() ?? [:]
        var named = Set<Int32>(heldAtStart.keys.map { centres.intern($0) })
        let lazily = byCentre && upgradedFrom == nil && !stored.isEmpty
        if lazily {
            for (i, path) in files.enumerated() where path != "-" && !pushed {
                let scan = InputParser(
                    path: path, index: i, settings: settings, builder: builder(), rejects: nil, memory: memory[path],
                    dryRun: true, dryRunLimit: execution.centreScan)
                var first: [Event] = []
                scan.fill(&first, upTo: execution.centreScan)
                for e in first { named.insert(e.centre) }
                scan.close()
            }
        }
        let restoring = Date()
        let now = stored.filter { !lazily || named.contains($0.centre) }
        parts += try Analysis.restore(now, store: continuation?.store?.partFolder, makePart: makePart)
        stats.restoreSeconds = Date().timeIntervalSince(restoring)
        if lazily {
            dormant = stored.filter { !named.contains($0.centre) }
            for (i, part) in dormant.enumerated() { dormantOfCentre[part.centre] = i }
        }
        if byCentre {
            for (i, part) in parts.enumerated() {
                let c = Int(part.centre)
                if partOfCentre.count <= c { partOfCentre += Array(repeating: -1, count: c + 1 - partOfCentre.count) }
                partOfCentre[c] = i
            }
        }
        applyHeldFloors(heldAtStart)
        // An event older than what the state has made final for its centre (for the whole
        // stream, under `--scope global`) is late.
        var floors: LateFloors?
        if stateMode {
            var points = partOfCentre.map { $0 < 0 ? Int64.min : parts[$0].lateFloor() }
            for part in dormant {
                let h = try part.horizon()
                let c = Int(part.centre)
                if points.count <= c { points += Array(repeating: Int64.min, count: c + 1 - points.count) }
                points[c] = h == .min ? .min : h &- finalMargin
            }
            floors = LateFloors(global: byCentre ? nil : parts.first?.lateFloor(), byCentre: byCentre ? points : [])
        }

        spool = rejects != nil && files.count > 1 ? try RejectsSpool(count: files.count) : nil
        inputPool = execution.threads >= 2 ? InputPool(workers: execution.threads) : nil
        // Place each input in the merge by its first event, read in a dry run and then
        // closed again, so that only inputs the merge has reached hold decoders and
        // buffers. Standard input cannot be read twice; it is opened at once, as is an
        // input without any event (only its accounting is left to do). The dry run also
        // recognises a platform's export read by an adapter.
        var firstTs = [Int64](repeating: .min, count: files.count)
        var adapterFormat = [AnalysisSettings.InputFormat?](repeating: nil, count: files.count)
        var firstKey = [Int64](repeating: .min, count: files.count)
        for (i, path) in files.enumerated() where path != "-" && !pushed {
            let dry = InputParser(
                path: path, index: i, settings: settings, builder: builder(), rejects: nil, floors: floors,
                memory: memory[path], dryRun: true)
            var first: [Event] = []
            dry.fill(&first, upTo: 1)
            // No event of the input is below its first one or, for an adapter, its floor.
            let bound = min(first.first?.ts ?? .max, dry.adapterFloor)
            if bound != .max { firstTs[i] = bound }
            adapterFormat[i] = dry.adapterFormat
            firstKey[i] = dry.maxTs
            dry.close()
        }
        // The files of one adapter format are one export, however it is cut (docs/metrics.md,
        // "Streams across files"): one input, read a file after another by one adapter.
        var heads: [AnalysisSettings.InputFormat: Int] = [:]
        var members: [Int: [Int]] = [:]
        var inputFirst: [Int64] = []
        for i in files.indices {
            if let f = adapterFormat[i] {
                if let h = heads[f] {
                    members[h, default: []].append(i)
                    inputFirst[h] = min(inputFirst[h], firstTs[i])
                    continue
                }
                heads[f] = cursors.count
            }
            let path = files[i]
            let parser = InputParser(
                path: path, index: i, settings: settings, builder: builder(),
                rejects: spool?.log(i) ?? rejects, floors: floors, memory: memory[path], pushed: pushed,
                resume: i == 0 ? resume : nil, carried: carried)
            cursors.append(InputCursor(parser: parser, lateness: settings.lateness))
            // An input that will take a carried adapter may emit its held events first.
            var first = firstTs[i]
            if let f = adapterFormat[i], let a = carried?.adapters[CarriedAdapters.Key(format: f, centre: settings.centre)] {
                first = min(first, a.heldFloors().values.min() ?? .max)
            }
            inputFirst.append(first)
        }
        for (h, rest) in members {
            let head = cursors[h].parser
            head.chain(
                rest.map { i in
                    InputParser.ChainFile(
                        path: files[i], index: i, floor: firstTs[i], firstKey: firstKey[i], rejects: spool?.log(i) ?? rejects,
                        memory: memory[files[i]])
                }, floor: firstTs[head.index])
        }
        opened = [Bool](repeating: false, count: cursors.count)
        for i in cursors.indices { heap.insert(Entry(ts: inputFirst[i], input: i)) }
        unopenedFirsts = inputFirst.sorted()
        // Started last: nothing above throws once they run.
        stages = execution.threads >= 2 && !stateMode && !pushed ? parts.enumerated().map { ClassificationStage(shard: $1, index: $0) } : nil
    }

    /// The inputs that ended with an error so far.
    var inputErrors: [InputError] { cursors.flatMap(\.parser.errors) }

    /// Stops the input workers (also after an error).
    func shutDown() { inputPool?.shutDown() }

    /// Sets each part's `heldBelow` from the least held event time of each centre (by name)
    /// that the carried adapters hold; under `--scope global`, the one part's from all.
    private func applyHeldFloors(_ floors: [String: Int64]) {
        for part in parts { part.heldBelow = heldBelow(part, floors) }
    }

    /// `part`'s `heldBelow` under `floors`: its centre's, or under `--scope global` the
    /// least of all.
    private func heldBelow(_ part: Part, _ floors: [String: Int64]) -> Int64 {
        if byCentre { return floors[centres[part.centre]] ?? .max }
        return floors.values.min() ?? .max
    }

    /// The least held event time by centre of every adapter the run has: those still
    /// carried, and those the inputs took, as they stand now.
    private func heldFloorsNow() -> [String: Int64] {
        var floors = carried?.heldFloors() ?? [:]
        for c in cursors {
            for (centre, f) in c.parser.heldFloors { floors[centre] = min(floors[centre] ?? .max, f) }
        }
        return floors
    }

    /// What the carried adapters (taken back from the inputs that ended, with `take`)
    /// would still emit if the input ended now, from copies, finished: their events, and
    /// the lines that adds (docs/formats.md, "One export across many files"). The adapters
    /// themselves are left as they are, for the state to carry on.
    private func flushCarried() -> (events: [Event], lines: LineAccounting) {
        guard let carried else { return ([], LineAccounting()) }
        return flush(carried.keysInOrder.map { carried.adapters[$0]!.copy() })
    }

    /// Finishes `adapters` (copies, used up here) into events and the lines they add.
    private func flush(_ adapters: [FormatAdapter]) -> (events: [Event], lines: LineAccounting) {
        guard let flushBuilder, !adapters.isEmpty else { return ([], LineAccounting()) }
        let out = FlushOutput(builder: flushBuilder)
        for a in adapters { a.finish(out) }
        return (out.events, out.accounting)
    }

    private func makePart(centre: Int32 = -1) -> Part {
        Part(
            settings: settings, calendar: calendar, centres: centres, reasons: reasons, longCallIDs: longCallIDs,
            sweepInterval: execution.scopeSweepInterval, centre: centre)
    }

    private var parallelParts: Bool { execution.threads >= 2 && parts.count > 1 }

    private func forEachPart(_ body: @Sendable (Part) -> Void) {
        if parallelParts {
            let parts = self.parts
            DispatchQueue.concurrentPerform(iterations: parts.count) { body(parts[$0]) }
        } else {
            parts.forEach(body)
        }
    }

    /// Takes the events of every input in time order to their parts, stepping the
    /// watermark as it goes.
    func merge() {
        while let top = heap.popMin() {
            let cursor = cursors[top.input]
            if !opened[top.input] {
                opened[top.input] = true
                unopenedNext += 1
                open.append(top.input)
                if let inputPool, !pushed { cursor.start(in: inputPool) }
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
                    distribute(run)
                    events += Int64(run.count)
                }
                if events - eventsAtStep >= eventsPerStep {
                    eventsAtStep = events
                    advanceWatermark()
                    reportProgress()
                }
            }
            if cursor.hasPending {
                heap.insert(Entry(ts: cursor.next.ts, input: top.input))
            } else if !cursor.isFinished {
                // A pushed input with nothing more for now: its watermark holds for what
                // it may still give.
                idle.append(top.input)
                advanceWatermark()
            } else {
                open.removeAll { $0 == top.input }
                done += 1
                advanceWatermark()
            }
        }
    }

    // MARK: - Pushed inputs (docs/architecture.md, "The engine session")

    /// Gives pushed input `input` its next bytes and takes their events through the stages.
    func push(_ bytes: UnsafeRawBufferPointer, to input: Int = 0) {
        precondition(pushed, "push into a run whose inputs are read")
        cursors[input].parser.push(bytes)
        resume()
    }

    /// Where pushed input `input` stands, if between two records of CSV or NDJSON
    /// (`InputParser.resumePoint`).
    func resumePoint(_ input: Int = 0) -> InputParser.Resume? { cursors[input].parser.resumePoint() }

    /// Ends pushed input `input` (see `InputParser.finishPushed`) and takes what that
    /// releases through the stages.
    func endPushed(_ input: Int = 0, fingerprint: ContentFingerprint? = nil) {
        precondition(pushed, "endPushed in a run whose inputs are read")
        cursors[input].parser.finishPushed(fingerprint: fingerprint)
        resume()
    }

    /// The merge again, with every idle input that has events back in it.
    private func resume() {
        let waiting = idle
        idle.removeAll()
        for i in waiting {
            let cursor = cursors[i]
            cursor.refill()
            if cursor.hasPending {
                heap.insert(Entry(ts: cursor.next.ts, input: i))
            } else if cursor.isFinished {
                open.removeAll { $0 == i }
                done += 1
                advanceWatermark()
            } else {
                idle.append(i)
            }
        }
        merge()
    }

    /// The report as if the pushed inputs ended now, without changing the run: each input's
    /// end is read from a copy of its parser (`InputParser.copyForPreview`), the stages' end
    /// from what each part holds, read only (`CallAssembler.preview`, `Classifier.preview`),
    /// and the dormant parts' share from their summaries. It equals, byte for byte,
    /// what `finish` would give after `endPushed`, and the run goes on as if it had not
    /// been asked.
    ///
    /// - Complexity: O(calls in progress, contacts awaiting classification, FCR verdicts
    ///   awaiting settlement in the parts this run holds, and base groups); nothing read
    ///   before is read again.
    /// - Parameter dayRows: also roll the groups up by day and service
    ///   (`Report.dayRows`, for the wallboard).
    func preview(dayRows: Bool = false) -> Analysis.Outcome {
        precondition(pushed, "preview of a run whose inputs are read")
        var lines = priorLines
        var inputFiles: [Report.InputFile] = []
        var errors: [InputError] = []
        // What each part would still be given: the events taken but not recorded yet,
        // then those the inputs' ends release, in the order the merge would take them.
        var released: [Event] = []
        for c in cursors {
            if let e = c.parser.error { errors.append(e) }
            released += c.pendingEvents
            let parser: InputParser
            if c.parser.isFinished {
                parser = c.parser
            } else {
                parser = c.parser.copyForPreview()
                parser.finishPushed()
                released += parser.takeQueued()
            }
            lines.merge(parser.accounting)
            inputFiles.append(Report.InputFile(path: parser.path, content: parser.fingerprint, lines: parser.accounting.lines))
            if let (_, a) = parser.takeCarriedAdapter() {
                let (events, more) = flush([a])
                released += events
                lines.merge(more)
            }
        }
        // The adapters the state carries that no input has taken yet, finished as copies.
        let (flushed, flushLines) = flushCarried()
        released += flushed
        lines.merge(flushLines)
        // A dormant part that an event would go to is rebuilt (as the merge would rebuild
        // it); a centre new to the state gets an empty part for this report only.
        if byCentre {
            for e in released where dormantOfCentre[e.centre] != nil {
                let c = Int(e.centre)
                if c >= partOfCentre.count { partOfCentre += Array(repeating: -1, count: c + 1 - partOfCentre.count) }
                partOfCentre[c] = parts.count
                parts.append(wake(centre: e.centre))
            }
        }
        var extra = parts.map { $0.inbox }
        var extraParts: [Part] = []
        var partOf: [Int32: Int] = [:]
        for e in released {
            let i: Int
            if byCentre {
                let known = Int(e.centre) < partOfCentre.count ? partOfCentre[Int(e.centre)] : -1
                if known >= 0 {
                    i = known
                } else if let j = partOf[e.centre] {
                    i = j
                } else {
                    i = parts.count + extraParts.count
                    partOf[e.centre] = i
                    extraParts.append(makePart(centre: e.centre))
                    extra.append([])
                }
            } else {
                i = parts.count == 1 ? 0 : Part.index(of: e, count: parts.count)
            }
            extra[i].append(e)
        }
        let all = parts + extraParts
        var calls = [CallAssembler.Accounting](repeating: CallAssembler.Accounting(), count: all.count)
        var contacts = [[Contact]](repeating: [], count: all.count)
        // Callers in a queue now, by centre and service: how many, and the earliest entry.
        struct Queue: Hashable { var centre: Int32; var service: Int32 }
        var queued: [Queue: (calls: Int, since: Int64)] = [:]
        for (i, part) in all.enumerated() {
            calls[i] = extra[i].withUnsafeBufferPointer {
                part.assembler.preview(adding: $0, into: &contacts[i]) { centre, service, since in
                    let q = Queue(centre: centre, service: service)
                    let was = queued[q] ?? (0, .max)
                    queued[q] = (was.calls + 1, min(was.since, since))
                }
            }
        }
        // The parts left as they lie report from their summaries, read once.
        var sleeping: [(centre: Int32, summary: PartSummary)] = []
        for part in stillDormant {
            if let s = dormantSummaries[part.centre] {
                sleeping.append((part.centre, s))
                continue
            }
            do {
                let s = try part.summary().indexed()
                dormantSummaries[part.centre] = s
                sleeping.append((part.centre, s))
            } catch {
                errors.append(InputError(input: part.record.file, offset: 0, message: "\(error)"))
            }
        }
        if let wakeFailure { errors.append(InputError(input: continuation?.engineFile ?? "", offset: 0, message: "\(wakeFailure)")) }
        let horizon = max(calls.map(\.horizon).max() ?? .min, sleeping.map(\.summary.horizon).max() ?? .min)
        var totals: [Aggregator.GroupKey: Counters] = [:]
        if all.count > 1 && !byCentre {
            // Contacts are classified in the part of their caller, not of their call.
            var routed = [[Contact]](repeating: [], count: all.count)
            for cs in contacts { for c in cs { routed[Part.index(of: c, count: all.count)].append(c) } }
            contacts = routed
        }
        var accounting = CallAssembler.Accounting()
        for (i, part) in all.enumerated() {
            accounting.merge(calls[i])
            var tally = part.aggregator.tally()
            part.classifier.preview(adding: contacts[i], horizon: horizon, into: &tally)
            for (key, counters) in zip(tally.keys, tally.counters) { totals[key, default: .zero].merge(counters) }
        }
        let held = heldFloorsNow()
        var points: [(Int32, Int64)] = all.indices.map { i in
            (all[i].centre, min(calls[i].horizon == .min ? Int64.min : calls[i].horizon &- finalMargin, heldBelow(all[i], held)))
        }
        for part in sleeping {
            let s = part.summary
            accounting.merge(s.calls)
            s.settleRead(horizon: horizon, repeatWindow: settings.repeatWindow, into: &totals)
            points.append((part.centre, s.horizon == .min ? Int64.min : s.horizon &- finalMargin))
        }
        let finality =
            stateMode ? Report.Finality(settings: settings, calendar: calendar, points: Dictionary(points) { a, _ in a }) : nil
        var o = outcome(
            lines: lines, calls: accounting, totals: totals, horizon: horizon, finality: finality, inputFiles: inputFiles,
            errors: errors, engineState: nil)
        if dayRows {
            var byDay = settings
            byDay.period = .day
            byDay.grouping = .service
            o.report.dayRows = Report.rows(
                keys: Array(totals.keys), counters: Array(totals.values), centres: centres, services: services, settings: byDay)
        }
        if let arrivals { o.report.hourly = arrivals.snapshot(adding: released) { centres[$0] } }
        o.report.waiting = queued.map { q, w in
            Report.Waiting(
                centre: centres[q.centre], service: services[q.service], calls: w.calls,
                longestMs: horizon == .min ? 0 : max(0, horizon &- w.since))
        }.sorted { ($0.centre, $0.service) < ($1.centre, $1.service) }
        return o
    }

    /// Hands a run of merged events to their parts, in merge order.
    @inline(__always)
    private func distribute(_ run: UnsafeBufferPointer<Event>) {
        if let arrivals { arrivals.add(run) { centres[$0] } }
        if byCentre {
            for e in run { parts[part(ofCentre: e.centre)].inbox.append(e) }
        } else if parts.count == 1 {
            // A long run (a batch of one input) goes straight to the assembler; short ones
            // (many inputs interleaved in time: a folder of daily files) are gathered
            // first, so that the assembler's look-ahead works on long stretches either
            // way. The order is the merge's.
            if run.count >= 256 {
                parts[0].recordInbox()
                parts[0].record(run)
            } else {
                parts[0].inbox.append(contentsOf: run)
            }
        } else {
            for e in run { parts[Part.index(of: e, count: parts.count)].inbox.append(e) }
        }
    }

    /// The part of `centre`: rebuilt from the engine file if it lies there (an event of a
    /// centre that no input seemed to name), else new.
    /// With durable state, by centre: the index of `centre`'s part, rebuilt (or made) now
    /// if it has none yet.
    @inline(__always)
    private func part(ofCentre centre: Int32) -> Int {
        let c = Int(centre)
        if c >= partOfCentre.count { partOfCentre += Array(repeating: -1, count: c + 1 - partOfCentre.count) }
        if partOfCentre[c] < 0 {
            partOfCentre[c] = parts.count
            parts.append(wake(centre: centre))
        }
        return partOfCentre[c]
    }

    private func wake(centre: Int32) -> Part {
        guard let i = dormantOfCentre.removeValue(forKey: centre) else { return makePart(centre: centre) }
        do {
            return try Analysis.restore([dormant[i]], store: continuation?.store?.partFolder, makePart: makePart)[0]
        } catch {
            if wakeFailure == nil { wakeFailure = error }
            return makePart(centre: centre)
        }
    }

    /// The parts still dormant, in their order in the engine file.
    private var stillDormant: [StoredPart] {
        dormant.enumerated().filter { dormantOfCentre[$0.element.centre] == $0.offset }.map(\.element)
    }

    /// Hands the events taken since the last step to their parts, and everything the
    /// watermark `wm` makes final down the stages.
    private func step(to wm: Int64, capped: Bool = true) {
        if stateMode {
            // Each part goes no further than its own point (its events' greatest ts less
            // the lateness bound and the call timeout), so that an input still to come for
            // it, in a later run, finds it as one run over everything would have.
            forEachPart { $0.advancePart(to: wm, capped: capped) }
            stats.peakLiveCalls = max(stats.peakLiveCalls, parts.reduce(0) { $0 + $1.assembler.liveKeys })
            notePeakScopes()
            return
        }
        let count = parts.count
        forEachPart { $0.assemble(to: wm, shardCount: count) }
        stats.peakLiveCalls = max(stats.peakLiveCalls, parts.reduce(0) { $0 + $1.assembler.liveKeys })
        if let stages {
            for target in parts.indices { stages[target].send(from: parts, to: target, watermark: wm) }
            return
        }
        for target in parts.indices {
            for source in parts { parts[target].classifier.take(&source.outbox[target]) }
        }
        forEachPart { $0.classify(to: wm) }
        notePeakScopes()
    }

    private func notePeakScopes() {
        let scopes = parts.reduce(0) { $0 + $1.classifier.liveScopes }
        if scopes > stats.peakScopes {
            stats.peakScopes = scopes
            stats.scopeBytesAtPeak = parts.reduce(0) { $0 + $1.classifier.scopeTableBytes }
        }
    }

    private func advanceWatermark() {
        // An input not yet opened bounds the watermark by its first event. One without any
        // event (`.min`: empty, header only, every line rejected, unreadable) is opened
        // before any other and holds the watermark at `.min` until then; it must not wrap
        // round to the far future, which would make every later event late.
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

    private func reportProgress() {
        guard let progress, Date().timeIntervalSince(lastProgress) >= 1 else { return }
        lastProgress = Date()
        progress(
            Analysis.Progress(
                inputsDone: done, inputs: cursors.count, events: events,
                liveCalls: parts.reduce(0) { $0 + $1.assembler.liveKeys },
                liveScopes: stages?.reduce(0) { $0 + $1.liveScopes } ?? parts.reduce(0) { $0 + $1.classifier.liveScopes }))
    }

    /// After `merge()`: the checkpoint (with durable state), then everything final, and the
    /// report.
    /// - Parameter engineOut: where the engine state is written, instead of the
    ///   continuation's (a session that commits the files it was pushed).
    /// - Parameter finishingRejects: whether the rejects file is finished (closed) here; a
    ///   follower, whose runs follow one another, finishes it once, at its end.
    func finish(engineOut: StateFileWriter? = nil, finishingRejects: Bool = true) throws -> Analysis.Outcome {
        var lines = priorLines
        var errors: [InputError] = []
        var inputFiles: [Report.InputFile] = []
        var rejectsError: Error?
        var results: [InputParser.FileResult] = []
        for c in cursors {
            lines.merge(c.parser.accounting)
            results += c.parser.fileResults
            errors += c.parser.errors
            if let e = c.parser.rejectsError, rejectsError == nil { rejectsError = e }
        }
        // In the order the files were given, whichever input read them.
        for r in results.sorted(by: { $0.index < $1.index }) {
            inputFiles.append(Report.InputFile(path: r.path, content: r.fingerprint, lines: r.lines))
        }

        if stateMode {
            return try finishFromSummaries(
                lines: lines, errors: errors, inputFiles: inputFiles, rejectsError: rejectsError, engineOut: engineOut,
                finishingRejects: finishingRejects)
        }

        // End of input: everything is final.
        step(to: .max, capped: false)
        let horizon = parts.map(\.assembler.accounting.horizon).max() ?? .min
        if let stages {
            for stage in stages { stage.finish(horizon: horizon) }
            for stage in stages { stage.join() }
            // Each part's own peak, summed: exact with one part, an upper bound with more.
            stats.peakScopes = stages.reduce(0) { $0 + $1.peakScopes }
            stats.scopeBytesAtPeak = stages.reduce(0) { $0 + $1.scopeBytesAtPeak }
        } else {
            forEachPart { $0.classifier.finish(horizon: horizon) }
        }

        if let rejectsError { throw rejectsError }
        if let spool, let rejects { try spool.drain(into: rejects) }
        if finishingRejects { try rejects?.finish() }

        var calls = CallAssembler.Accounting()
        var totals: [Aggregator.GroupKey: Counters] = [:]
        for part in parts {
            calls.merge(part.assembler.accounting)
            for (key, counters) in zip(part.aggregator.keys, part.aggregator.counters) {
                totals[key, default: .zero].merge(counters)
            }
        }
        return outcome(lines: lines, calls: calls, totals: totals, horizon: horizon, finality: nil, inputFiles: inputFiles, errors: errors, engineState: nil)
    }

    /// `finish` with durable state: each part goes as far as its own point and is written
    /// as it stands then, then finished (`Part.finish`), its summary written after it; the
    /// parts left dormant are copied as they lay. The report sums the finished parts and
    /// the dormant parts' summaries, every queued FCR verdict judged against the greatest
    /// horizon of them all (`PartSummary.settle`), known before any part is finished
    /// (finishing cuts calls; it records no event).
    private func finishFromSummaries(
        lines: LineAccounting, errors: [InputError], inputFiles: [Report.InputFile], rejectsError: Error?,
        engineOut: StateFileWriter?, finishingRejects: Bool
    ) throws -> Analysis.Outcome {
        // The inputs' adapters go back to the state, unfinished, with what they hold; no
        // part is made final past the events they hold.
        if let carried {
            for c in cursors { if let (key, a) = c.parser.takeCarriedAdapter() { carried.put(key, a) } }
            applyHeldFloors(carried.heldFloors())
        }
        step(to: .max, capped: true)
        // What they would still emit counts in the report, recorded into the parts after
        // they are written (`Analysis.encode`).
        let (flushed, flushLines) = flushCarried()
        var extra = [[Event]](repeating: [], count: parts.count)
        for e in flushed {
            let i = byCentre ? part(ofCentre: e.centre) : 0
            if i >= extra.count { extra += Array(repeating: [], count: i + 1 - extra.count) }
            extra[i].append(e)
        }
        if let carried { applyHeldFloors(carried.heldFloors()) }
        if let wakeFailure { throw wakeFailure }
        let sleeping = stillDormant
        var summaries: [PartSummary] = []
        for part in sleeping { summaries.append(try part.summary(verdictsLater: true)) }
        let flushedHorizon = flushed.map(\.ts).max() ?? .min
        let horizon = max(
            parts.map(\.assembler.accounting.horizon).max() ?? .min, summaries.map(\.horizon).max() ?? .min, flushedHorizon)
        stats.stateCalls = parts.reduce(0) { $0 + $1.assembler.liveKeys } + summaries.reduce(0) { $0 + $1.liveCalls }
        stats.stateScopes = summaries.reduce(0) { $0 + $1.scopes }
        var engineState: StateFileWriter.Written?
        let encoding = Date()
        let out = engineOut ?? continuation?.engineOut
        let (finished, newFiles, partFiles, scopeRecords) = try Analysis.encode(
            live: parts, stored: sleeping, horizon: horizon, lines: lines, centres: centres, services: services,
            reasons: reasons, longCallIDs: longCallIDs, to: out, store: continuation?.store?.partFolder,
            layers: execution.scopeLayers, carried: carried, extra: extra)
        if let out {
            do {
                engineState = try out.finish()
            } catch {
                for f in newFiles { unlink(f) }
                throw error
            }
            engineState?.companions = newFiles
            engineState?.partFiles = partFiles
            stats.encodeSeconds = Date().timeIntervalSince(encoding)
            stats.stateScopes += scopeRecords
        }
        if let rejectsError { throw rejectsError }
        if let spool, let rejects { try spool.drain(into: rejects) }
        if finishingRejects { try rejects?.finish() }

        var calls = CallAssembler.Accounting()
        var totals: [Aggregator.GroupKey: Counters] = [:]
        var points: [Int32: Int64] = [:]
        for (part, c) in zip(parts, finished) {
            calls.merge(c)
            for (key, counters) in zip(part.aggregator.keys, part.aggregator.counters) { totals[key, default: .zero].merge(counters) }
            points[part.centre] = min(c.horizon == .min ? .min : c.horizon &- finalMargin, part.heldBelow)
        }
        for (part, s) in zip(sleeping, summaries) {
            calls.merge(s.calls)
            try s.settle(horizon: horizon, repeatWindow: settings.repeatWindow, into: &totals)
            points[part.centre] = s.horizon == .min ? .min : s.horizon &- finalMargin
        }
        let finality = Report.Finality(settings: settings, calendar: calendar, points: points)
        var reported = lines
        reported.merge(flushLines)
        // Every line read is an event, a duplicate, rejected, late or skipped
        // (docs/metrics.md, "Accounting"). A run always keeps that; counts read from a
        // state that break it were damaged in a way its checks did not see.
        let accounted = calls.events &+ calls.duplicates &+ reported.duplicates &+ reported.rejectedTotal &+ reported.late &+ reported.skipped
        if let continuation, continuation.engineState != nil, reported.lines != accounted {
            engineState?.discard()
            throw StateError(
                "\(continuation.engineFile): malformed (counts that do not add up: \(reported.lines) lines, \(accounted) accounted for)")
        }
        return outcome(
            lines: reported, calls: calls, totals: totals, horizon: horizon, finality: finality, inputFiles: inputFiles,
            errors: errors, engineState: engineState)
    }

    private func outcome(
        lines: LineAccounting, calls: CallAssembler.Accounting, totals: [Aggregator.GroupKey: Counters], horizon: Int64,
        finality: Report.Finality?, inputFiles: [Report.InputFile], errors: [InputError], engineState: StateFileWriter.Written?
    ) -> Analysis.Outcome {
        let rows = Report.rows(
            keys: Array(totals.keys), counters: Array(totals.values), centres: centres,
            services: services, settings: settings, finality: finality)
        var report = Report(
            settings: settings, inputs: inputs, horizon: horizon == .min ? nil : horizon,
            lines: lines, calls: calls, rows: rows)
        report.inputFiles = inputFiles
        stats.events = events
        stats.seconds = Date().timeIntervalSince(started)
        var o = Analysis.Outcome(report: report, errors: errors, stats: stats, engineState: engineState)
        o.upgradedFrom = upgradedFrom
        return o
    }
}

/// Where a carried adapter's copy puts what finishing it emits (`AnalysisRun.flushCarried`):
/// its events, and the lines they add, as an input's parser would count them.
private final class FlushOutput: AdapterOutput {
    let builder: EventBuilder
    var events: [Event] = []
    var accounting = LineAccounting()
    init(builder: EventBuilder) { self.builder = builder }
    func admit(orderKey key: Int64) -> Bool { true }
    var releaseLimit: Int64 { .max }
    func emit(_ event: Event, extraLine: Bool) {
        if extraLine { accounting.lines += 1 }
        events.append(event)
    }
    func countDuplicate() { accounting.duplicates += 1 }
    func countSkipped(_ kind: SkipKind) { accounting.skip(kind) }
    func countRejected(_ reason: RejectReason) { accounting.reject(reason) }
}
