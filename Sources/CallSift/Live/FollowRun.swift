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
/// a file, and a new session goes on from there. With `--state DIR`, every
/// `checkpointEvery` seconds and when stopped, the session writes the file read so far
/// into the state as a daily run would (`EngineSession.checkpoint`), with where it stands
/// in it, and a new session reads on from there; a restart does too, reading only the
/// bytes after that point (a CSV or NDJSON file, plain, or compressed at the end of a
/// frame; one read by a format adapter is read again from its start, as it has no such
/// point). Each emit
/// also notes in `DIR/FOLLOW` which file is followed (device and inode), so that a
/// restart finishes first a file rotated away while nothing followed it. So nothing is
/// counted twice and nothing is lost. Without `--state`, the state is kept in a private
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
        /// With `stateDir`: how often (seconds) the engine is written into the state, so
        /// that a restart reads on from there (`--checkpoint-every`).
        public var checkpointEvery: Double = 30
        /// The `--rejects` file, cut back on a restart to its size at the checkpoint.
        public var rejectsPath: String?
        /// Called after each emit with the report written (with its day rows, callers
        /// waiting and arrivals by hour) and the bytes of the log decoded by this process so
        /// far (`--serve` publishes them; it must not block).
        public var onEmit: (@Sendable (Report, Int64) -> Void)?
        /// Called at each turn of the follower's loop (at least every `emitEvery`), with
        /// or without an emit: the follower is alive and keeping up even when the log is
        /// quiet and nothing new is emitted.
        public var onTurn: (@Sendable () -> Void)?
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
    /// Counted for `onEmit` only.
    private let arrivals: HourlyArrivals?
    /// Decoded bytes of the log drained so far.
    private var bytesRead: Int64 = 0

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
        arrivals = options.onEmit == nil ? nil : try HourlyArrivals(timeZone: settings.timeZone)
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
        var resuming: (point: StateStore.FollowResume, descriptor: Int32)?
        if options.stateDir == nil {
            note(
                "callsift: --follow without --state keeps nothing between runs: a restart counts \(path == "-" ? "standard input" : path) again from its start, and files rotated away before it are not counted"
            )
        } else {
            resuming = try resumeFromCheckpoint()
        }
        if path != "-" && !FileManager.default.fileExists(atPath: path) {
            note("callsift: \(path) does not exist yet; waiting for it")
        }
        var session = try newSession(resume: resuming?.point)
        log.start(
            resuming: resuming.map {
                LiveLog.Resumption(
                    descriptor: $0.descriptor, stored: $0.point.offset, decoded: $0.point.parser.bytes,
                    hashedBefore: $0.point.storedHash ?? ContentHasher())
            })
        storedHash = resuming.flatMap { r in r.point.storedHash.map { (r.point.device, r.point.inode, $0) } }
        var nextCheckpoint = Date().addingTimeInterval(options.checkpointEvery)
        var shown = -1
        var checkpoint: StateStore.FollowPoint?
        var next = Date().addingTimeInterval(min(1, options.emitEvery))
        var openedSeen = 0
        var saidInputError = false
        var saidNameProblem: String?
        while true {
            log.waitForEvent(until: next, openedSeen: openedSeen)
            let stop = stopping
            if stop { log.waitUntilStopped(seconds: 10) }
            // Whatever arrived goes into the session now; nothing is read twice.
            // `inputEnded` is read with the drain: the end of standard input and its last
            // bytes come together, never the end without them.
            // The version is read before the drain: an append between the two is then
            // shown by the next emit, not taken for one already shown.
            let version = log.version
            let (finished, lines, inputEnded) = log.drain()
            bytesRead += Int64(lines.count) + finished.reduce(0) { $0 + Int64($1.rest.count) }
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
            let nameProblem = log.nameProblem
            if nameProblem != saidNameProblem {
                if let nameProblem {
                    note(
                        "callsift: \(path) cannot be found now (\(nameProblem)); reading on from the file already open, and taking up the name again when it is back"
                    )
                } else {
                    note("callsift: \(path) is there again")
                }
                saidNameProblem = nameProblem
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
                if version != shown || changed || stop || ended {
                    try emit(session.report(includingInput: !(stop && path == "-") && !inputEnded, dayRows: options.onEmit != nil))
                    shown = version
                }
            }
            // The engine's checkpoint: the file read so far into the state, and a session
            // reading on from where it stands. When it has no such point now (inside a
            // record, or a compressed file's frame), it is tried again at the next round.
            if options.stateDir != nil && path != "-" && session.hasInput && (stop || Date() >= nextCheckpoint),
                let bytes = session.checkpointBytes, let at = log.checkpointPoint(decodedBytes: bytes),
                let check = Self.tailCheck(path: path, device: at.device, inode: at.inode, before: at.stored)
            {
                let stored = at.plain ? nil : hashStored(device: at.device, inode: at.inode, to: at.stored)
                if at.plain || stored != nil {
                    nextCheckpoint = Date().addingTimeInterval(options.checkpointEvery)
                    // Every rejected line read so far is in the rejects file for good first.
                    let rejectsBytes = try rejects?.sync() ?? -1
                    guard
                        let (point, notes) = try session.checkpoint(
                            device: at.device, inode: at.inode, rejectsBytes: rejectsBytes, tailCheck: check,
                            stored: stored.map { StateStore.FollowResume.Stored(offset: at.stored, hasher: $0.words) })
                    else { preconditionFailure("a session with a point to checkpoint at did not") }
                    for n in notes { note(n) }
                    session = try newSession(resume: point)
                }
            }
            // The follow point moves on at each emit, and at once when another file is
            // opened: a rotation while nothing follows is then found from the file noted last.
            openedSeen = log.opened
            if options.stateDir != nil && path != "-", let at = log.followPoint() {
                let point = StateStore.FollowPoint(path: path, device: at.device, inode: at.inode, offset: at.offset)
                if point.inode != checkpoint?.inode || point.device != checkpoint?.device || (emitting && point != checkpoint) {
                    try store.setFollowPoint(point)
                    checkpoint = point
                }
            }
            options.onTurn?()
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

    /// The hash of the stored bytes of the compressed file followed, up to where a
    /// checkpoint last stood in it (or a point it was resumed from): continued from there
    /// by `hashStored`, so that a checkpoint reads only the bytes since the last one.
    private var storedHash: (device: UInt64, inode: UInt64, hasher: ContentHasher)?

    /// The hash of the first `offset` bytes of the file under `path`, if it is the file
    /// `device` and `inode` name and holds them: `storedHash` continued (or begun again,
    /// for another file).
    private func hashStored(device: UInt64, inode: UInt64, to offset: Int64) -> ContentHasher? {
        var hasher = ContentHasher()
        if let h = storedHash, h.device == device, h.inode == inode, h.hasher.byteCount <= offset { hasher = h.hasher }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_dev) == device, UInt64(st.st_ino) == inode else { return nil }
        var bytes = [UInt8](repeating: 0, count: 1 << 20)
        while hasher.byteCount < offset {
            let want = Int(min(Int64(bytes.count), offset - hasher.byteCount))
            let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(hasher.byteCount)) }
            guard got > 0 else { return nil }
            bytes.withUnsafeBytes { hasher.update(UnsafeRawBufferPointer(rebasing: $0[0..<got])) }
        }
        storedHash = (device, inode, hasher)
        return hasher
    }

    /// The engine session for the file now followed, continuing from the state (and, with
    /// `resume`, from where the state stands in the file).
    private func newSession(resume: StateStore.FollowResume? = nil) throws -> EngineSession {
        try EngineSession(
            state: store, settings: settings, name: path, pseudonymiser: pseudonymiser, rejects: rejects,
            execution: execution, resume: resume, arrivals: arrivals)
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

    /// A restart with `--state`. When the engine stands part way through a file
    /// (`Manifest.following`): if that file still has the name, it is read on from there
    /// (returned, open); if it was renamed (found in the same folder by its inode), its
    /// bytes after that point are read and it is finished; if it is gone or shorter, what
    /// the engine holds of it is all of it. Otherwise the file the last follow point
    /// names is read again from its start, which needs nothing done here, unless another
    /// file now has its name; then the old one, found by its inode, is finished first.
    private func resumeFromCheckpoint() throws -> (point: StateStore.FollowResume, descriptor: Int32)? {
        if let f = store.manifest?.following { return try resume(f) }
        guard let point = try store.followPoint(), point.path == path, path != "-" else { return nil }
        var st = stat()
        if stat(path, &st) == 0 && UInt64(st.st_dev) == point.device && UInt64(st.st_ino) == point.inode {
            if Int64(st.st_size) < point.offset {
                note(
                    "callsift: warning: \(path) is shorter than when it was checkpointed (\(st.st_size) bytes, \(point.offset) read then): it was truncated while nothing followed it, and what was cut is not counted"
                )
                return nil
            }
            note(
                "callsift: continuing from the checkpoint in \(store.path): \(path) (\(point.offset) bytes read then) is read again from its start; its events are not in the state until it is finished"
            )
            return nil
        }
        let folder = (path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        for name in names.sorted() {
            let candidate = (dir as NSString).appendingPathComponent(name)
            if stat(candidate, &st) == 0 && UInt64(st.st_dev) == point.device && UInt64(st.st_ino) == point.inode {
                note("callsift: \(path) was rotated while nothing followed it; finishing \(candidate), the file followed at the last checkpoint")
                try feed([candidate])
                return nil
            }
        }
        note(
            "callsift: warning: the file followed at the last checkpoint (\(path), inode \(point.inode), \(point.offset) bytes read) is no longer in \(dir); its events are not counted"
        )
        return nil
    }

    /// `resumeFromCheckpoint` when the engine stands at `f`.
    private func resume(_ f: StateStore.FollowResume) throws -> (point: StateStore.FollowResume, descriptor: Int32)? {
        func same(_ st: stat) -> Bool { UInt64(st.st_dev) == f.device && UInt64(st.st_ino) == f.inode }
        var st = stat()
        let fd = f.path == path ? open(path, O_RDONLY | O_CLOEXEC) : -1
        if fd >= 0 && fstat(fd, &st) == 0 && same(st) {
            if Int64(st.st_size) >= f.offset && Self.tailCheck(descriptor: fd, before: f.offset) != f.tailCheck {
                close(fd)
                note(
                    "callsift: warning: \(path) no longer holds the bytes it held at the checkpoint before byte \(f.offset) (copied and truncated while nothing followed it?): the state keeps its first \(f.offset) bytes as the whole of it, and what it holds now is followed as a new file"
                )
                try finishResumed(f, readingOn: nil)
                return nil
            }
            if Int64(st.st_size) >= f.offset {
                note("callsift: continuing from the checkpoint in \(store.path): \(path) from byte \(f.offset) (line \(f.parser.nextLine))")
                cutRejects(back: f)
                return (f, fd)
            }
            close(fd)
            note(
                "callsift: warning: \(path) is shorter than at the checkpoint (\(st.st_size) bytes, \(f.offset) in the state): it was truncated while nothing followed it; the state keeps its first \(f.offset) bytes as the whole of it, and what it holds now is followed as a new file"
            )
            try finishResumed(f, readingOn: nil)
            return nil
        }
        if fd >= 0 { close(fd) }
        let folder = (f.path as NSString).deletingLastPathComponent
        let dir = folder.isEmpty ? "." : folder
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() {
            let candidate = (dir as NSString).appendingPathComponent(name)
            if stat(candidate, &st) == 0 && same(st) {
                guard Self.tailCheck(path: candidate, device: f.device, inode: f.inode, before: f.offset) == f.tailCheck else {
                    note(
                        "callsift: warning: \(candidate), the file read at the checkpoint, no longer holds the bytes it held before byte \(f.offset); the state keeps its first \(f.offset) bytes as the whole of it"
                    )
                    try finishResumed(f, readingOn: nil)
                    return nil
                }
                note("callsift: \(f.path) was rotated while nothing followed it; finishing \(candidate) from byte \(f.offset), where the checkpoint left it")
                cutRejects(back: f)
                try finishResumed(f, readingOn: candidate)
                return nil
            }
        }
        note(
            "callsift: warning: the file read at the checkpoint (\(f.path), inode \(f.inode)) is no longer in \(dir); the state keeps its first \(f.offset) bytes as the whole of it"
        )
        try finishResumed(f, readingOn: nil)
        return nil
    }

    /// The fingerprint of the last `FollowResume.tailLength` bytes (or fewer) before byte
    /// `offset` of the file under `path`, if it is the file `device` and `inode` name and
    /// holds them.
    static func tailCheck(path: String, device: UInt64, inode: UInt64, before offset: Int64) -> UInt64? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, UInt64(st.st_dev) == device, UInt64(st.st_ino) == inode else { return nil }
        return tailCheck(descriptor: fd, before: offset)
    }

    /// `tailCheck` of the open file `fd`; nil if it is shorter than `offset`.
    static func tailCheck(descriptor fd: Int32, before offset: Int64) -> UInt64? {
        let n = Int(min(offset, Int64(StateStore.FollowResume.tailLength)))
        var bytes = [UInt8](repeating: 0, count: n)
        let got = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, n, off_t(offset - Int64(n))) }
        guard got == n else { return nil }
        return bytes.withUnsafeBytes { ContentFingerprint.of($0).high }
    }

    /// Cuts the rejects file back to its size at the checkpoint `f`: the lines after it were
    /// read after the checkpoint, and are read (and written) again. A rejects file shorter
    /// than that is another one, left as it is.
    private func cutRejects(back f: StateStore.FollowResume) {
        guard let p = options.rejectsPath, f.rejectsBytes >= 0 else { return }
        var st = stat()
        if stat(p, &st) == 0 && Int64(st.st_size) > f.rejectsBytes { _ = truncate(p, off_t(f.rejectsBytes)) }
    }

    /// Finishes the file the engine stands part way through into the state: read on from
    /// the point in `file` (decoded, if it is compressed), or, nil, ended at the point.
    private func finishResumed(_ f: StateStore.FollowResume, readingOn file: String?) throws {
        let s = try EngineSession(
            state: store, settings: settings, name: f.path, pseudonymiser: pseudonymiser, rejects: rejects,
            execution: execution, resume: f)
        // A compressed file's fingerprint is of its stored bytes (a plain one's, of the
        // bytes its parser has hashed since its start).
        var fingerprint = f.storedHash?.finish()
        if let file {
            let fd = open(file, O_RDONLY | O_CLOEXEC)
            guard fd >= 0, lseek(fd, off_t(f.offset), SEEK_SET) == off_t(f.offset) else {
                if fd >= 0 { close(fd) }
                throw InputError(input: file, offset: f.offset, message: "cannot read on from the checkpoint: \(String(cString: strerror(errno)))")
            }
            let reader = try InputReader(descriptor: fd, name: f.path, hashedBefore: f.storedHash ?? ContentHasher())
            while try reader.readChunk({ s.push($0) }) != nil {}
            fingerprint = reader.contentFingerprint()
        }
        for n in try s.commit(fingerprint: fingerprint) { note(n) }
    }

    /// Writes `report` (as `-o` would, replacing the file atomically) and the metrics file.
    private func emit(_ report: Report) throws {
        var report = report
        report.statePath = options.stateDir
        let text = options.csv ? Array(CSVReportWriter.render(report).utf8) : JSONReportWriter.renderBytes(report)
        try AtomicFile.write(text, to: options.output)
        if let m = options.metricsFile {
            try AtomicFile.write(Array(PrometheusText.render(report).utf8), to: m)
        }
        options.onEmit?(report, bytesRead)
    }
}

/// Replacing a file so that a reader sees the old bytes or the new, never a mix: a file
/// sink replaces its path whole (`FileOutput`: written aside, synced, renamed over it, the
/// folder synced).
package enum AtomicFile {
    package static func write(_ bytes: [UInt8], to path: String) throws {
        let sink = try makeByteSink(path: path, compression: .none)
        try sink.write(bytes)
        try sink.finish()
    }
}
