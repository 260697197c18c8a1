import CallSiftCore
/// Somewhere bytes go: a file or standard output, optionally compressed on the way.
public protocol ByteSink: AnyObject {
    /// Writes `bytes` (possibly buffering them).
    func write(_ bytes: UnsafeRawBufferPointer) throws
    /// Flushes everything, ends any compressed frame and closes the destination.
    func finish() throws
    /// Hands what was written so far to the destination and, for a file, makes it durable;
    /// returns the file's size then (nil for standard output, or a sink that cannot say).
    /// A compressed sink may hold part of a frame back.
    func sync() throws -> Int64?
}

extension ByteSink {
    public func sync() throws -> Int64? { nil }
    /// Convenience for small, already materialised output such as report lines.
    public func write(_ bytes: [UInt8]) throws { try bytes.withUnsafeBytes { try write($0) } }
    /// Writes the string's UTF-8 bytes, without a terminator.
    public func write(_ string: String) throws {
        var s = string
        try s.withUTF8 { try write(UnsafeRawBufferPointer($0)) }
    }
}

/// Opens a sink writing to `path` (nil or "-" = standard output), compressed with `compression`.
///
/// The output is one frame (one gzip member) that `InputReader` and the standard tools
/// (`zstd -d`, `lz4 -d`, `gzip -d`) read back; zstd and lz4 frames carry a content checksum,
/// so damage is detected on the way back in.
///
/// `level` is passed to the chosen library in its own scale: zstd 1...19, gzip 0...9
/// (clamped), lz4 0...2 fast and 3...12 high-compression. Nil (the default) picks each
/// tool's own default: zstd 3, lz4 0 (fast), gzip 6. It is ignored for `.none`.
///
/// `append`: add to an existing file (a new frame or member after what it holds, which
/// decoders read as one stream) instead of replacing it.
///
/// `ownerOnly`: the file holds personal data (the rejects file); it is made mode 0600
/// whatever the umask, also when it replaces a file that had another mode.
///
/// Call `finish()`: a sink released without it leaves an unterminated frame behind.
///
/// - Throws: `ByteSinkError` when the file cannot be created or an encoder cannot start.
public func makeByteSink(
    path: String?, compression: Compression, level: Int32? = nil,
    ownerOnly: Bool = false, append: Bool = false
) throws -> ByteSink {
    let output = try FileOutput(path: path, ownerOnly: ownerOnly, append: append)
    let defaultLevel: Int32 =
        switch compression {
        case .none, .lz4: 0
        case .zstd: 3
        case .gzip: 6
        }
    let level = level ?? defaultLevel
    switch compression {
    case .none: return EncodingSink(encoder: PassthroughEncoder(), output: output)
    case .zstd: return EncodingSink(encoder: try ZstdEncoder(level: level, destination: output.name), output: output)
    case .lz4: return EncodingSink(encoder: try LZ4Encoder(level: level, destination: output.name), output: output)
    case .gzip: return EncodingSink(encoder: try GzipEncoder(level: level, destination: output.name), output: output)
    }
}

/// A staging buffer in front of an encoder.
///
/// Writers call `write` with small pieces (a CSV line, a JSON token); the C encoders and
/// `write(2)` are cheap per byte but not per call, so pieces gather here and reach the
/// encoder 256 KiB at a time. A write at least as large as the buffer skips the copy.
final class EncodingSink<Encoder: StreamEncoder>: ByteSink {
    static var stagingCapacity: Int { 256 * 1024 }

    private let encoder: Encoder
    private let output: FileOutput
    private let staging: UnsafeMutableRawBufferPointer
    private var staged = 0
    private var isFinished = false

    init(encoder: Encoder, output: FileOutput) {
        self.encoder = encoder
        self.output = output
        staging = .allocate(byteCount: Self.stagingCapacity, alignment: 64)
    }

    deinit { staging.deallocate() }

    func write(_ bytes: UnsafeRawBufferPointer) throws {
        precondition(!isFinished, "write after finish")
        if bytes.count <= staging.count - staged {
            if let source = bytes.baseAddress {
                (staging.baseAddress! + staged).copyMemory(from: source, byteCount: bytes.count)
                staged += bytes.count
            }
            return
        }
        try writeSlow(bytes)
    }

    @inline(never)
    private func writeSlow(_ bytes: UnsafeRawBufferPointer) throws {
        try flushStaging()
        if bytes.count >= staging.count {
            try encoder.encode(bytes, to: output)
        } else {
            (staging.baseAddress!).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            staged = bytes.count
        }
    }

    private func flushStaging() throws {
        guard staged > 0 else { return }
        let count = staged
        staged = 0
        try encoder.encode(UnsafeRawBufferPointer(start: staging.baseAddress, count: count), to: output)
    }

    func sync() throws -> Int64? {
        precondition(!isFinished, "sync after finish")
        try flushStaging()
        return try output.sync()
    }

    func finish() throws {
        guard !isFinished else { return }
        isFinished = true
        try flushStaging()
        try encoder.end(to: output)
        try output.close()
    }
}
