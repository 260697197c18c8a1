import CallSiftCore
import CallSiftInput
import CallSiftFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import SystemPackage

/// A `--state` folder: everything the runs fed into it so far (docs/metrics.md, "Daily
/// runs"; the files and the commit protocol: docs/architecture.md, "Durable state").
///
/// ```
/// DIR/            mode 0700
///   callsift.lock   held (flock) by the run using DIR; a second run is refused at once
///   MANIFEST        the settings fixed at creation, the key's fingerprint, every input
///                   fed (name, content, lines), and the name, length and checksum of
///   engine-N.bin    the engine state of generation N: live calls, caller scopes,
///                   contacts awaiting a verdict, every base group's counters
/// ```
///
/// Every file is a checksummed, versioned container (`ContainerFraming`). A run writes
/// `engine-N+1.bin` (as it encodes, `engineWriter()`) and then `MANIFEST` under temporary
/// names, fsyncs each, renames it into place, fsyncs the folder, and only then removes
/// generation N: a run killed at any moment leaves the manifest naming a complete engine
/// file, the old or the new.
public final class StateStore {
    public let path: String
    private let lockFD: Int32

    /// The settings a state is created with and every later run must repeat: those that
    /// decide classification, and a fingerprint of the pseudonymisation key (a pseudonym
    /// of a fixed text: it tells keys apart without revealing them).
    public struct Fixed: Equatable, Sendable {
        var scope: AnalysisSettings.Scope
        var windows: [Int64]
        var timeZone: String
        var reasonMap: [String: String]?
        var keyCheck: CallerKey

        static let windowFlags = [
            "--call-timeout", "--lateness", "--repeat-window", "--chase-window", "--retry-window",
            "--short-abandon", "--sl-threshold",
        ]
        static let windowPaths: [any WritableKeyPath<AnalysisSettings, Int64> & Sendable] = [
            \.callTimeout, \.lateness, \.repeatWindow, \.chaseWindow, \.retryWindow, \.shortAbandon, \.slThreshold,
        ]

        public init(settings s: AnalysisSettings, pseudonymiser: Pseudonymiser) {
            scope = s.scope
            windows = Self.windowPaths.map { s[keyPath: $0] }
            timeZone = s.timeZone
            reasonMap = s.reasonMap
            keyCheck = Array("callsift state key check".utf8).withUnsafeBytes { pseudonymiser.pseudonym($0) }
        }

        /// `settings` with these fixed values in place of its own.
        public func applied(to settings: AnalysisSettings) -> AnalysisSettings {
            var s = settings
            s.scope = scope
            for (path, v) in zip(Self.windowPaths, windows) { s[keyPath: path] = v }
            s.timeZone = timeZone
            s.reasonMap = reasonMap
            return s
        }

        /// Each setting as `(flag, value)`, for messages.
        var described: [(flag: String, value: String)] {
            let map = (reasonMap ?? [:]).sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
                .map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
            return [("--scope", scope.rawValue)] + zip(Self.windowFlags, windows).map { ($0, HumanDuration.format(millis: $1)) }
                + [("--tz", timeZone), ("--reason-map", map.isEmpty ? "none" : map)]
        }

        /// The first setting that differs from `other` (the state's), as a message.
        func mismatch(with other: Fixed, dir: String) -> String? {
            for (mine, theirs) in zip(described, other.described) where mine != theirs {
                return
                    "--state \(dir): \(mine.flag) is fixed when the state is created: it was created with \(theirs.value), and this run asks for \(mine.value). Settings that decide classification cannot change between runs of one state (docs/metrics.md, \"Daily runs\")."
            }
            if keyCheck != other.keyCheck {
                return
                    "--state \(dir): this run's pseudonymisation key is not the one the state was created with (their fingerprints differ); callers could not be matched across runs. Use the same --key-file or CALLSIFT_KEY."
            }
            return nil
        }

        func encode(into w: inout StateWriter) {
            w.string(scope.rawValue)
            w.count(windows.count)
            for v in windows { w.int(v) }
            w.string(timeZone)
            w.bool(reasonMap != nil)
            let map = (reasonMap ?? [:]).sorted { $0.key.utf8.lexicographicallyPrecedes($1.key.utf8) }
            w.count(map.count)
            for (k, v) in map { w.string(k); w.string(v) }
            w.u64(keyCheck.hi); w.u64(keyCheck.lo)
        }

