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

extension Analysis {
    /// Files of `inputs` in reading order: a folder contributes its regular files,
    /// recursively, in `RotationOrder` (by path, a log's rotated files oldest first);
    /// hidden files are skipped.
    public static func expand(_ inputs: [String]) throws -> [String] {
        var out: [String] = []
        let fm = FileManager.default
        for input in inputs {
            var isDir: ObjCBool = false
            if input != "-", fm.fileExists(atPath: input, isDirectory: &isDir), isDir.boolValue {
                guard let e = fm.enumerator(atPath: input) else { throw UsageError("cannot read folder \(input)") }
                var found: [String] = []
                while let rel = e.nextObject() as? String {
                    let name = (rel as NSString).lastPathComponent
                    if name.hasPrefix(".") { if (e.fileAttributes?[.type] as? FileAttributeType) == .typeDirectory { e.skipDescendants() }; continue }
                    if (e.fileAttributes?[.type] as? FileAttributeType) == .typeRegular { found.append(rel) }
                }
                found.sort(by: RotationOrder.precedes)
                out += found.map { (input as NSString).appendingPathComponent($0) }
            } else {
                out.append(input)
            }
        }
        return out
    }
}

/// The order of a folder's files (docs/metrics.md, "Input records"): by path as bytes,
/// except that the files logrotate leaves of one log are read oldest first. A file's
/// *log* is its path less a compression suffix (`.gz`, `.zst`, `.zstd`, `.lz4`, `.xz`,
/// `.bz2`) and then a rotation suffix: a number (`queue_log.2.gz`: older the higher) or a
/// date (`queue_log-20261206`, `-2026-12-06`, with an hour or time after it or not; older
/// the earlier). The files of one log come numbered first, highest number first, then
/// dated, earliest first, then the log itself, which is being written to.
enum RotationOrder {
    /// Whether `a` is read before `b`.
    static func precedes(_ a: String, _ b: String) -> Bool {
        let x = key(a), y = key(b)
        if x.log != y.log { return x.log.utf8.lexicographicallyPrecedes(y.log.utf8) }
        if x.rank != y.rank { return x.rank < y.rank }
        if x.age != y.age { return x.rank == 0 ? x.age > y.age : x.age < y.age }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// A file's log, and where it stands among the log's files: rank 0 numbered (age the
    /// number), 1 dated (age the date's digits, to the second), 2 the log itself.
    static func key(_ path: String) -> (log: String, rank: Int, age: UInt64) {
        var name = Substring(path)
        for suffix in [".gz", ".zst", ".zstd", ".lz4", ".xz", ".bz2"] where name.hasSuffix(suffix) {
            name = name.dropLast(suffix.count)
            break
        }
        // A number after a dot: logrotate's numbered files.
        if let dot = name.lastIndex(of: "."), dot != name.startIndex {
            let digits = name[name.index(after: dot)...]
            if (1...6).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }), let n = UInt64(digits) {
                return (String(name[..<dot]), 0, n)
            }
        }
        // A date after a dash, dot or underscore: logrotate's `dateext`.
        if let (log, digits) = datedSuffix(name) {
            return (log, 1, UInt64(digits.padding(toLength: 14, withPad: "0", startingAt: 0)) ?? 0)
        }
        return (String(name), 2, 0)
    }

    /// `name` as a log and the digits of a date (and time) it ends with, if it does:
    /// `YYYYMMDD` or `YYYY-MM-DD`, then an hour, minutes and seconds or not, after a
    /// separator or not.
    private static func datedSuffix(_ name: Substring) -> (String, String)? {
        let chars = Array(name.utf8)
        var i = chars.count
        var digits: [UInt8] = []
        // Walk back over digits and the separators a date or time may hold.
        while i > 0 {
            let c = chars[i - 1]
            if c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9") {
                digits.insert(c, at: 0)
            } else if c == UInt8(ascii: "-") || c == UInt8(ascii: "_") || c == UInt8(ascii: "T") {
                // Part of the stamp if more digits come before it.
                guard i > 1, chars[i - 2] >= UInt8(ascii: "0"), chars[i - 2] <= UInt8(ascii: "9") else { break }
            } else {
                break
            }
            i -= 1
        }
        // The stamp must start with a date, after a separator that is not part of it.
        guard [8, 10, 12, 14].contains(digits.count), i > 1 else { return nil }
        let separator = chars[i - 1]
        guard separator == UInt8(ascii: "-") || separator == UInt8(ascii: ".") || separator == UInt8(ascii: "_") else { return nil }
        let d = String(decoding: digits, as: UTF8.self)
        guard let year = Int(d.prefix(4)), (1970...2999).contains(year), let month = Int(d.dropFirst(4).prefix(2)), (1...12).contains(month),
            let day = Int(d.dropFirst(6).prefix(2)), (1...31).contains(day)
        else { return nil }
        return (String(decoding: chars[..<(i - 1)], as: UTF8.self), d)
    }
}
