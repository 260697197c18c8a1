import CallSiftCore
/// The compression of one input, detected from its first bytes (never from its name).
public enum Compression: String, Sendable, CaseIterable {
    case none, zstd, lz4, gzip
}

extension Compression {
    /// How many leading bytes `detect(magic:)` needs to tell every format apart.
    static let magicLength = 4

    /// Classifies a stream by its first bytes. File names lie (`.csv` files that are really
    /// gzip, `.zst` files that were never compressed), magic numbers do not.
    ///
    /// Zstd's skippable frames (magic 0x184D2A50...0x184D2A5F) count as zstd: the zstd
    /// decoder skips them, and zstd is far more common than lz4 behind such a frame.
    /// Fewer than `magicLength` bytes can only be plain text (or a gzip stream too short to
    /// hold even its header, which plain text describes just as well).
    static func detect(magic bytes: UnsafeRawBufferPointer) -> Compression {
        if bytes.count >= 4 {
            // All three frame formats store their magic number little-endian.
            let word = UInt32(bytes[0]) | UInt32(bytes[1]) << 8 | UInt32(bytes[2]) << 16 | UInt32(bytes[3]) << 24
            if word == 0xFD2F_B528 { return .zstd }
            if word & 0xFFFF_FFF0 == 0x184D_2A50 { return .zstd }
            if word == 0x184D_2204 { return .lz4 }
        }
        if bytes.count >= 2, bytes[0] == 0x1F, bytes[1] == 0x8B { return .gzip }
        return .none
    }
}
