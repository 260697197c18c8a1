import CallSiftCore
import CallSiftInput
// Turns `GeneratedEvent`s into CSV or NDJSON bytes in one reused buffer. No Foundation,
// no String building per field: every value is an id or a table entry written as bytes.

/// Encodes lines into a buffer and hands it to the sink every 256 KiB.
struct EventEncoder {
    private let model: WorkloadModel
    private let format: WorkloadFormat
    private let dirty: Bool
    private let sink: ByteSink
    private var out: [UInt8] = []
    /// Dirty CSV repeats the header when a new UTC day starts, as if daily files had been
    /// concatenated.
    private var headerDay: Int64 = .min
    /// Scratch for NDJSON lines that are cut short.
    private var scratch: [UInt8] = []
    /// The last line written, copied into the final broken line of dirty CSV.
    private var lastEvent: GeneratedEvent?

    private static let flushSize = 1 << 18
    static let csvHeader = Array("ts,centre,call,event,caller,service,outcome,reason\n".utf8)

    private static let quote = UInt8(ascii: "\"")
    private static let comma = UInt8(ascii: ",")
    private static let newline = UInt8(ascii: "\n")

    /// Timestamps no parser should accept.
    private static let badTimestamps: [[UInt8]] = [
        "2026-13-02T09:15:02Z", "2026-03-02T25:61:00Z", "2026-02-30T10:00:00.000Z", "not a time",
        "02/03/2026 09:15:02", "17724429O2125", "2026-03-02T09:15", "yesterday",
    ].map { Array($0.utf8) }
    /// Event names that are not among the six.
    private static let unknownEvents: [[UInt8]] = ["hold", "ringing", "wrapup", "queued", "callback"]
        .map { Array($0.utf8) }
    /// What follows a closing quote on a broken CSV line.
    private static let strayBytes: [UInt8] = Array("x#;5 ".utf8)
    /// Log chatter that ends up in exported files.
    private static let chatter: [[UInt8]] = [
        "--- ACD link reset ---", "#### export truncated, resuming ####", "ERROR: queue_stats unavailable",
        "<html><body>502 Bad Gateway</body></html>",
    ].map { Array($0.utf8) }

    init(model: WorkloadModel, format: WorkloadFormat, dirty: Bool, sink: ByteSink) {
        self.model = model
        self.format = format
        self.dirty = dirty
        self.sink = sink
        out.reserveCapacity(EventEncoder.flushSize + 4096)
    }

    mutating func writeHeader(summary: inout GeneratorSummary) throws {
        guard format == .csv else { return }
        out.append(contentsOf: EventEncoder.csvHeader)
        summary.lines += 1
    }

    mutating func finish(summary: inout GeneratorSummary) throws {
        if dirty && format == .csv, var last = lastEvent {
            // RFC 4180 lets a quoted field run over newlines, so an unterminated quote in
            // mid-stream would swallow every line up to the next quote character, and how
            // many depends on the reader. Only at the end of the input is it unambiguous:
            // one record, open at end of file.
            last.dirt = .none
            last.style = 0
            appendCSV(last, unterminated: true)
            summary.lines += 1
            summary.brokenSyntaxLines += 1
        }
        try drain(summary: &summary)
        try sink.finish()
    }

    private mutating func drain(summary: inout GeneratorSummary) throws {
        guard !out.isEmpty else { return }
        try sink.write(out)
        summary.bytes += out.count
        out.removeAll(keepingCapacity: true)
    }

    /// Encodes one line.
    mutating func write(_ e: GeneratedEvent, summary: inout GeneratorSummary) throws {
        if dirty && format == .csv {
            let day = CivilDate.split(millis: e.key).day
            if headerDay == .min {
                headerDay = day
            } else if day > headerDay {
                headerDay = day
                out.append(contentsOf: EventEncoder.csvHeader)
                summary.lines += 1
                summary.repeatedHeaders += 1
            }
        }
        switch e.dirt {
        case .blank:
            out.append(EventEncoder.newline)
        case .garbage:
            appendGarbage(variant: e.dirtVariant, seed: e.seq)
        case .brokenSyntax where format == .ndjson:
            // Build the whole object aside, then keep only a prefix of it.
            swap(&out, &scratch)
            out.removeAll(keepingCapacity: true)
            appendJSON(e)
            let cut = max(6, out.count * (30 + Int(e.dirtVariant % 60)) / 100)
            swap(&out, &scratch)
            out.append(contentsOf: scratch[0..<min(cut, scratch.count - 2)])
            out.append(EventEncoder.newline)
        default:
            if format == .csv { appendCSV(e) } else { appendJSON(e) }
        }
        lastEvent = e
        summary.lines += 1
        if out.count >= EventEncoder.flushSize { try drain(summary: &summary) }
    }

    // MARK: Fields

