import CallSiftCore

/// Asterisk's queue_log, as a file or as a database export (docs/formats.md).
extension AnalysisSettings.InputFormat {
    public static let queuelog = Self(rawValue: "queuelog")
}

/// What queue_log lines are skipped as (docs/formats.md, "Asterisk queue_log").
extension SkipKind {
    /// `RINGNOANSWER`, `RINGCANCELED`: a member's phone rang for a waiting caller.
    package static let ring = SkipKind(rawValue: "ring")
    /// `AGENTLOGIN`, `AGENTLOGOFF`, `AGENTCALLBACKLOGIN/LOGOFF`, `AGENTDUMP`,
    /// `ADDMEMBER`, `REMOVEMEMBER`, `PENALTY`: agent and membership housekeeping.
    package static let agent = SkipKind(rawValue: "agent")
    /// `PAUSE`, `UNPAUSE`, `PAUSEALL`, `UNPAUSEALL`.
    package static let pause = SkipKind(rawValue: "pause")
    /// `QUEUESTART`, `CONFIGRELOAD`: the queue engine itself.
    package static let queueAdmin = SkipKind(rawValue: "queue_admin")
    /// `INFO`, `DID`, `SYSCOMPAT` and other annotations of a call.
    package static let callInfo = SkipKind(rawValue: "call_info")
    /// A `CONNECT` of a call already answered in an earlier queue (it re-entered a queue
    /// after a transfer): the call has one answer, the first.
    package static let reanswer = SkipKind(rawValue: "reanswer")
    /// Any other event name (sites and tools write their own with `QueueLog()`).
    package static let otherQueueEvent = SkipKind(rawValue: "other_queue_event")
}

extension QueueLogAdapter {
    /// The registry's entry: recognised by its lines' shape; the centre comes from
    /// `--centre`, which it needs.
    static let entry = FormatEntry(
        format: .queuelog, recognises: recognises,
        skipKinds: [.ring, .agent, .pause, .queueAdmin, .callInfo, .reanswer, .otherQueueEvent],
        needsCentre: true,
        makeAdapter: { first, settings in
            guard let centre = settings.centre else { throw needsCentre }
            return try QueueLogAdapter(first: first, centre: centre, settings: settings)
        },
        restoreAdapter: { r, settings in try QueueLogAdapter(restoring: &r, settings: settings) })
}
