import CMemory
import CallSiftCore
/// Asterisk's `queue_log` (written by app_queue; read by FreePBX, Wazo/XiVO, QueueMetrics)
/// as canonical call events. The mapping, field by field, is in docs/formats.md.
///
/// Two forms: the file, `epoch|callid|queuename|agent|EVENT|data1|data2|...` with the
/// epoch in seconds, and the database export, CSV with a header naming `time` (a datetime,
/// or epoch seconds), `callid`, `queuename`, `agent`, `event` and `data1`...`data5` (or one
/// `data` column holding them joined by `|`).
///
/// A caller who leaves a queue without being answered (`EXITWITHTIMEOUT`, `EXITWITHKEY`,
/// `EXITEMPTY`), whose agent hangs up first (`COMPLETEAGENT`), who is transferred or who is
/// refused entry (`JOINEMPTY`, `FULL`) may go on to another queue with the same `callid`.
/// So such a *leaving* line is held: when the call shows up in a queue again it becomes a
/// `transfer` to that queue, and only when the call's window closes (its first event + the
/// call timeout, + the lateness bound, after which no line can join it) does it become the
/// call's terminal event. `ABANDON` and `COMPLETECALLER` end the caller's channel, so they
/// are terminal at once. A call has one answer (its first `CONNECT`) and one terminal event,
/// `end` once it has been answered in any queue, else `abandon` (or `blocked` when it was
/// refused by every queue it tried), so several exits across queues never make it conflict.
///
/// Memory: one small record per call of the last call timeout + lateness, like
/// `CallAssembler`; a call remembers at most `maxSeen` lines for duplicate detection.
/// Calls are found by their id as a `CallID` (the bytes held inline; an id over 40 bytes
/// by its index in the adapter's own `LongCallIDs`), and a line's fields are read where
/// they lie in the record: no `String` is made per line.
///
/// Its stored properties are `@exclusivity(unchecked)`: one thread owns it at a time, and no
/// access to one of them can overlap another (docs/architecture.md, "Exclusivity and specialisation").
package final class QueueLogAdapter: FormatAdapter {
    /// The database-export (CSV) form, rather than the file form.
    @exclusivity(unchecked) package private(set) var isCSV: Bool
    private let centre: String
    private let centreBytes: [UInt8]
    private let timeout: Int64
    private let lateness: Int64
    private let calendar: LocalCalendar
    @exclusivity(unchecked) private var canonical = CanonicalRecord()
    /// The last date read from an export's datetimes (`Timestamp.parse(_:days:)`).
    @exclusivity(unchecked) private var days = Timestamp.DayCache()

    /// Lines of one call remembered to recognise a line delivered twice.
    static let maxSeen = 64

    // MARK: - The current line's fields

    fileprivate enum Slot: Int { case time = 0, callid, queue, agent, event, data1, data2, data3, data4, data5 }
    fileprivate static let slotCount = 10
    /// Where each field of the line lies (in the record itself for the file form and an
    /// export line without quotes, in `exportLine` for an export line with quoted fields,
    /// unquoted there): plain values only, so that reading a field retains nothing.
    @exclusivity(unchecked) private var fields = FieldBounds()
    /// Export form: its header's columns, and a quoted line's fields copied out.
    @exclusivity(unchecked) private var header = ExportHeader()
    @exclusivity(unchecked) private var exportLine: [UInt8] = []
    /// CSV form: the header's bytes.
    @exclusivity(unchecked) private var headerBytes: [UInt8] = []

    // MARK: - Calls

    private struct Held {
        var ts: Int64
        var kind: QueueLogLeave
        /// The line's own event was emitted already (a refusal that opened the call emits
        /// its `arrive` at once), so what it becomes later is an extra line.
        var ownEmitted: Bool
        var serial: Int
    }

    private struct Seen: Equatable {
        var event: UInt8
        var ts: Int64
        /// The queue, by its index in `queueNames`.
        var queue: Int32
    }

    private struct Call {
        var id: CallID
        /// Unique to this call while it is open; 0 once it has closed.
        var serial: Int
        var firstTs: Int64
        var arrived = false
        var queued = false
        var answered = false
        var held: Held?
        var seen: [Seen] = []

        /// A new call in this closed call's place; `seen`, emptied when it closed, keeps its
        /// storage for the new call's lines.
        mutating func reopen(id: CallID, serial: Int, firstTs: Int64) {
            self.id = id
            self.serial = serial
            self.firstTs = firstTs
            arrived = false
            queued = false
            answered = false
            held = nil
            seen.removeAll(keepingCapacity: true)
        }
    }

    /// The open calls, in places reused once a call closes (`freePlaces`), found by id
    /// through `placeOf`: a line's call is changed where it lies, never copied out and back.
    @exclusivity(unchecked) private var calls: [Call] = []
    @exclusivity(unchecked) private var placeOf = IDIndex()
    @exclusivity(unchecked) private var freePlaces: [Int32] = []
    /// Call ids and queue names over `CallID.inlineCapacity` bytes. Only added to: such ids
    /// are not seen in real logs (Asterisk's are `epoch.sequence`), and a restored adapter
    /// starts a new one.
    private let longIDs: LongCallIDs
    /// The queue names seen, each once, by index; and each one's index by its bytes.
    @exclusivity(unchecked) private var queueNames: [String] = []
    @exclusivity(unchecked) private var queueIndex = IDIndex()
    /// A call's place and the serial of its own, or of the line it holds: an entry of the
    /// queues below is stale once the serial at that place differs.
    private struct Tag { var place: Int32; var serial: Int }
    /// When each call's window closes: first ts + timeout + lateness.
    @exclusivity(unchecked) private var deadlines = LazyMinimum<Tag>()
    @exclusivity(unchecked) private var heldTimes = LazyMinimum<Tag>()
    /// The last serial given to a call or a held line.
    @exclusivity(unchecked) private var serial = 0

    /// - Parameter first: the input's first decoded bytes, to tell the two forms apart.
    package init(first: UnsafeRawBufferPointer, centre: String, settings: AnalysisSettings) throws {
        isCSV = !QueueLogAdapter.looksLikeFileForm(first)
        self.centre = centre
        centreBytes = Array(centre.utf8)
        timeout = settings.callTimeout
        lateness = settings.lateness
        calendar = try LocalCalendar(identifier: settings.timeZone)
        longIDs = LongCallIDs()
    }

    package var recordCutting: RecordCutting { .lines(quoteAware: isCSV) }

    /// Why a queue_log cannot be read without `--centre`.
    static let needsCentre = QueueLogNeedsCentre()
    struct QueueLogNeedsCentre: Error, CustomStringConvertible {
        var description: String { "this is an Asterisk queue_log, whose lines name no centre: give --centre" }
    }

    /// `--format auto` (`FormatRegistry`): a first line starting `digits|` (the file form),
    /// or a CSV header naming `callid`, `queuename` and `event` (a database export).
    static let recognises: @Sendable (UnsafeRawBufferPointer) -> Bool = { rest in
        var end = 0
        while end < rest.count, rest[end] != 0x0A { end += 1 }
        let line = UnsafeRawBufferPointer(rebasing: rest[0..<end])
        if looksLikeFileForm(line) { return true }
        var names: Set<String> = []
        _ = CSVRecordParser.split(line) { _, name in
            var n = String(decoding: name, as: UTF8.self)
            if n.hasSuffix("\r") { n.removeLast() }
            names.insert(n)
        }
        return names.contains("callid") && names.contains("queuename") && names.contains("event")
    }

    /// The next file of the same log (its rotation, read after this one by the same
    /// adapter, so that a call whose lines cross it is one call): its form is recognised
    /// from `first` as `init` recognises it, and a database export's header read again;
    /// the calls held go on.
    package func beginFile(first: UnsafeRawBufferPointer) {
        isCSV = !QueueLogAdapter.looksLikeFileForm(first)
        header = ExportHeader()
        headerBytes = []
    }

    /// True when the first non-blank line starts `digits|`: the file form.
    static func looksLikeFileForm(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var i = 0
        if bytes.count >= 3, bytes[0] == 0xEF, bytes[1] == 0xBB, bytes[2] == 0xBF { i = 3 }
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x09 || bytes[i] == 0x0A || bytes[i] == 0x0D { i += 1 }
        let start = i
        while i < bytes.count, bytes[i] >= 0x30 && bytes[i] <= 0x39 { i += 1 }
        return i > start && i < bytes.count && bytes[i] == 0x7C
    }

    /// A copy of `other`, value by value (its state is all values).
    private init(copying other: QueueLogAdapter) {
        isCSV = other.isCSV
        centre = other.centre
        centreBytes = other.centreBytes
        timeout = other.timeout
        lateness = other.lateness
        calendar = other.calendar
        canonical = other.canonical
        days = other.days
        fields = other.fields
        header = other.header
        exportLine = other.exportLine
        headerBytes = other.headerBytes
        calls = other.calls
        placeOf = other.placeOf
        freePlaces = other.freePlaces
        // Only added to, so the copy may share it.
        longIDs = other.longIDs
        queueNames = other.queueNames
        queueIndex = other.queueIndex
        deadlines = other.deadlines
        heldTimes = other.heldTimes
        serial = other.serial
    }

    package func copy() -> FormatAdapter { QueueLogAdapter(copying: self) }

    // MARK: - Durable state (docs/formats.md, "One export across many files")

    package var holdsAnything: Bool { !placeOf.isEmpty }

    package func heldFloors() -> [String: Int64] {
        let f = floor(latestKey: .max)
        return f == .max ? [:] : [centre: f]
    }

    /// The calls still open, each with what it has seen; the deadline and held-line queues
    /// follow from them, and are made again by `init(restoring:)`.
    package func save(into w: inout AdapterStateWriter) {
        w.string(centre)
        let ids = placeOf.keys.sorted { CallID.precedes($0, $1, long: longIDs) }
        w.count(ids.count)
        for id in ids {
            let c = calls[Int(placeOf[id]!)]
            w.string(string(id))
            w.int(c.firstTs)
            w.u8((c.arrived ? 1 : 0) | (c.queued ? 2 : 0) | (c.answered ? 4 : 0))
            w.bool(c.held != nil)
            if let h = c.held {
                w.int(h.ts)
                w.u8(h.kind.rawValue)
                w.bool(h.ownEmitted)
            }
            w.count(c.seen.count)
            for s in c.seen {
                w.u8(s.event)
                w.int(s.ts)
                w.string(queueNames[Int(s.queue)])
            }
        }
    }

    /// The adapter `save` wrote, for a run under `settings`; its next file's form is
    /// recognised when that file begins (`beginFile`).
    package init(restoring r: inout AdapterStateReader, settings: AnalysisSettings) throws(AdapterStateError) {
        isCSV = false
        centre = try r.string()
        centreBytes = Array(centre.utf8)
        timeout = settings.callTimeout
        lateness = settings.lateness
        longIDs = LongCallIDs()
        do {
            calendar = try LocalCalendar(identifier: settings.timeZone)
        } catch {
            throw AdapterStateError(description: "\(error)")
        }
        for _ in 0..<(try r.count(minBytes: 19)) {
            let id = callID(try r.string())
            guard placeOf[id] == nil else { throw AdapterStateError(description: "a queue_log call saved twice") }
            serial += 1
            var call = Call(id: id, serial: serial, firstTs: try r.int())
            let place = Int32(calls.count)
            let flags = try r.u8()
            call.arrived = flags & 1 != 0
            call.queued = flags & 2 != 0
            call.answered = flags & 4 != 0
            if try r.bool() {
                let ts = try r.int()
                guard let kind = QueueLogLeave(rawValue: try r.u8()) else {
                    throw AdapterStateError(description: "a queue_log call held by a line of an unknown kind")
                }
                serial += 1
                call.held = Held(ts: ts, kind: kind, ownEmitted: try r.bool(), serial: serial)
                heldTimes.push(ts, Tag(place: place, serial: serial))
            }
            let seen = try r.count(minBytes: 17)
            guard seen <= Self.maxSeen else { throw AdapterStateError(description: "a queue_log call with \(seen) lines seen") }
            for _ in 0..<seen {
                let event = try r.u8(), ts = try r.int(), name = try r.string()
                call.seen.append(Seen(event: event, ts: ts, queue: queue(name)))
            }
            placeOf[id] = place
            calls.append(call)
            deadlines.push(call.firstTs &+ timeout &+ lateness, Tag(place: place, serial: call.serial))
        }
        guard r.isAtEnd else { throw AdapterStateError(description: "bytes after a queue_log adapter's state") }
    }

    // MARK: - FormatAdapter

    package func read(_ record: UnsafeRawBufferPointer, _ out: AdapterOutput) -> AdapterVerdict {
        if isCSV {
            // The length first: comparing the bytes borrows the array (a retain and a
            // release), which every line paid when the header was compared at once.
            if !header.isRead || (record.count == headerBytes.count && headerBytes.elementsEqual(record)) {
                if !header.isRead { readHeader(record) }
                return .header
            }
            // An unquoted record (nearly every one) is split where it lies; one with a
            // quote has its fields unquoted into `exportLine`.
            switch header.inPlace.splitInPlace(record, bounds: &fields) {
            case .split: return readLine(record, out)
            case .fieldCount: return .rejected(.fieldCount)
            case .quoted: break
            }
            if let problem = splitCSV(record) { return .rejected(problem) }
            return exportLine.withUnsafeBytes { line in readLine(line, out) }
        }
        guard fields.splitFile(record) >= 5 else { return .rejected(.fieldCount) }
        return readLine(record, out)
    }

    /// The line whose fields `fields` has found in `line`.
    private func readLine(_ line: UnsafeRawBufferPointer, _ out: AdapterOutput) -> AdapterVerdict {
        // Checked in a fixed order: ts, event, call, service; then lateness.
        guard let ts = parseTime(field(.time, line)) else { return .rejected(fields.isPresent(.time) ? .badTs : .missingTs) }
        let name = field(.event, line)
        guard name.count > 0 else { return .rejected(.missingEvent) }
        let event = QueueEvent.named(name)
        if case .skip = event {
        } else {
            if Self.isNone(field(.callid, line)) { return .rejected(.missingCall) }
        }
        let needsQueue: Bool
        switch event {
        case .enterQueue, .refusal: needsQueue = true
        default: needsQueue = false
        }
        if needsQueue, Self.isNone(field(.queue, line)) { return .rejected(.missingService) }
        guard out.admit(orderKey: ts) else { return .late }
        closeCalls(before: min(ts, out.releaseLimit), out)
        if case .skip(let kind) = event { return .skipped(kind) }
        return callLine(ts: ts, event: event, line, out)
    }

    package func finish(_ out: AdapterOutput) {
        // In a fixed order, so the same input always yields the same event order.
        let ids = placeOf.keys.sorted { a, b in
            let fa = calls[Int(placeOf[a]!)].firstTs, fb = calls[Int(placeOf[b]!)].firstTs
            return fa != fb ? fa < fb : CallID.precedes(a, b, long: longIDs)
        }
        for id in ids { close(Int(placeOf[id]!), out) }
        // Every entry of the queues is stale now, and refers to a place about to go.
        calls.removeAll()
        placeOf.removeAll()
        freePlaces.removeAll()
        deadlines = LazyMinimum()
        heldTimes = LazyMinimum()
    }

    package func floor(latestKey: Int64) -> Int64 {
        heldTimes.min { _, tag in self.calls[Int(tag.place)].held?.serial == tag.serial }?.at ?? .max
    }

    // MARK: - Calls

    private func callLine(ts: Int64, event: QueueEvent, _ line: UnsafeRawBufferPointer, _ out: AdapterOutput) -> AdapterVerdict {
        let callid = callID(field(.callid, line))
        let queue = self.queue(field(.queue, line))
        var place = placeOf[callid].map { Int($0) }
        if let p = place, ts > calls[p].firstTs &+ timeout {
            // Beyond the call timeout from its first event: another call with the same id.
            close(p, out)
            place = nil
        }
        let p: Int
        if let place {
            p = place
            if ts < calls[p].firstTs {
                calls[p].firstTs = ts
                deadlines.push(ts &+ timeout &+ lateness, Tag(place: Int32(p), serial: calls[p].serial))
            }
        } else {
            p = open(callid, firstTs: ts)
            deadlines.push(ts &+ timeout &+ lateness, Tag(place: Int32(p), serial: calls[p].serial))
        }
        // The call is changed where it lies; nothing below opens or closes a call.
        return update(&calls[p], at: Int32(p), ts: ts, event: event, queue: queue, line, out)
    }

    private func update(
        _ call: inout Call, at place: Int32, ts: Int64, event: QueueEvent, queue: Int32, _ line: UnsafeRawBufferPointer, _ out: AdapterOutput
    ) -> AdapterVerdict {
        let seen = Seen(event: event.code, ts: ts, queue: queue)
        if call.seen.contains(seen) { return .duplicate }
        if call.seen.count >= Self.maxSeen { call.seen.removeFirst() }
        // Room for a call's usual lines at once, rather than growing one line at a time.
        if call.seen.isEmpty { call.seen.reserveCapacity(6) }
        call.seen.append(seen)

        var verdict = AdapterVerdict.taken
        switch event {
        case .enterQueue:
            if !call.arrived {
                verdict = emitNow(ts: ts, kind: .arrive, caller: .data2, service: .queue, line, out)
                if verdict == .taken { call.arrived = true }
            } else {
                convertHeld(&call, queue: queue, out)
                verdict = emitNow(ts: ts, kind: .transfer, service: .queue, line, out)
            }
            if verdict == .taken { call.queued = true }
        case .connect:
            convertHeld(&call, queue: queue, out)
            if call.answered {
                verdict = .skipped(.reanswer)
            } else {
                verdict = emitNow(ts: ts, kind: .answer, line, out)
                if verdict == .taken { call.answered = true }
            }
        case .completeCaller:
            convertHeld(&call, queue: queue, out)
            verdict = emitNow(ts: ts, kind: .end, line, out)
        case .abandon:
            convertHeld(&call, queue: queue, out)
            verdict = emitNow(ts: ts, kind: call.answered ? .end : .abandon, line, out)
        case .leave(let kind):
            convertHeld(&call, queue: queue, out)
            hold(&call, at: place, ts: ts, kind: kind, ownEmitted: false)
        case .refusal:
            convertHeld(&call, queue: queue, out)
            var opened = false
            if !call.arrived {
                // Refused before ever queueing: the refusal is also the arrival. queue_log
                // gives no caller id here, so the caller is unidentified.
                verdict = emitNow(ts: ts, kind: .arrive, caller: nil, service: .queue, line, out)
                opened = verdict == .taken
                if opened { call.arrived = true }
            }
            if verdict == .taken { hold(&call, at: place, ts: ts, kind: .refusal, ownEmitted: opened) }
        case .skip:
            break
        }
        return verdict
    }

    /// A new call, in a free place if there is one; its place.
    private func open(_ id: CallID, firstTs: Int64) -> Int {
        serial += 1
        let p: Int
        if let free = freePlaces.popLast() {
            p = Int(free)
            calls[p].reopen(id: id, serial: serial, firstTs: firstTs)
        } else {
            p = calls.count
            calls.append(Call(id: id, serial: serial, firstTs: firstTs))
        }
        placeOf[id] = Int32(p)
        return p
    }

    private func hold(_ call: inout Call, at place: Int32, ts: Int64, kind: QueueLogLeave, ownEmitted: Bool) {
        serial += 1
        call.held = Held(ts: ts, kind: kind, ownEmitted: ownEmitted, serial: serial)
        heldTimes.push(ts, Tag(place: place, serial: serial))
    }

    /// The call turned up in a queue again: the line it left by is a transfer to `queue`.
    private func convertHeld(_ call: inout Call, queue: Int32, _ out: AdapterOutput) {
        guard let h = call.held else { return }
        call.held = nil
        emitLater(ts: h.ts, callid: call.id, kind: .transfer, service: queue, extraLine: h.ownEmitted, out)
    }

    /// The call's window closed (or the input ended): a held line becomes its terminal.
    private func close(_ place: Int, _ out: AdapterOutput) {
        // Read field by field: a copy of the call would retain its `seen`.
        let callid = calls[place].id
        let held = calls[place].held
        let answered = calls[place].answered, queued = calls[place].queued
        placeOf[callid] = nil
        freePlaces.append(Int32(place))
        calls[place].serial = 0
        calls[place].held = nil
        calls[place].seen.removeAll(keepingCapacity: true)
        guard let h = held else { return }
        let terminal: EventKind = answered ? .end : (h.kind == .refusal && !queued ? .blocked : .abandon)
        switch h.kind {
        case .exit, .refusal:
            emitLater(ts: h.ts, callid: callid, kind: terminal, extraLine: h.ownEmitted, out)
        case .completeAgent:
            emitLater(ts: h.ts, callid: callid, kind: .end, extraLine: h.ownEmitted, out)
        case .transfer:
            // Transferred out of the queue system: the transfer, and the call ends there.
            emitLater(ts: h.ts, callid: callid, kind: .transfer, extraLine: h.ownEmitted, out)
            emitLater(ts: h.ts, callid: callid, kind: terminal, extraLine: true, out)
        }
    }

    private func closeCalls(before latest: Int64, _ out: AdapterOutput) {
        while let top = deadlines.pop(below: latest) {
            let p = Int(top.tag.place)
            guard calls[p].serial == top.tag.serial, calls[p].firstTs &+ timeout &+ lateness == top.at else { continue }
            close(p, out)
        }
    }

    /// An event of the line being read; a rejection is the line's verdict.
    private func emitNow(
        ts: Int64, kind: EventKind, caller: Slot? = nil, service: Slot? = nil, _ line: UnsafeRawBufferPointer,
        _ out: AdapterOutput
    ) -> AdapterVerdict {
        let empty = UnsafeRawBufferPointer(start: nil, count: 0)
        // An arrive always has a caller key: an absent caller id is "unidentified".
        let callerBytes: UnsafeRawBufferPointer? = kind == .arrive ? (caller.map { field($0, line) } ?? empty) : nil
        let built = centreBytes.withUnsafeBytes { centre in
            canonical.build(
                out.builder, ts: ts, centre: centre, call: field(.callid, line), kind: kind,
                caller: callerBytes, service: service.map { field($0, line) })
        }
        switch built {
        case .event(let e): out.emit(e, extraLine: false); return .taken
        case .rejected(let reason): return .rejected(reason)
        }
    }

    /// An event of a line read earlier.
    private func emitLater(
        ts: Int64, callid: CallID, kind: EventKind, service: Int32? = nil, extraLine: Bool, _ out: AdapterOutput
    ) {
        let built = callid.withBytes(long: longIDs) { call in
            centreBytes.withUnsafeBytes { centre in
                withOptionalBytes(service.map { queueNames[Int($0)] }) { service in
                    canonical.build(out.builder, ts: ts, centre: centre, call: call, kind: kind, service: service)
                }
            }
        }
        switch built {
        case .event(let e): out.emit(e, extraLine: extraLine)
        case .rejected(let reason): if !extraLine { out.countRejected(reason) }
        }
    }

    // MARK: - Ids and queues

    private func callID(_ bytes: UnsafeRawBufferPointer) -> CallID { CallID(bytes, long: longIDs) }

    private func callID(_ s: String) -> CallID {
        var s = s
        return s.withUTF8 { callID(UnsafeRawBufferPointer($0)) }
    }

    private func string(_ id: CallID) -> String { id.withBytes(long: longIDs) { String(decoding: $0, as: UTF8.self) } }

    /// The index of queue `name` in `queueNames`, added on first sight.
    private func queue(_ name: UnsafeRawBufferPointer) -> Int32 {
        let key = callID(name)
        if let i = queueIndex[key] { return i }
        let i = Int32(queueNames.count)
        queueNames.append(String(decoding: name, as: UTF8.self))
        queueIndex[key] = i
        return i
    }

    private func queue(_ name: String) -> Int32 {
        var name = name
        return name.withUTF8 { queue(UnsafeRawBufferPointer($0)) }
    }

    // MARK: - Fields

    /// Slot `s`'s bytes in `line` (empty when absent).
    private func field(_ s: Slot, _ line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer { fields.bytes(s, in: line) }

    /// An empty field, or Asterisk's `NONE`: no call id, no queue.
    private static func isNone(_ field: UnsafeRawBufferPointer) -> Bool {
        field.count == 0 || (field.count == 4 && field.elementsEqual("NONE".utf8))
    }

    private static let columnNames: [(String, Slot)] = [
        ("time", .time), ("callid", .callid), ("queuename", .queue), ("agent", .agent), ("event", .event),
        ("data1", .data1), ("data2", .data2), ("data3", .data3), ("data4", .data4), ("data5", .data5),
    ]

    private func readHeader(_ record: UnsafeRawBufferPointer) {
        var cols: [Int?] = []
        var combined: Int?
        var seen = Set<Int>()
        _ = CSVRecordParser.split(record) { index, name in
            var slot: Int?
            for (n, s) in Self.columnNames where n.utf8.elementsEqual(name) && !seen.contains(s.rawValue) {
                slot = s.rawValue
                seen.insert(s.rawValue)
            }
            if slot == nil && name.elementsEqual("data".utf8) && combined == nil { combined = index }
            cols.append(slot)
        }
        header = ExportHeader(columns: cols, combinedDataColumn: combined)
        headerBytes = Array(record)
    }

    private func splitCSV(_ record: UnsafeRawBufferPointer) -> RejectReason? {
        header.split(record, into: &exportLine, bounds: &fields)
    }

    /// File form: epoch seconds. Export form: a datetime with or without an offset (without
    /// one it is local time in `--tz`, as the PBX wrote it), or epoch seconds.
    private func parseTime(_ v: UnsafeRawBufferPointer) -> Int64? {
        guard v.count > 0 else { return nil }
        if let s = Self.epochSeconds(v) { return s }
        guard isCSV else { return nil }
        if v.count >= 20, let t = Timestamp.parse(v, days: &days) { return t }
        // PostgreSQL prints a whole-hour offset as `+02`: make it `+02:00`.
        if v.count >= 22, v[v.count - 3] == 0x2B || v[v.count - 3] == 0x2D, v.count < 40,
            let t = withSuffix(v, ":00", { Timestamp.parse($0, days: &days) })
        {
            return t
        }
        // `2012-07-03 15:27:23.896208`: no offset. Read as if UTC, then move by the
        // zone's offset at that instant (found in two steps, right across DST changes
        // except inside the skipped or repeated hour itself).
        guard v.count >= 19, v.count < 40, let asUTC = withSuffix(v, "Z", { Timestamp.parse($0, days: &days) }) else { return nil }
        let guess = asUTC &- calendar.offsetMillis(atUTCMillis: asUTC)
        return asUTC &- calendar.offsetMillis(atUTCMillis: guess)
    }

    /// Lends `body` the bytes of `v` (under 40) followed by `suffix`, on the stack: the
    /// export's datetimes come without an offset, so this runs once per line.
    private func withSuffix<R>(_ v: UnsafeRawBufferPointer, _ suffix: StaticString, _ body: (UnsafeRawBufferPointer) -> R) -> R {
        withUnsafeTemporaryAllocation(byteCount: 48, alignment: 8) { buffer in
            let n = v.count, m = suffix.utf8CodeUnitCount
            precondition(n + m <= buffer.count)
            buffer.baseAddress!.copyMemory(from: v.baseAddress!, byteCount: n)
            (buffer.baseAddress! + n).copyMemory(from: suffix.utf8Start, byteCount: m)
            return body(UnsafeRawBufferPointer(rebasing: buffer[0..<(n + m)]))
        }
    }

    /// `1366720340` or `1366720340.123` (seconds, optional fraction), in milliseconds.
    static func epochSeconds(_ v: UnsafeRawBufferPointer) -> Int64? {
        var i = 0, value: Int64 = 0, digits = 0
        while i < v.count, v[i] >= 0x30 && v[i] <= 0x39 {
            value = value &* 10 &+ Int64(v[i] - 0x30)
            i += 1; digits += 1
        }
        guard digits >= 1, digits <= 12 else { return nil }
        var ms: Int64 = 0
        if i < v.count {
            guard v[i] == 0x2E, i + 1 < v.count else { return nil }
            i += 1
            var scale: Int64 = 100
            while i < v.count {
                guard v[i] >= 0x30 && v[i] <= 0x39 else { return nil }
                ms += Int64(v[i] - 0x30) * scale
                scale /= 10
                i += 1
            }
        }
        return value * 1000 + ms
    }
}

/// What one queue_log event name means here.
enum QueueEvent {
    case enterQueue, connect, completeCaller, abandon, refusal
    /// Leaves the queue with the call still going on somewhere: held.
    case leave(QueueLogLeave)
    case skip(SkipKind)

    /// A small code per meaning, for recognising a line delivered twice.
    var code: UInt8 {
        switch self {
        case .enterQueue: 0
        case .connect: 1
        case .completeCaller: 2
        case .abandon: 3
        case .refusal: 4
        case .leave(let l): 5 + l.rawValue
        case .skip: 255
        }
    }

    private static let names: [(String, QueueEvent)] = [
        ("ENTERQUEUE", .enterQueue), ("CONNECT", .connect), ("COMPLETECALLER", .completeCaller),
        ("COMPLETEAGENT", .leave(.completeAgent)), ("ABANDON", .abandon),
        ("EXITWITHTIMEOUT", .leave(.exit)), ("EXITWITHKEY", .leave(.exit)), ("EXITEMPTY", .leave(.exit)),
        ("TRANSFER", .leave(.transfer)), ("BLINDTRANSFER", .leave(.transfer)), ("ATTENDEDTRANSFER", .leave(.transfer)),
        ("JOINEMPTY", .refusal), ("JOINUNAVAIL", .refusal), ("FULL", .refusal),
        ("RINGNOANSWER", .skip(.ring)), ("RINGCANCELED", .skip(.ring)),
        ("AGENTLOGIN", .skip(.agent)), ("AGENTLOGOFF", .skip(.agent)), ("AGENTCALLBACKLOGIN", .skip(.agent)),
        ("AGENTCALLBACKLOGOFF", .skip(.agent)), ("AGENTDUMP", .skip(.agent)), ("ADDMEMBER", .skip(.agent)),
        ("REMOVEMEMBER", .skip(.agent)), ("PENALTY", .skip(.agent)),
        ("PAUSE", .skip(.pause)), ("UNPAUSE", .skip(.pause)), ("PAUSEALL", .skip(.pause)), ("UNPAUSEALL", .skip(.pause)),
        ("QUEUESTART", .skip(.queueAdmin)), ("CONFIGRELOAD", .skip(.queueAdmin)),
        ("INFO", .skip(.callInfo)), ("DID", .skip(.callInfo)), ("SYSCOMPAT", .skip(.callInfo)),
    ]
    /// Each name held as a `CallID` (every name is shorter than its inline capacity), so a
    /// name is matched by comparing a few words, most often against the first entries.
    private static let table: [(name: CallID, event: QueueEvent)] = names.map { name, event in
        var name = name
        return (name.withUTF8 { CallID(short: UnsafeRawBufferPointer($0)) }, event)
    }

    static func named(_ name: UnsafeRawBufferPointer) -> QueueEvent {
        guard name.count <= CallID.inlineCapacity else { return .skip(.otherQueueEvent) }
        let id = CallID(short: name)
        for entry in table where entry.name == id { return entry.event }
        return .skip(.otherQueueEvent)
    }
}

/// How a held queue_log line left its queue.
enum QueueLogLeave: UInt8 { case exit, completeAgent, transfer, refusal }

/// Where each field of the queue_log line being read lies, as offsets into the line: the
/// record itself (split in place) or the copy of a quoted export line. Plain values
/// only (no array), so copying it, as reading a stored property of the adapter may, costs
/// no reference counting.
private struct FieldBounds {
    typealias Slot = QueueLogAdapter.Slot
    /// Each slot's start and end offsets, -1 when absent.
    private var starts = InlineArray<10, Int32>(repeating: -1)
    private var ends = InlineArray<10, Int32>(repeating: -1)

    func isPresent(_ s: Slot) -> Bool { starts[s.rawValue] >= 0 }

    /// Slot `s`'s bytes in `line` (empty when absent).
    @inline(__always)
    func bytes(_ s: Slot, in line: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        let st = Int(starts[s.rawValue])
        guard st >= 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
        return UnsafeRawBufferPointer(rebasing: line[st..<Int(ends[s.rawValue])])
    }

    mutating func clear() {
        starts = InlineArray(repeating: -1)
        ends = InlineArray(repeating: -1)
    }

    /// Slot `slot` is `line[start ..< end]`.
    @inline(__always)
    mutating func set(_ slot: Int, _ start: Int, _ end: Int) {
        starts[slot] = Int32(truncatingIfNeeded: start)
        ends[slot] = Int32(truncatingIfNeeded: end)
    }

    /// Slot `slot` is `bytes`, appended to `line`.
    mutating func store(_ slot: Int, _ bytes: UnsafeRawBufferPointer, in line: inout [UInt8]) {
        starts[slot] = Int32(line.count)
        line.append(contentsOf: bytes)
        ends[slot] = Int32(line.count)
    }

    /// Splits the record in place at `|`, sixty-four bytes at a time; returns the number
    /// of fields. Fields after the tenth are counted, not kept. (Offsets fit in an
    /// `Int32`: a record is at most `RecordSplitter.maxRecordBytes` long.)
    mutating func splitFile(_ record: UnsafeRawBufferPointer) -> Int {
        clear()
        let n = record.count
        guard let base = record.baseAddress else {
            set(0, 0, 0)
            return 1
        }
        var field = 0, start = 0, at = 0
        while at < n {
            var bars = callsift_byte_mask64(base + at, n &- at, 0x7C)
            while bars != 0 {
                let i = at &+ bars.trailingZeroBitCount
                bars &= bars &- 1
                if field < QueueLogAdapter.slotCount { set(field, start, i) }
                field &+= 1
                start = i &+ 1
            }
            at &+= 64
        }
        if field < QueueLogAdapter.slotCount { set(field, start, n) }
        return field &+ 1
    }
}

/// The database export's header: the slot of each column (nil: ignored), and the column
/// of a single `data` field, if there is one.
private struct ExportHeader {
    typealias Slot = QueueLogAdapter.Slot
    private var columns: [Int?] = []
    private var combinedDataColumn: Int?
    private(set) var isRead = false
    /// The same columns for `ExportColumns.splitInPlace`.
    private(set) var inPlace = ExportColumns()

    init() {}

    init(columns: [Int?], combinedDataColumn: Int?) {
        self.columns = columns
        self.combinedDataColumn = combinedDataColumn
        isRead = true
        inPlace = ExportColumns(columns: columns, combinedDataColumn: combinedDataColumn)
    }

    /// The fields of `record` copied (unquoted) into `line`, each in its column's slot.
    /// The columns are read here, where they are held, not handed in: an array passed
    /// from the adapter was retained and released for every line.
    mutating func split(_ record: UnsafeRawBufferPointer, into line: inout [UInt8], bounds: inout FieldBounds) -> RejectReason? {
        bounds.clear()
        line.removeAll(keepingCapacity: true)
        var count = 0
        var combined: [UInt8]?
        let problem = CSVRecordParser.split(record) { index, field in
            count = index + 1
            guard index < columns.count else { return }
            if let slot = columns[index] { bounds.store(slot, field, in: &line) }
            if index == combinedDataColumn { combined = Array(field) }
        }
        if let problem { return problem }
        guard count == columns.count else { return .fieldCount }
        // Only a `data` column: its `|`-separated parts are data1...data5.
        if let combined, !bounds.isPresent(.data1) {
            combined.withUnsafeBytes { data in
                var slot = Slot.data1.rawValue, start = 0
                for i in 0...data.count where i == data.count || data[i] == 0x7C {
                    if slot < QueueLogAdapter.slotCount { bounds.store(slot, UnsafeRawBufferPointer(rebasing: data[start..<i]), in: &line) }
                    slot += 1
                    start = i + 1
                }
            }
        }
        return nil
    }
}

/// The export header's columns as `splitInPlace` reads them: the slot of each of the first
/// `maxColumns` columns (-1: ignored), the column count (0: more columns than that, never
/// split here) and the `data` column's index (-1: none). Plain values, read without
/// retaining anything.
private struct ExportColumns {
    typealias Slot = QueueLogAdapter.Slot
    /// Four bits a column, column i at bits 4i: its slot, or 15 for none.
    private var slotsLow: UInt64 = ~0
    private var slotsHigh: UInt64 = ~0
    private var count = 0
    private var combinedIndex = -1
    private static let maxColumns = 32

    init() {}

    init(columns: [Int?], combinedDataColumn: Int?) {
        guard columns.count <= Self.maxColumns else { return }
        count = columns.count
        for (i, slot) in columns.enumerated() {
            guard let slot else { continue }
            let nibble = ~(UInt64(15 ^ slot) << (4 * (i % 16)))
            if i < 16 { slotsLow &= nibble } else { slotsHigh &= nibble }
        }
        combinedIndex = combinedDataColumn ?? -1
    }

    @inline(__always)
    private func slot(_ column: Int) -> Int {
        Int(truncatingIfNeeded: ((column < 16 ? slotsLow : slotsHigh) >> (4 &* (column & 15))) & 15)
    }

    enum InPlace { case split, fieldCount, quoted }

    /// `split` for a record with no quote, whose fields are then its bytes between commas:
    /// `bounds` gets their offsets in `record` itself, nothing is copied. Returns `.quoted`
    /// (with `bounds` to be set by `split`) when the record holds a quote, or when the
    /// header has more columns than are kept here. A record without a quote has the same
    /// fields either way: `split` finds them at the same commas, and only a quote can make
    /// it refuse one.
    func splitInPlace(_ record: UnsafeRawBufferPointer, bounds: inout FieldBounds) -> InPlace {
        let n = record.count
        guard count > 0, n > 0, let base = record.baseAddress else { return .quoted }
        bounds.clear()
        var index = 0, start = 0, at = 0
        var combinedStart = -1, combinedEnd = -1
        @inline(__always) func field(_ end: Int) {
            if index < count {
                let slot = self.slot(index)
                if slot < QueueLogAdapter.slotCount { bounds.set(slot, start, end) }
                if index == combinedIndex {
                    combinedStart = start
                    combinedEnd = end
                }
            }
            index &+= 1
            start = end &+ 1
        }
        // Sixteen bytes at a time, sixty-four to a call: a line takes one or two.
        while at < n {
            let m = callsift_csv_block64(base + at, n - at)
            if m.quotes != 0 { return .quoted }
            var commas = m.commas
            while commas != 0 {
                field(at &+ commas.trailingZeroBitCount)
                commas &= commas &- 1
            }
            at &+= 64
        }
        field(n)
        guard index == count else { return .fieldCount }
        // Only a `data` column: its `|`-separated parts are data1...data5 (as in `split`).
        if combinedStart >= 0 && !bounds.isPresent(.data1) {
            var slot = Slot.data1.rawValue, part = combinedStart
            for i in combinedStart...combinedEnd where i == combinedEnd || record[i] == 0x7C {
                if slot < QueueLogAdapter.slotCount { bounds.set(slot, part, i) }
                slot += 1
                part = i + 1
            }
        }
        return .split
    }
}
