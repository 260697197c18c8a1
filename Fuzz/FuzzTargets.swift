// libFuzzer targets for callsift's parsers, decoders and the readers of its own files
// (built by scripts/fuzz.sh, which compiles this file as a module of its own, CallSiftFuzz,
// over the library's layers, CallSift and CallSiftAccredit among them, each built with
// `swiftc -sanitize=fuzzer,address`; CallSift with -enable-testing, for
// `@testable import`).
//
// One binary serves every target; CALLSIFT_FUZZ_TARGET picks it:
//   csv, ndjson, queuelog, ctr,  the record parsers and adapters, input as is
//   genesys
//   zstd, lz4, gzip              the streaming decoders, input given that format's magic
//   multi                        several inputs at once (see `multiInputs`): 2-6 files cut
//                                from the data, some empty or header only, each plain or
//                                compressed, formats recognised per input, run at 1 and 2
//                                threads, which must give the same bytes
//   state                        a --state folder's files, one of them damaged (see
//                                `stateFolder`), opened as a run opens it, then a report
//                                on it and a daily run that feeds it
//   checkpoint                   the --follow checkpoint (the manifest's follow point, or
//                                DIR/FOLLOW; see `followCheckpoint`), as a restart of
//                                `analyze --follow` reads it
//   report                       analyze JSON as `callsift merge` (alone, and beside a
//                                real report) and `callsift accredit` read it
//   toml                         a standard (first byte even) or a reason map (odd), as
//                                `accredit --standard` and `--reason-map` read them, then
//                                used (an accreditation, an analysis with the map)
// Each input of the first nine runs through the whole `Analysis` (decoding, cutting
// records, parsing, adapters, assembly, classification, report), and the accounting
// identity of docs/metrics.md, "Accounting", must hold on it, as must the byte-identical
// determinism of a second run. The last four start from real files (Fuzz/templates, made
// by the release binary; FUZZ_TEMPLATES overrides where), and each input must be either
// read and used, the accounting identity holding, or refused with an error that names the
// file; a trap, a hang or a huge allocation is a finding.
#if canImport(Glibc)
import Glibc
#endif
import Foundation
@testable import CallSift
import CallSiftAccredit

private enum Target: String, CaseIterable {
    case csv, ndjson, queuelog, ctr, genesys, zstd, lz4, gzip, multi, state, checkpoint, report, toml
}

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
    checkAccounting(report)
    return (report, JSONReportWriter.render(report))
}

/// The accounting identity of docs/metrics.md, "Accounting".
private func checkAccounting(_ report: Report) {
    let a = report.lines
    let accounted = report.calls.events + report.duplicates + a.rejectedTotal + a.late + a.skipped
    if a.lines != accounted {
        fatalError("accounting identity broken: lines \(a.lines) != events \(report.calls.events) + duplicates \(report.duplicates) + rejected \(a.rejectedTotal) + late \(a.late) + skipped \(a.skipped)")
    }
    precondition(a.skipped == a.skippedKinds.values.reduce(0, +), "skipped is not the sum of its kinds")
}

@_cdecl("LLVMFuzzerTestOneInput")
public func callsiftFuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    switch target {
    case .multi: return multiInputs(bytes)
    case .state: return stateFolder(bytes)
    case .checkpoint: return followCheckpoint(bytes)
    case .report: return reportJSON(bytes)
    case .toml: return tomlFile(bytes)
    default: break
    }
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
    case .zstd, .lz4, .gzip, .multi, .state, .checkpoint, .report, .toml: settings.format = .auto
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

// MARK: - The readers of callsift's own files

/// Where the templates lie: real files made by the release binary (Fuzz/templates/README.md).
private let templates: String = ProcessInfo.processInfo.environment["FUZZ_TEMPLATES"] ?? "Fuzz/templates"

private func contents(_ path: String) -> [UInt8] {
    guard let d = FileManager.default.contents(atPath: path) else { fatalError("cannot read the template \(path)") }
    return Array(d)
}

private func put(_ bytes: [UInt8], at path: String) {
    unlink(path)
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]) else {
        fatalError("cannot write \(path)")
    }
}

