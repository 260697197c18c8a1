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
    /// recursively, sorted by path; hidden files are skipped.
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
                found.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) }
                out += found.map { (input as NSString).appendingPathComponent($0) }
            } else {
                out.append(input)
            }
        }
        return out
    }
}
