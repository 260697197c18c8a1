import CallSiftCore
import CallSiftInput
import CallSiftFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import CallSiftConcurrency
import Foundation
import HeapModule

/// One part of the keyed stages: an assembler, a classifier and an aggregator. The one
/// name for both ways the stages are cut (docs/architecture.md):
/// - without durable state, `--shards` parts by hash: calls are assigned by hash of
///   (centre, call), contacts by hash of the caller (so every caller scope lives in one
///   part whatever the scope), unidentified contacts by hash of the call;
/// - with durable state, a part per centre (one in all under `--scope global`), each
///   classifying its own contacts and taken to a point of its own.
/// Parts share nothing while they run; their counters are summed at the end, which is
/// exact, so the output is the same for any number of them.
/// `@unchecked Sendable`: a part is worked on by one thread at a time: the merge's, or
/// one iteration of a `concurrentPerform` over the parts, which returns before the next
/// step.
final class Part: @unchecked Sendable {
    let assembler: CallAssembler
    let classifier: Classifier
    let aggregator: Aggregator
    /// Events taken for this shard since the last step, in merge order (with several
    /// shards; a single shard records long runs as they are taken and gathers short ones
    /// here).
    var inbox: [Event] = []
    /// Contacts this shard's assembler completed, by the classifier shard they belong to.
    var outbox: [[Contact]] = []
    private var completed: [Contact] = []
    /// With durable state, the centre whose events this part holds (-1: every centre's).
    let centre: Int32
    /// With durable state, the watermark this part has been taken to.
    var advancedTo = Int64.min
    private let callTimeout: Int64
    /// The lateness bound plus the call timeout: how far behind its events' greatest ts
    /// the part is taken (`finalPoint`).
    private let margin: Int64

    init(
        settings: AnalysisSettings, calendar: LocalCalendar, centres: Interner, reasons: Interner,
        longCallIDs: LongCallIDs, sweepInterval: Int64 = Classifier.defaultSweepInterval, centre: Int32 = -1
    ) {
        self.centre = centre
        callTimeout = settings.callTimeout
        margin = settings.lateness &+ settings.callTimeout
        assembler = CallAssembler(callTimeout: settings.callTimeout, lateness: settings.lateness)
        aggregator = Aggregator(calendar: calendar)
        classifier = Classifier(
            settings: settings, centres: centres, reasons: reasons,
            longCallIDs: longCallIDs, aggregator: aggregator, sweepInterval: sweepInterval)
        inbox.reserveCapacity(8192)
    }

    static func index(of e: Event, count: Int) -> Int {
        Int(truncatingIfNeeded: mix64(e.call.hash64 ^ UInt64(UInt32(bitPattern: e.centre))) % UInt64(count))
    }

    static func index(of c: Contact, count: Int) -> Int {
        let h = c.identified ? mix64(c.caller.hi ^ c.caller.lo) : mix64(c.call.hash64 ^ UInt64(UInt32(bitPattern: c.centre)))
        return Int(truncatingIfNeeded: h % UInt64(count))
    }

    /// Records the inbox and finalises the calls `wm` makes final (all of them at `.max`).
    func assemble(to wm: Int64, shardCount: Int) {
        if outbox.count != shardCount { outbox = Array(repeating: [], count: shardCount) }
        for i in outbox.indices { outbox[i].removeAll(keepingCapacity: true) }
        recordInbox()
        if shardCount == 1 {
            assembler.advance(to: wm, into: &outbox[0])
        } else {
            completed.removeAll(keepingCapacity: true)
            assembler.advance(to: wm, into: &completed)
            for c in completed { outbox[Part.index(of: c, count: shardCount)].append(c) }
        }
    }

    /// Hands the events gathered in the inbox to the assembler, and empties it.
    func recordInbox() {
        guard !inbox.isEmpty else { return }
        inbox.withUnsafeBufferPointer { record($0) }
        inbox.removeAll(keepingCapacity: true)
    }

    /// Hands `events`, in merge order, to the assembler.
    func record(_ events: UnsafeBufferPointer<Event>) { assembler.record(events) }

    func classify(to wm: Int64) {
        if wm != .max { classifier.advance(to: wm) }
    }

    /// With durable state: how far this part may be made final, its events' greatest ts
    /// less `margin` (the lateness bound plus the call timeout; `.min` before its first
    /// event). An input still to come for it whose events are not older than that finds
    /// it as one run over everything would. The call timeout is there because a centre's
    /// file may end with the last events of calls that began in it, which the next file
    /// does not overlap by more than a call's length.
    func finalPoint() -> Int64 {
        let h = assembler.accounting.horizon
        return min(h == .min ? .min : h &- margin, heldBelow)
    }

    /// With durable state: the least `ts` of the events the carried format adapters hold
    /// for this part's centre (`CarriedAdapters`), which its final point must not pass, or
    /// they would be late when a later run emits them; `.max` when none.
    var heldBelow = Int64.max

