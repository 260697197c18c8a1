/// Reads one input (a file or standard input) into batches of accepted events.
///
/// It owns everything that is decided within one input, in the input's own order:
/// decoding, cutting records, the CSV header, parsing, rejection and lateness
/// (SPEC.md sections 2 and 4). What it hands on are events that are neither rejected nor
/// late; duplicates are decided later, per call.
final class InputCursor {
    let path: String
    let index: Int
    private let settings: AnalysisSettings
    let builder: EventBuilder
    private let rejects: RejectsLog?
    /// A dry run only looks for the first event (to place the input in the merge) and
    /// counts and writes nothing.
    private let dryRun: Bool

    private var reader: InputReader?
    private var splitter: RecordSplitter?
    /// Contact trace records are cut by top-level JSON object instead of by line: they
    /// come as NDJSON, as a JSON array, or written back to back.
    private var objectSplitter: JSONObjectSplitter?
    private var csv: CSVRecordParser?
    private var ndjson = NDJSONRecordParser()
    private var isNDJSON = false
    private var atStreamStart = true
    private var slots = FieldSlots()
    /// The adapter of a queue_log or contact-trace-record input; nil for CSV and NDJSON.
    private var adapter: FormatAdapter?
    /// Least `ts` of the events an adapter appended to the current batch: held events can
    /// be far older than anything read lately, so they bound the watermark until taken.
    private var releasedFloor = Int64.max

    /// Accepted events read and not yet taken; `events[position...]` are pending.
    private(set) var events: [Event] = []
    private(set) var position = 0
    /// Greatest `ts` of the events read so far (rejected lines excluded): what lateness
    /// is judged against. It may run ahead of the events taken. For an adapter, the
    /// greatest order key admitted (`AdapterOutput.admit`).
    private(set) var maxTs = Int64.min
    /// Greatest `ts` of the events taken so far.
    private var maxTaken = Int64.min
    private(set) var accounting = LineAccounting()
    private(set) var isFinished = false
    private(set) var error: InputError?
    /// Failure writing the rejects file; fatal for the run.
    private(set) var rejectsError: Error?

    init(path: String, index: Int, settings: AnalysisSettings, builder: EventBuilder,
         rejects: RejectsLog?, dryRun: Bool = false) {
        self.path = path
        self.index = index
        self.settings = settings
        self.builder = builder
        self.rejects = rejects
        self.dryRun = dryRun
        events.reserveCapacity(4096)
    }

    var compressedOffset: Int64 { reader?.compressedOffset ?? 0 }
    var hasPending: Bool { position < events.count }
    var next: Event { events[position] }

    func take() -> Event {
        let e = events[position]
        position += 1
        if e.ts > maxTaken { maxTaken = e.ts }
        return e
    }

    /// No event still to be taken from this input has a `ts` below this.
    ///
    /// Every event not yet taken was read after all the taken ones, so unless it is late
    /// (and never handed on) its `ts` is at least (greatest taken `ts` − lateness). Before
    /// the first take, the first event plays that part. Note it is *not* `maxTs`: events
    /// parsed ahead into the batch may be far ahead of some not yet taken.
    var watermark: Int64 {
        let base = maxTaken != .min ? maxTaken : (hasPending ? events[position].ts : .min)
        let own = base == .min ? Int64.min : base &- settings.lateness
        guard let adapter else { return own }
        // An adapter's events need not follow the order it reads records in: bound by
        // what it still holds or may yet emit, and by what it released and is not taken.
        return min(own, releasedFloor, adapter.floor(latestKey: maxTs))
    }

    /// Where the merge places this input before opening it: no event of it is below this
    /// (nil while none is known). For CSV and NDJSON, the first event's `ts`.
    var firstBound: Int64? {
        var bound: Int64? = hasPending ? events[position].ts : nil
        if let adapter {
            let held = min(releasedFloor, adapter.floor(latestKey: maxTs))
            if held != .max { bound = min(bound ?? .max, held) }
        }
        return bound
    }

    /// Reads on until at least one event is pending or the input is finished.
    func refill() {
        if position == events.count {
            events.removeAll(keepingCapacity: true)
            position = 0
            releasedFloor = .max
        }
        while position == events.count && !isFinished && !(dryRun && firstBound != nil) {
            readChunk()
        }
    }

