/// The compression of one input, detected from its first bytes (never from its name).
public enum Compression: String, Sendable, CaseIterable {
    case none, zstd, lz4, gzip
}
