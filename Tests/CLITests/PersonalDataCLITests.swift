import Foundation
import Testing

/// Personal data at rest (the rejects file, the key file) and counts added twice (merge).
/// The suite sets the process umask to 022 for the children it starts, so it runs alone.
@Suite(.serialized) struct PersonalDataCLITests {
    static func temp() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("callsift-private-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    static func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as! NSNumber).intValue
    }

    /// Runs `body` with the usual umask 022 (children inherit it), then restores it.
    static func withUmask022<R>(_ body: () throws -> R) rethrows -> R {
        let old = umask(0o022)
        defer { umask(old) }
        return try body()
    }

    /// The rejects file holds raw caller numbers: mode 0600 under umask 022, when it is new,
    /// when it replaces a world-readable file, and when several inputs go through the spool.
    @Test func rejectsFileIsPrivate() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let rejects = dir.appendingPathComponent("rejects.tsv").path
        try Self.withUmask022 {
            let r = try CLITests.run(["analyze", "--rejects", rejects, "samples/dirty.csv.gz"])
            #expect(r.status == 0)
            #expect(try Self.mode(rejects) == 0o600)
            try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: rejects)
            let again = try CLITests.run(["analyze", "--rejects", rejects, "samples/dirty.csv.gz", "samples/calls.csv.zst"])
            #expect(again.status == 0)
            #expect(try Self.mode(rejects) == 0o600)
            #expect(try Data(contentsOf: URL(fileURLWithPath: rejects)).count > 1000)
        }
    }

    /// A key file others can read or write is refused, naming the mode; `--allow-shared-key`
    /// uses it with a warning; a private one is used without a word. With the same key the
    /// figures are the same either way.
    @Test func exposedKeyFileIsRefused() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        let key = dir.appendingPathComponent("callsift.key").path
        try Data((0..<32).map { _ in UInt8.random(in: 0...255) }).write(to: URL(fileURLWithPath: key))
        var outputs: [String] = []
        for mode in [0o644, 0o640, 0o606, 0o620] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: key)
            let refused = try CLITests.run(["analyze", "--key-file", key, "samples/calls.csv.zst"], env: [:])
            #expect(refused.status == 64)
            #expect(refused.stderr.contains("--key-file \(key): its mode is 0\(String(mode, radix: 8))"), "\(refused.stderr)")
            #expect(refused.stdout.isEmpty)
            let allowed = try CLITests.run(["analyze", "--allow-shared-key", "--key-file", key, "samples/calls.csv.zst"], env: [:])
            #expect(allowed.status == 0)
            #expect(allowed.stderr.contains("warning: --key-file"))
            outputs.append(allowed.stdout)
        }
        for mode in [0o600, 0o400] {
            try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: key)
            let ok = try CLITests.run(["analyze", "--key-file", key, "samples/calls.csv.zst"], env: [:])
            #expect(ok.status == 0)
            #expect(ok.stderr.isEmpty, "\(ok.stderr)")
            outputs.append(ok.stdout)
        }
        #expect(Set(outputs).count == 1)
        // Owned by another user: refused too (only root can give a file away to test this).
        if geteuid() == 0 {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: key)
            #expect(chown(key, 65534, 65534) == 0)
            let other = try CLITests.run(["analyze", "--key-file", key, "samples/calls.csv.zst"], env: [:])
            #expect(other.status == 64)
            #expect(other.stderr.contains("belongs to another user (uid 65534)"), "\(other.stderr)")
        }
        // accredit reads raw logs with a key too.
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: key)
        let accredit = try CLITests.run(["accredit", "--standard", "samples/standard.toml", "--key-file", key, "samples/calls.csv.zst"], env: [:])
        #expect(accredit.status == 64)
        #expect(accredit.stderr.contains("its mode is 0644"))
    }

    /// A report merged with itself, or with another that counts the same input under
    /// another name, is refused, naming both; a day's log split into two files still merges,
    /// as do two centres' identical empty days. accredit applies the same rule.
    @Test func duplicateMergesAreRefused() throws {
        let dir = try Self.temp()
        defer { try? FileManager.default.removeItem(at: dir) }
        func path(_ name: String) -> String { dir.appendingPathComponent(name).path }
        func analyze(_ out: String, _ inputs: [String]) throws {
            let r = try CLITests.run(["analyze", "--tz", "Europe/London", "--period", "week", "-o", path(out)] + inputs)
            #expect(r.status == 0, "\(r.stderr)")
        }
        // The same report twice, byte for byte.
        let same = try CLITests.run(["merge", "samples/expected/calls.json", "samples/expected/calls.json"])
        #expect(same.status == 64)
        #expect(same.stderr.contains("samples/expected/calls.json and samples/expected/calls.json are the same report"))
        // The same input under another name, in a report of its own and beside another file.
        try FileManager.default.copyItem(atPath: CLITests.packageRoot.appendingPathComponent("samples/calls.csv.zst").path, toPath: path("copy.zst"))
        try analyze("copy.json", [path("copy.zst"), "samples/dirty.csv.gz"])
        let copied = try CLITests.run(["merge", "samples/expected/calls.json", path("copy.json")])
        #expect(copied.status == 64)
        #expect(copied.stderr.contains("both count the same input (samples/calls.csv.zst in the first, \(path("copy.zst")) in the second"), "\(copied.stderr)")
        let accredit = try CLITests.run(["accredit", "--standard", "samples/standard.toml", "samples/expected/calls.json", path("copy.json")])
        #expect(accredit.status == 64)
        #expect(accredit.stderr.contains("both count the same input"))

        // Morning and afternoon files of the same days, each with an identical empty day
        // file (header only) beside it: they merge.
        let csv = try CLITests.run(["generate", "--calls", "2000", "--centres", "2", "--days", "3"]).stdout
        var lines = csv.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if lines.last == "" { lines.removeLast() }
        let header = lines.removeFirst()
        let half = lines.count / 2
        try ([header] + lines[..<half]).joined(separator: "\n").appending("\n").write(toFile: path("am.csv"), atomically: true, encoding: .utf8)
        try ([header] + lines[half...]).joined(separator: "\n").appending("\n").write(toFile: path("pm.csv"), atomically: true, encoding: .utf8)
        try (header + "\n").write(toFile: path("closed-a.csv"), atomically: true, encoding: .utf8)
        try (header + "\n").write(toFile: path("closed-b.csv"), atomically: true, encoding: .utf8)
        try analyze("am.json", [path("am.csv"), path("closed-a.csv")])
        try analyze("pm.json", [path("pm.csv"), path("closed-b.csv")])
        let merged = try CLITests.run(["merge", path("am.json"), path("pm.json")])
        #expect(merged.status == 0, "\(merged.stderr)")
        #expect(merged.stdout.contains("\"rows\": ["))
    }
}
