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

/// One run of `callsift analyze`: inputs → merged events → calls → contacts →
/// classified contacts → counters → `Report`.
///
/// Stages, each with `record`/`advance`/`finish`:
/// - `InputCursor` per input: decode, cut records, parse, reject, judge lateness;
/// - the merge here: takes events from the inputs in time order and computes the
///   watermark, the least over unfinished inputs of (greatest ts read − lateness);
/// - `CallAssembler` (keyed by centre+call): calls, duplicates, validity;
/// - `Classifier` (keyed by caller scope): avoidable classes and FCR;
/// - `Aggregator`: counters per base group.
/// The watermark tells each keyed stage what is final, so state is dropped as time moves
/// on. Keys are what a parallel version partitions by; see docs/architecture.md.
public final class Analysis {
    public struct Outcome {
        public var report: Report
        /// Inputs that ended with an error (corrupt, truncated or unreadable); everything
        /// read before each error is in the report.
        public var errors: [InputError]
        public var stats: Stats
        /// With a `Continuation` that keeps its state: the engine state file written
        /// (everything still live, and every counter, as of the end of this run's inputs,
        /// before the report finishes everything off), not yet in place.
        var engineState: StateFileWriter.Written?
        /// With durable state: the format version of the engine file continued, when it
        /// was older than this callsift's and the file written (if any) is an upgrade.
        public var upgradedFrom: UInt32?
    }

    /// What a run with `--state` continues from (docs/metrics.md, "Daily runs").
    public struct Continuation {
        /// The engine state file written by the run before (`Outcome.engineState`), and its
        /// checksum as checked when it was read; nil on the first run.
        var engineState: (bytes: StateBytes, checksum: ContentFingerprint)?
        /// Its name, for messages.
        var engineFile: String
        /// Where this run writes its engine state; nil for a run whose engine state is not
        /// kept (a live report, `--follow`): the encoding is then skipped.
        var engineOut: StateFileWriter?
        /// The state folder, whose part files the engine file names (format 3).
        var store: StateStore?
    }

    /// How the run went, for `--stats` and the benchmarks.
    public struct Stats: Sendable {
        public var seconds: Double = 0
        public var events: Int64 = 0
        /// Most calls in progress at once (sampled at each watermark step).
        public var peakLiveCalls = 0
        /// Most caller-scope entries held at once, and the scope tables' size then
        /// (sampled after each step's classification). With classification on threads of
        /// its own, each shard's peak is taken separately and the peaks are summed: exact
        /// with one shard, an upper bound with several.
        public var peakScopes = 0
        public var scopeBytesAtPeak = 0
        /// With durable state: seconds to rebuild the engine from the state read, and to
        /// encode and write the new one; the caller scopes and calls in progress it holds.
        public var restoreSeconds: Double = 0
        public var encodeSeconds: Double = 0
        public var stateScopes = 0
        public var stateCalls = 0
    }

    /// What a progress line shows.
    public struct Progress {
        public var inputsDone: Int
        public var inputs: Int
        public var events: Int64
        public var liveCalls: Int
        public var liveScopes: Int
    }

    let settings: AnalysisSettings
    let inputs: [String]
    let files: [String]
    let pseudonymiser: Pseudonymiser
    let rejects: RejectsLog?
    let progress: ((Progress) -> Void)?
    let execution: ExecutionOptions
    let continuation: Continuation?
    /// Inputs read from memory rather than from the file of their name (`--follow`).
    let memory: [String: MemoryInput]
    /// Whether the run finishes (closes) the rejects file at its end; a follower, whose
    /// runs follow one another into one file, finishes it once itself.
    var finishesRejects = true

    /// - Parameters:
    ///   - inputs: files, folders (their files, recursively, in `RotationOrder`) or `-`.
    ///   - memory: inputs held in memory, each given in `inputs` by its name.
    public init(
        settings: AnalysisSettings, inputs: [String], pseudonymiser: Pseudonymiser,
        rejects: RejectsLog? = nil, execution: ExecutionOptions = ExecutionOptions(),
        continuation: Continuation? = nil, memory: [MemoryInput] = [],
        progress: ((Progress) -> Void)? = nil
    ) throws {
        self.execution = execution
        self.continuation = continuation
        if let problem = FormatRegistry.problem(settings) { throw UsageError(problem) }
        self.settings = settings
        self.inputs = inputs
        let memory = Dictionary(memory.map { ($0.name, $0) }) { a, _ in a }
        self.memory = memory
        self.files = try inputs.flatMap { memory[$0] != nil ? [$0] : try Self.expand([$0]) }
        self.pseudonymiser = pseudonymiser
        self.rejects = rejects
        self.progress = progress
    }

    /// Decodes and parses `inputs` (rejection and lateness included) without assembling
    /// anything: the input side on its own, for benchmarks. Returns the accepted events
    /// and the line accounting.
    public static func parseOnly(_ inputs: [String], settings: AnalysisSettings) throws -> (events: Int, lines: LineAccounting) {
        let builder = EventBuilder(
            centres: Interner(), services: Interner(), reasons: Interner(),
            longCallIDs: LongCallIDs(), pseudonymiser: Pseudonymiser(k0: 1, k1: 2))
        var events = 0
        var lines = LineAccounting()
        var batch: [Event] = []
        batch.reserveCapacity(EventBatch.size)
        for (i, path) in try expand(inputs).enumerated() {
            let parser = InputParser(path: path, index: i, settings: settings, builder: builder, rejects: nil)
            while !parser.isFinished {
                batch.removeAll(keepingCapacity: true)
                parser.fill(&batch, upTo: EventBatch.size)
                events += batch.count
            }
            if let e = parser.error { throw e }
            lines.merge(parser.accounting)
        }
        return (events, lines)
    }

    /// Runs the analysis (`AnalysisRun`, a run's state from its inputs to its report).
    public func run() throws -> Outcome {
        let run = try AnalysisRun(
            settings: settings, inputs: inputs, files: files, memory: memory, pseudonymiser: pseudonymiser,
            rejects: rejects, execution: execution, continuation: continuation, progress: progress)
        defer { run.shutDown() }
        run.merge()
        return try run.finish(finishingRejects: finishesRejects)
    }
}