    private func readChunk() {
        do {
            if reader == nil { reader = try InputReader(path: path) }
            guard let chunk = try reader!.readChunk() else {
                finish(truncated: false)
                return
            }
            if splitter == nil && objectSplitter == nil { try startStream(chunk) }
            var body = chunk
            if atStreamStart {
                atStreamStart = false
                // A UTF-8 byte-order mark is not part of the first record.
                if body.count >= 3, body[0] == 0xEF, body[1] == 0xBB, body[2] == 0xBF {
                    body = UnsafeRawBufferPointer(rebasing: body[3...])
                }
            }
            if objectSplitter != nil {
                objectSplitter!.feed(body) { handle($0) }
            } else {
                splitter!.feed(body) { handle($0) }
            }
        } catch let e as InputError {
            error = e
            finish(truncated: true)
        } catch {
            self.error = InputError(input: path, offset: compressedOffset, message: "\(error)")
            finish(truncated: true)
        }
    }

    private func startStream(_ first: UnsafeRawBufferPointer) throws {
        let format = settings.format == .auto ? FormatSniffer.detect(first) : settings.format
        switch format {
        case .csv, .auto: isNDJSON = false
        case .ndjson: isNDJSON = true
        case .queuelog:
            guard let centre = settings.centre else {
                throw InputError(input: path, offset: 0, message: "this is an Asterisk queue_log, whose lines name no centre: give --centre")
            }
            let a = try QueueLogAdapter(first: first, centre: centre, settings: settings)
            adapter = a
            splitter = RecordSplitter(quoteAware: a.isCSV)
            return
        case .ctr:
            adapter = ContactTraceAdapter(centre: settings.centre, settings: settings)
            objectSplitter = JSONObjectSplitter()
            return
        }
        splitter = RecordSplitter(quoteAware: !isNDJSON)
    }

    private func finish(truncated: Bool) {
        splitter?.finish(truncated: truncated) { handle($0) }
        objectSplitter?.finish(truncated: truncated) { handle($0) }
        adapter?.finish(self)
        reader?.close()
        reader = nil
        isFinished = true
    }

    /// Stops reading (after a dry run found what it looked for).
    func close() {
        reader?.close()
        reader = nil
        isFinished = true
    }

    // MARK: - One record

    private func handle(_ record: RawRecord) {
        if dryRun && firstBound != nil { return }
        switch record.kind {
        case .ok:
            if RecordBytes.isBlank(record.bytes) { return }
            if let adapter { return adapt(record, adapter) }
            if !isNDJSON {
                guard let csv else {
                    // The first non-blank record of a CSV input is its header.
                    csv = CSVRecordParser(header: record.bytes) ?? CSVRecordParser(header: UnsafeRawBufferPointer(start: nil, count: 0))
                    return
                }
                // A repeated header (files concatenated into one stream) is not a line.
                if csv.headerBytes.elementsEqual(record.bytes) { return }
            }
            accounting.lines += 1
            if let reason = RecordBytes.check(record.bytes) { return reject(reason, record) }
            let problem = isNDJSON ? ndjson.parse(record.bytes, into: &slots) : csv!.parse(record.bytes, into: &slots)
            if let problem { return reject(problem, record) }
            switch builder.build(slots) {
            case .rejected(let reason): reject(reason, record)
            case .event(let event): accept(event, record)
            }
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

    private func accept(_ event: Event, _ record: RawRecord) {
        // Late: more than L below the greatest ts read before it from this input.
        if maxTs != .min && event.ts < maxTs &- settings.lateness {
            accounting.late += 1
            write(record, "late")
            return
        }
        if event.ts > maxTs { maxTs = event.ts }
        events.append(event)
    }

    /// One record of an adapter's format; see `FormatAdapter` for the accounting.
    private func adapt(_ record: RawRecord, _ adapter: FormatAdapter) {
        if let reason = RecordBytes.check(record.bytes) {
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

extension InputCursor: AdapterOutput {
    func admit(orderKey key: Int64) -> Bool {
        if maxTs != .min && key < maxTs &- settings.lateness { return false }
        if key > maxTs { maxTs = key }
        return true
    }

    func emit(_ event: Event, extraLine: Bool) {
        if extraLine { accounting.lines += 1 }
        if event.ts < releasedFloor { releasedFloor = event.ts }
        events.append(event)
    }

    func countDuplicate() { accounting.duplicates += 1 }
    func countSkipped(_ kind: SkipKind) { accounting.skip(kind) }
    func countRejected(_ reason: RejectReason) { accounting.reject(reason) }
}
