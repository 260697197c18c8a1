import Foundation

/// Maps repeated strings (centres, services, reasons) to dense `Int32` ids and back.
///
/// Ids are assigned in first-seen order, so they are never used for ordering output:
/// everything printed is sorted by the strings themselves.
///
/// Thread-safe: inputs parsed on several threads share one interner (each parser keeps a
/// one-entry cache in front of it, so the lock is taken rarely). Its table is `Locked`.
public final class Interner: Sendable {
    private let table = Locked(DenseIDs<ByteString, String>())
    public init() {}

    /// Every string interned so far, by id.
    public var strings: [String] { table.withLock { $0.list } }

    /// The id of `bytes`, assigning the next one on first sight. Bytes must be valid UTF-8.
    public func intern(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        intern(String(decoding: bytes, as: UTF8.self))
    }

    public func intern(_ string: String) -> Int32 {
        let key = ByteString(string)
        return Int32(table.withLock { $0.id(of: key) { string } })
    }

    /// The id of `string` if it has been seen, without assigning one.
    public func lookup(_ string: String) -> Int32? {
        let key = ByteString(string)
        return table.withLock { $0.ids[key].map(Int32.init) }
    }

    public subscript(id: Int32) -> String { table.withLock { $0.list[Int(id)] } }

    public var count: Int { table.withLock { $0.list.count } }
}

/// Dense ids in first-seen order, and the element each was given for: the table behind
/// `Interner` and `LongCallIDs`, kept `Locked` by them.
struct DenseIDs<Key: Hashable & Sendable, Element: Sendable>: Sendable {
    private(set) var ids: [Key: Int] = [:]
    private(set) var list: [Element] = []

    /// The id of `key`, giving it the next one, with `element()`, on first sight.
    mutating func id(of key: Key, _ element: () -> Element) -> Int {
        if let id = ids[key] { return id }
        ids[key] = list.count
        list.append(element())
        return list.count - 1
    }
}
