import CallSiftCore
import CallSiftInput
import CallSiftFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Dispatch
import Foundation
import SystemPackage

/// `callsift analyze --follow` (docs/metrics.md, "Live mode"; docs/architecture.md, "Live
/// mode"): follows one log while it is written and keeps a report of it current.
///
/// Everything rests on durable state and an engine session continued from it
/// (`EngineSession`). The lines of the file being written are pushed into the session as
/// they are decoded, once each; each emit writes the session's report as if the input
/// ended now, which is the one a daily run over the files so far would give, rows marked
/// final or provisional, without reading anything again. A finished file (rotated away,
/// or standard input at its end) is committed into the state exactly as a daily run feeds
/// a file, and a new session goes on from there. With `--state DIR` each emit is also a
/// checkpoint: `DIR/FOLLOW` names the file being followed (device and inode) and how far
/// it has been read, and a restart reads that file again from its start (it was never in
/// the state), after finishing first a file that was rotated away while nothing followed
/// it. So nothing is counted twice and nothing is lost. Without `--state`, the state is kept in a private
/// temporary folder removed at the end.
public final class FollowRun {
    public struct Options {
        public var emitEvery: Double = 30
        /// The report, replaced atomically at each emit.
        public var output: String
        public var csv = false
        public var metricsFile: String?
        /// `--state DIR`; nil for a temporary state.
        public var stateDir: String?
        public init(output: String) { self.output = output }
    }

    private let path: String
    private let settings: AnalysisSettings
    private let pseudonymiser: Pseudonymiser
    private let rejects: RejectsLog?
    private let execution: ExecutionOptions
    private let options: Options
    private let store: StateStore
    private let temporaryDir: String?
    private let log: LiveLog
    private let note: (String) -> Void
    private let stopRequested = Locked(false)

