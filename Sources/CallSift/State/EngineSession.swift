import CallSiftCore
import CallSiftInput
import CallSiftFormats
import Foundation

/// The engine kept running over one input that arrives a piece at a time (the log
/// `--follow` follows), continuing from a state (docs/architecture.md, "The engine
/// session").
///
/// - `push` gives it the input's next bytes (whole lines); they go through every stage at
///   once, and nothing is read twice.
/// - `report()` gives the report as if the input ended now, without disturbing the run:
///   the same bytes as a daily run over the state and the bytes so far would print, and
///   at a cost set by the calls in progress and the rows, not by what was read before.
/// - `commit(fingerprint:)` ends the input and writes it into the state as a daily run
///   writes a file it was given (`DailyRun`); the session is then used up.
/// - `checkpoint(device:inode:)` writes the input so far into the state, as a commit
///   does, and records where it stands (`StateStore.FollowResume`), so that a session
///   made with that point (`resume`) reads on from there, now or after a restart, as this
///   one would have; this session is then used up.
///
/// Dropped without a commit, it leaves the state as it found it.
final class EngineSession {
    let name: String
    private let state: StateStore
    private let settings: AnalysisSettings
    private let pseudonymiser: Pseudonymiser
    private let run: AnalysisRun
    private var used = false
    /// The point this session read on from (its input's bytes before it are in the state).
    private let resumed: StateStore.FollowResume?

    /// - Parameters:
    ///   - name: the input's name (its path, or `-`) in reports and the state.
    ///   - resume: the state's `following`, when this session reads on from it.
    init(
        state: StateStore, settings: AnalysisSettings, name: String, pseudonymiser: Pseudonymiser,
        rejects: RejectsLog?, execution: ExecutionOptions, resume: StateStore.FollowResume? = nil,
        arrivals: HourlyArrivals? = nil
    ) throws {
        precondition(resume == nil || resume == state.manifest?.following, "a session resumes where the state stands")
        resumed = resume
        if let problem = FormatRegistry.problem(settings) { throw UsageError(problem) }
        self.name = name
        self.state = state
        self.settings = settings
        self.pseudonymiser = pseudonymiser
        state.removeStrays()
        let continuation = Analysis.Continuation(
            engineState: state.engine, engineFile: state.enginePath ?? state.path, engineOut: nil, store: state)
        run = try AnalysisRun(
            settings: settings, inputs: [name], files: [name], memory: [:], pseudonymiser: pseudonymiser,
            rejects: rejects, execution: execution, continuation: continuation, progress: nil, pushed: true,
            resume: resume?.parser)
        run.arrivals = arrivals
        run.merge()
    }

    deinit { run.shutDown() }

    /// The input's next bytes.
    func push(_ bytes: UnsafeRawBufferPointer) {
        precondition(!used, "push into a session already committed")
        pushedBytes += bytes.count
        // A megabyte at a time: the events of one push wait in one batch.
        var at = 0
        while at < bytes.count {
            let n = min(bytes.count - at, 1 << 20)
            run.push(UnsafeRawBufferPointer(rebasing: bytes[at..<at + n]))
            at += n
        }
    }

    /// Whether any bytes were pushed.
    var hasInput: Bool { pushedBytes > 0 }
    private var pushedBytes = 0

    /// The report on the state and the input so far, as if it ended now, every row
    /// marked final or provisional.
    ///
    /// - Parameter includingInput: false for a report on the state alone (the session must
    ///   then have been given nothing).
    func report(includingInput: Bool = true, dayRows: Bool = false) -> Report {
        precondition(!used, "report of a session already committed")
        precondition(includingInput || !hasInput, "a report without the input of a session that has read some")
        var report = run.preview(dayRows: dayRows).report
        if !includingInput { report.inputFiles = [] }
        if let resumed, !report.inputFiles.isEmpty { report.inputFiles[0].lines += resumed.lines }
        report.inputs = (state.manifest?.inputs ?? []) + (includingInput ? [name] : [])
        report.inputFiles = (state.manifest?.files ?? []) + report.inputFiles
        report.statePath = state.path
        report.marksFinal = true
        return report
    }

