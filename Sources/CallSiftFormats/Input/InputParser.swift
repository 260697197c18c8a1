import CallSiftCore
import CallSiftInput

/// Reads one input (a file or standard input) into batches of accepted events: the
/// producer side of an input, run on its own thread when the run has more than one.
///
/// It owns everything that is decided within one input, in the input's own order:
/// decoding, cutting records, the CSV header, parsing, rejection and lateness
/// (docs/metrics.md, "Input records" and "Accounting"). What it hands on are events that
/// are neither rejected nor late; duplicates are decided later, per call.
/// `@unchecked Sendable`: driven by one thread at a time (inline, or an `InputPool`
/// worker that holds the input under the pool's lock).
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
package final class InputParser: @unchecked Sendable {
    /// The file being read (of a chain, the current one) and its place among the run's files.
    @exclusivity(unchecked) package private(set) var path: String
    @exclusivity(unchecked) package private(set) var index: Int
    private let settings: AnalysisSettings
    package let builder: EventBuilder
    @exclusivity(unchecked) private var rejects: RejectsLog?
    /// A dry run only looks for the first event (to place the input in the merge), or the
    /// first `dryRunLimit` (the centres an input names), and counts and writes nothing.
    private let dryRun: Bool
    private let dryRunLimit: Int
    /// With durable state: the points below which a centre's events are late.
    private let floors: LateFloors?

    @exclusivity(unchecked) private var reader: InputReader?
    /// Fed by `push` rather than read (the log `--follow` follows): its bytes come as they
    /// are written, and until `finishPushed` no more of them for now is not the end.
    let isPushed: Bool
    /// With `isPushed`: accepted events not yet handed out by `fill`, and the fingerprint
    /// of the bytes pushed so far.
    @exclusivity(unchecked) private var queued: [Event] = []
    @exclusivity(unchecked) private var pushedHash = ContentHasher()
    @exclusivity(unchecked) private var pushedBytes: Int64 = 0
    /// The input's bytes when it is held in memory (`--follow`) rather than read from `path`.
    @exclusivity(unchecked) private var memory: MemoryInput?

    /// One file of a *chain*: files of one platform's export that one adapter reads one
    /// after another, so that what spans records (a transfer chain's legs, a record and its
    /// re-delivery, a call's lines on both sides of a rotation) is matched across them
    /// (docs/metrics.md, "Streams across files"). Each file keeps its own lateness, line
    /// numbers, accounting of lines and fingerprint.
    package struct ChainFile {
        var path: String
        var index: Int
        /// No event of the file is below this (its dry run's bound), `.min` when unknown.
        var floor: Int64
        /// Its first record's order key (`.min` when it has none): no record of it is more
        /// than the lateness bound below.
        var firstKey: Int64
        var rejects: RejectsLog?
        var memory: MemoryInput?

        package init(path: String, index: Int, floor: Int64, firstKey: Int64, rejects: RejectsLog?, memory: MemoryInput?) {
            self.path = path
            self.index = index
            self.floor = floor
            self.firstKey = firstKey
            self.rejects = rejects
            self.memory = memory
        }
    }
    /// The files of the chain still to read after the current one, and the least of their
    /// floors from each on (`suffixFloor[i]` for `chain[i...]`).
    @exclusivity(unchecked) private var chain: [ChainFile] = []
    @exclusivity(unchecked) private var chainAt = 0
    @exclusivity(unchecked) private var suffixFloor: [Int64] = []
    @exclusivity(unchecked) private var suffixFirstKey: [Int64] = []
    /// Whether this parser reads a chain of more than one file, and the current file's floor.
    @exclusivity(unchecked) private var isChain = false
    @exclusivity(unchecked) private var currentFloor = Int64.min
    /// The files of a chain read to their end so far: what the report lists of each.
    package struct FileResult {
        package var path: String
        package var index: Int
        package var fingerprint: ContentFingerprint?
        package var lines: Int64
    }
    @exclusivity(unchecked) private(set) var finishedFiles: [FileResult] = []
    @exclusivity(unchecked) private var linesBefore: Int64 = 0
    /// Every error of the input (of a chain, of each file that had one), in order.
    @exclusivity(unchecked) package private(set) var errors: [InputError] = []
    @exclusivity(unchecked) private var splitter: RecordSplitter?
    /// Contact trace records are cut by top-level JSON object instead of by line: they
    /// come as NDJSON, as a JSON array, or written back to back.
    @exclusivity(unchecked) private var objectSplitter: JSONObjectSplitter?
    /// The adapter of a queue_log or contact-trace-record input; nil for CSV and NDJSON.
    @exclusivity(unchecked) private var adapter: FormatAdapter?
    /// With durable state: the adapters the state carries. The input's adapter is taken
    /// from there when its first file begins, and is not finished at its end but given
    /// back (`takeCarriedAdapter`), for the state to carry on.
    @exclusivity(unchecked) private var carried: CarriedAdapters?
    /// Read from the CSV input's header row (`hasHeader`); until then, one without columns.
    @exclusivity(unchecked) private var csv = CSVRecordParser.withoutHeader
    @exclusivity(unchecked) private var hasHeader = false
    /// The CSV header's bytes, once read (for `resumePoint`).
    @exclusivity(unchecked) private var headerBytes: [UInt8] = []
    @exclusivity(unchecked) private var ndjson = NDJSONRecordParser()
    @exclusivity(unchecked) private var isNDJSON = false
    @exclusivity(unchecked) private var atStreamStart = true
    @exclusivity(unchecked) private var slots = FieldSlots()

    /// The batch being filled.
    @exclusivity(unchecked) private var events: [Event] = []
    /// Greatest `ts` of the events read so far (rejected lines excluded): what lateness
    /// is judged against. For an adapter, the greatest order key admitted
    /// (`AdapterOutput.admit`).
    @exclusivity(unchecked) package private(set) var maxTs = Int64.min

    /// For an adapter input: no event it may still emit (after those already in batches)
    /// has a `ts` below this; `Int64.max` for CSV and NDJSON, whose events are bounded by
    /// the lateness rule alone. See `FormatAdapter.floor(latestKey:)`.
    package var adapterFloor: Int64 {
        guard let adapter else { return .max }
        var f = adapter.floor(latestKey: maxTs)
        if isChain {
            // A later file's lateness is its own: it may go back below what this one has
            // reached, to its own floor, and this file's events go down to its greatest less
            // the lateness bound, whatever the files before it reached.
            let current = maxTs != .min ? maxTs : currentFloor
            f = min(f, current == .min ? .min : current &- settings.lateness)
            if chainAt < suffixFloor.count {
                let next = suffixFloor[chainAt]
                f = min(f, next == .min ? .min : next &- settings.lateness)
            }
        }
        return f
    }

    /// The adapter format this input is read with (recognised from its first bytes, or
    /// given), once known; nil for CSV and NDJSON.
    @exclusivity(unchecked) package private(set) var adapterFormat: AnalysisSettings.InputFormat?

    /// Makes this parser read `files` after its own, with the same adapter (a chain);
    /// `floor` is its own file's floor (see `ChainFile.floor`).
    package func chain(_ files: [ChainFile], floor: Int64) {
        precondition(!isPushed && chain.isEmpty && files.allSatisfy { $0.path != "-" }, "a chain of files read")
        chain = files
        isChain = !files.isEmpty
        currentFloor = floor
        suffixFloor = Array(repeating: .max, count: files.count)
        suffixFirstKey = Array(repeating: .max, count: files.count)
        var m = Int64.max, k = Int64.max
        for i in files.indices.reversed() {
            m = min(m, files[i].floor)
            k = min(k, files[i].firstKey)
            suffixFloor[i] = m
            suffixFirstKey[i] = k
        }
    }

    /// Whether events may come out of this input in any order (an adapter's), so that
    /// each batch carries its own lower bound.
    package var isAdapter: Bool { adapter != nil }
    @exclusivity(unchecked) package private(set) var accounting = LineAccounting()
    @exclusivity(unchecked) package private(set) var isFinished = false
    @exclusivity(unchecked) package private(set) var error: InputError?
    /// The input's bytes, recognised by content, once it is finished (nil for a dry run or
    /// an input that could not be read to its end).
    @exclusivity(unchecked) package private(set) var fingerprint: ContentFingerprint?
    /// Failure writing the rejects file; fatal for the run.
    @exclusivity(unchecked) package private(set) var rejectsError: Error?

    package init(
        path: String, index: Int, settings: AnalysisSettings, builder: EventBuilder,
        rejects: RejectsLog?, floors: LateFloors? = nil, memory: MemoryInput? = nil, dryRun: Bool = false,
        dryRunLimit: Int = 1, pushed: Bool = false, resume: Resume? = nil, carried: CarriedAdapters? = nil
    ) {
        self.carried = dryRun ? nil : carried
        self.dryRunLimit = dryRunLimit
        isPushed = pushed
        self.floors = floors
        self.memory = memory
        self.path = path
        self.index = index
        self.settings = settings
        self.builder = builder
        self.rejects = rejects
        self.dryRun = dryRun
        if let resume {
            precondition(pushed, "only a pushed input is resumed")
            isNDJSON = resume.isNDJSON
            splitter = RecordSplitter(quoteAware: !isNDJSON, nextLine: resume.nextLine)
            if let h = resume.header {
                csv = h.withUnsafeBytes { CSVRecordParser(header: $0) } ?? .withoutHeader
                hasHeader = true
                headerBytes = h
            }
            atStreamStart = false
            maxTs = resume.maxTs
            pushedHash = ContentHasher(words: resume.hasher) ?? ContentHasher()
            pushedBytes = resume.bytes
        }
    }

    /// Where a pushed CSV or NDJSON input stands between two records: what a parser in
    /// another process needs to read on from there as this one would (docs/architecture.md,
    /// "Live mode"). An input read by a format adapter has no such point (the adapter holds
    /// the calls it is assembling). The engine writes it to the state and reads it back
    /// (`ResumeCodec.swift` in CallSift).
    package struct Resume: Equatable, Sendable {
        package var isNDJSON: Bool
        /// The CSV header's bytes; nil before it is read (and for NDJSON).
        package var header: [UInt8]?
        /// What lateness is judged against.
        package var maxTs: Int64
        /// The line number of the next record.
        package var nextLine: Int64
        /// The bytes pushed so far, and the state of their hash.
        package var bytes: Int64
        package var hasher: [UInt64]

        package init(isNDJSON: Bool, header: [UInt8]?, maxTs: Int64, nextLine: Int64, bytes: Int64, hasher: [UInt64]) {
            self.isNDJSON = isNDJSON
            self.header = header
            self.maxTs = maxTs
            self.nextLine = nextLine
            self.bytes = bytes
            self.hasher = hasher
        }
    }

    /// This pushed input's `Resume`, if it stands between two records of CSV or NDJSON.
    package func resumePoint() -> Resume? {
        guard isPushed, !isFinished, error == nil, adapter == nil, objectSplitter == nil, !atStreamStart,
            let splitter, splitter.isBetweenRecords
        else { return nil }
        return Resume(
            isNDJSON: isNDJSON, header: hasHeader ? headerBytes : nil, maxTs: maxTs, nextLine: splitter.nextLine,
            bytes: pushedBytes, hasher: pushedHash.words)
    }

    var compressedOffset: Int64 { reader?.compressedOffset ?? 0 }

    /// A dry run stops at the first event, or once an adapter knows a bound for its events
    /// and has read its first record's order key (a chain's `releaseLimit` needs it).
    private var dryRunDone: Bool { events.count >= dryRunLimit || (adapterFloor != .max && maxTs != .min) }

    /// Appends accepted events to `batch` until it holds at least `count` or the input is
    /// finished. A dry run stops at the first event.
    package func fill(_ batch: inout [Event], upTo count: Int) {
        if isPushed {
            // All of them, whatever `count`: the batch's floor covers the events still to
            // come from the adapter, not events queued behind the batch (`push` is given
            // at most about a megabyte at a time, so the batch stays small).
            batch.append(contentsOf: queued)
            queued.removeAll(keepingCapacity: true)
            return
        }
        swap(&events, &batch)
        defer { swap(&events, &batch) }
        while events.count < count && !isFinished && !(dryRun && dryRunDone) {
            readChunk()
        }
    }

    /// Opens the input now, and for a compressed one starts decoding ahead, driven by the
    /// caller (`InputPool`): the queue it decodes into, or nil for a plain input or one
    /// that cannot be opened (then the parser is finished, with its error).
    package func openDecodingAhead() -> DecodeAhead? {
        guard reader == nil, !isFinished else { return nil }
        do {
            reader = try openReader()
        } catch {
            fail(error, offset: 0)
            return nil
        }
        return reader!.enableDecodeAhead()
    }

    /// Reads one chunk of the input (for a compressed input decoding ahead, the next in
    /// the queue) and appends the events it completes to `batch`.
    package func fillOneChunk(_ batch: inout [Event]) {
        swap(&events, &batch)
        defer { swap(&events, &batch) }
        if !isFinished { readChunk() }
    }

    private func openReader() throws -> InputReader {
        if let memory { return InputReader(memory: memory) }
        return try InputReader(path: path)
    }

    private func readChunk() {
        do {
            if reader == nil { reader = try openReader() }
            // The chunk is lent for the call only, and `take` consumes it whole.
            guard try reader!.readChunk({ try take($0) }) != nil else {
                finish(truncated: false)
                return
            }
        } catch {
            fail(error, offset: compressedOffset)
        }
    }

    /// Ends the input (of a chain, the file) with `error` (an `InputError` as it is;
    /// anything else at `offset`).
    private func fail(_ error: Error, offset: Int64) {
        let e = error as? InputError ?? InputError(input: path, offset: offset, message: "\(error)")
        if self.error == nil { self.error = e }
        errors.append(e)
        finish(truncated: true)
    }

    /// Cuts, parses and judges the records `chunk` completes.
    private func take(_ chunk: UnsafeRawBufferPointer) throws {
        if splitter == nil && objectSplitter == nil { try startStream(chunk) }
        var body = chunk
        if atStreamStart {
            atStreamStart = false
            // A UTF-8 byte-order mark is not part of the first record.
            if body.count >= 3, body[0] == 0xEF, body[1] == 0xBB, body[2] == 0xBF {
                body = UnsafeRawBufferPointer(rebasing: body[3...])
            }
        }
        // The adapter is taken once per chunk and lent to each record: read from the stored
        // property per record, it was retained and released each time, and each of those
        // atomic operations waited for the record's stores to drain (a tenth of reading a
        // queue_log export).
        let adapter = self.adapter
        if objectSplitter != nil {
            objectSplitter!.feed(body) { handle($0, adapter) }
        } else {
            splitter!.feed(body) { handle($0, adapter) }
        }
    }

    // MARK: - Pushed bytes (docs/architecture.md, "The engine session")

    /// Whether a pushed input has handed out every event of the bytes pushed so far, and
    /// is not finished: there is nothing more for now.
    package var isIdle: Bool { isPushed && !isFinished && queued.isEmpty }

    /// Takes the next bytes of a pushed input. An error (the first bytes name no format
    /// this run can read) ends the input, as it ends one that is read.
    package func push(_ bytes: UnsafeRawBufferPointer) {
        precondition(isPushed && !isFinished, "push into an input that is not pushed, or finished")
        guard bytes.count > 0 else { return }
        pushedHash.update(bytes)
        pushedBytes += Int64(bytes.count)
        swap(&events, &queued)
        defer { swap(&events, &queued) }
        do {
            try take(bytes)
        } catch {
            fail(error, offset: pushedBytes)
        }
    }

    /// Ends a pushed input: what the splitter and the adapter still hold is read as at the
    /// end of a file. `fingerprint`: the input's content as stored (a compressed log's
    /// compressed bytes), or nil for the fingerprint of the bytes pushed.
    package func finishPushed(fingerprint: ContentFingerprint? = nil) {
        precondition(isPushed, "finishPushed on an input that is read")
        guard !isFinished else { return }
        swap(&events, &queued)
        defer { swap(&events, &queued) }
        finish(truncated: false)
        self.fingerprint = fingerprint ?? pushedHash.finish()
    }

    /// A copy of this pushed input as it stands, for a report taken now: finishing the
    /// copy (`finishPushed`) gives the events and the accounting that the end of the input
    /// here would give, while this one reads on. Writes no rejects; its events are built
    /// by this input's builder (one thread uses both, one after the other).
    ///
    /// - Complexity: O(what the splitter and the adapter hold: the record being cut, the
    ///   calls an adapter is still assembling).
    package func copyForPreview() -> InputParser {
        precondition(isPushed && !isFinished, "copyForPreview of an input that is not pushed, or finished")
        let c = InputParser(
            path: path, index: index, settings: settings, builder: builder, rejects: nil, floors: floors, pushed: true)
        c.splitter = splitter
        c.objectSplitter = objectSplitter
        c.adapter = adapter?.copy()
        c.adapterFormat = adapterFormat
        // With durable state the copy's end leaves its adapter unfinished too, for the run
        // to finish as it finishes the adapters it carries (its lines are the report's,
        // not the file's).
        if carried != nil { c.carried = CarriedAdapters() }
        c.csv = csv
        c.hasHeader = hasHeader
        c.headerBytes = headerBytes
        c.ndjson = ndjson
        c.isNDJSON = isNDJSON
        c.atStreamStart = atStreamStart
        c.maxTs = maxTs
        c.accounting = accounting
        c.pushedHash = pushedHash
        c.pushedBytes = pushedBytes
        return c
    }

    /// The events a finished copy (`copyForPreview`) holds, taken out.
    package func takeQueued() -> [Event] {
        var out: [Event] = []
        swap(&out, &queued)
        return out
    }

    /// Recognises the stream's format from its first bytes (`FormatRegistry`) and sets up
    /// how its records are cut and, for a platform's format, its adapter: the one a chain
    /// or the state carries on, else a new one.
    private func startStream(_ first: UnsafeRawBufferPointer) throws {
        let format = settings.format == .auto ? FormatRegistry.detect(first) : settings.format
        if let adapter {
            // The next file of a chain: read with the same adapter.
            guard format == adapterFormat else {
                throw InputError(
                    input: path, offset: 0,
                    message: "read as the next file of a \(adapterFormat?.rawValue ?? "") export, but its first bytes are not")
            }
            adapter.beginFile(first: first)
            cutRecords(adapter.recordCutting)
            return
        }
        guard let entry = FormatRegistry.entry(format), let make = entry.makeAdapter else {
            isNDJSON = format == .ndjson
            cutRecords(.lines(quoteAware: !isNDJSON))
            return
        }
        let a: FormatAdapter
        if let carriedOn = carried?.take(CarriedAdapters.Key(format: format, centre: settings.centre)) {
            // What an earlier run left open goes on in this file.
            carriedOn.beginFile(first: first)
            a = carriedOn
        } else {
            do {
                a = try make(first, settings)
            } catch let e as InputError {
                throw e
            } catch {
                throw InputError(input: path, offset: 0, message: "\(error)")
            }
        }
        adapter = a
        adapterFormat = format
        cutRecords(a.recordCutting)
    }

    private func cutRecords(_ how: RecordCutting) {
        switch how {
        case .lines(let quoteAware): splitter = RecordSplitter(quoteAware: quoteAware)
        case .jsonObjects: objectSplitter = JSONObjectSplitter()
        case .jsonPages(let member): objectSplitter = JSONObjectSplitter(pages: member)
        }
    }

    private func finish(truncated: Bool) {
        let adapter = self.adapter
        splitter?.finish(truncated: truncated) { handle($0, adapter) }
        objectSplitter?.finish(truncated: truncated) { handle($0, adapter) }
        if chainAt < chain.count && !dryRun {
            // The file ends, the chain goes on: the adapter keeps what it holds.
            finishedFiles.append(
                FileResult(
                    path: path, index: index, fingerprint: reader?.contentFingerprint(),
                    lines: accounting.lines - linesBefore))
            reader?.close()
            reader = nil
            let next = chain[chainAt]
            chainAt += 1
            path = next.path
            index = next.index
            rejects = next.rejects
            memory = next.memory
            currentFloor = next.floor
            splitter = nil
            objectSplitter = nil
            atStreamStart = true
            maxTs = .min
            linesBefore = accounting.lines
            return
        }
        // With durable state the adapter is carried on, unfinished (`takeCarriedAdapter`).
        if carried == nil { adapter?.finish(self) }
        if !dryRun { fingerprint = reader?.contentFingerprint() }
        reader?.close()
        reader = nil
        isFinished = true
        if isChain {
            finishedFiles.append(FileResult(path: path, index: index, fingerprint: fingerprint, lines: accounting.lines - linesBefore))
        }
    }

    /// With durable state: the least `ts` of the events its adapter holds, by centre.
    package var heldFloors: [String: Int64] { carried == nil ? [:] : adapter?.heldFloors() ?? [:] }

    /// With durable state, once the input has ended: its adapter, unfinished, and the key
    /// the state carries it under; nil for CSV and NDJSON (and after the first call).
    package func takeCarriedAdapter() -> (key: CarriedAdapters.Key, adapter: FormatAdapter)? {
        guard carried != nil, isFinished, let a = adapter, let f = adapterFormat else { return nil }
        adapter = nil
        return (CarriedAdapters.Key(format: f, centre: settings.centre), a)
    }

    /// What the report lists of this input's files, in order: one file, or each of a chain.
    package var fileResults: [FileResult] {
        isChain ? finishedFiles : [FileResult(path: path, index: index, fingerprint: fingerprint, lines: accounting.lines)]
    }

    /// Stops reading (after a dry run found what it looked for).
    package func close() {
        reader?.close()
        reader = nil
        isFinished = true
    }

    // MARK: - One record

    /// One record; `adapter` is this parser's (lent, so that using it retains nothing).
    private func handle(_ record: RawRecord, _ adapter: FormatAdapter?) {
        if dryRun && dryRunDone { return }
        switch record.kind {
        case .ok:
            if RecordBytes.isBlank(record.bytes) { return }
            if let adapter { return adapt(record, adapter) }
            if !isNDJSON && !hasHeader {
                // The first non-blank record of a CSV input is its header.
                csv = CSVRecordParser(header: record.bytes) ?? .withoutHeader
                hasHeader = true
                headerBytes = Array(record.bytes)
                return
            }
            // A repeated CSV header (files concatenated into one stream) is not a line.
            if !isNDJSON && Self.isHeader(record.bytes, &csv) { return }
            accounting.lines += 1
            let problem =
                isNDJSON
                ? Self.parse(record.bytes, ndjson, &slots)
                : Self.parse(record.bytes, record.masks, &csv, &slots)
            if let problem { return reject(problem, record) }
            accept(record)
        case .tooLong:
            accounting.lines += 1
            reject(.lineTooLong, record)
        case .unterminatedQuote:
            accounting.lines += 1
            reject(.unterminatedQuote, record)
        case .truncated:
            if RecordBytes.isBlank(record.bytes) { return }
            accounting.lines += 1
            reject(.truncatedInput, record)
        }
    }

    /// Whether `bytes` repeat the CSV header.
    ///
    /// This and the `parse`s are static, with the parser and the slots passed `inout`:
    /// they are stored properties of this class, and handing them over in place keeps the
    /// compiler from copying them (and retaining the arrays inside) for every record, as
    /// it does when a method is called on a stored property directly.
    @inline(__always)
    private static func isHeader(_ bytes: UnsafeRawBufferPointer, _ csv: inout CSVRecordParser) -> Bool {
        csv.isHeader(bytes)
    }

    /// Parses one CSV record into `slots`: nil, or why it is rejected. The parse makes
    /// the byte checks too (see `CSVRecordParser.parse`).
    @inline(__always)
    private static func parse(
        _ bytes: UnsafeRawBufferPointer, _ masks: RawRecord.Masks?, _ csv: inout CSVRecordParser,
        _ slots: inout FieldSlots
    ) -> RejectReason? {
        csv.parse(bytes, masks: masks, into: &slots)
    }

    /// `parse` for one NDJSON record.
    @inline(__always)
    private static func parse(
        _ bytes: UnsafeRawBufferPointer, _ ndjson: NDJSONRecordParser,
        _ slots: inout FieldSlots
    ) -> RejectReason? {
        if let reason = RecordBytes.check(bytes) { return reason }
        return ndjson.parse(bytes, into: &slots)
    }

    /// Builds the event of the parsed record in `slots` at the end of the batch, and keeps
    /// it there unless it is rejected or late.
    ///
    /// Built in place: building the event elsewhere and copying it into the batch cost a
    /// stall per event, as the copy reads the fields back in wider loads than they were
    /// written with.
    private func accept(_ record: RawRecord) {
        events.append(.placeholder)
        let ts: Int64
        switch builder.build(&slots, into: &events[events.count - 1]) {
        case .rejected(let problem):
            events.removeLast()
            return reject(problem, record)
        case .event(let t):
            ts = t
        }
        // Late: more than L below the greatest ts read before it from this input.
        if maxTs != .min && ts < maxTs &- settings.lateness {
            events.removeLast()
            accounting.late += 1
            write(record, "late")
            return
        }
        if ts > maxTs { maxTs = ts }
        // With durable state: older than what the state has made final for its centre.
        if let floors, ts < floors.floor(centre: events[events.count - 1].centre) {
            events.removeLast()
            accounting.late += 1
            write(record, "late")
        }
    }

    /// One record of an adapter's format; see `FormatAdapter` for the accounting.
    private func adapt(_ record: RawRecord, _ adapter: FormatAdapter) {
        // The CSV splitter's fast path has looked at every byte already (`RawRecord.Masks`).
        if record.masks?.suspect != false, let reason = RecordBytes.check(record.bytes) {
            accounting.lines += 1
            return reject(reason, record)
        }
        let verdict = adapter.read(record.bytes, self)
        if verdict == .header { return }
        accounting.lines += 1
        switch verdict {
        case .taken, .header: break
        case .rejected(let reason): reject(reason, record)
        case .late:
            accounting.late += 1
            write(record, "late")
        case .skipped(let kind): accounting.skip(kind)
        case .duplicate: accounting.duplicates += 1
        }
    }

    private func reject(_ reason: RejectReason, _ record: RawRecord) {
        accounting.reject(reason)
        write(record, reason.rawValue)
    }

    private func write(_ record: RawRecord, _ reason: String) {
        guard let rejects, !dryRun, rejectsError == nil else { return }
        do {
            try rejects.write(lineNo: record.lineNo, reason: reason, raw: record.bytes)
        } catch {
            rejectsError = error
        }
    }
}

extension InputParser: AdapterOutput {
    package func admit(orderKey key: Int64) -> Bool {
        if maxTs != .min && key < maxTs &- settings.lateness { return false }
        if key > maxTs { maxTs = key }
        return true
    }

    package func emit(_ event: Event, extraLine: Bool) {
        if extraLine { accounting.lines += 1 }
        // With durable state: older than what the state has made final for its centre.
        // The record that completed the event is not at hand, so nothing is written to
        // the rejects file for it (docs/metrics.md, "Daily runs").
        if let floors, event.ts < floors.floor(centre: event.centre) {
            accounting.late += 1
            return
        }
        events.append(event)
    }

    package var releaseLimit: Int64 {
        guard chainAt < suffixFirstKey.count else { return .max }
        let k = suffixFirstKey[chainAt]
        return k == .min ? .min : k &- settings.lateness
    }

    package func countDuplicate() { accounting.duplicates += 1 }
    package func countSkipped(_ kind: SkipKind) { accounting.skip(kind) }
    package func countRejected(_ reason: RejectReason) { accounting.reject(reason) }
}
