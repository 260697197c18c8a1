import CallSiftCore
import CallSiftInput
import CallSiftFormats
import CallSiftConcurrency
import Foundation

/// A batch of accepted events, the unit that crosses from an input's parser to the merge.
/// `@unchecked Sendable`: owned by one thread at a time, handed between a worker and the
/// merge under `InputPool`'s lock.
final class EventBatch: @unchecked Sendable {
    static let size = 4096
    var events: [Event] = []
    /// No event of this batch or of any later one from the same input is below this.
    /// `Int64.max` for CSV and NDJSON, whose bound follows from lateness alone; for an
    /// adapter, whose events come in any order, the least `ts` in the batch and the
    /// adapter's floor once the batch was full.
    var floor = Int64.max
    init(capacity: Int = EventBatch.size) { events.reserveCapacity(capacity) }

    /// Fills the batch from `parser` and sets its floor.
    func fill(from parser: InputParser) {
        events.removeAll(keepingCapacity: true)
        parser.fill(&events, upTo: Self.size)
        setFloor(from: parser)
    }

    /// Sets the floor of the batch, once it is full (or the input's last).
    func setFloor(from parser: InputParser) {
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
/// Inline, it asks its `InputParser` for the next batch directly. Pooled, the input is
/// decoded and parsed by the workers of an `InputPool`, which hands over full batches and
/// takes emptied ones back, for any input, so nothing is allocated per batch in steady
/// state and an input holds no batch before it is opened or after it has ended.
final class InputCursor {
    let parser: InputParser
    private let lateness: Int64
    private var batch = InputCursor.noBatch
    private var position = 0
    /// Greatest `ts` of the events taken so far.
    private var maxTaken = Int64.min
    private(set) var isFinished = false
    /// A pushed input with nothing more for now (`InputParser.isIdle`): its floor then, no
    /// batch carrying one.
    private var idleFloor = Int64.max

    /// Set while the input is served by a pool.
    private var pool: InputPool?
    private var pooled: InputPool.Input?

    /// The batch of a cursor that holds none: empty, and shared.
    private static let noBatch = EventBatch(capacity: 0)

    init(parser: InputParser, lateness: Int64) {
        self.parser = parser
        self.lateness = lateness
    }

    /// Hands the input to `pool`'s workers from now on.
    func start(in pool: InputPool) {
        self.pool = pool
        pooled = pool.add(parser)
    }

    var hasPending: Bool { position < batch.events.count }
    /// The events of the current batch not yet taken.
    var pendingEvents: ArraySlice<Event> { batch.events[position...] }
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
            body(UnsafeBufferPointer(rebasing: all[start..<end]))
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
        return min(base == .min ? .min : base &- lateness, batch.floor, idleFloor)
    }

    /// Gets the next batch when the current one is used up; afterwards `hasPending` is
    /// false only at the end of the input.
    func refill() {
        guard !hasPending, !isFinished else { return }
        position = 0
        if let pool, let pooled {
            if batch !== Self.noBatch { pool.recycle(batch) }
            if let b = pool.next(pooled) {
                batch = b
            } else {
                batch = Self.noBatch
                isFinished = true
                self.pooled = nil
            }
        } else {
            if batch === Self.noBatch { batch = EventBatch() }
            batch.fill(from: parser)
            idleFloor = .max
            if batch.events.isEmpty {
                batch = Self.noBatch
                if parser.isIdle {
                    // Not the end: more bytes may be pushed. No event still to come is
                    // below what the adapter may still emit.
                    idleFloor = parser.adapterFloor
                } else {
                    isFinished = true
                }
            }
        }
    }
}
