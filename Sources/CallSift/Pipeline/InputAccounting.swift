/// Where every line of input went (SPEC.md section 2), for one input or summed over many.
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
    /// `skipped` by kind, indexed like `SkipKind.allCases`.
    public var skippedKinds = [Int64](repeating: 0, count: SkipKind.allCases.count)
    /// Indexed like `RejectReason.allCases`.
    public var rejected = [Int64](repeating: 0, count: RejectReason.allCases.count)

    public init() {}

    public var rejectedTotal: Int64 { rejected.reduce(0, +) }

    mutating func skip(_ kind: SkipKind) {
        skipped += 1
        skippedKinds[SkipKind.allCases.firstIndex(of: kind)!] += 1
    }

    /// Records skipped as `kind`.
    public func skipped(_ kind: SkipKind) -> Int64 { skippedKinds[SkipKind.allCases.firstIndex(of: kind)!] }

    mutating func reject(_ reason: RejectReason) { rejected[Self.index(reason)] += 1 }

    public func rejected(_ reason: RejectReason) -> Int64 { rejected[Self.index(reason)] }

    static func index(_ reason: RejectReason) -> Int { RejectReason.allCases.firstIndex(of: reason)! }

    public mutating func merge(_ other: LineAccounting) {
        lines += other.lines
        late += other.late
        skipped += other.skipped
        duplicates += other.duplicates
        for i in skippedKinds.indices { skippedKinds[i] += other.skippedKinds[i] }
        for i in rejected.indices { rejected[i] += other.rejected[i] }
    }
}

/// The `--rejects` file: `line_no<TAB>reason<TAB>raw` per rejected or late line.
///
/// It holds input lines exactly as read (the one place caller numbers may appear, so an
/// operator can mend them); it is written only when asked for. A line over 64 KiB is
/// written cut at 64 KiB.
public final class RejectsLog {
    private let sink: ByteSink
    private var line: [UInt8] = []

    public init(sink: ByteSink) { self.sink = sink }

    func write(lineNo: Int64, reason: String, raw: UnsafeRawBufferPointer) throws {
        line.removeAll(keepingCapacity: true)
        line.append(contentsOf: String(lineNo).utf8)
        line.append(0x09)
        line.append(contentsOf: reason.utf8)
        line.append(0x09)
        line.append(contentsOf: raw)
        line.append(0x0A)
        try sink.write(line)
    }

    public func finish() throws { try sink.finish() }
}
