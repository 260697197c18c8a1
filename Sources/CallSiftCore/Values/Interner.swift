import Foundation

/// Maps repeated strings (centres, services, reasons) to dense `Int32` ids and back.
///
/// Ids are assigned in first-seen order, so they are never used for ordering output:
/// everything printed is sorted by the strings themselves.
///
/// Thread-safe: inputs parsed on several threads share one interner (each parser keeps a
/// one-entry cache in front of it, so the lock is taken rarely).
/// `@unchecked Sendable`: its table is read and written under its lock.
public final class Interner: @unchecked Sendable {
    private let lock = NSLock()
    private var ids: [ByteString: Int32] = [:]
    private var list: [String] = []
    public init() {}

    /// Every string interned so far, by id.
    public var strings: [String] {
        lock.lock(); defer { lock.unlock() }
        return list
    }

    /// The id of `bytes`, assigning the next one on first sight. Bytes must be valid UTF-8.
    public func intern(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        intern(String(decoding: bytes, as: UTF8.self))
    }

    public func intern(_ string: String) -> Int32 {
        let key = ByteString(string)
        lock.lock(); defer { lock.unlock() }
        if let id = ids[key] { return id }
        let id = Int32(list.count)
        list.append(string)
        ids[key] = id
        return id
    }

    /// The id of `string` if it has been seen, without assigning one.
    public func lookup(_ string: String) -> Int32? {
        lock.lock(); defer { lock.unlock() }
        return ids[ByteString(string)]
    }

    public subscript(id: Int32) -> String {
        lock.lock(); defer { lock.unlock() }
        return list[Int(id)]
    }

    public var count: Int {
        lock.lock(); defer { lock.unlock() }
        return list.count
    }
}