/// A fresh, empty folder (mode 0700) under this process's scratch path.
private func freshFolder(_ name: String) -> String {
    let dir = "\(inputPath)-\(name)"
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    return dir
}

/// CALLSIFT_FUZZ_VERBOSE=1: what each input of the last four targets came to, on stderr
/// (to see how deep the seeds reach).
private let verbose = getenv("CALLSIFT_FUZZ_VERBOSE") != nil

private func say(_ text: @autoclosure () -> String) {
    if verbose { fputs(text() + "\n", stderr) }
}

/// An error a reader throws must name the file it refuses (or the folder it is in).
private func mustName(_ error: any Error, _ names: [String], _ what: String) {
    let text = "\(error)"
    say("\(what): refused: \(text)")
    guard names.contains(where: { text.contains($0) }) else {
        fatalError("\(what): an error that names no file (\(names)): \(type(of: error)): \(text)")
    }
}

/// The template state folder (Fuzz/templates/state/dir, made by daily runs of the release
/// binary), its key and the file the daily run after it feeds.
private struct StateTemplate {
    let names: [String]
    let files: [String: [UInt8]]
    let key: Pseudonymiser
    let next: String

    init(_ root: String) {
        let dir = "\(root)/dir"
        let found = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        names = found.filter { $0 != "callsift.lock" }.sorted()
        precondition(names.contains("MANIFEST"), "no state in \(dir)")
        var files: [String: [UInt8]] = [:]
        for n in names { files[n] = contents("\(dir)/\(n)") }
        self.files = files
        key = Pseudonymiser(secret: contents("\(root)/key"))
        next = "\(root)/next.csv"
    }

    var engineName: String { names.first { $0.hasPrefix("engine-") }! }
}

private let stateTemplate = StateTemplate("\(templates)/state")

/// The `state` target. The input damages one file of the template folder
/// (`StateDamage.damage`, in Tests/CallSiftTests/StateDamage.swift, which the tests that
/// replay the target's findings share: byte 0 picks the file and how, the rest is its
/// payload framed with a good checksum and the references to it made good, or the whole
/// file as it lies on disk). The folder is then opened as a run opens it (`StateStore`), reported on as `accredit
/// --state` and `serve` report on it (no inputs), and fed one more day (`next.csv`) as a
/// daily run feeds it, under the settings the state holds. Each step must succeed, the
/// report's accounting identity holding, or throw an error that names the folder or the
/// file (a damaged part file is refused by the first run that needs it).
private func stateFolder(_ bytes: UnsafeRawBufferPointer) -> CInt {
    guard bytes.count >= 1 else { return 0 }
    let t = stateTemplate
    let dir = freshFolder("state")
    defer { try? FileManager.default.removeItem(atPath: dir) }

    let (out, damaged) = StateDamage.damage(t.files, by: Array(bytes))
    for (name, b) in out { put(b, at: "\(dir)/\(name)") }

    let store: StateStore
    do { store = try StateStore(path: dir) } catch {
        mustName(error, [dir], "opening the state")
        return 0
    }
    guard let manifest = store.manifest else { fatalError("a state with a manifest read as a new one") }
    var asked = AnalysisSettings()
    asked.period = .day
    do {
        let r = try DailyRun.run(state: store, settings: asked, inputs: [], pseudonymiser: Pseudonymiser(k0: 0, k1: 0),
                                 execution: ExecutionOptions(threads: 1))
        checkAccounting(r.report)
        _ = JSONReportWriter.render(r.report)
    } catch {
        mustName(error, [dir], "reporting on the state")
        return 0
    }
    let settings = manifest.fixed.applied(to: asked)
    do {
        let r = try DailyRun.run(state: store, settings: settings, inputs: [t.next], pseudonymiser: t.key,
                                 execution: ExecutionOptions(threads: 1))
        checkAccounting(r.report)
        _ = JSONReportWriter.render(r.report)
        say("fed \(damaged): \(r.report.lines.lines) lines, committed \(r.committed)")
    } catch {
        mustName(error, [dir, t.next], "feeding the state")
    }
    return 0
}

