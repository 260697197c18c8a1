import CallSiftCore

/// Amazon Connect contact trace records (docs/formats.md).
extension AnalysisSettings.InputFormat {
    public static let ctr = Self(rawValue: "ctr")
}

/// What contact trace records are skipped as (docs/formats.md, "Amazon Connect contact
/// trace records"), besides `outbound` and `stale`.
extension SkipKind {
    /// `CALLBACK` contacts (a queued callback dialled out to the customer).
    package static let callback = SkipKind(rawValue: "callback")
    /// `MONITOR` contacts (a supervisor listening in).
    package static let monitor = SkipKind(rawValue: "monitor")
    /// `API` contacts other than chats (tasks, API-started outbound calls).
    package static let api = SkipKind(rawValue: "api")
    /// `DISCONNECT` (disconnect-flow), `AGENT_REPLY` and `FLOW` contacts.
    package static let system = SkipKind(rawValue: "system")
    /// An `InitiationMethod` this version does not know.
    package static let otherInitiation = SkipKind(rawValue: "other_initiation")
    /// An inbound contact (chain) that never entered a queue: ended in the flow or IVR.
    package static let notQueued = SkipKind(rawValue: "not_queued")
}

extension ContactTraceAdapter {
    /// The registry's entry: the centre is `--centre`, else each record's instance id.
    static let entry = FormatEntry(
        format: .ctr, recognises: recognises,
        skipKinds: [.outbound, .callback, .monitor, .api, .system, .otherInitiation, .notQueued, .stale],
        needsCentre: false,
        makeAdapter: { _, settings in ContactTraceAdapter(centre: settings.centre, settings: settings) },
        restoreAdapter: { r, settings in try ContactTraceAdapter(restoring: &r, settings: settings) })
}
