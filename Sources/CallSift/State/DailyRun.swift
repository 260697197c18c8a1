import CallSiftCore
import CallSiftInput
import CallSiftFormats
import Foundation

/// One run with `--state DIR` (docs/metrics.md, "Daily runs"): checks the fixed settings,
/// leaves out inputs fed before, continues the engine from the state, writes the new
/// state, and reports on everything the state has counted.
public enum DailyRun {
    public struct Result {
        /// Everything the state has counted, every row marked final or provisional.
        public var report: Report
        /// Inputs that ended with an error; the state is then left as it was.
        public var errors: [InputError]
        public var stats: Analysis.Stats
        /// What stderr should say: inputs left out as fed before, a state left unchanged.
        public var notes: [String]
        /// Whether a new state was written.
        public var committed: Bool
    }

    /// - Parameters:
    ///   - inputs: files, folders or `-`; empty to report on the state as it is, with the
    ///     settings it was created with (only `settings`' output options count then, and
    ///     the key is not used).
    ///   - memory: inputs held in memory (a log `--follow` follows), each given in `inputs`
    ///     by its name.
    ///   - preview: report as if `inputs` were fed, but write nothing (the file `--follow`
    ///     is still reading): the state is neither encoded nor committed.
    public static func run(
        state: StateStore, settings given: AnalysisSettings, inputs: [String], pseudonymiser: Pseudonymiser,
        rejects: RejectsLog? = nil, execution: ExecutionOptions = ExecutionOptions(),
        memory: [MemoryInput] = [], preview: Bool = false, closingRejects: Bool = true,
        progress: ((Analysis.Progress) -> Void)? = nil
    ) throws -> Result {
        var settings = given
        let fixed = StateStore.Fixed(settings: settings, pseudonymiser: pseudonymiser)
        if let m = state.manifest {
            if inputs.isEmpty {
                settings = m.fixed.applied(to: given)
            } else if let problem = fixed.mismatch(with: m.fixed, dir: state.path) {
                throw UsageError(problem)
            }
        }
        var notes: [String] = []
        if !inputs.isEmpty && !preview { state.removeStrays() }

        // Identity is by content: a file whose bytes were fed before, under any name, or
        // given twice in this run, is left out.
        var prior: [ContentFingerprint: String] = [:]
        for f in state.manifest?.files ?? [] {
            if let c = f.content, prior[c] == nil { prior[c] = f.path }
        }
        var seen = prior
        var feed: [String] = []
        for path in try inputs.flatMap({ name in memory.contains { $0.name == name } ? [name] : try Analysis.expand([name]) }) {
            let held = memory.first { $0.name == path }
            guard path != "-" || held != nil else { feed.append(path); continue }
            guard let content = held?.fingerprint ?? ContentFingerprint.ofFile(path) else { feed.append(path); continue }  // the run reports it
            if let earlier = seen[content] {
                notes.append("callsift: \(path) has the same content as \(earlier), already fed into \(state.path); left out")
                continue
            }
            seen[content] = path
            var st = stat()
            if let f = state.manifest?.following, held == nil, stat(path, &st) == 0, UInt64(st.st_dev) == f.device,
                UInt64(st.st_ino) == f.inode
            {
                throw UsageError(
                    "\(path) is the file --follow was reading into \(state.path) when it last stopped (its first \(f.offset) bytes are in the state): fed now, they would be counted twice; start the follower again to finish it"
                )
            }
            feed.append(path)
        }

        /// Runs `files` on from the state; `keep`: and writes the engine state after them,
        /// under a temporary name, for `commit` (or `discard`).
        func analyse(_ files: [String], rejects: RejectsLog?, keep: Bool) throws -> Analysis.Outcome {
            let out = keep ? try state.engineWriter() : nil
            do {
                let continuation = Analysis.Continuation(
                    engineState: state.engine, engineFile: state.enginePath ?? state.path, engineOut: out, store: state)
                let analysis = try Analysis(
                    settings: settings, inputs: files, pseudonymiser: pseudonymiser, rejects: rejects,
                    execution: execution, continuation: continuation, memory: memory, progress: progress)
                analysis.finishesRejects = closingRejects
                return try analysis.run()
            } catch {
                out?.discard()
                throw error
            }
        }
        var outcome = try analyse(feed, rejects: rejects, keep: !feed.isEmpty && !preview)
        var commit = outcome.engineState != nil
        if !outcome.errors.isEmpty {
            commit = false
            notes.append("callsift: \(state.path) left unchanged: an input could not be read to its end; mend or remove it and run again")
        }
        if commit, feed.contains("-"),
            let stdin = outcome.report.inputFiles.first(where: { $0.path == "-" })?.content, let earlier = prior[stdin]
        {
            // Known only once read: standard input repeated an earlier input.
            notes.append("callsift: standard input has the same content as \(earlier), already fed into \(state.path); left out")
            commit = false
            outcome.engineState?.discard()
            outcome = try analyse([], rejects: nil, keep: false)
        }

        var manifest = state.manifest ?? StateStore.Manifest(fixed: fixed)
        if let engine = outcome.engineState {
            if commit, let old = outcome.upgradedFrom {
                notes.append("callsift: \(state.path): state of format version \(old) upgraded to version \(StateFormat.version)")
            }
            if commit {
                manifest.inputs += inputs
                manifest.files += outcome.report.inputFiles
                do {
                    try state.commit(manifest, engine: engine)
                } catch {
                    engine.discard()
                    throw error
                }
            } else {
                engine.discard()
            }
        }
        var report = outcome.report
        report.inputs = manifest.inputs + (preview ? feed : [])
        report.inputFiles = manifest.files + (preview ? outcome.report.inputFiles : [])
        report.statePath = state.path
        report.marksFinal = true
        return Result(report: report, errors: outcome.errors, stats: outcome.stats, notes: notes, committed: commit)
    }
}

extension ContentFingerprint {
    /// The fingerprint of the file at `path`, read whole; nil when it cannot be read.
    public static func ofFile(_ path: String) -> ContentFingerprint? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        var hasher = ContentHasher()
        while true {
            let chunk: Data?
            do { chunk = try handle.read(upToCount: 1 << 22) } catch { return nil }
            guard let data = chunk, !data.isEmpty else { break }  // nil or empty: the end
            data.withUnsafeBytes { hasher.update($0) }
        }
        return hasher.finish()
    }
}
