import CallSiftCore
import CallSiftInput
import Foundation

/// A `ByteSink` for generated CSV that writes one file per centre and UTC day, as centres
/// deliver their logs: `DIR/YYYY-MM-DD/CENTRE.csv` (plus the compression's suffix), each
/// starting with the header row.
///
/// A line goes to the file of its own centre and `ts` day (fields in quotes read without
/// them); a line naming neither (a
/// garbage line, a bad timestamp, a repeated header) stays in the file of the line before
/// it, as it would in a real log. Files whose day is two or more days behind the latest
/// line are finished, so only a few days' files are open at once; a line that comes for
/// a finished file (a late event) is appended to it as a new frame, which readers take as
/// one stream.
public final class CentreDaySplitSink: ByteSink {
    private struct Key: Hashable { var centre: [UInt8]; var day: Int64 }

    private let directory: String
    private let compression: Compression
    private var open: [Key: ByteSink] = [:]
    private var made: Set<Key> = []
    private var header: [UInt8]?
    private var pending: [UInt8] = []
    private var current: Key?
    private var latestDay = Int64.min
    /// Files written, in the order they were made.
    public private(set) var paths: [String] = []

    public init(directory: String, compression: Compression) throws {
        self.directory = directory
        self.compression = compression
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        var start = 0
        for i in 0..<bytes.count where bytes[i] == 0x0A {
            pending.append(contentsOf: bytes[start...i])
            try line(pending)
            pending.removeAll(keepingCapacity: true)
            start = i + 1
        }
        pending.append(contentsOf: bytes[start...])
    }

    public func finish() throws {
        if !pending.isEmpty { try line(pending + [0x0A]) }
        for s in open.values { try s.finish() }
        open.removeAll()
    }

    private func line(_ bytes: [UInt8]) throws {
        guard let header else {
            header = bytes
            return
        }
        var key = current
        let fields = bytes.split(separator: 0x2C, maxSplits: 2, omittingEmptySubsequences: false)
        // A field in quotes (the generator quotes some lines whole) is read without them.
        func unquoted(_ f: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
            f.count >= 2 && f.first == 0x22 && f.last == 0x22 && !f.dropFirst().dropLast().contains(0x22) ? f.dropFirst().dropLast() : f
        }
        if bytes != header, fields.count >= 3, !unquoted(fields[1]).isEmpty,
            let ts = unquoted(fields[0]).withUnsafeBytes({ Timestamp.parse($0) })
        {
            key = Key(centre: Array(unquoted(fields[1])), day: floorDivMod(ts, 86_400_000).quotient)
        }
        guard let key else { return }  // nothing placeable yet: the line has no file
        current = key
        try sink(for: key).write(bytes)
        if key.day > latestDay {
            latestDay = key.day
            for (k, s) in open where k.day <= latestDay - 2 {
                try s.finish()
                open[k] = nil
            }
        }
    }

    private func sink(for key: Key) throws -> ByteSink {
        if let s = open[key] { return s }
        let folder = (directory as NSString).appendingPathComponent(Period.day.label(ofDay: Int32(truncatingIfNeeded: key.day)))
        let suffix = compression == .none ? "" : "." + (compression == .zstd ? "zst" : compression == .gzip ? "gz" : "lz4")
        let path = (folder as NSString).appendingPathComponent(String(decoding: key.centre, as: UTF8.self) + ".csv" + suffix)
        let isNew = made.insert(key).inserted
        if isNew {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            paths.append(path)
        }
        let s = try makeByteSink(path: path, compression: compression, append: !isNew)
        if isNew { try s.write(header!) }
        open[key] = s
        return s
    }
}
