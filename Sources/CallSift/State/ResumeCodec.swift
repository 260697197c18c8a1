import CallSiftCore
import CallSiftFormats

/// A pushed input's follow point (`InputParser.Resume`) in the state: written here, in the
/// engine, with the state codec, beside the parser that makes it (in CallSiftFormats).
extension InputParser.Resume {
    func encode(into w: inout StateWriter) {
        w.bool(isNDJSON)
        w.bool(header != nil)
        if let header { w.blob(header) }
        w.int(maxTs)
        w.int(nextLine)
        w.int(bytes)
        w.count(hasher.count)
        for v in hasher { w.u64(v) }
    }

    /// Read from the state (`encode`). Into locals first, in the order `encode` wrote them:
    /// outside the struct's module, an initialiser must hand them to one of its own.
    init(from r: inout StateReader) throws {
        let isNDJSON = try r.bool()
        let header = try r.bool() ? try r.blob() : nil
        let maxTs = try r.int()
        let nextLine = try r.int()
        let bytes = try r.int()
        var words: [UInt64] = []
        for _ in 0..<(try r.count(minBytes: 8)) { words.append(try r.u64()) }
        guard nextLine >= 1, bytes >= 0, let h = ContentHasher(words: words), h.words[9] == UInt64(bytes) else {
            throw r.malformed("a follow point that is not a parser's")
        }
        self.init(isNDJSON: isNDJSON, header: header, maxTs: maxTs, nextLine: nextLine, bytes: bytes, hasher: words)
    }
}
