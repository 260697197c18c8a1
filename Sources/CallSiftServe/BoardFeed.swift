import CallSift
import CallSiftCore
import Foundation

/// What `--serve` shows, replaced whole at each emit of the follower (docs/metrics.md,
/// "Wallboard"): every request is answered from the last snapshot, so slow or many
/// clients never hold up following or emitting.
public struct BoardSnapshot: Sendable {
    /// Counts emits: a client seeing a new version has new figures.
    public var version: Int
    /// When the emit happened (wall clock).
    public var emittedAt: Date
    /// The report, as `-o` writes it.
    public var reportJSON: [UInt8]
    /// `/metrics`: the report's families, the build and the follower's health.
    public var metrics: String
    /// The wallboard's figures (`BoardFigures`).
    public var board: [UInt8]
}

/// The follower's health beside its report, for `/metrics` and `/healthz`.
public struct FollowHealth: Sendable {
    /// Decoded bytes of the log read so far by this process.
    public var bytesRead: Int64 = 0
    /// Lines rejected, in the report.
    public var linesRejected: Int64 = 0
    /// Seconds between the latest event read and the emit (how far the log's own times lag
    /// behind the clock; large when the log is replayed or has stopped).
    public var lagSeconds: Double?
    public init() {}
}

/// The snapshot the server reads, and when the feed counts as stalled.
public final class BoardFeed: Sendable {
    private let current = Locked<BoardSnapshot?>(nil)
    /// When the follower last said it was keeping up (an emit, or a turn of its loop with
    /// nothing new to emit).
    private let alive = Locked<Date?>(nil)
    /// No word from the follower for this long: the feed has stalled (`/healthz` 503, the
    /// page says so). A quiet log is not a stall: the follower's turns go on.
    public let stallAfter: TimeInterval
    /// The smallest denominator a rate is shown with (`--min-cell`).
    public let minCell: Int64

    public init(stallAfter: TimeInterval, minCell: Int64) {
        self.stallAfter = stallAfter
        self.minCell = minCell
    }

    public var snapshot: BoardSnapshot? { current.withLock { $0 } }

    /// Publishes the figures of one emit.
    public func publish(report: Report, health: FollowHealth, at now: Date = Date()) {
        let version = (snapshot?.version ?? 0) + 1
        let next = BoardSnapshot(
            version: version, emittedAt: now, reportJSON: JSONReportWriter.renderBytes(report),
            metrics: BoardMetrics.render(report, health: health, emittedAt: now),
            board: BoardFigures.render(
                report, version: version, emittedAt: now, stallAfter: stallAfter, minCell: minCell))
        current.withLock { $0 = next }
        touch(at: now)
    }

    /// The follower is keeping up, with nothing new to publish.
    public func touch(at now: Date = Date()) { alive.withLock { $0 = now } }

    /// When the follower last said it was keeping up.
    public var lastAlive: Date? { alive.withLock { $0 } }

    /// Whether the last emit is recent enough (`/healthz`).
    public func isKeepingUp(at now: Date = Date()) -> Bool {
        guard snapshot != nil, let a = lastAlive else { return false }
        return now.timeIntervalSince(a) <= stallAfter
    }
}