    /// Ends the input and writes it into the state (crash-safe, as a daily run commits).
    /// An input whose content was fed before is left out, with a note.
    ///
    /// - Parameter fingerprint: the input's content as stored (a compressed log's
    ///   compressed bytes, all of them when the session read on from a point); nil for
    ///   that of the bytes pushed.
    /// - Returns: what stderr should say.
    func commit(fingerprint: ContentFingerprint?) throws -> [String] {
        try write(fingerprint: fingerprint, following: nil).notes
    }

    /// The bytes of its input `checkpoint` would write as read, if it would write now.
    var checkpointBytes: Int64? { used ? nil : run.resumePoint()?.bytes }

    /// Writes the input so far into the state, with where it stands (the file's `device`
    /// and `inode`), for a session to read on from (`resume`); the session is then used
    /// up. Nil, with nothing written, when its parser has no such point now (inside a
    /// record, or a format adapter's input: `InputParser.resumePoint`), and the session
    /// goes on. `rejectsBytes`: the `--rejects` file's size, synced, with every line read
    /// so far (-1: none); `tailCheck`: the fingerprint of the file's last bytes before
    /// the point (`FollowResume.tailCheck`); `stored`: for a compressed file, where the
    /// point stands in its stored bytes (a frame's end) and their hash.
    func checkpoint(
        device: UInt64, inode: UInt64, rejectsBytes: Int64, tailCheck: UInt64, stored: StateStore.FollowResume.Stored? = nil
    ) throws -> (resume: StateStore.FollowResume, notes: [String])? {
        precondition(!used, "checkpoint of a session already committed")
        guard let parser = run.resumePoint() else { return nil }
        let point = StateStore.FollowResume(
            path: name, device: device, inode: inode, lines: 0, parser: parser, rejectsBytes: rejectsBytes,
            tailCheck: tailCheck, stored: stored)
        let (notes, written) = try write(fingerprint: nil, following: point)
        guard let written else { throw StateError("\(state.path): the checkpoint of \(name) was not written: \(notes.joined(separator: "; "))") }
        return (written, notes)
    }

    /// Ends the input and writes it into the state: as a file fed whole (`following` nil),
    /// or as the part of the file `following` names read so far (its lines counted here).
    /// Returns what stderr should say, and the point written (nil if nothing was).
    private func write(
        fingerprint: ContentFingerprint?, following: StateStore.FollowResume?
    ) throws -> (notes: [String], following: StateStore.FollowResume?) {
        precondition(!used, "a session is committed once")
        used = true
        // A session that read on from a point in a plain file has the hash of every byte of
        // it in its parser (a `fingerprint` given would be of the bytes after the point); a
        // compressed file's fingerprint is given continued from the point's (`Stored`).
        run.endPushed(fingerprint: resumed == nil || resumed?.stored != nil ? fingerprint : nil)
        let out = try state.engineWriter()
        let outcome: Analysis.Outcome
        do {
            outcome = try run.finish(engineOut: out, finishingRejects: false)
        } catch {
            out.discard()
            throw error
        }
        guard let engine = outcome.engineState else { return ([], nil) }
        var notes: [String] = []
        if let old = outcome.upgradedFrom {
            notes.append("callsift: \(state.path): state of format version \(old) upgraded to version \(StateFormat.version)")
        }
        if !outcome.errors.isEmpty {
            engine.discard()
            return (["callsift: \(state.path) left unchanged: \(name) could not be read to its end"], nil)
        }
        var files = outcome.report.inputFiles
        if let resumed, !files.isEmpty { files[0].lines += resumed.lines }
        if following == nil, resumed == nil, let content = files.first?.content,
            let earlier = state.manifest?.files.first(where: { $0.content == content })
        {
            engine.discard()
            return (["callsift: \(name) has the same content as \(earlier.path), already fed into \(state.path); left out"], nil)
        }
        var manifest = state.manifest ?? StateStore.Manifest(fixed: StateStore.Fixed(settings: settings, pseudonymiser: pseudonymiser))
        var following = following
        following?.lines = files.first?.lines ?? 0
        manifest.following = following
        if following == nil {
            // The file is whole: named once, with every line of it.
            manifest.inputs.append(name)
            manifest.files += files
        }
        do {
            try state.commit(manifest, engine: engine)
        } catch {
            engine.discard()
            throw error
        }
        try state.reloadEngine()
        return (notes, following)
    }

    /// Why the input cannot be read (its first bytes name no format this run can read, say),
    /// once it is known; nothing of it is counted then.
    var inputError: InputError? { run.inputErrors.first }
}