        init(from r: inout StateReader) throws {
            guard let scope = AnalysisSettings.Scope(rawValue: try r.string()) else { throw r.malformed("an unknown scope") }
            self.scope = scope
            guard try r.count() == Self.windowPaths.count else { throw r.malformed("settings of another version") }
            windows = try Self.windowPaths.map { _ in try r.int() }
            timeZone = try r.string()
            let hasMap = try r.bool()
            var map: [String: String] = [:]
            for _ in 0..<(try r.count()) { map[try r.string()] = try r.string() }
            reasonMap = hasMap ? map : nil
            keyCheck = CallerKey(hi: try r.u64(), lo: try r.u64())
            // Settings no run could have given are the file's fault, not the flags' of the
            // run that reads it.
            if let problem = applied(to: AnalysisSettings()).problem() { throw r.malformed("fixed settings that no run gives: \(problem)") }
            guard TimeZone(identifier: timeZone) != nil else { throw r.malformed("fixed settings of an unknown time zone, \(timeZone)") }
        }
    }

    /// What the manifest records.
    public struct Manifest {
        public var generation: UInt64 = 0
        public var fixed: Fixed
        /// Inputs as given on each run's command line.
        public var inputs: [String] = []
        /// Every file fed, in order: how a refeed is recognised.
        public var files: [Report.InputFile] = []
        var engineFile = ""
        var engineLength: UInt64 = 0
        var engineSum = (high: UInt64(0), low: UInt64(0))
        /// The part files the engine file names (format 3), so that any other is known to
        /// be a stray.
        var partFiles: [String] = []
        /// The file `--follow` was reading when the engine was last written, if it was
        /// written part way through a file (format 4): the engine holds that file's bytes
        /// up to `offset`, and a restart reads on from there.
        var following: FollowResume?
    }

    /// Where the engine stands in a file `--follow` reads (`Manifest.following`): the
    /// file (its name, device and inode), the bytes of it in the engine and the lines
    /// they held, its parser's state there, the size of the `--rejects` file then (-1:
    /// none), to which a restart cuts it back before writing the lines it reads again, and
    /// a fingerprint of the file's last bytes before the point (up to `tailLength`), by
    /// which a restart knows the file under that inode still holds them.
    struct FollowResume: Equatable {
        static let tailLength = 4096
        var path: String
        var device: UInt64
        var inode: UInt64
        var lines: Int64
        var parser: InputParser.Resume
        var rejectsBytes: Int64 = -1
        var tailCheck: UInt64 = 0
        /// For a compressed file: where the point stands in its bytes as stored (the end of
        /// a frame), and the state of their hash up to there. Nil for a plain file, whose
        /// stored bytes are the parser's.
        var stored: Stored?
        /// The bytes of the file as stored before the point.
        var offset: Int64 { stored?.offset ?? parser.bytes }
        /// For a compressed file, the hash of its stored bytes before the point.
        var storedHash: ContentHasher? { stored.flatMap { ContentHasher(words: $0.hasher) } }

        struct Stored: Equatable {
            var offset: Int64
            var hasher: [UInt64]
        }

        func encode(into w: inout StateWriter) {
            w.string(path)
            w.u64(device)
            w.u64(inode)
            w.int(lines)
            parser.encode(into: &w)
            w.int(rejectsBytes)
            w.u64(tailCheck)
            w.bool(stored != nil)
            if let stored {
                w.int(stored.offset)
                w.count(stored.hasher.count)
                for v in stored.hasher { w.u64(v) }
            }
        }

    }

    /// The folder's state as read: nil manifest and engine for a new one.
    public private(set) var manifest: Manifest?
    /// The engine file's bytes, mapped, and their checksum, checked against the manifest.
    private(set) var engine: (bytes: StateBytes, checksum: ContentFingerprint)?
    /// The size of the engine file, as read or as last written.
    public private(set) var engineBytes = 0

    /// The bytes of the state on disk: the engine file and the part files it names.
    public var stateBytes: Int {
        var total = engineBytes
        for name in manifest?.partFiles ?? [] {
            var st = stat()
            if stat(file(name), &st) == 0 { total += Int(st.st_size) }
        }
        return total
    }
    /// Seconds taken to map and check the state's files when opened, and by the last
    /// commit (putting the engine file in place, writing the manifest).
    public private(set) var readSeconds: Double = 0
    public private(set) var commitSeconds: Double = 0