    public init(
        path: String, settings: AnalysisSettings, pseudonymiser: Pseudonymiser, rejects: RejectsLog?,
        execution: ExecutionOptions, options: Options, note: @escaping (String) -> Void
    ) throws {
        self.path = path
        self.pseudonymiser = pseudonymiser
        self.rejects = rejects
        self.execution = execution
        self.options = options
        self.note = note
        if let dir = options.stateDir {
            store = try StateStore(path: dir)
            temporaryDir = nil
        } else {
            var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("callsift-follow-XXXXXX").utf8CString)
            guard let made = mkdtemp(&template) else { throw UsageError("--follow: cannot make a temporary state folder: \(String(cString: strerror(errno)))") }
            let dir = String(cString: made)
            temporaryDir = dir
            store = try StateStore(path: dir)
        }
        if let m = store.manifest, let problem = StateStore.Fixed(settings: settings, pseudonymiser: pseudonymiser).mismatch(with: m.fixed, dir: store.path) {
            throw UsageError(problem)
        }
        self.settings = settings
        log = LiveLog(path: path)
    }

    deinit {
        if let temporaryDir { try? FileManager.default.removeItem(atPath: temporaryDir) }
    }

    /// Asks the run to stop after a last checkpoint and report (from a signal handler's
    /// queue, or a test).
    public func requestStop() {
        stopRequested.withLock { $0 = true }
        log.stop()
    }

    private var stopping: Bool { stopRequested.withLock { $0 } }

    /// Follows until stopped (`requestStop`), standard input ends, or the log cannot be
    /// read; returns the exit status (0, or 1 after a read error).
    public func run() throws -> Int32 {
        if options.stateDir == nil {
            note(
                "callsift: --follow without --state keeps nothing between runs: a restart counts \(path == "-" ? "standard input" : path) again from its start, and files rotated away before it are not counted"
            )
        } else {
            try resumeFromCheckpoint()
        }
        if path != "-" && !FileManager.default.fileExists(atPath: path) {
            note("callsift: \(path) does not exist yet; waiting for it")
        }
        log.start()
        var session = try newSession()
        var shown = -1
        var checkpoint: StateStore.FollowPoint?
        var next = Date().addingTimeInterval(min(1, options.emitEvery))
        var openedSeen = 0
        var saidInputError = false
        while true {
            log.waitForEvent(until: next, openedSeen: openedSeen)
            let stop = stopping
            if stop { log.waitUntilStopped(seconds: 10) }
            // Whatever arrived goes into the session now; nothing is read twice.
            // `inputEnded` is read with the drain: the end of standard input and its last
            // bytes come together, never the end without them.
            let (finished, lines, inputEnded) = log.drain()
            var changed = !finished.isEmpty
            for f in finished {
                // The file has ended: it goes into the state as a daily run feeds a file.
                f.rest.withUnsafeBytes { session.push($0) }
                try commit(session, fingerprint: f.fingerprint)
                session = try newSession()
                saidInputError = false
            }
            lines.withUnsafeBytes { session.push($0) }
            if let e = session.inputError, !saidInputError {
                note("callsift: error: \(e); nothing of it is counted")
                saidInputError = true
            }
            let ended = inputEnded || log.failure != nil
            if stop && path == "-" && session.hasInput {
                // Standard input cannot be read again: what was read of it goes into the state.
                try commit(session, fingerprint: nil)
                session = try newSession()
                changed = true
            }
            let emitting = stop || ended || Date() >= next || changed
            if emitting {
                if stop || ended || Date() >= next {
                    next = Date().addingTimeInterval(options.emitEvery)
                }
                let version = log.version
                if version != shown || changed || stop || ended {
                    try emit(session.report(includingInput: !(stop && path == "-") && !inputEnded))
                    shown = version
                }
            }
            // The checkpoint moves on at each emit, and at once when another file is opened:
            // a rotation while nothing follows is then found from the file checkpointed last.
            openedSeen = log.opened
            if options.stateDir != nil && path != "-", let at = log.followPoint() {
                let point = StateStore.FollowPoint(path: path, device: at.device, inode: at.inode, offset: at.offset)
                if point.inode != checkpoint?.inode || point.device != checkpoint?.device || (emitting && point != checkpoint) {
                    try store.setFollowPoint(point)
                    checkpoint = point
                }
            }
            if stop || ended { break }
        }
        if let failure = log.failure {
            note("callsift: error: \(failure); following stopped, and that file is not in the state")
            return 1
        }
        let unfinished = log.unfinishedLineBytes
        if unfinished > 0 {
            note(
                path == "-"
                    ? "callsift: standard input was stopped with \(unfinished) bytes of a line not yet finished; they are not counted"
                    : "callsift: \(path) ends with \(unfinished) bytes of a line not yet finished; not counted until it is")
        }
        return 0
    }

    /// The engine session for the file now followed, continuing from the state.
    private func newSession() throws -> EngineSession {
        try EngineSession(
            state: store, settings: settings, name: path, pseudonymiser: pseudonymiser, rejects: rejects,
            execution: execution)
    }

    /// Writes the file `session` followed into the state.
    private func commit(_ session: EngineSession, fingerprint: ContentFingerprint?) throws {
        for n in try session.commit(fingerprint: fingerprint) { note(n) }
    }

    /// Feeds `inputs` into the state as a daily run does.
    private func feed(_ inputs: [String]) throws {
        let r = try DailyRun.run(
            state: store, settings: settings, inputs: inputs, pseudonymiser: pseudonymiser,
            rejects: rejects, execution: execution, closingRejects: false)
        for n in r.notes { note(n) }
        for e in r.errors { note("callsift: error: \(e)") }
        if r.committed { try store.reloadEngine() }
    }

    /// A restart with `--state`: the file the last checkpoint followed is read again from
    /// its start, which needs nothing done here, unless another file now has its name; then
    /// the old one, found in the same folder by its inode, is finished first.
    private func resumeFromCheckpoint() throws {
        guard let point = try store.followPoint(), point.path == path, path != "-" else { return }
        var st = stat()
        if stat(path, &st) == 0 && UInt64(st.st_dev) == point.device && UInt64(st.st_ino) == point.inode {
            if Int64(st.st_size) < point.offset {
                note(
                    "callsift: warning: \(path) is shorter than when it was checkpointed (\(st.st_size) bytes, \(point.offset) read then): it was truncated while nothing followed it, and what was cut is not counted"
                )
                return
            }
            note(
                "callsift: continuing from the checkpoint in \(store.path): \(path) (\(point.offset) bytes read then) is read again from its start; its events are not in the state until it is finished"
            )
            return
        }
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for name in names.sorted() {
            let candidate = (dir as NSString).appendingPathComponent(name)
            if stat(candidate, &st) == 0 && UInt64(st.st_dev) == point.device && UInt64(st.st_ino) == point.inode {
                note("callsift: \(path) was rotated while nothing followed it; finishing \(candidate), the file followed at the last checkpoint")
                try feed([candidate])
                return
            }
        }
        note(
            "callsift: warning: the file followed at the last checkpoint (\(path), inode \(point.inode), \(point.offset) bytes read) is no longer in \(dir); its events are not counted"
        )
    }

    /// Writes `report` (as `-o` would, replacing the file atomically) and the metrics file.
    private func emit(_ report: Report) throws {
        var report = report
        report.statePath = options.stateDir
        let text = options.csv ? CSVReportWriter.render(report) : JSONReportWriter.render(report)
        try AtomicFile.write(Array(text.utf8), to: options.output)
        if let m = options.metricsFile {
            try AtomicFile.write(Array(PrometheusText.render(report).utf8), to: m)
        }
    }
}

/// Replacing a file so that a reader sees the old bytes or the new, never a mix: written
/// to a temporary name in the same folder, synced, renamed over it, and the folder synced.
package enum AtomicFile {
    package static func write(_ bytes: [UInt8], to path: String) throws {
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        let tmp = (dir as NSString).appendingPathComponent(".\((path as NSString).lastPathComponent).tmp-\(getpid())")
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ByteSinkError(destination: path, message: "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var failed: Int32?
        do {
            _ = try FileDescriptor(rawValue: fd).writeAll(bytes)
            if fsync(fd) != 0 { failed = errno }
        } catch {
            failed = (error as? Errno)?.rawValue ?? EIO
        }
        close(fd)
        if let failed {
            unlink(tmp)
            throw ByteSinkError(destination: path, message: "cannot write: \(String(cString: strerror(failed)))")
        }
        guard rename(tmp, path) == 0 else {
            let e = errno
            unlink(tmp)
            throw ByteSinkError(destination: path, message: "cannot rename into place: \(String(cString: strerror(e)))")
        }
        let dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dfd >= 0 { _ = fsync(dfd); close(dfd) }
    }
}
