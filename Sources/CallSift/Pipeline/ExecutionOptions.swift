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

/// How a run is spread over threads. Never changes a figure.
public struct ExecutionOptions: Sendable {
    /// Threads to use: 1 runs everything on the calling thread; more decodes and parses the
    /// open inputs on a pool of this many workers (`InputPool`) and runs the shards side by
    /// side.
    public var threads: Int
    /// Partitions of the keyed stages.
    public var shards: Int
    /// How much watermark progress (ms) separates two sweeps of the caller-scope tables
    /// (`Classifier`). It trades memory against time and changes no result; tests vary it.
    public var scopeSweepInterval: Int64
    /// Three days: daily sweeps cost a tenth of a 30-day national run's CPU time and three
    /// days a third of that, for a table up to two days' stale scopes fuller (measured in
    /// docs/performance.md).
    public static let defaultScopeSweepInterval: Int64 = 3 * 86_400_000
    /// With durable state: how many events of each input are read ahead to find the
    /// centres it names, whose parts are rebuilt side by side before the run; a part found
    /// later is rebuilt when its first event comes. Changes no result; tests vary it.
    var centreScan = 4096
    /// With durable state: when a part's layers of caller scopes are merged. Changes no
    /// result; tests vary it.
    var scopeLayers = ScopeLayer.Policy()

    public init(
        threads: Int = ProcessInfo.processInfo.activeProcessorCount, shards: Int = 1,
        scopeSweepInterval: Int64 = ExecutionOptions.defaultScopeSweepInterval
    ) {
        self.threads = max(1, threads)
        self.shards = max(1, shards)
        self.scopeSweepInterval = max(1, scopeSweepInterval)
    }
}
