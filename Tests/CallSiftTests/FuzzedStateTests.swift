import Foundation
import Testing

@testable import CallSift
@testable import CallSiftCore

/// Inputs the `state` and `checkpoint` fuzz targets (Fuzz/FuzzTargets.swift) found, replayed
/// here byte for byte: each is kept in Fuzz/corpus/state or Fuzz/corpus/checkpoint, and is
/// applied to the template state folder (Fuzz/templates) as the target applies it. Every
/// one must be refused with a `StateError` that names the damaged file.
@Suite struct FuzzedStateTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func bytes(_ path: String) throws -> [UInt8] { Array(try Data(contentsOf: root.appendingPathComponent(path))) }

    /// The template state folder with the damage of the `state` target's input `input`
    /// (Fuzz/corpus/state/...), made as the target makes it (`StateDamage.damage`).
    /// Returns the folder and the name of the file damaged.
    static func replayState(_ input: String, in temp: TempDir) throws -> (dir: String, damaged: String) {
        let template = root.appendingPathComponent("Fuzz/templates/state/dir").path
        let names = try FileManager.default.contentsOfDirectory(atPath: template).filter { $0 != "callsift.lock" }.sorted()
        var files: [String: [UInt8]] = [:]
        for n in names { files[n] = try bytes("Fuzz/templates/state/dir/\(n)") }
        let (out, damaged) = StateDamage.damage(files, by: try bytes(input))
        let dir = temp.path("state")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        for (name, b) in out { try Data(b).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name)) }
        return (dir, damaged)
    }

    /// Replays the `state` target's input `input` (`replayState`) and feeds the state
    /// (`feedReplayedState`), which must refuse it with a `StateError`: the folder, the
    /// damaged file's name and the error's text.
    static func refusal(of input: String) throws -> (dir: String, damaged: String, message: String?) {
        let temp = try TempDir()
        let (dir, damaged) = try replayState(input, in: temp)
        let error = feedReplayedState(dir)
        #expect(error is StateError, "\(String(describing: error))")
        return (dir, damaged, error.map { "\($0)" })
    }

    /// Opens the replayed state, reports on it and feeds it the template's next day, as the
    /// `state` target does; returns the error the first step that fails throws.
    static func feedReplayedState(_ dir: String) -> (any Error)? {
        do {
            let store = try StateStore(path: dir)
            _ = try DailyRun.run(
                state: store, settings: AnalysisSettings(), inputs: [], pseudonymiser: Pseudonymiser(k0: 0, k1: 0),
                execution: ExecutionOptions(threads: 1))
            let key = Pseudonymiser(secret: try bytes("Fuzz/templates/state/key"))
            _ = try DailyRun.run(
                state: store, settings: store.manifest!.fixed.applied(to: AnalysisSettings()),
                inputs: [root.appendingPathComponent("Fuzz/templates/state/next.csv").path], pseudonymiser: key,
                execution: ExecutionOptions(threads: 1))
            return nil
        } catch {
            return error
        }
    }

    /// A caller-scope layer with a record out of its place (ten bytes of a key changed,
    /// checksum made good, so that the record no longer lies in its hash's bucket nor in
    /// order): merged by the next run that rebuilt its part, it stopped callsift on the
    /// merge's precondition ("scope records out of order"); a lookup would have missed the
    /// record. Refused when the layer is opened, naming it.
    @Test func scopeRecordsOutOfOrderAreRefused() throws {
        let temp = try TempDir()
        let (dir, damaged) = try Self.replayState("Fuzz/corpus/state/regression-scopes-out-of-order", in: temp)
        #expect(damaged == "part-3-0-scopes.bin")
        let error = Self.feedReplayedState(dir)
        #expect(error is StateError)
        #expect("\(error.map { "\($0)" } ?? "no error")".contains("\(dir)/\(damaged): malformed (a scope record outside its bucket of the index)"))
    }

    /// A part file whose FCR queue was changed (checksum made good) under caller scopes
    /// that name its entries: the next run that rebuilt the part stopped on the queue's
    /// precondition ("entry N is not in the queue") when a caller's later contact marked
    /// the entry its scope named. Now a scope naming an entry past the queue's tail is
    /// refused when the part is read, naming the file, and one below its head (an entry
    /// that has left the queue) is never looked up: the run either refuses the state or
    /// completes, and never stops.
    @Test func scopesNamingEntriesOutsideTheQueueDoNotStopARun() throws {
        let temp = try TempDir()
        let (dir, _) = try Self.replayState("Fuzz/corpus/state/regression-fcr-entry-not-in-queue", in: temp)
        if let error = Self.feedReplayedState(dir) {
            #expect(error is StateError && "\(error)".contains(dir), "\(error)")
        }
    }

    /// A state whose counts are each in bounds but do not add up (checksum made good): its
    /// report broke the accounting identity (lines 258 against 1,282 events). Refused,
    /// naming the engine file, before anything is reported or committed.
    @Test func countsThatDoNotAddUpAreRefused() throws {
        let temp = try TempDir()
        let (dir, _) = try Self.replayState("Fuzz/corpus/state/regression-counts-do-not-add-up", in: temp)
        let error = Self.feedReplayedState(dir)
        #expect(error is StateError, "\(String(describing: error))")
        #expect("\(error.map { "\($0)" } ?? "no error")".contains("counts that do not add up"))
    }

    /// A part file whose ids name no name (bytes of its body changed, checksum made
    /// good): read, its base groups' centre and service ids past the engine's names stopped
    /// callsift in the next run's report (an index out of range in `Interner`). Refused
    /// when the part is read, naming its file, at the first such id (a held event's reason).
    @Test func idsPastTheNamesAreRefused() throws {
        let (dir, damaged, message) = try Self.refusal(of: "Fuzz/corpus/state/regression-group-of-unknown-centre")
        #expect(damaged == "part-3-0.bin")
        #expect(message == "\(dir)/\(damaged): malformed (a reason id of -3, of 12 reason names)")
    }

    /// A manifest whose fixed settings no run could have given (a negative lateness): the
    /// state opened, and the report on it failed with "--lateness must not be negative",
    /// naming a flag nobody gave rather than the file. Refused when the manifest is read.
    @Test func impossibleFixedSettingsAreRefused() throws {
        let (dir, damaged, message) = try Self.refusal(of: "Fuzz/corpus/state/regression-negative-lateness")
        #expect(damaged == "MANIFEST")
        #expect(message == "\(dir)/MANIFEST: malformed (fixed settings that no run gives: --lateness must not be negative)")
    }

    /// An engine file with a negative count (a part's duplicates, -21): read and reported
    /// on, its report broke the accounting identity (lines 258 = events 258 + duplicates
    /// -21 + ...). Counts in a state are 0 or more (and bounded, so that their sums cannot
    /// overflow): refused, naming the file.
    @Test func negativeCountsAreRefused() throws {
        let (dir, damaged, message) = try Self.refusal(of: "Fuzz/corpus/state/regression-negative-duplicates")
        #expect(damaged.hasPrefix("engine-"))
        #expect(message == "\(dir)/\(damaged): malformed (a count of -21)")
    }

    /// A part file whose body was changed (checksum made good) so that its classifier
    /// had gone further than its calls in progress allowed: the next daily run stopped on
    /// `Classifier.take`'s precondition ("contact arrived after its place in the order was
    /// passed") when those calls became contacts. A part is now refused when it is read,
    /// naming its file, unless it is as `advancePart` leaves one: taken no further than its
    /// horizon less the margin, its classifier a call timeout behind, its waiting contacts
    /// and calls in progress not older than what the classifier has done.
    @Test func partsWhoseClassifierPassedTheirCallsAreRefused() throws {
        let (dir, damaged, message) = try Self.refusal(of: "Fuzz/corpus/state/regression-part-passed-its-contacts")
        #expect(damaged == "part-3-0.bin")
        #expect(message == "\(dir)/\(damaged): malformed (a call in progress older than the contacts already classified)")
    }

    /// A state file that is no regular file: a FIFO in a part file's place made the next
    /// run wait forever for a writer (found by hand), and a folder in the manifest's place
    /// gave an error about mapping. Each is refused, naming the file.
    @Test func stateFilesThatAreNoFilesAreRefused() throws {
        for (name, make) in [("part-3-0.bin", "fifo"), ("MANIFEST", "folder")] {
            let temp = try TempDir()
            let dir = temp.path("state")
            try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("Fuzz/templates/state/dir").path, toPath: dir)
            let path = "\(dir)/\(name)"
            try FileManager.default.removeItem(atPath: path)
            if make == "fifo" {
                #expect(mkfifo(path, 0o600) == 0)
            } else {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
            }
            let error = Self.feedReplayedState(dir)
            #expect(error.map { "\($0)" } == "\(path): not a regular file", "\(String(describing: error))")
        }
    }

    /// A part file whose call in progress had an arrive without a service (checksum made
    /// good): its contact's row named service -1, and the next daily run's report stopped
    /// on an index out of range in `Interner`. Refused when the part is read, naming it.
    @Test func arrivesWithoutTheirServiceAreRefused() throws {
        let (dir, damaged, message) = try Self.refusal(of: "Fuzz/corpus/state/regression-arrive-without-service")
        #expect(damaged == "part-3-0.bin")
        #expect(message == "\(dir)/\(damaged): malformed (an arrive without its service)")
    }
}
