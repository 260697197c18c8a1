import CallSiftCore
import CallSiftInput
import CallSiftFormats
import Foundation

/// Decoding and parsing for every open input of a run, on a fixed pool of worker threads
/// (about the number of cores), whatever the number of inputs: a folder of a thousand
/// daily files costs what one file of the same bytes costs.
///
/// Each open input offers two kinds of task, each of them sequential within the input:
/// - **decode** (compressed inputs): one chunk into the input's `DecodeAhead` queue;
/// - **parse**: one chunk through the input's `InputParser`, into the batch being filled;
///   a batch of at least `EventBatch.size` events (or the input's last) goes to the
///   input's queue of full batches, which the merge takes from (`next(_:)`).
///
/// So one input can be decoded by one worker while another parses it, as a thread pair per
/// input did, and many inputs share the same few workers. A worker takes, among the tasks
/// that can run, first those of the input the merge is waiting for, then those of the
/// input with the fewest full batches waiting (parse before decode): the inputs the merge
/// drains are refilled first. Which worker does what, and when, decides nothing: every
/// input's chunks and batches are exactly those of reading it alone.
///
/// Memory is bounded by what is open, not by how many inputs the run has: batches come
/// from one free list shared by all inputs, and each input may have at most `batchDepth`
/// full batches waiting, which shrinks as more inputs are open (a budget of
/// `batchBudget` in all, at least 2 each); each compressed input holds at most
/// `DecodeAhead.depth` decoded chunks. An input leaves the pool when its last batch is
/// taken, and its parser gives its reader (file, decoder, ring) back when it ends.
///
/// All bookkeeping is under one lock; a task's work (decoding 128 KiB, or parsing it) is
/// done outside it, so the lock is taken a few thousand times a second.
/// `@unchecked Sendable`: its bookkeeping is under `lock`; a parser and its batches are
/// worked on by one worker at a time, handed over under that lock.
final class InputPool: @unchecked Sendable {
    /// One open input. Fields marked "pool" are read and written under the pool's lock;
    /// the parse side's (`filling`) only by the worker holding the input's parse task.
    final class Input {
        let parser: InputParser
        /// The decoding queue of a compressed input; nil for a plain one.
        let decoding: DecodeAhead?
        // pool:
        var decodeBusy = false
        var parseBusy = false
        var parseEnded = false
        var full: [EventBatch] = []
        var fullStart = 0
        /// The merge is waiting for a batch of this input.
        var awaited = false
        // parse task's:
        var filling: EventBatch?

        init(parser: InputParser, decoding: DecodeAhead?) {
            self.parser = parser
            self.decoding = decoding
        }

        var fullCount: Int { full.count - fullStart }
    }

    /// Full batches that may wait, over all open inputs; a single input may have up to
    /// 64 (as deep as the merge's stalls need, docs/architecture.md), many share these.
    static let batchBudget = 128
    static let maxBatchDepth = 64

    private let lock = NSCondition()
    private var open: [Input] = []
    private var freeBatches: [EventBatch] = []
    private var stopping = false
    private let finished = DispatchSemaphore(value: 0)
    private let workerCount: Int

    init(workers: Int) {
        workerCount = max(1, workers)
        for k in 0..<workerCount {
            let thread = Thread { [self] in work() }
            thread.name = "callsift input worker \(k)"
            thread.start()
        }
    }

    /// Full batches each input may have waiting now.
    private var batchDepth: Int { min(Self.maxBatchDepth, max(2, Self.batchBudget / max(1, open.count))) }

    /// Starts serving `parser`'s input: opens it and, if compressed, decodes ahead.
    func add(_ parser: InputParser) -> Input {
        let input = Input(parser: parser, decoding: parser.openDecodingAhead())
        if parser.isFinished { input.parseEnded = true }
        lock.lock()
        open.append(input)
        lock.broadcast()
        lock.unlock()
        return input
    }

    /// The input's next full batch, waiting for it; nil once the input has ended and every
    /// batch was taken (the input then leaves the pool).
    func next(_ input: Input) -> EventBatch? {
        lock.lock()
        defer { lock.unlock() }
        while input.fullCount == 0 && !input.parseEnded {
            input.awaited = true
            lock.broadcast()
            lock.wait()
        }
        input.awaited = false
        guard input.fullCount > 0 else {
            open.removeAll { $0 === input }
            lock.broadcast()
            return nil
        }
        let b = input.full[input.fullStart]
        input.fullStart += 1
        if input.fullStart == input.full.count {
            input.full.removeAll(keepingCapacity: true)
            input.fullStart = 0
        }
        lock.broadcast()
        return b
    }

    /// Gives a batch the merge has used up back for any input to fill.
    func recycle(_ batch: EventBatch) {
        lock.lock()
        freeBatches.append(batch)
        lock.unlock()
    }

    /// Stops the workers (once every input has ended, they are idle) and waits for them.
    /// Safe to call more than once.
    func shutDown() {
        lock.lock()
        let already = stopping
        stopping = true
        lock.broadcast()
        lock.unlock()
        if !already { for _ in 0..<workerCount { finished.wait() } }
    }

    // MARK: - Workers

    private enum Task {
        case decode(Input)
        case parse(Input, EventBatch)
    }

    /// The next task to run (its input marked busy), or nil when none can run now.
    /// Under the lock.
    private func pick() -> Task? {
        let depth = batchDepth
        var best: Input?
        var bestIsParse = false
        var bestScore = Int.max
        for input in open {
            // A plain input is read by its parser; a compressed one's decoded chunks wait in
            // its queue (lock order: the pool's, then the queue's, never the other way).
            let decoded = input.decoding?.status ?? (queued: 0, ended: true)
            let canParse =
                !input.parseBusy && !input.parseEnded && input.fullCount < depth
                && (decoded.queued > 0 || decoded.ended)
            let canDecode =
                !input.decodeBusy && !decoded.ended && !input.parseEnded
                && decoded.queued < DecodeAhead.depth
            guard canParse || canDecode else { continue }
            // The awaited input first; then the one with the fewest full batches waiting.
            let score = input.awaited ? -1 : input.fullCount
            if score < bestScore || (score == bestScore && canParse && !bestIsParse) {
                best = input
                bestIsParse = canParse
                bestScore = score
            }
        }
        guard let input = best else { return nil }
        if bestIsParse {
            input.parseBusy = true
            let batch: EventBatch
            if let filling = input.filling {
                batch = filling
                input.filling = nil
            } else {
                batch = freeBatches.popLast() ?? EventBatch()
                batch.events.removeAll(keepingCapacity: true)
            }
            return .parse(input, batch)
        }
        input.decodeBusy = true
        return .decode(input)
    }

    private func work() {
        lock.lock()
        while true {
            if stopping { break }
            guard let task = pick() else {
                lock.wait()
                continue
            }
            lock.unlock()
            switch task {
            case .decode(let input):
                input.decoding!.produce()
                lock.lock()
                input.decodeBusy = false
            case .parse(let input, let batch):
                let parser = input.parser
                parser.fillOneChunk(&batch.events)
                let ended = parser.isFinished
                let full = ended || batch.events.count >= EventBatch.size
                if full { batch.setFloor(from: parser) }
                lock.lock()
                input.parseBusy = false
                if full {
                    if batch.events.isEmpty { freeBatches.append(batch) } else { input.full.append(batch) }
                } else {
                    input.filling = batch
                }
                if ended { input.parseEnded = true }
            }
            lock.broadcast()
        }
        lock.unlock()
        finished.signal()
    }
}
