import CallSiftCore
import CallSiftInput
import CallSiftFormats
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Atomics
import Foundation
import SystemPackage

/// A log that is still being written, followed as `tail -F` follows it (docs/metrics.md,
/// "Live mode"; docs/architecture.md, "Live mode").
///
/// Two threads per file. The *tail* reads the file's bytes as they are appended, in reads
/// of up to 1 MiB (never a system call per line), and passes them through a pipe to the
/// *decoder*, an ordinary `InputReader` on the pipe's end, which decompresses them (zstd,
/// lz4, gzip or none, recognised from the first bytes; a frame still incomplete simply
/// waits for its next bytes) and appends the decoded bytes to this object's buffer. When
/// the tail finds nothing new it sleeps, 10 ms at first and doubling to 250 ms while the
/// file stays idle, so an idle follower costs four reads and four `stat`s a second.
///
/// Rotation: when the name leads to another file (renamed away and a new one created), the
/// tail reads the old file to its end, and the old file is *finished*: the decoded bytes of
/// it not yet drained become a `FinishedFile`, fingerprinted by the file's bytes as stored,
/// and the new file is followed from its start. A file truncated in place (copytruncate)
/// is finished in the same way and read again from its start. Standard input (`-`) is read
/// by the decoder directly and finished at its end.
///
/// `drain()` hands out what arrived since it was last called, finished files first, then
/// the complete lines decoded of the file now followed, and drops it: the buffer holds only
/// what the follower has not taken, and the decoder waits when that is 16 MiB of lines.
/// `@unchecked Sendable`: every mutable property, the buffer `bytes` among them, is read and
/// written under `lock` only (debug builds assert that the lock is held, and the buffer's
/// bounds, `boundary <= bytes.count`, wherever it is touched; `checkBuffer`).
package final class LiveLog: @unchecked Sendable {
    package let path: String
    private let lock = CheckedCondition()

    /// Decoded bytes of the current file not yet drained: appended by the decoder thread,
    /// taken from the front by `drain`, both under `lock`. Its capacity is kept (1 MiB at
    /// first), so a steady follower allocates nothing for it.
    private var bytes: [UInt8] = []
    /// Just past the last newline in `bytes`: `0 <= boundary <= bytes.count`.
    private var boundary = 0
    /// Bumped whenever bytes are decoded or a file is finished: how a reader sees change.
    private var changes = 0

    /// The file now followed: its identity, and the bytes of it read so far.
    private var device: UInt64 = 0
    private var inode: UInt64 = 0
    private var offset: Int64 = 0
    /// Decoded bytes of the file now followed handed out by `drain` (from its start, or
    /// from where following resumed).
    private var drained: Int64 = 0
    /// Where frames of the file now followed ended (a compressed one), in decoded and
    /// stored bytes from the file's start, none before `drained`: the places a checkpoint
    /// can stand (`checkpointPoint`).
    private var frameEnds: [InputReader.FrameEnd] = []
    /// Where the first file's decoder starts, when following resumes part way through it.
    private var resumption: Resumption?

    private var finishedFiles: [FinishedFile] = []
    private var failed: InputError?
    private var stdinEnded = false
    private var stopping = false
    private var decoderDone = true

    package init(path: String) {
        self.path = path
        bytes.reserveCapacity(1 << 20)
    }

    /// The buffer's rule, for `assert`: touched only by the thread holding `lock`, and its
    /// complete lines within its bytes.
    private func checkBuffer() -> Bool {
        lock.isHeldByCurrentThread && 0 <= boundary && boundary <= bytes.count
    }

    /// Where a checkpoint left a file part way through: the file, open as `descriptor`, is
    /// read on from its byte `stored` (the end of a frame, for a compressed one), which
    /// follows `decoded` decoded bytes; `hashedBefore` is the hash of its bytes before
    /// `stored`, so that the file's fingerprint is of all of it.
    package struct Resumption {
        package var descriptor: Int32
        package var stored: Int64
        package var decoded: Int64
        package var hashedBefore: ContentHasher
        package init(descriptor: Int32, stored: Int64, decoded: Int64, hashedBefore: ContentHasher) {
            self.descriptor = descriptor
            self.stored = stored
            self.decoded = decoded
            self.hashedBefore = hashedBefore
        }
    }

    /// Starts following: at the start of the file now under the name (waiting for one to
    /// appear), or of standard input; or (`resuming`) part way through the file a
    /// checkpoint left.
    package func start(resuming: Resumption? = nil) {
        if path == "-" {
            startDecoder(descriptor: STDIN_FILENO, owned: false)
        } else {
            lock.lock()
            resumption = resuming
            lock.unlock()
            let t = Thread { [self] in tail(resuming: resuming.map { ($0.descriptor, $0.stored) }) }
            t.name = "callsift tail"
            t.start()
        }
    }

    /// Asks the threads to stop: the tail reads what the file holds now and closes the
    /// pipe, and the decoder decodes what it was given. Wait with `waitUntilStopped`.
    package func stop() {
        lock.lock()
        stopping = true
        lock.broadcast()
        lock.unlock()
    }

    /// Waits until the decoder has decoded everything the tail read before stopping, at
    /// most `seconds` (standard input may never end).
    package func waitUntilStopped(seconds: Double) {
        let deadline = Date().addingTimeInterval(seconds)
        lock.lock()
        while !decoderDone && path != "-" && lock.wait(until: deadline) {}
        lock.unlock()
    }

    /// Waits until `deadline`, or less when a file is finished, the log fails or ends, a
    /// stop is asked for, a file is opened (`opened` differs from `openedSeen`), or 4 MiB
    /// of complete lines wait to be drained.
    package func waitForEvent(until deadline: Date, openedSeen: Int) {
        lock.lock()
        while finishedFiles.isEmpty && failed == nil && !stdinEnded && !stopping && openedFiles == openedSeen
            && boundary < Self.drainAt && lock.wait(until: deadline)
        {}
        lock.unlock()
    }

    private var openedFiles = 0
    /// Complete lines decoded that wake the follower before its next emit is due.
    static let drainAt = 4 << 20

    /// Reads a property under the lock.
    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Files opened so far.
    package var opened: Int { locked { openedFiles } }
    /// Bumped whenever bytes are decoded or a file is finished: how a reader sees change.
    package var version: Int { locked { changes } }
    /// A file that could not be read or decoded; following stops.
    package var failure: InputError? { locked { failed } }

    /// Why the followed name cannot be looked up now (`strerror`: the file deleted and not
    /// made again yet, or the disk its folder is on gone), or nil. Following goes on
    /// meanwhile from the file already open, and takes up a file under the name when
    /// one is there again.
    package var nameProblem: String? { locked { missingName } }
    private var missingName: String?

    /// A file that has ended (rotated away, truncated, or standard input at its end): the
    /// bytes of it not yet drained, and its content as stored.
    package struct FinishedFile: Sendable {
        package var name: String
        /// Decoded bytes after those already drained, to the file's end (a last line without
        /// its newline included).
        package var rest: [UInt8]
        /// The fingerprint of the file's bytes as stored (compressed, if it is).
        package var fingerprint: ContentFingerprint?
    }

    /// What arrived since the last call: the files finished since then, in order, each
    /// with the last of its bytes, and then the complete lines decoded of the file now
    /// followed; and whether standard input has ended, as of the same moment (its finished
    /// file is then among `finished`, now or in an earlier drain). Drained bytes are
    /// dropped here: the log holds only what is not yet taken.
    package func drain() -> (finished: [FinishedFile], lines: [UInt8], ended: Bool) {
        lock.lock()
        defer { lock.unlock() }
        assert(checkBuffer(), "LiveLog.drain: the buffer touched without the lock, or out of bounds")
        let f = finishedFiles
        finishedFiles = []
        let lines = Array(bytes[..<boundary])
        drained += Int64(boundary)
        if let keep = frameEnds.firstIndex(where: { $0.decoded >= drained }) {
            frameEnds.removeFirst(keep)
        } else {
            frameEnds.removeAll()
        }
        if boundary > 0 {
            // Moves the unfinished line to the front, keeping the capacity.
            bytes.removeFirst(boundary)
            boundary = 0
            lock.broadcast()
        }
        return (f, lines, stdinEnded)
    }

    /// Bytes decoded after the last complete line (a line still being written).
    package var unfinishedLineBytes: Int {
        locked {
            assert(checkBuffer(), "LiveLog: the buffer touched without the lock, or out of bounds")
            return bytes.count - boundary
        }
    }

    /// Where following stands, for a checkpoint: the file now followed and the bytes of it
    /// read; nil before a file is open, and while a finished file waits to be fed
    /// (`finished()`), since a checkpoint naming the next file would then lose it on a
    /// restart.
    package func followPoint() -> (device: UInt64, inode: UInt64, offset: Int64)? {
        lock.lock()
        defer { lock.unlock() }
        guard finishedFiles.isEmpty, inode != 0 else { return nil }
        return (device, inode, offset)
    }

    /// Where a checkpoint of the file now followed can stand once `decodedBytes` of it are
    /// in the engine (all the bytes drained of it so far): that byte of a plain file, the
    /// end of the frame that ends there for a compressed one (a frame cannot be entered
    /// in the middle). Nil when there is no such place now (`decodedBytes` inside a frame),
    /// before a file is open, and while a finished file waits to be fed (`followPoint`).
    package func checkpointPoint(decodedBytes: Int64) -> (device: UInt64, inode: UInt64, stored: Int64, plain: Bool)? {
        lock.lock()
        defer { lock.unlock() }
        guard finishedFiles.isEmpty, inode != 0, decodedBytes == drained else { return nil }
        if plain { return (device, inode, decodedBytes, true) }
        guard let end = frameEnds.first(where: { $0.decoded == decodedBytes }) else { return nil }
        return (device, inode, end.stored, false)
    }

    private var plain = false

    // MARK: - The decoder

    private func startDecoder(descriptor: Int32, owned: Bool) {
        lock.lock()
        decoderDone = false
        lock.unlock()
        let t = Thread { [self] in decode(descriptor: descriptor, owned: owned) }
        t.name = "callsift follow decode"
        t.start()
    }

    private func decode(descriptor: Int32, owned: Bool) {
        var error: InputError?
        var fingerprint: ContentFingerprint?
        do {
            // The file a checkpoint left part way through goes on from there, once.
            let from = locked {
                defer { resumption = nil }
                return resumption
            }
            let reader =
                owned
                ? try InputReader(descriptor: descriptor, name: path, hashedBefore: from?.hashedBefore ?? ContentHasher())
                : try InputReader(path: "-")
            reader.recordsFrameEnds = true
            let isPlain = reader.compression == .none
            let (decodedBase, storedBase) = (from?.decoded ?? 0, from?.stored ?? 0)
            locked {
                plain = isPlain
                drained = decodedBase
                frameEnds = []
            }
            while try reader.readChunk({ append($0) }) != nil {
                let ends = reader.takeFrameEnds()
                if !ends.isEmpty {
                    locked {
                        for e in ends {
                            frameEnds.append(InputReader.FrameEnd(decoded: decodedBase + e.decoded, stored: storedBase + e.stored))
                        }
                    }
                }
            }
            fingerprint = reader.contentFingerprint()
        } catch let e as InputError {
            error = e
        } catch let e {
            error = InputError(input: path, offset: 0, message: "\(e)")
        }
        lock.lock()
        defer { lock.unlock() }
        decoderDone = true
        if stopping && path != "-" {
            // Stopped, not finished: the file goes on, and is read again on a restart. A
            // frame cut off by the stop is a frame still being written.
        } else if let error {
            failed = error
        } else {
            assert(checkBuffer(), "LiveLog: the buffer touched without the lock, or out of bounds")
            finishedFiles.append(FinishedFile(name: path, rest: bytes, fingerprint: fingerprint))
            bytes.removeAll(keepingCapacity: true)
            boundary = 0
            frameEnds = []
            if path == "-" { stdinEnded = true }
        }
        changes += 1
        lock.broadcast()
    }

    private func append(_ chunk: UnsafeRawBufferPointer) {
        lock.lock()
        defer { lock.unlock() }
        // The follower drains the buffer as it goes; a decoder far ahead of it (a restart
        // reading a long file again) waits rather than hold the file in memory.
        while boundary >= Self.drainAt * 4 && !stopping { lock.wait() }
        assert(checkBuffer(), "LiveLog.append: the buffer touched without the lock, or out of bounds")
        // Copied in: the chunk is lent by the reader for this call only.
        bytes.append(contentsOf: chunk)
        if let last = chunk.lastIndex(of: UInt8(ascii: "\n")) { boundary = bytes.count - chunk.count + last + 1 }
        precondition(boundary <= bytes.count, "LiveLog: complete lines past the bytes decoded")
        changes += 1
        lock.broadcast()
    }

    // MARK: - The tail

    private var isStopping: Bool { locked { stopping } }

    /// Records why following stops.
    private func fail(_ error: InputError) {
        lock.lock()
        failed = error
        changes += 1
        lock.broadcast()
        lock.unlock()
    }

    /// Sleeps `seconds`, or less if a stop is asked for.
    private func nap(_ seconds: Double) {
        lock.lock()
        if !stopping { _ = lock.wait(until: Date().addingTimeInterval(seconds)) }
        lock.unlock()
    }

    private func identity(of fd: Int32) -> (UInt64, UInt64, Int64)? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino), Int64(st.st_size))
    }

    private func identity(path: String) -> (UInt64, UInt64, Int64)? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        return (UInt64(st.st_dev), UInt64(st.st_ino), Int64(st.st_size))
    }

    private func tail(resuming: (descriptor: Int32, offset: Int64)?) {
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: 1 << 20, alignment: 64)
        defer { chunk.deallocate() }
        var backoff = 0.01
        var resuming = resuming
        outer: while true {
            // Wait for a file under the name (the first one given, when resuming).
            var fd: Int32 = resuming?.descriptor ?? -1
            let start = resuming?.offset ?? 0
            resuming = nil
            if fd >= 0 && lseek(fd, off_t(start), SEEK_SET) != off_t(start) {
                close(fd)
                fail(InputError(input: path, offset: start, message: "cannot seek to where the checkpoint left it: \(String(cString: strerror(errno)))"))
                return
            }
            while fd < 0 {
                fd = open(path, O_RDONLY | O_CLOEXEC)
                if fd >= 0 { break }
                if isStopping { return }
                nap(backoff)
                backoff = min(backoff * 2, 0.25)
            }
            var pipeEnds: [Int32] = [0, 0]
            guard pipe(&pipeEnds) == 0 else {
                close(fd)
                fail(InputError(input: path, offset: 0, message: "cannot make a pipe: \(String(cString: strerror(errno)))"))
                return
            }
            let (dev, ino, _) = identity(of: fd) ?? (0, 0, 0)
            lock.lock()
            device = dev; inode = ino; offset = start
            plain = false
            openedFiles += 1
            lock.broadcast()
            lock.unlock()
            startDecoder(descriptor: pipeEnds[0], owned: true)
            let out = pipeEnds[1]
            var read: Int64 = start  // `offset`, which this thread alone writes
            var reopen = false
            reading: while true {
                let n: Int
                do {
                    n = try FileDescriptor(rawValue: fd).read(
                        into: UnsafeMutableRawBufferPointer(start: chunk, count: 1 << 20),
                        retryOnInterrupt: true)
                } catch {
                    fail(InputError(input: path, offset: read, message: "read failed: \(String(cString: strerror((error as? Errno)?.rawValue ?? EIO)))"))
                    break reading
                }
                if n > 0 {
                    // The decoder has gone only after an error of its own, which it reports.
                    do { _ = try FileDescriptor(rawValue: out).writeAll(UnsafeRawBufferPointer(start: chunk, count: n)) } catch { break reading }
                    read += Int64(n)
                    lock.lock()
                    offset = read
                    lock.unlock()
                    backoff = 0.01
                    continue
                }
                // Nothing new now.
                if isStopping { break reading }
                let found = identity(path: path)
                let problem = found == nil ? String(cString: strerror(errno)) : nil
                if problem != locked({ missingName }) {
                    lock.lock()
                    missingName = problem
                    changes += 1
                    lock.broadcast()
                    lock.unlock()
                }
                if let (d, i, size) = found {
                    if d != dev || i != ino {
                        // Rotated: whatever was appended to the old file before the new
                        // one appeared is read first (the loop comes back here at its end).
                        if let (_, _, oldSize) = identity(of: fd), oldSize > read { continue }
                        reopen = true
                        break reading
                    }
                    if size < read {
                        // Truncated in place: what was read is finished; start again.
                        reopen = true
                        break reading
                    }
                }
                nap(backoff)
                backoff = min(backoff * 2, 0.25)
            }
            close(fd)
            close(out)
            // The decoder finishes the file (or, stopping, just decodes what it was given).
            lock.lock()
            while !decoderDone { lock.wait() }
            lock.unlock()
            if !reopen || isStopping { break outer }
            backoff = 0.01
        }
    }

}

