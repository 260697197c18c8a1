/// Maps repeated strings (centres, services, reasons) to dense `Int32` ids and back.
///
/// Ids are assigned in first-seen order, so they are never used for ordering output:
/// everything printed is sorted by the strings themselves.
public final class Interner: @unchecked Sendable {
    private var ids: [ByteString: Int32] = [:]
    public private(set) var strings: [String] = []
    public init() {}

    /// The id of `bytes`, assigning the next one on first sight. Bytes must be valid UTF-8.
    public func intern(_ bytes: UnsafeRawBufferPointer) -> Int32 {
        intern(String(decoding: bytes, as: UTF8.self))
    }

    public func intern(_ string: String) -> Int32 {
        let key = ByteString(string)
        if let id = ids[key] { return id }
        let id = Int32(strings.count)
        strings.append(string)
        ids[key] = id
        return id
    }

    /// The id of `string` if it has been seen, without assigning one.
    public func lookup(_ string: String) -> Int32? { ids[ByteString(string)] }

    public subscript(id: Int32) -> String { strings[Int(id)] }
    public var count: Int { strings.count }
}
