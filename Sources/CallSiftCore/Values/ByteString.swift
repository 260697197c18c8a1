/// A `String` compared, hashed and ordered by its UTF-8 bytes.
///
/// Swift's `String` equality follows Unicode canonical equivalence, so two identifiers
/// that differ only in normalisation would compare equal; docs/metrics.md ("Classes and
/// FCR", "Output") compares identifiers as byte strings, and so does this.
public struct ByteString: Hashable, Comparable, Sendable {
    public var string: String
    public init(_ string: String) { self.string = string }

    public static func == (a: ByteString, b: ByteString) -> Bool { a.string.utf8.elementsEqual(b.string.utf8) }

    public static func < (a: ByteString, b: ByteString) -> Bool {
        a.string.utf8.lexicographicallyPrecedes(b.string.utf8)
    }

    public func hash(into hasher: inout Hasher) {
        var s = string
        s.withUTF8 { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
    }
}
