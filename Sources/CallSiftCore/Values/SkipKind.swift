/// Why an adapter's record was counted as `skipped` (docs/metrics.md, "Accounting"): valid
/// in its format, but not a call event of inbound demand. The raw value is the name
/// printed in `accounting.skipped_kinds`.
///
/// The set is fixed, so the counters are an array and hostile input cannot grow it.
public enum SkipKind: String, Sendable, CaseIterable {
    // Asterisk queue_log
    /// `RINGNOANSWER`, `RINGCANCELED`: a member's phone rang for a waiting caller.
    case ring = "ring"
    /// `AGENTLOGIN`, `AGENTLOGOFF`, `AGENTCALLBACKLOGIN/LOGOFF`, `AGENTDUMP`,
    /// `ADDMEMBER`, `REMOVEMEMBER`, `PENALTY`: agent and membership housekeeping.
    case agent = "agent"
    /// `PAUSE`, `UNPAUSE`, `PAUSEALL`, `UNPAUSEALL`.
    case pause = "pause"
    /// `QUEUESTART`, `CONFIGRELOAD`: the queue engine itself.
    case queueAdmin = "queue_admin"
    /// `INFO`, `DID`, `SYSCOMPAT` and other annotations of a call.
    case callInfo = "call_info"
    /// A `CONNECT` of a call already answered in an earlier queue (it re-entered a queue
    /// after a transfer): the call has one answer, the first.
    case reanswer = "reanswer"
    /// Any other event name (sites and tools write their own with `QueueLog()`).
    case otherQueueEvent = "other_queue_event"

    // Amazon Connect contact trace records
    /// `OUTBOUND`, `EXTERNAL_OUTBOUND` contacts, and transfer legs of them.
    case outbound = "outbound"
    /// `CALLBACK` contacts (a queued callback dialled out to the customer).
    case callback = "callback"
    /// `MONITOR` contacts (a supervisor listening in).
    case monitor = "monitor"
    /// `API` contacts other than chats (tasks, API-started outbound calls).
    case api = "api"
    /// `DISCONNECT` (disconnect-flow), `AGENT_REPLY` and `FLOW` contacts.
    case system = "system"
    /// An `InitiationMethod` this version does not know.
    case otherInitiation = "other_initiation"
    /// An inbound contact (chain) that never entered a queue: ended in the flow or IVR.
    case notQueued = "not_queued"
    /// A record updated more than the call timeout after its contact began: its events can
    /// no longer join their call (docs/metrics.md, "Calls"), so it carries no new demand.
    case stale = "stale"
}
