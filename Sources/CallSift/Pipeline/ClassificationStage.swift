import CallSiftCore
import CallSiftInput
import CallSiftFormats
import Atomics
import CallSiftConcurrency
import Foundation

/// One shard's classification (its `Classifier` and `Aggregator`) on a thread of its own,
/// used from `--threads 2` on, so that classifying one step's contacts overlaps
/// assembling the next step's calls.
///
/// The merge thread hands over, at each watermark step, the contacts completed for this
/// shard together with the watermark, through a `RecyclingRing` of `depth` steps (a full
/// ring holds the merge back), which brings emptied steps back for reuse. The classifier
/// sees exactly the sequence of contacts and watermarks it would see inline, so its
/// results do not depend on the threading.
/// `@unchecked Sendable`: the merge thread and the stage's own thread meet only through
/// its `SPSCRing`s; the classifier is touched by the stage's thread alone until `join`.
final class ClassificationStage: @unchecked Sendable {
    /// One step's work. `@unchecked Sendable`: held by one thread at a time, which the
    /// ring hands it between (the merge fills it and sends it, this stage's thread empties
    /// it and recycles it); neither touches it while the other holds it.
    final class Step: @unchecked Sendable {
        var contacts: [Contact] = []
        var watermark = Int64.min
        /// Set on the last step: end of input, maturity judged against this horizon.
        var horizon: Int64?
    }

    /// Deep, so that the merge runs on for a tenth of a second (about a million events)
    /// while this thread is held up: the scope table growing (moving its entries, the
    /// kernel zeroing its new pages) or being swept stops it for that long. With 16 steps
    /// the merge, and behind it the parser and the decoder, soon stopped too, and a core
    /// sat idle.
    static let depth = 128
    /// A step whose contact array has grown past this many (a burst: the calls of a busy
    /// evening become due in the few steps of a quiet night) gets a new, empty one when
    /// it comes back, so that the deep ring does not keep every array at its largest.
    static let keptCapacity = 8192

    private let shard: Part
    private let steps = RecyclingRing<Step>(depth: ClassificationStage.depth)
    private let done = DispatchSemaphore(value: 0)
    private let scopesNow = ManagedAtomic<Int>(0)
    /// Most caller scopes this shard held after a step, and its scope table's size then.
    /// Written by the stage's thread; read after `finish`.
    private(set) var peakScopes = 0
    private(set) var scopeBytesAtPeak = 0

    init(shard: Part, index: Int) {
        self.shard = shard
        let thread = Thread { [self] in work() }
        thread.name = "callsift classify \(index)"
        thread.start()
    }

    /// Caller scopes held after the latest step (for the progress line).
    var liveScopes: Int { scopesNow.load(ordering: .relaxed) }

    private func work() {
        while let step = steps.receive() {
            shard.classifier.take(&step.contacts)
            if let horizon = step.horizon {
                shard.classifier.finish(horizon: horizon)
                break
            }
            shard.classify(to: step.watermark)
            let scopes = shard.classifier.liveScopes
            if scopes > peakScopes {
                peakScopes = scopes
                scopeBytesAtPeak = shard.classifier.scopeTableBytes
            }
            scopesNow.store(scopes, ordering: .relaxed)
            if step.contacts.capacity > Self.keptCapacity { step.contacts = [] }
            steps.recycle(step)
        }
        done.signal()
    }

    /// Hands over the contacts the `sources` completed for shard `target` (this one),
    /// emptying their outboxes, and the watermark of the step.
    func send(from sources: [Part], to target: Int, watermark: Int64) {
        let step = steps.vacant(orMake: Step.init)
        for source in sources {
            if step.contacts.isEmpty {
                swap(&step.contacts, &source.outbox[target])
            } else {
                step.contacts.append(contentsOf: source.outbox[target])
                source.outbox[target].removeAll(keepingCapacity: true)
            }
        }
        step.watermark = watermark
        step.horizon = nil
        steps.send(step)
    }

    /// End of input: the stage classifies what is left against `horizon` and stops.
    func finish(horizon: Int64) {
        let step = steps.vacant(orMake: Step.init)
        step.contacts.removeAll(keepingCapacity: true)
        step.horizon = horizon
        steps.send(step)
        steps.close()
    }

    /// Waits until the stage's thread is done, after `finish`; the shard's aggregator is
    /// final afterwards.
    func join() { done.wait() }
}