    /// The engine file the manifest names, nil for a new state.
    public var enginePath: String? { manifest.map { file($0.engineFile) } }

    /// Opens (creating, mode 0700) the folder `path`, takes its lock, and reads and checks
    /// its state. Throws `UsageError` when the folder is in use or is not a state folder,
    /// `StateError` when a state file is damaged; in either case nothing in it changes.
    public init(path: String) throws {
        self.path = path
        let fm = FileManager.default
        var isDir: ObjCBool = false
        if fm.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else { throw UsageError("--state \(path): not a folder") }
        } else {
            do {
                try fm.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            } catch {
                throw UsageError("--state \(path): cannot create the folder: \(error.localizedDescription)")
            }
        }
        let known = try fm.contentsOfDirectory(atPath: path)
        if !known.contains(Self.manifestName),
            let stranger = known.first(where: {
                $0 != Self.lockName && !$0.hasPrefix("engine-") && !$0.hasPrefix("part-") && $0 != Self.manifestName + ".tmp"
                    && !$0.hasPrefix(Self.followName)
            })
        {
            throw UsageError("--state \(path): the folder holds other files (\(stranger)) and no callsift state; give an empty or new folder")
        }
        let lockPath = (path as NSString).appendingPathComponent(Self.lockName)
        let fd = open(lockPath, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw UsageError("--state \(path): cannot open its lock file: \(String(cString: strerror(errno)))") }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            throw UsageError("--state \(path): in use by another callsift run (its lock, \(Self.lockName), is held); try again when that run has finished")
        }
        lockFD = fd
        let reading = Date()
        try read()
        readSeconds = Date().timeIntervalSince(reading)
    }

    deinit { close(lockFD) }

    static let manifestName = "MANIFEST"
    static let lockName = "callsift.lock"
    static let followName = "FOLLOW"

    /// Where `--follow` had got to at its last checkpoint (docs/architecture.md, "Live
    /// mode"): the file it was following, recognised by device and inode, and the bytes
    /// of it read. Its events are not in the engine state until the file is finished.
    public struct FollowPoint: Equatable, Sendable {
        public var path: String
        public var device: UInt64
        public var inode: UInt64
        public var offset: Int64
        public init(path: String, device: UInt64, inode: UInt64, offset: Int64) {
            self.path = path; self.device = device; self.inode = inode; self.offset = offset
        }
    }

    /// The last checkpoint of `--follow`, nil when there is none. A damaged one is
    /// refused, as every state file is.
    public func followPoint() throws -> FollowPoint? {
        let p = file(Self.followName)
        guard FileManager.default.fileExists(atPath: p) else { return nil }
        var r = try StateReader(container: try StateBytes(mapping: p), file: p, kind: .follow)
        let point = FollowPoint(path: try r.string(), device: try r.u64(), inode: try r.u64(), offset: try r.int())
        guard r.isAtEnd else { throw r.malformed("bytes after the last record") }
        return point
    }

    /// Writes the checkpoint of `--follow` durably (written aside, synced, renamed), or
    /// removes it (nil).
    public func setFollowPoint(_ point: FollowPoint?) throws {
        guard let point else {
            unlink(file(Self.followName))
            return
        }
        var w = StateWriter()
        w.string(point.path); w.u64(point.device); w.u64(point.inode); w.int(point.offset)
        try writeDurably(.follow, w, to: Self.followName)
        try syncFolder()
    }

    /// Removes what a run killed after its commit left behind: engine files the manifest
    /// does not name, and temporary files. (The commit removes them itself; a kill between
    /// the manifest's rename and that removal leaves them, and a rerun that finds every
    /// input fed commits nothing.) Only for a run that goes on to feed the state.
    public func removeStrays() {
        guard let m = manifest else {
            // A first run killed before its commit may have left part files.
            for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? [] where name.hasPrefix("part-") {
                unlink(file(name))
            }
            return
        }
        removeFiles(notIn: m)
    }

    /// Removes engine and part files that `m` does not name, and temporary files.
    private func removeFiles(notIn m: Manifest) {
        let parts = Set(m.partFiles)
        for name in (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        where (name.hasPrefix("engine-") && name != m.engineFile) || (name.hasPrefix("part-") && !parts.contains(name))
            || name.hasSuffix(".tmp")
        {
            unlink(file(name))
        }
    }

    /// Reads the engine state back after a commit (which lets go of it), for a caller that
    /// goes on reporting from it.
    public func reloadEngine() throws {
        try read()
    }

    private func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    private func read() throws {
        let manifestPath = file(Self.manifestName)
        guard FileManager.default.fileExists(atPath: manifestPath) else { return }
        var r = try StateReader(container: try StateBytes(mapping: manifestPath), file: manifestPath, kind: .manifest)
        let generation = try r.u64()
        var m = Manifest(fixed: try Fixed(from: &r))
        m.generation = generation
        m.engineFile = try r.string()
        m.engineLength = try r.u64()
        m.engineSum = (try r.u64(), try r.u64())
        for _ in 0..<(try r.count()) { m.inputs.append(try r.string()) }
        for _ in 0..<(try r.count()) {
            let name = try r.string()
            let content = try r.bool() ? ContentFingerprint(high: try r.u64(), low: try r.u64(), byteCount: try r.int()) : nil
            m.files.append(Report.InputFile(path: name, content: content, lines: try r.int()))
        }
        if r.version >= 3 {
            for _ in 0..<(try r.count()) {
                let name = try r.string()
                guard name.hasPrefix("part-"), !name.contains("/") else { throw r.malformed("a part file named \(name)") }
                m.partFiles.append(name)
            }
        }
        if r.version >= 4, try r.bool() { m.following = try FollowResume(from: &r) }
        guard r.isAtEnd, !m.engineFile.contains("/") else { throw r.malformed("bytes after the last record") }
        let enginePath = file(m.engineFile)
        guard FileManager.default.fileExists(atPath: enginePath) else {
            throw StateError("\(enginePath): missing, but \(manifestPath) names it")
        }
        let bytes = try StateBytes(mapping: enginePath)
        let sum = try StateReader(container: bytes, file: enginePath, kind: .engine).checksum
        guard UInt64(bytes.count) == m.engineLength, sum.high == m.engineSum.high, sum.low == m.engineSum.low else {
            throw StateError("\(enginePath): not the engine state \(manifestPath) names (length or checksum differ)")
        }
        manifest = m
        engine = (bytes, sum)
        engineBytes = bytes.count
    }

    /// Starts the next generation's engine file, under a temporary name, for a run to
    /// write as it encodes; `commit` puts it in place.
    func engineWriter() throws -> StateFileWriter {
        try StateFileWriter(temporaryPath: file(Self.engineName(generation: nextGeneration) + ".tmp"), kind: .engine)
    }

    private var nextGeneration: UInt64 { (manifest?.generation ?? 0) + 1 }

    /// The folder's part files, as this run reads and writes them.
    var partFolder: PartFolder { PartFolder(path: path, generation: nextGeneration) }
    private static func engineName(generation: UInt64) -> String { "engine-\(generation).bin" }

    /// Puts `engine` (from `engineWriter()`, finished) in place as the next generation,
    /// writes a manifest naming it, atomically, then removes every older file.
    func commit(_ m: Manifest, engine image: StateFileWriter.Written) throws {
        let started = Date()
        defer { commitSeconds = Date().timeIntervalSince(started) }
        var m = m
        m.generation = nextGeneration
        m.engineFile = Self.engineName(generation: m.generation)
        m.engineLength = UInt64(image.length)
        m.engineSum = (image.checksum.high, image.checksum.low)
        m.partFiles = image.partFiles
        try putInPlace(image.temporaryPath, as: m.engineFile)
        // The part files and the engine file are in the folder for good before the manifest
        // names them.
        try syncFolder()
        Self.pauseForTests()

        var w = StateWriter()
        w.u64(m.generation)
        m.fixed.encode(into: &w)
        w.string(m.engineFile)
        w.u64(m.engineLength)
        w.u64(m.engineSum.high); w.u64(m.engineSum.low)
        w.count(m.inputs.count)
        for i in m.inputs { w.string(i) }
        w.count(m.files.count)
        for f in m.files {
            w.string(f.path)
            w.bool(f.content != nil)
            if let c = f.content { w.u64(c.high); w.u64(c.low); w.int(c.byteCount) }
            w.int(f.lines)
        }
        w.count(m.partFiles.count)
        for p in m.partFiles { w.string(p) }
        w.bool(m.following != nil)
        m.following?.encode(into: &w)
        try writeDurably(.manifest, w, to: Self.manifestName)
        try syncFolder()
        Self.pauseForTests()
        // The new generation is in place: the older files go.
        removeFiles(notIn: m)
        manifest = m
        engine = nil
        engineBytes = image.length
    }

    /// Writes a container of `kind` around `payload` to `name.tmp` (mode 0600), fsyncs it
    /// and renames it to `name`.
    private func writeDurably(_ kind: StateFileKind, _ payload: StateWriter, to name: String) throws {
        let out = try StateFileWriter(temporaryPath: file(name + ".tmp"), kind: kind)
        try out.append(payload)
        try putInPlace(try out.finish().temporaryPath, as: name)
    }

    /// Renames a synced temporary file to `name` (after the crash tests' pause).
    private func putInPlace(_ temporaryPath: String, as name: String) throws {
        Self.pauseForTests()
        guard rename(temporaryPath, file(name)) == 0 else {
            throw StateError("\(file(name)): cannot rename into place: \(String(cString: strerror(errno)))")
        }
    }

    /// The crash tests stretch the commit (`CALLSIFT_TEST_COMMIT_PAUSE_MS` between its
    /// steps) so that a kill lands inside it often; nothing else sets it.
    private static let testPause: UInt32 = {
        UInt32(ProcessInfo.processInfo.environment["CALLSIFT_TEST_COMMIT_PAUSE_MS"].flatMap { UInt32($0) } ?? 0)
    }()

    private static func pauseForTests() {
        if testPause > 0 { usleep(testPause * 1000) }
    }

    private func syncFolder() throws {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw StateError("\(path): cannot open to sync: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        guard fsync(fd) == 0 else { throw StateError("\(path): cannot sync: \(String(cString: strerror(errno)))") }
    }
}

/// The part files of a state folder (format 3), for the threads that read and write them
/// side by side: the folder and the generation a run writes.
struct PartFolder: Sendable {
    let path: String
    let generation: UInt64

    /// Starts the file of part number `index` of `generation`, under its own name
    /// (`part-G-I.bin`, a name no committed state uses), for a run to write as it encodes;
    /// the engine file names it, and it is removed with it if the run does not commit.
    func writer(index: Int) throws -> (name: String, writer: StateFileWriter) {
        let name = "part-\(generation)-\(index).bin"
        return (name, try StateFileWriter(temporaryPath: (path as NSString).appendingPathComponent(name), kind: .part))
    }

    /// Starts the file of the caller scopes part number `index` of `generation` writes
    /// (`part-G-I-scopes.bin`: `ScopeLayer`).
    func scopeWriter(index: Int) throws -> (name: String, writer: StateFileWriter) {
        let name = "part-\(generation)-\(index)-scopes.bin"
        return (name, try StateFileWriter(temporaryPath: (path as NSString).appendingPathComponent(name), kind: .scopes))
    }

    /// The bytes of part file `name`, mapped (`StateBytes(mapping:populate:)`), and its path.
    func bytes(_ name: String, populate: Bool = true) throws -> (bytes: StateBytes, path: String) {
        let p = (path as NSString).appendingPathComponent(name)
        guard !name.contains("/"), FileManager.default.fileExists(atPath: p) else {
            throw StateError("\(p): missing, but the engine state names it")
        }
        return (try StateBytes(mapping: p, populate: populate), p)
    }
}

/// Read from the state (`encode`); in an extension, so that the memberwise initialiser
/// stays.
extension StateStore.FollowResume {
    init(from r: inout StateReader) throws {
        path = try r.string()
        device = try r.u64()
        inode = try r.u64()
        lines = try r.int()
        parser = try InputParser.Resume(from: &r)
        rejectsBytes = try r.int()
        tailCheck = try r.u64()
        // The point is the manifest's last record; one written before compressed files had
        // points (version 4 as first released) ends here.
        if !r.isAtEnd, try r.bool() {
            let offset = try r.int()
            let count = try r.count(minBytes: 8)
            var words: [UInt64] = []
            for _ in 0..<count { words.append(try r.u64()) }
            guard offset > 0, ContentHasher(words: words)?.byteCount == offset else { throw r.malformed("a compressed file's follow point out of range") }
            stored = Stored(offset: offset, hasher: words)
        }
        guard path.utf8.count > 0, lines >= 0, rejectsBytes >= -1 else { throw r.malformed("a follow point out of range") }
    }
}