/// The template of a follower's state (Fuzz/templates/checkpoint: `analyze --follow
/// --state dir live.csv`, stopped part way through the log): the folder, the log as it
/// was then and the lines written after, the key, and the log's name and identity as the
/// checkpoint records them (from its FOLLOW file: path, device, inode, offset).
private struct CheckpointTemplate {
    let state: StateTemplate
    let live: [UInt8]
    let more: [UInt8]
    let path: String
    let identity: [UInt8]

    init(_ root: String) {
        state = StateTemplate(root)
        live = contents("\(root)/live.csv")
        more = contents("\(root)/more.csv")
        let follow = StateContainer(file: state.files["FOLLOW"]!).payload
        var at = 0
        var n = 0
        var shift = 0
        while true {
            let b = follow[at]
            at += 1
            n |= Int(b & 0x7F) << shift
            if b < 0x80 { break }
            shift += 7
        }
        path = String(decoding: follow[at ..< at + n], as: UTF8.self)
        identity = Array(follow[at + n ..< at + n + 16])
    }
}

private let checkpointTemplate = CheckpointTemplate("\(templates)/checkpoint")

/// The `checkpoint` target. Byte 0 picks the file (low bit: 0, the manifest, whose last
/// record is the follow point, `Manifest.following`: the parser's state, the bytes read,
/// the tail's fingerprint; 1, `DIR/FOLLOW`, the file followed at the last emit, alone in
/// the folder unless bit 1 is set) and how (high bit clear: the rest is its
/// payload, framed as a writer frames it; set: the whole file). The log the template
/// followed is put back, grown by the lines written after the checkpoint, and the
/// checkpoint's name, device and inode of it are made this copy's (in both files), so
/// that the restart finds its file. Then `analyze --follow --state` starts (`FollowRun`),
/// asked to stop at once: it resumes from the checkpoint, reads the log on, emits a last
/// report and checkpoint and ends. It must end with its report, the accounting identity
/// holding, or refuse the state with an error that names it.
private func followCheckpoint(_ bytes: UnsafeRawBufferPointer) -> CInt {
    guard bytes.count >= 1 else { return 0 }
    let t = checkpointTemplate
    let selector = bytes[0]
    let damaged = selector & 1 == 0 ? "MANIFEST" : "FOLLOW"
    let rest = Array(bytes[1...])
    let work = freshFolder("checkpoint")
    defer { try? FileManager.default.removeItem(atPath: work) }
    let dir = "\(work)/state"
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
    let log = "\(work)/live.csv"
    put(t.live + t.more, at: log)
    var st = stat()
    precondition(stat(log, &st) == 0)
    let identity = StateDamage.le(UInt64(st.st_dev)) + StateDamage.le(UInt64(st.st_ino))
    func retarget(_ payload: [UInt8]) -> [UInt8] {
        let named = StateDamage.replacing(StateDamage.varint(UInt64(t.path.utf8.count)) + Array(t.path.utf8),
                                          with: StateDamage.varint(UInt64(log.utf8.count)) + Array(log.utf8), in: payload)
        return StateDamage.replacing(t.identity, with: identity, in: named)
    }
    // The FOLLOW file is read only when the manifest has no point of its own: alone (bit 1
    // clear), the folder is a follower's killed before its first checkpoint.
    let files = damaged == "FOLLOW" && selector & 2 == 0 ? t.state.files.filter { $0.key == "FOLLOW" } : t.state.files
    for (name, b) in files {
        var file = b
        if name == "MANIFEST" || name == "FOLLOW" {
            let c = StateContainer(file: b)
            if name == damaged && selector & 0x80 != 0 {
                file = rest
            } else {
                file = StateContainer(header: c.header, payload: retarget(name == damaged ? rest : c.payload)).framed
            }
        }
        put(file, at: "\(dir)/\(name)")
    }
    var settings = AnalysisSettings()
    settings.period = .day
    settings.timeZone = "Europe/London"
    var options = FollowRun.Options(output: "\(work)/report.json")
    options.stateDir = dir
    options.emitEvery = 0.05
    options.checkpointEvery = 3600
    let emitted = Locked<Report?>(nil)
    options.onEmit = { report, _ in emitted.withLock { $0 = report } }
    do {
        let run = try FollowRun(path: log, settings: settings, pseudonymiser: t.state.key, rejects: nil,
                                execution: ExecutionOptions(threads: 1), options: options) { _ in }
        run.requestStop()
        let status = try run.run()
        precondition(status == 0, "the follower ended with status \(status)")
        guard let report = emitted.withLock({ $0 }) else { fatalError("the follower stopped without a report") }
        checkAccounting(report)
        say("followed on from the \(damaged) checkpoint: \(report.lines.lines) lines")
    } catch {
        mustName(error, [work], "resuming from the checkpoint")
    }
    return 0
}

