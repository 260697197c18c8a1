import CallSiftConcurrency
import Foundation

/// A batch of accepted events, the unit that crosses from an input's parser to the merge.
final class EventBatch: @unchecked Sendable {
    static let size = 4096
    var events: [Event] = []
    /// No event of this batch or of any later one from the same input is below this.
    /// `Int64.max` for CSV and NDJSON, whose bound follows from lateness alone; for an
    /// adapter, whose events come in any order, the least `ts` in the batch and the
    /// adapter's floor once the batch was full.
    var floor = Int64.max
    init() { events.reserveCapacity(Self.size) }

    /// Fills the batch from `parser` and sets its floor.
    func fill(from parser: InputParser) {
        events.removeAll(keepingCapacity: true)
        parser.fill(&events, upTo: Self.size)
        floor = .max
        if parser.isAdapter {
            floor = parser.adapterFloor
            for e in events where e.ts < floor { floor = e.ts }
        }
    }
}

/// The merge's view of one input: the events not yet taken, and what they promise about
/// the events still to come (the input's part of the watermark).
///
/// Inline, it asks its `InputParser` for the next batch directly. Threaded, the parser
/// runs on its own thread and hands full batches over a `RecyclingRing`, which brings
/// emptied batches back for reuse, so nothing is allocated per batch in steady state.
final class InputCursor {
    let parser: InputParser
    private let lateness: Int64
    private var batch = EventBatch()
    private var position = 0
    /// Greatest `ts` of the events taken so far.
    private var maxTaken = Int64.min
    private(set) var isFinished = false

    /// Set while the parser runs on a thread of its own.
    private var batches: RecyclingRing<EventBatch>?

    init(parser: InputParser, lateness: Int64) {
        self.parser = parser
        self.lateness = lateness
    }

    /// Starts the parser on a thread of its own.
    func startThread() {
        // Deep, so that the parser keeps going while the merge thread is held up for a
        // while (a table growing, a sweep downstream): see docs/architecture.md.
        let batches = RecyclingRing<EventBatch>(depth: 64)
        self.batches = batches
        let parser = self.parser
        parser.readAhead = true
        let thread = Thread {
            while true {
                let b = batches.vacant(orMake: EventBatch.init)
                b.fill(from: parser)
                if !b.events.isEmpty { batches.send(b) }
                if parser.isFinished { break }
            }
            batches.close()
        }
        thread.name = "callsift input \(parser.index)"
        thread.start()
    }

    var hasPending: Bool { position < batch.events.count }
    var next: Event { batch.events[position] }

    /// Takes the pending events of the current batch up to the first with `ts` above
    /// `limit`, at most `maxCount` (but at least one, which must be pending), and calls
    /// `body` with them.
    @inline(__always)
    func takeRun(upTo limit: Int64, maxCount: Int = .max, _ body: (UnsafeBufferPointer<Event>) -> Void) {
        batch.events.withUnsafeBufferPointer { all in
            let start = position
            let stop = start + min(all.count - start, max(maxCount, 1))
            var end = start
            var greatest = maxTaken
            repeat {
                let ts = all[end].ts
                if ts > greatest { greatest = ts }
                end += 1
            } while end < stop && all[end].ts <= limit
            maxTaken = greatest
            position = end
            body(UnsafeBufferPointer(rebasing: all[start ..< end]))
        }
    }

    /// No event still to be taken from this input has a `ts` below this.
    ///
    /// Every event not yet taken was read after all the taken ones, so unless it is late
    /// (and never handed on) its `ts` is at least (greatest taken `ts` − lateness). Before
    /// the first take, the first event plays that part. It is *not* based on the greatest
    /// `ts` read: events parsed ahead may be far ahead of some not yet taken. An adapter's
    /// events need not follow read order, so its batches carry their own floor too.
    var watermark: Int64 {
        let base = maxTaken != .min ? maxTaken : (hasPending ? batch.events[position].ts : .min)
        return min(base == .min ? .min : base &- lateness, batch.floor)
    }

    /// Gets the next batch when the current one is used up; afterwards `hasPending` is
    /// false only at the end of the input.
    func refill() {
        guard !hasPending, !isFinished else { return }
        position = 0
        if let batches {
            batches.recycle(batch)
            if let b = batches.receive() {
                batch = b
            } else {
                batch = EventBatch()
                isFinished = true
            }
        } else {
            batch.fill(from: parser)
            if batch.events.isEmpty { isFinished = true }
        }
    }
}
