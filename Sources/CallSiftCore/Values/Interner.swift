import Foundation

/// Maps repeated strings (centres, services, reasons) to dense `Int32` ids and back.
///
/// Ids are assigned in first-seen order, so they are never used for ordering output:
/// everything printed is sorted by the strings themselves.
///
/// Thread-safe: inputs parsed on several threads share one interner (each parser keeps a
/// one-entry cache in front of it, so the lock is taken rarely). Its table is `Locked`.
public final class Interner: Sendable {
    private struct Table {
        var ids: [ByteString: Int32] = [:]
        var list: [String] = []
    }
    private let table = Locked(Table())
    public init() {}

    /// Every string interned so far, by id.
    public var strings: [String] { table.withLock { $0.list } }

    /// The id of `bytes`, assigning the next one on first sight. Bytes must be valid UTF-8.
    public func intern(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        intern(String(decoding: bytes, as: UTF8.self))
    }

    public func intern(_ string: String) -> Int32 {
        let key = ByteString(string)
        return table.withLock { t in
            if let id = t.ids[key] { return id }
            let id = Int32(t.list.count)
            t.list.append(string)
            t.ids[key] = id
            return id
        }
    }

    /// The id of `string` if it has been seen, without assigning one.
    public func lookup(_ string: String) -> Int32? {
        let key = ByteString(string)
        return table.withLock { $0.ids[key] }
    }

    public subscript(id: Int32) -> String { table.withLock { $0.list[Int(id)] } }

    public var count: Int { table.withLock { $0.list.count } }
}