    /// With durable state: records the inbox and takes the part to `wm`, or (`capped`) no
    /// further than its `finalPoint`; its contacts are classified here, in the part.
    func advancePart(to wm: Int64, capped: Bool) {
        recordInbox()
        let w = capped ? min(wm, finalPoint()) : wm
        guard w > advancedTo else { return }
        advancedTo = w
        completed.removeAll(keepingCapacity: true)
        assembler.advance(to: w, into: &completed)
        classifier.take(&completed)
        classify(to: w)
    }

    /// About how many bytes `encode` writes, so that its buffer is made once.
    var encodedSizeEstimate: Int {
        4096 + assembler.liveKeys * 90 + classifier.pendingVerdicts * 6
    }

    /// The part's body (how far it has gone, and each stage's state but the caller scopes,
    /// which `Classifier.writeScopes` writes to files of their own), as its part file
    /// holds it.
    func encodeBody() -> StateWriter {
        var body = StateWriter(reserving: encodedSizeEstimate)
        body.int(advancedTo)
        assembler.encode(into: &body)
        classifier.encode(into: &body)
        aggregator.encode(into: &body)
        return body
    }

    /// The part's record in the engine file, in pieces to be written one after another:
    /// its length, its centre, the part file its body (`encodeBody`) was written to with
    /// that file's length and checksum, the layers of its caller scopes, newest first,
    /// then its summary (`finish(horizon:summary:)`).
    func record(file name: String, image: StateFileWriter.Written, scopes: [ScopeLayer.Ref], summary: StateWriter) -> [StateWriter] {
        var head = StateWriter(reserving: 64)
        head.int(centre)
        head.string(name)
        head.count(image.length)
        head.u64(image.checksum.high)
        head.u64(image.checksum.low)
        head.count(scopes.count)
        for l in scopes { l.encode(into: &head) }
        var length = StateWriter(reserving: 10)
        length.count(head.count + summary.count)
        return [length, head, summary]
    }

    /// Finishes the part, as the end of input does: every call cut, every contact
    /// classified, the FCR verdicts still queued judged against `horizon`; its aggregator
    /// then holds its share of the report. With `summary`, what it counted before the
    /// verdicts were judged is written there first (`PartSummary`), to be settled again
    /// against a later horizon while the part lies dormant, with `scopes` as the number
    /// of caller-scope records its layers hold. The part is used up.
    ///
    /// - Returns: the calls' accounting, all cut.
    func finish(horizon: Int64, scopes: Int = 0, summary: inout StateWriter?) -> CallAssembler.Accounting {
        recordInbox()
        let liveCalls = assembler.liveKeys
        var contacts: [Contact] = []
        assembler.finish(into: &contacts)
        classifier.take(&contacts)
        classifier.classifyAll()
        if summary != nil {
            PartSummary.encode(
                calls: assembler.accounting, scopes: scopes, liveCalls: liveCalls, keys: aggregator.keys,
                counters: aggregator.counters, verdicts: classifier.pendingVerdicts, classifier.forEachQueuedVerdict,
                into: &summary!)
        }
        classifier.finish(horizon: horizon)
        return assembler.accounting
    }

    /// Reads a part's body (`encodeBody`; in a version 2 file, its record after the centre)
    /// into this new part, whose caller scopes are `scopes`, newest first.
    func restore(from r: inout StateReader, scopes: [ScopeLayer]) throws {
        advancedTo = try r.int()
        let oldestInProgress = try assembler.restore(from: &r)
        try classifier.restore(from: &r, layers: scopes)
        try aggregator.restore(from: &r)
        // The FCR entries, read before the groups they name, name the part's own.
        guard classifier.fcrGroups(below: aggregator.counters.count) else {
            throw r.malformed("an FCR entry of a base group the part does not have")
        }
        // How far the part had gone, as `advancePart` leaves it: taken no further than its
        // events' horizon less the margin, its classifier a call timeout behind that, and
        // none of its calls in progress older than what the classifier has done. A part
        // that broke one of these would have its next run hand the classifier a contact
        // it has passed (and the late floor, `lateFloor`, would let such events in).
        let classified = classifier.classifiedBelow
        if advancedTo == .min {
            guard classified == .min else { throw r.malformed("contacts classified in a part never taken forward") }
        } else {
            let (limit, o1) = assembler.accounting.horizon.subtractingReportingOverflow(margin)
            let (behind, o2) = advancedTo.subtractingReportingOverflow(callTimeout)
            guard !o1, advancedTo <= limit else { throw r.malformed("a part taken past its events' horizon") }
            guard !o2, classified <= behind else { throw r.malformed("contacts classified past the point the part was taken to") }
        }
        guard oldestInProgress >= classified else {
            throw r.malformed("a call in progress older than the contacts already classified")
        }
    }

    /// With durable state, the floor below which this part's input is late at the start of
    /// a run: its `finalPoint`, but never below what its classifier has done (the events the
    /// carried adapters hold are not older than that in a state a run wrote).
    func lateFloor() -> Int64 { max(finalPoint(), classifier.classifiedBelow) }
}
