import CallSiftCore
/// A source format that is not the canonical record (the adapters of docs/metrics.md,
/// "Input records"): it turns its own records into canonical `Event`s, through the run's
/// `EventBuilder`, so interning, pseudonymisation and reject reasons stay in one place.
///
/// Unlike CSV and NDJSON, an adapter may need to see later records before it knows what an
/// earlier one means (a queue_log caller who leaves one queue may enter another; a contact
/// trace record may be re-delivered or continued by a transfer leg). So it may *hold*
/// events and emit them later, and it answers two questions for the input's watermark:
///
/// - lateness is judged on the record's own order key (`AdapterOutput.admit`), which for
///   contact trace records is the last update time, not the times of its events;
/// - `floor(latestKey:)` is a lower bound of every event it may still emit.
///
/// Accounting: every record read is one line. A record ends as `taken` (its events are
/// emitted, now or later), rejected, late, skipped or a duplicate. One that later turns
/// out to stand for k > 1 canonical events adds a line for each event after its first
/// (`emit(_:extraLine:)`); one that a later record supersedes becomes a duplicate
/// (`countDuplicate`), and one found later to belong to skipped traffic is skipped
/// (`countSkipped`). So `lines = events + duplicates + rejected_total + late + skipped`
/// holds at the end of every input, in canonical events.
package protocol FormatAdapter: AnyObject {
    /// Reads one record (its bytes already checked to be valid UTF-8 without NUL).
    func read(_ record: UnsafeRawBufferPointer, _ out: AdapterOutput) -> AdapterVerdict
    /// End of input (or of what could be read of it): emits everything still held.
    func finish(_ out: AdapterOutput)
    /// No event this adapter may still emit, from records read or still to come, has a
    /// `ts` below this; `Int64.max` when that is unbounded above. `latestKey` is the
    /// greatest order key admitted so far (`Int64.min` before the first).
    func floor(latestKey: Int64) -> Int64
    /// An independent copy of everything this adapter holds, for a report taken while the
    /// input goes on: finishing the copy leaves this one as it was.
    func copy() -> FormatAdapter
    /// How the records of the file being read are cut (`beginFile` may change it).
    var recordCutting: RecordCutting { get }
    /// The next file of the same export (a chain's, or the first of a later run) begins
    /// with `first`: what is per file (a form, a header) is made again from it; what the
    /// adapter holds goes on.
    func beginFile(first: UnsafeRawBufferPointer)
    /// Whether it holds anything `finish` would emit or count, or anything a later record
    /// still needs (a contact emitted, kept to recognise its re-delivery).
    var holdsAnything: Bool { get }
    /// The least `ts` of the events it holds, by centre name: a durable state's final
    /// point for that centre must not pass it, or they would be late when a later run
    /// emits them (docs/formats.md, "One export across many files").
    func heldFloors() -> [String: Int64]
    /// Writes everything it holds, for a later run's adapter to go on from
    /// (`AdapterRegistry.restore`).
    func save(into w: inout AdapterStateWriter)
}

/// What happened to one record at the moment it was read.
package enum AdapterVerdict: Equatable {
    /// Used: its events are emitted now or later, or a later record decides it.
    case taken
    /// A header row (queue_log's database export): not a line at all.
    case header
    case rejected(RejectReason)
    /// More than the lateness bound below the greatest order key read before it.
    case late
    case skipped(SkipKind)
    /// The same record (or the same source event) read before.
    case duplicate
}

/// The input cursor as an adapter sees it.
package protocol AdapterOutput: AnyObject {
    var builder: EventBuilder { get }
    /// Judges a record's lateness on its order key (docs/metrics.md, "Accounting"): false
    /// when `key` is more than the lateness bound below the greatest key admitted before;
    /// otherwise the key is admitted and true returned.
    func admit(orderKey key: Int64) -> Bool
    /// What the adapter holds may be released (emitted as final) or forgotten only for
    /// order keys below this, besides its own rule: the least a record still to come from
    /// a later file of the same export may have (its file's first key less the lateness
    /// bound, docs/formats.md, "One export across many files"); `Int64.max` when no file
    /// follows.
    var releaseLimit: Int64 { get }
    /// Hands on one canonical event. `extraLine`: it is not the first event of its record.
    func emit(_ event: Event, extraLine: Bool)
    /// A record already `taken` turned out to be superseded by a later delivery.
    func countDuplicate()
    /// A record already `taken` turned out to belong to traffic that is skipped.
    func countSkipped(_ kind: SkipKind)
    /// A record already `taken` could not be turned into the event it stood for (a safety
    /// net: adapters validate at read time, so this should not happen).
    func countRejected(_ reason: RejectReason)
}

/// Skip kinds that more than one platform's format counts (docs/formats.md).
extension SkipKind {
    /// An outbound contact or conversation (and, for contact trace records, the transfer
    /// legs of one): not inbound demand.
    package static let outbound = SkipKind(rawValue: "outbound")
    /// A record of a contact that began more than the call timeout before the record's
    /// order key: its events could no longer join their call (docs/metrics.md, "Calls"),
    /// so it carries no new demand.
    package static let stale = SkipKind(rawValue: "stale")
}
