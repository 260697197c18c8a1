import CMemory
import CallSiftCore
/// Cuts a stream of decoded chunks into top-level JSON objects: one object per line
/// (NDJSON), objects inside one JSON array (pretty-printed or not), or objects written back
/// to back with nothing between them (how Kinesis Data Firehose delivers contact trace
/// records to S3) all come out as one record per object.
///
/// Between objects, white space, commas and the array's brackets are skipped. Any other
/// text there is stray: it runs to the end of its line and comes out as one record, which
/// the parser then rejects. Inside an object, strings are followed (so braces in them do
/// not count) and a raw newline inside a string, which JSON forbids, ends the object as a
/// damaged record; so does a line at the object's top level that starts with anything but
/// a key, `,` or `}` (the only ways well-formed JSON continues there): an object left
/// unclosed on one line of NDJSON costs that record, not the rest of the file.
///
/// An API's result pages (`pages`, the name of the member that holds the records): each
/// top-level object is a page, not a record, and the records are the objects inside that
/// member's array (`{"conversations": [{...}, ...], "cursor": ...}`); the page's other
/// members are passed over, and a page without the member holds no records. Stray text
/// inside the array is a record, as between top-level objects, and so is the member's value
/// when it is not an array (`"conversations": 5`), so that the parser rejects and counts it.
///
/// Like `RecordSplitter`, a record over 64 KiB comes out as `tooLong` holding its first
/// 64 KiB while the rest of it is passed over, so memory stays bounded by that limit.
package struct JSONObjectSplitter {
    static let maxRecordBytes = RecordSplitter.maxRecordBytes

    private enum State { case between, object, stray, page, pageArray, pageValue }
    private var state = State.between
    /// Where a record (or stray text) ends up: `.between`, or `.pageArray` inside a page.
    private var home = State.between
    private let pages: Bool
    /// The name of a page's member that holds the records, as it is written between quotes.
    private let recordsMember: [UInt8]
    /// Nesting inside a page (1 at its own top level), outside its array of records.
    private var pageDepth = 0
    /// At a page's top level: the key being read (the first 64 bytes), whether a `:` has
    /// followed it, and whether it is `recordsMember`.
    private var key: [UInt8] = []
    private var readingKey = false
    private var afterColon = false
    private var keyIsRecords = false
    private var depth = 0
    private var inString = false
    private var escaped = false
    /// A newline passed at the object's top level, with only white space since.
    private var newlineAtTop = false
    private var carry: [UInt8] = []
    private var overLong = false
    /// Physical line (1-based) the scan is on, and the line the current record began on.
    private var line: Int64 = 1
    private var recordLine: Int64 = 1

    /// `pages`: the records are in each top-level object's member of that name.
    package init(pages recordsMember: String? = nil) {
        self.pages = recordsMember != nil
        self.recordsMember = Array((recordsMember ?? "").utf8)
        carry.reserveCapacity(4096)
        key.reserveCapacity(64)
    }

    package mutating func feed(_ chunk: UnsafeRawBufferPointer, _ body: (RawRecord) -> Void) {
        guard let base = chunk.baseAddress else { return }
        let n = chunk.count
        var i = 0
        var start = 0  // where the current record's bytes in this chunk begin
        while i < n {
            var b = base.load(fromByteOffset: i, as: UInt8.self)
            switch state {
            case .between where pages:
                if b == 0x0A { line += 1 }
                if b == 0x7B {
                    state = .page
                    pageDepth = 1
                    inString = false
                    escaped = false
                    readingKey = false
                    afterColon = false
                    keyIsRecords = false
                } else if !(b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A || b == 0x2C || b == 0x5B || b == 0x5D) {
                    state = .stray
                    recordLine = line
                    start = i
                }
                i += 1
            case .page:
                if inString {
                    if closesString(b) {
                        inString = false
                        readingKey = false
                    }
                    if readingKey && key.count < 64 { key.append(b) }
                } else if keyIsRecords && afterColon && b != 0x5B
                    && !(b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A)
                {
                    // The records' member holds something else than an array: that value
                    // is one (damaged) record, read afresh from this byte.
                    keyIsRecords = false
                    afterColon = false
                    state = .pageValue
                    depth = 0
                    recordLine = line
                    start = i
                    continue
                } else {
                    switch b {
                    case 0x22:
                        inString = true
                        if pageDepth == 1 && !afterColon {
                            readingKey = true
                            key.removeAll(keepingCapacity: true)
                        }
                    case 0x3A where pageDepth == 1:
                        afterColon = true
                        keyIsRecords = key == recordsMember
                    case 0x2C where pageDepth == 1:
                        afterColon = false
                        keyIsRecords = false
                    case 0x5B where pageDepth == 1 && keyIsRecords:
                        state = .pageArray
                        home = .pageArray
                        afterColon = false
                        keyIsRecords = false
                    case 0x7B, 0x5B: pageDepth += 1
                    case 0x7D, 0x5D:
                        pageDepth -= 1
                        if pageDepth == 0 { state = .between; home = .between }
                    default: break
                    }
                }
                if b == 0x0A { line += 1 }
                i += 1
            case .pageArray:
                if b == 0x0A { line += 1 }
                if b == 0x7B {
                    state = .object
                    depth = 1
                    inString = false
                    escaped = false
                    newlineAtTop = false
                    recordLine = line
                    start = i
                } else if b == 0x5D {
                    state = .page
                    home = .between
                } else if !(b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A || b == 0x2C) {
                    state = .stray
                    recordLine = line
                    start = i
                }
                i += 1
            case .pageValue:
                if inString {
                    if closesString(b) { inString = false }
                } else if (b == 0x2C || b == 0x7D || b == 0x5D) && depth == 0 {
                    // The value ends; the page reads this byte afresh (a `}` closes it).
                    append(base, start, i)
                    emit(.ok, body)
                    state = .page
                    continue
                } else {
                    switch b {
                    case 0x22: inString = true
                    case 0x7B, 0x5B: depth += 1
                    case 0x7D, 0x5D: depth -= 1
                    default: break
                    }
                }
                if b == 0x0A { line += 1 }
                i += 1
            case .between:
                if b == 0x0A { line += 1 }
                if b == 0x7B {
                    state = .object
                    depth = 1
                    inString = false
                    escaped = false
                    newlineAtTop = false
                    recordLine = line
                    start = i
                } else if !(b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A || b == 0x2C || b == 0x5B || b == 0x5D) {
                    state = .stray
                    recordLine = line
                    start = i
                }
                i += 1
            case .stray:
                if b == 0x0A {
                    append(base, start, i)
                    emit(.ok, body)
                    line += 1
                    state = home
                }
                i += 1
            case .object:
                if !escaped && !newlineAtTop {
                    // Straight to the next byte that can change the state: in a string, a
                    // quote, a backslash or a control character; out of one, a quote, a
                    // brace, a bracket or a newline.
                    let hits =
                        inString ? callsift_json_string_stop(base + i, n &- i) : callsift_json_structure(base + i, n &- i)
                    if hits == 0 {
                        i &+= 16
                        continue
                    }
                    i &+= hits.trailingZeroBitCount
                    b = base.load(fromByteOffset: i, as: UInt8.self)
                }
                if inString {
                    if escaped {
                        escaped = false
                    } else if b == 0x5C {
                        escaped = true
                    } else if b == 0x22 {
                        inString = false
                    } else if b == 0x0A {
                        // A raw newline cannot be inside a JSON string: the object is broken.
                        append(base, start, i)
                        emit(.ok, body)
                        line += 1
                        state = home
                    }
                    i += 1
                    continue
                }
                if newlineAtTop && depth == 1 && !(b == 0x22 || b == 0x7D || b == 0x2C || b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A) {
                    // A line at the object's top level that cannot continue it: the object
                    // never closed. It ends, damaged, and this byte is read afresh.
                    append(base, start, i)
                    emit(.ok, body)
                    state = home
                    newlineAtTop = false
                    continue
                }
                if !(b == 0x20 || b == 0x09 || b == 0x0D) { newlineAtTop = b == 0x0A && depth == 1 }
                switch b {
                case 0x22: inString = true
                case 0x7B, 0x5B: depth += 1
                case 0x7D, 0x5D:
                    depth -= 1
                    if depth == 0 {
                        append(base, start, i + 1)
                        emit(.ok, body)
                        state = home
                    }
                case 0x0A: line += 1
                default: break
                }
                i += 1
            }
        }
        if state == .object || state == .stray || state == .pageValue { append(base, start, n) }
    }

    /// End of the stream; `truncated` says it ended on an error.
    package mutating func finish(truncated: Bool, _ body: (RawRecord) -> Void) {
        switch state {
        case .between, .page, .pageArray:
            state = .between
            return
        case .stray: emit(truncated ? .truncated : .ok, body)
        case .object, .pageValue: emit(truncated ? .truncated : .ok, body)  // unclosed: the parser rejects it
        }
        state = .between
    }

    /// One byte inside a string of a page (outside its records), escapes followed: whether
    /// it is the closing quote.
    @inline(__always)
    private mutating func closesString(_ b: UInt8) -> Bool {
        if escaped {
            escaped = false
            return false
        }
        if b == 0x5C {
            escaped = true
            return false
        }
        return b == 0x22
    }

    private mutating func append(_ base: UnsafeRawPointer, _ from: Int, _ to: Int) {
        guard to > from, !overLong else { return }
        let room = Self.maxRecordBytes - carry.count
        if to - from > room {
            carry.append(contentsOf: UnsafeRawBufferPointer(start: base + from, count: room))
            overLong = true
        } else {
            carry.append(contentsOf: UnsafeRawBufferPointer(start: base + from, count: to - from))
        }
    }

    private mutating func emit(_ kind: RawRecord.Kind, _ body: (RawRecord) -> Void) {
        let k: RawRecord.Kind = overLong ? .tooLong : kind
        carry.withUnsafeBytes { body(RawRecord(kind: k, bytes: $0, lineNo: recordLine)) }
        carry.removeAll(keepingCapacity: true)
        overLong = false
    }
}