/// A real `analyze` JSON report (Fuzz/templates/report.json) and the sample standard.
private let templateReport = "\(templates)/report.json"
private let sampleStandard: Standard = try! Standard.load(path: "samples/standard.toml")

/// The `report` target: the input as an analyze JSON report, read as `callsift merge FILE`
/// reads it, as `callsift merge REAL FILE` does (beside a real report), and as `callsift
/// accredit --standard samples/standard.toml FILE` does (when it looks like a report, as
/// accredit decides). Reading must give a report that is written out again, merged and
/// judged, or an error that names the file.
private func reportJSON(_ bytes: UnsafeRawBufferPointer) -> CInt {
    let path = "\(inputPath).json"
    put(Array(bytes), at: path)
    defer { unlink(path) }
    do {
        let merged = try ReportMerge.merge(paths: [path])
        _ = JSONReportWriter.render(merged)
        say("merged: \(merged.rows.count) rows")
    } catch {
        mustName(error, [path], "merge")
    }
    do {
        let merged = try ReportMerge.merge(paths: [templateReport, path])
        _ = JSONReportWriter.render(merged)
    } catch {
        mustName(error, [path, templateReport], "merge beside a report")
    }
    if ReportReader.looksLikeReport(path: path) {
        let report: Report
        do { report = try ReportMerge.merge(paths: [path]) } catch {
            mustName(error, [path], "accredit")
            return 0
        }
        if let a = try? Accreditation(report: report, standard: sampleStandard) {
            _ = AccreditationHTMLWriter.render(a)
            _ = AccreditationJSONWriter.render(a)
            _ = AccreditationCSVWriter.render(a)
        }
    }
    return 0
}

/// The `toml` target. Byte 0 even: the rest is a standard, read as `accredit --standard`
/// reads it (`Standard.load`) and, if read, used on the real report; odd: a reason map,
/// read as `--reason-map` reads it (`ReasonTaxonomy.load`) and, if read, used by an
/// analysis of a small real log (Fuzz/templates/calls.csv), whose accounting identity
/// must hold. A file refused must be refused with a `UsageError` that names it.
private func tomlFile(_ bytes: UnsafeRawBufferPointer) -> CInt {
    guard bytes.count >= 1 else { return 0 }
    let path = "\(inputPath).toml"
    put(Array(bytes[1...]), at: path)
    defer { unlink(path) }
    if bytes[0] & 1 == 0 {
        let standard: Standard
        do { standard = try Standard.load(path: path) } catch {
            precondition(error is UsageError, "a standard refused with \(type(of: error)): \(error)")
            mustName(error, [path], "a standard")
            return 0
        }
        let report = try! ReportReader.read(path: templateReport)
        say("a standard of \(standard.thresholds.count) thresholds")
        if let a = try? Accreditation(report: report, standard: standard) {
            _ = AccreditationHTMLWriter.render(a)
            _ = AccreditationJSONWriter.render(a)
            _ = AccreditationCSVWriter.render(a)
        }
    } else {
        let map: [String: String]
        do { map = try ReasonTaxonomy.load(path: path) } catch {
            precondition(error is UsageError, "a reason map refused with \(type(of: error)): \(error)")
            mustName(error, [path], "a reason map")
            return 0
        }
        say("a reason map of \(map.count) codes")
        var settings = AnalysisSettings()
        settings.period = .all
        settings.reasonMap = map
        _ = run(settings, inputs: ["\(templates)/calls.csv"])
    }
    return 0
}
