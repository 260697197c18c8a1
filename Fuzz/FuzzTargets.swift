// libFuzzer targets for callsift's parsers and decoders (built by scripts/fuzz.sh, which
// compiles this file together with the CallSift library's sources, as one module, with
// `swiftc -sanitize=fuzzer,address`).
//
// One binary serves every target; CALLSIFT_FUZZ_TARGET picks it:
//   csv, ndjson, queuelog, ctr,  the record parsers and adapters, input as is
//   genesys
//   zstd, lz4, gzip              the streaming decoders, input given that format's magic
//   multi                        several inputs at once (see `multiInputs`): 2-6 files cut
//                                from the data, some empty or header only, each plain or
//                                compressed, formats recognised per input, run at 1 and 2
//                                threads, which must give the same bytes
// Each input runs through the whole `Analysis` (decoding, cutting records, parsing,
// adapters, assembly, classification, report), and the accounting identity of
// docs/metrics.md, "Accounting", must hold on it, as must the byte-identical determinism
// of a second run.
#if canImport(Glibc)
import Glibc
#endif

private enum Target: String, CaseIterable { case csv, ndjson, queuelog, ctr, genesys, zstd, lz4, gzip, multi }

private let target: Target = {
    guard let name = getenv("CALLSIFT_FUZZ_TARGET").map({ String(cString: $0) }), let t = Target(rawValue: name) else {
        fatalError("set CALLSIFT_FUZZ_TARGET to one of: " + Target.allCases.map(\.rawValue).joined(separator: ", "))
    }
    return t
}()

/// Inputs are written to one file per process (the pipeline reads files); /dev/shm keeps it
/// in memory.
private let inputPath: String = {
    let dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp"
    return "\(dir)/callsift-fuzz-\(getpid())"
}()

private func write(_ bytes: UnsafeRawBufferPointer, prefix: [UInt8]) {
    let fd = open(inputPath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    precondition(fd >= 0, "cannot write \(inputPath)")
    prefix.withUnsafeBytes { p in _ = p.count > 0 ? Glibc.write(fd, p.baseAddress, p.count) : 0 }
    var done = 0
    while done < bytes.count {
        let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
        precondition(n > 0, "short write")
        done += n
    }
    close(fd)
}

private func run(_ settings: AnalysisSettings, inputs: [String] = [inputPath],
                 execution: ExecutionOptions = ExecutionOptions(threads: 1)) -> (Report, String) {
    let analysis = try! Analysis(settings: settings, inputs: inputs, pseudonymiser: Pseudonymiser(k0: 1, k1: 2),
                                 execution: execution)
    let report = try! analysis.run().report
    let a = report.lines
    let accounted = report.calls.events + report.duplicates + a.rejectedTotal + a.late + a.skipped
    if a.lines != accounted {
        fatalError("accounting identity broken: lines \(a.lines) != events \(report.calls.events) + duplicates \(report.duplicates) + rejected \(a.rejectedTotal) + late \(a.late) + skipped \(a.skipped)")
    }
    precondition(a.skipped == a.skippedKinds.values.reduce(0, +), "skipped is not the sum of its kinds")
    return (report, JSONReportWriter.render(report))
}

@_cdecl("LLVMFuzzerTestOneInput")
public func callsiftFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if target == .multi { return multiInputs(bytes) }
    let magic: [UInt8]
    switch target {
    case .zstd: magic = [0x28, 0xB5, 0x2F, 0xFD]
    case .lz4: magic = [0x04, 0x22, 0x4D, 0x18]
    case .gzip: magic = [0x1F, 0x8B]
    default: magic = []
    }
    let hasMagic = size >= magic.count && magic.elementsEqual(bytes.prefix(magic.count))
    write(bytes, prefix: hasMagic ? [] : magic)

    var settings = AnalysisSettings()
    settings.period = .all
    // Short windows, so that holding, releasing and forgetting happen within small inputs.
    settings.callTimeout = 30 * 60_000
    settings.lateness = 60_000
    settings.centre = "C1"
    switch target {
    case .csv: settings.format = .csv
    case .ndjson: settings.format = .ndjson
    case .queuelog: settings.format = .queuelog
    case .ctr: settings.format = .ctr
    case .genesys: settings.format = .genesys
    case .zstd, .lz4, .gzip, .multi: settings.format = .auto
    }
    let (_, first) = run(settings)
    let (_, second) = run(settings)
    precondition(first == second, "two runs over the same input differ")
    return 0
}

/// The `multi` target: the data cut into 2-6 inputs, side by side in one run, as a folder
/// of daily files is. Byte 0 gives the number of inputs; then one byte per input says what
/// it is (low two bits: plain, zstd, lz4 or gzip; then empty, a CSV header alone, or the
/// next piece of the data). The rest is cut into pieces at each 0x1E byte (ASCII's record
/// separator); the last input that takes a piece takes all that is left. Formats are
/// recognised per input (`--format auto`), so pieces of CSV, NDJSON, contact trace
/// records and queue_log lines mix. The run at 1 thread and at 2 threads with 3 shards
/// must give the same bytes, and the accounting identity must hold in both.
private func multiInputs(_ bytes: UnsafeRawBufferPointer) -> CInt {
    guard bytes.count >= 1 else { return 0 }
    let count = 2 + Int(bytes[0]) % 5
    guard bytes.count >= 1 + count else { return 0 }
    let specs = Array(bytes[1 ..< 1 + count])
    var pieces = bytes[(1 + count)...].split(separator: 0x1E, omittingEmptySubsequences: false).map { Array($0) }
    let takers = specs.indices.filter { (specs[$0] >> 2) % 4 >= 2 }
    var paths: [String] = []
    for i in 0 ..< count {
        let compression: Compression = [.none, .zstd, .lz4, .gzip][Int(specs[i] & 3)]
        var content: [UInt8] = []
        switch (specs[i] >> 2) % 4 {
        case 0: break
        case 1: content = Array("ts,centre,call,event,caller,service,outcome,reason\n".utf8)
        default:
            if i == takers.last {
                content = Array(pieces.joined(separator: [0x1E]))
                pieces = []
            } else if !pieces.isEmpty {
                content = pieces.removeFirst()
            }
        }
        let path = "\(inputPath)-\(i)"
        let sink = try! makeByteSink(path: path, compression: compression)
        try! sink.write(content)
        try! sink.finish()
        paths.append(path)
    }
    defer { for p in paths { unlink(p) } }
    var settings = AnalysisSettings()
    settings.period = .all
    settings.callTimeout = 30 * 60_000
    settings.lateness = 60_000
    settings.centre = "C1"
    let (_, one) = run(settings, inputs: paths, execution: ExecutionOptions(threads: 1))
    let (_, two) = run(settings, inputs: paths, execution: ExecutionOptions(threads: 2, shards: 3))
    precondition(one == two, "1 thread and 2 threads with 3 shards differ")
    return 0
}