    @inline(__always)
    private mutating func appendTimestamp(_ e: GeneratedEvent) {
        switch e.form {
        case .utcMillis: TimestampBytes.appendRFC3339(millis: e.ts, to: &out)
        case .plusOneHour: TimestampBytes.appendRFC3339(millis: e.ts, offsetMinutes: 60, to: &out)
        case .epochMillis: TimestampBytes.appendInteger(e.ts, to: &out)
        }
    }

    /// `C01-000001234`
    @inline(__always)
    private mutating func appendCallId(_ e: GeneratedEvent) {
        out.append(contentsOf: model.centreNames[Int(e.centre)])
        out.append(UInt8(ascii: "-"))
        TimestampBytes.appendDigits(Int64(e.callNo), width: 9, to: &out)
    }

    private func eventName(_ e: GeneratedEvent) -> [UInt8] {
        e.dirt == .unknownEvent
            ? EventEncoder.unknownEvents[Int(e.dirtVariant) % EventEncoder.unknownEvents.count]
            : e.kind.name
    }

    /// Which required field a `.missingField` line lacks: 0 ts, 1 centre, 2 call, 3 event.
    private func missing(_ e: GeneratedEvent, _ field: Int) -> Bool {
        e.dirt == .missingField && Int(e.dirtVariant % 4) == field
    }

    // MARK: CSV

    /// Appends a CSV field, quoted when it must be (RFC 4180) or when the line quotes all.
    @inline(__always)
    private mutating func appendCSVField(_ bytes: [UInt8], quoteAll: Bool) {
        var needs = quoteAll
        if !needs {
            for b in bytes where b == EventEncoder.quote || b == EventEncoder.comma || b == 0x0A || b == 0x0D {
                needs = true
                break
            }
        }
        guard needs else {
            out.append(contentsOf: bytes)
            return
        }
        out.append(EventEncoder.quote)
        for b in bytes {
            if b == EventEncoder.quote { out.append(EventEncoder.quote) }
            out.append(b)
        }
        out.append(EventEncoder.quote)
    }

    private mutating func appendCSV(_ e: GeneratedEvent, unterminated: Bool = false) {
        let q = e.style & GeneratedEvent.styleQuoteAll != 0
        // ts
        if !missing(e, 0) {
            if q { out.append(EventEncoder.quote) }
            if e.dirt == .badTimestamp {
                out.append(contentsOf: EventEncoder.badTimestamps[Int(e.dirtVariant) % EventEncoder.badTimestamps.count])
            } else {
                appendTimestamp(e)
            }
            if q { out.append(EventEncoder.quote) }
        } else if q {
            out.append(EventEncoder.quote); out.append(EventEncoder.quote)
        }
        out.append(EventEncoder.comma)
        // centre
        if q { out.append(EventEncoder.quote) }
        if !missing(e, 1) { out.append(contentsOf: model.centreNames[Int(e.centre)]) }
        if q { out.append(EventEncoder.quote) }
        out.append(EventEncoder.comma)
        // call
        if e.dirt == .brokenSyntax {
            // Text after a closing quote: invalid RFC 4180 that a reader can see on this line.
            out.append(EventEncoder.quote)
            appendCallId(e)
            out.append(EventEncoder.quote)
            out.append(EventEncoder.strayBytes[Int(e.dirtVariant) % EventEncoder.strayBytes.count])
        } else {
            if q { out.append(EventEncoder.quote) }
            if !missing(e, 2) { appendCallId(e) }
            if q { out.append(EventEncoder.quote) }
        }
        out.append(EventEncoder.comma)
        // event
        appendCSVField(missing(e, 3) ? [] : eventName(e), quoteAll: q)
        out.append(EventEncoder.comma)
        // caller (arrive only)
        if e.kind == .arrive {
            if e.caller == 0 {
                if q { out.append(EventEncoder.quote) }
                model.appendCaller(person: e.person, to: &out)
                if q { out.append(EventEncoder.quote) }
            } else {
                appendCSVField(WorkloadModel.unidentifiedSpellings[Int(e.caller)], quoteAll: q)
            }
        } else if q {
            out.append(EventEncoder.quote); out.append(EventEncoder.quote)
        }
        out.append(EventEncoder.comma)
        // service
        appendCSVField(
            e.service == GeneratedEvent.noService
                ? []
                : WorkloadModel.serviceCatalogue[Int(e.service)].name, quoteAll: q)
        out.append(EventEncoder.comma)
        // outcome
        appendCSVField(e.outcome.name, quoteAll: q)
        out.append(EventEncoder.comma)
        // reason
        if unterminated {
            // A quoted field never closed: a writer that died mid-line.
            out.append(EventEncoder.quote)
            out.append(contentsOf: WorkloadModel.reasonCodes[Int(e.reason == 0 ? 5 : e.reason)])
        } else {
            appendCSVField(WorkloadModel.reasonCodes[Int(e.reason)], quoteAll: q)
        }
        out.append(EventEncoder.newline)
    }

    // MARK: NDJSON