/// An `NSCondition` that, in debug builds, knows which thread holds it, so that code
/// touching what it guards can assert that the caller holds it (`LiveLog.checkBuffer`),
/// and unlocking by a thread that does not hold it traps. The owner is kept by `assert`
/// conditions, so in `-O` builds this is the bare condition.
private final class CheckedCondition: Sendable {
    private let condition = NSCondition()
    /// Debug builds only: the thread holding the lock (`pthread_self`), 0 when none.
    private let owner = ManagedAtomic<UInt>(0)

    func lock() {
        condition.lock()
        assert(take(), "CheckedCondition: locked while held")
    }

    func unlock() {
        assert(give(), "CheckedCondition: unlocked by a thread that does not hold it")
        condition.unlock()
    }

    func wait() {
        assert(give(), "CheckedCondition: wait by a thread that does not hold it")
        condition.wait()
        assert(take(), "CheckedCondition: woken while held")
    }

    func wait(until deadline: Date) -> Bool {
        assert(give(), "CheckedCondition: wait by a thread that does not hold it")
        let signalled = condition.wait(until: deadline)
        assert(take(), "CheckedCondition: woken while held")
        return signalled
    }

    func broadcast() { condition.broadcast() }

    /// Debug builds only (in `-O` builds the owner is never set, and this is false).
    var isHeldByCurrentThread: Bool { owner.load(ordering: .relaxed) == Self.currentThread }

    private func take() -> Bool {
        owner.compareExchange(expected: 0, desired: Self.currentThread, ordering: .relaxed).exchanged
    }

    private func give() -> Bool {
        owner.compareExchange(expected: Self.currentThread, desired: 0, ordering: .relaxed).exchanged
    }

    private static var currentThread: UInt {
        #if canImport(Darwin)
        UInt(bitPattern: pthread_self())
        #else
        UInt(pthread_self())
        #endif
    }
}
