import CallSiftCore
import CallSiftInput
import Foundation

/// Where every line of input went (docs/metrics.md, "Accounting"), for one input or summed
/// over many.
///
/// `lines = events + duplicates + rejected_total + late + skipped`, where events and
/// duplicates are decided by call assembly and the rest while reading. Adapters decide
/// some duplicates themselves (a record delivered twice), counted here in `duplicates`
/// and added to the assembler's in the output.
public struct LineAccounting: Sendable, Equatable {
    public var lines: Int64 = 0
    public var late: Int64 = 0
    public var skipped: Int64 = 0
    /// Records an adapter recognised as re-deliveries; always 0 for CSV and NDJSON.
    public var duplicates: Int64 = 0
    /// `skipped` by kind (each format's kinds, `FormatRegistry`), those counted only.
    public var skippedKinds: [SkipKind: Int64] = [:]
    /// Indexed like `RejectReason.allCases`.
    public var rejected = [Int64](repeating: 0, count: RejectReason.allCases.count)

    public init() {}

    public var rejectedTotal: Int64 { rejected.reduce(0, +) }

    package mutating func skip(_ kind: SkipKind) {
        skipped += 1
        skippedKinds[kind, default: 0] += 1
    }

    /// Records skipped as `kind`.
    public func skipped(_ kind: SkipKind) -> Int64 { skippedKinds[kind] ?? 0 }

    package mutating func reject(_ reason: RejectReason) { rejected[Self.index(reason)] += 1 }

    public func rejected(_ reason: RejectReason) -> Int64 { rejected[Self.index(reason)] }

    package static func index(_ reason: RejectReason) -> Int { RejectReason.allCases.firstIndex(of: reason)! }

    public mutating func merge(_ other: LineAccounting) {
        lines += other.lines
        late += other.late
        skipped += other.skipped
        duplicates += other.duplicates
        for (k, v) in other.skippedKinds { skippedKinds[k, default: 0] += v }
        for i in rejected.indices { rejected[i] += other.rejected[i] }
    }
}

/// The `--rejects` file: `line_no<TAB>reason<TAB>raw` per rejected or late line.
///
/// It holds input lines exactly as read (the one place caller numbers may appear, so an
/// operator can mend them); it is written only when asked for. A line over 64 KiB is
/// written cut at 64 KiB.
/// `@unchecked Sendable`: written by one parser at a time (each input of a run with
/// several writes to a spool file of its own, `RejectsSpool`, joined at the end).
public final class RejectsLog: @unchecked Sendable {
    private var sink: ByteSink?
    private let path: String?
    private var line: [UInt8] = []

    public init(sink: ByteSink) { self.sink = sink; path = nil }

    /// A log whose file is created at `path` on the first line written.
    init(lazyPath: String) { sink = nil; path = lazyPath }

    var isEmpty: Bool { sink == nil }

    /// Appends bytes already in the file's format.
    func append(_ bytes: UnsafeRawBufferPointer) throws {
        if sink == nil, let path { sink = try makeByteSink(path: path, compression: .none, ownerOnly: true) }
        try sink!.write(bytes)
    }

    func write(lineNo: Int64, reason: String, raw: UnsafeRawBufferPointer) throws {
        if sink == nil, let path { sink = try makeByteSink(path: path, compression: .none, ownerOnly: true) }
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: String(lineNo).utf8)
        line.append(0x09)
        line.append(contentsOf: reason.utf8)
        line.append(0x09)
        line.append(contentsOf: raw)
        line.append(0x0A)
        try sink!.write(line)
    }

    public func finish() throws { try sink?.finish() }

    /// Makes what was written durable; the file's size then (nil: no file yet, or not one).
    package func sync() throws -> Int64? { try sink?.sync() }
}

/// One rejects file per input while a run reads several, joined in input order at the
/// end: the rejects file is then the same whatever order the inputs were read in.
package final class RejectsSpool {
    private let dir: URL
    private let logs: [RejectsLog]

    package init(count: Int) throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-rejects-\(UUID().uuidString)")
        // Raw input lines, caller numbers and all: for this user's eyes only.
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        self.dir = dir
        logs = (0..<count).map { RejectsLog(lazyPath: dir.appendingPathComponent("\($0)").path) }
    }

    deinit { try? FileManager.default.removeItem(at: dir) }

    package func log(_ i: Int) -> RejectsLog { logs[i] }

    /// Appends every input's rejects to `target`, in input order.
    package func drain(into target: RejectsLog) throws {
        for (i, log) in logs.enumerated() where !log.isEmpty {
            try log.finish()
            let reader = try InputReader(path: dir.appendingPathComponent("\(i)").path)
            while try reader.readChunk({ try target.append($0) }) != nil {}
            reader.close()
        }
    }
}