    @inline(__always)
    private mutating func appendKey(_ key: StaticString, first: Bool = false) {
        if !first { out.append(EventEncoder.comma) }
        out.append(EventEncoder.quote)
        key.withUTF8Buffer { out.append(contentsOf: $0) }
        out.append(EventEncoder.quote)
        out.append(UInt8(ascii: ":"))
    }

    /// Appends a JSON string, escaping what JSON requires.
    @inline(__always)
    private mutating func appendJSONString(_ bytes: [UInt8]) {
        out.append(EventEncoder.quote)
        for b in bytes {
            switch b {
            case EventEncoder.quote, UInt8(ascii: "\\"):
                out.append(UInt8(ascii: "\\"))
                out.append(b)
            case 0..<0x20:
                out.append(contentsOf: Array("\\u00".utf8))
                let hex = Array("0123456789abcdef".utf8)
                out.append(hex[Int(b >> 4)])
                out.append(hex[Int(b & 15)])
            default:
                out.append(b)
            }
        }
        out.append(EventEncoder.quote)
    }

    private mutating func appendJSON(_ e: GeneratedEvent) {
        let explicitEmpty = e.style & GeneratedEvent.styleExplicitEmpty != 0
        out.append(UInt8(ascii: "{"))
        var first = true
        if !missing(e, 0) {
            appendKey("ts", first: true)
            first = false
            if e.dirt == .badTimestamp {
                appendJSONString(EventEncoder.badTimestamps[Int(e.dirtVariant) % EventEncoder.badTimestamps.count])
            } else if e.form == .epochMillis {
                TimestampBytes.appendInteger(e.ts, to: &out)
            } else {
                out.append(EventEncoder.quote)
                appendTimestamp(e)
                out.append(EventEncoder.quote)
            }
        }
        if !missing(e, 1) {
            appendKey("centre", first: first)
            first = false
            out.append(EventEncoder.quote)
            out.append(contentsOf: model.centreNames[Int(e.centre)])
            out.append(EventEncoder.quote)
        }
        if !missing(e, 2) {
            appendKey("call", first: first)
            first = false
            out.append(EventEncoder.quote)
            appendCallId(e)
            out.append(EventEncoder.quote)
        }
        if !missing(e, 3) {
            appendKey("event", first: first)
            first = false
            appendJSONString(eventName(e))
        }
        // caller: always present on arrive (empty = unidentified), elsewhere only as "".
        if e.kind == .arrive {
            appendKey("caller", first: first)
            if e.caller == 0 {
                out.append(EventEncoder.quote)
                model.appendCaller(person: e.person, to: &out)
                out.append(EventEncoder.quote)
            } else {
                appendJSONString(WorkloadModel.unidentifiedSpellings[Int(e.caller)])
            }
        } else if explicitEmpty {
            appendKey("caller", first: first)
            appendJSONString([])
        }
        if e.service != GeneratedEvent.noService {
            appendKey("service")
            appendJSONString(WorkloadModel.serviceCatalogue[Int(e.service)].name)
        } else if explicitEmpty {
            appendKey("service")
            appendJSONString([])
        }
        if e.outcome != .none && e.outcome != .resolvedImplicit {
            appendKey("outcome")
            appendJSONString(e.outcome.name)
        } else if explicitEmpty {
            appendKey("outcome")
            appendJSONString([])
        }
        if e.reason != 0 {
            appendKey("reason")
            appendJSONString(WorkloadModel.reasonCodes[Int(e.reason)])
        } else if explicitEmpty {
            appendKey("reason")
            appendJSONString([])
        }
        if e.style & GeneratedEvent.styleExtraKey != 0 {
            // A field callsift does not know: it must be ignored.
            appendKey("channel")
            appendJSONString(Array("voice".utf8))
        }
        out.append(UInt8(ascii: "}"))
        out.append(EventEncoder.newline)
    }

    // MARK: Garbage

    /// A line of noise: log chatter, random printable text, or invalid UTF-8.
    private mutating func appendGarbage(variant: UInt8, seed: UInt64) {
        var noise = SplitMix64(state: seed)
        switch variant % 4 {
        case 0:
            out.append(contentsOf: EventEncoder.chatter[Int(noise.next() % UInt64(EventEncoder.chatter.count))])
        case 1:
            // Invalid UTF-8: a Latin-1 export pasted into the stream.
            out.append(contentsOf: Array("caf".utf8))
            out.append(0xE9)
            out.append(UInt8(ascii: " "))
            out.append(contentsOf: [0xC3, 0x28, 0xFF, 0x41])
        default:
            // No quotes, so a CSV reader cannot be led into a multi-line field.
            let alphabet = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ;:#@!-_=,./".utf8)
            let length = 5 + Int(noise.next() % 60)
            for _ in 0..<length { out.append(alphabet[Int(noise.next() % UInt64(alphabet.count))]) }
        }
        out.append(EventEncoder.newline)
    }
}
