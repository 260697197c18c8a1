import ArgumentParser
import CallSift
import CallSiftCore
import CallSiftServe
import Dispatch
import Foundation

#if canImport(Glibc)
import Glibc
#endif

/// `callsift serve --state DIR`: the wallboard and `/metrics` of the state that daily runs
/// build (docs/metrics.md, "Wallboard"), read-only: it looks at the state's manifest every
/// `--every`, and when a run has committed since, reports on the state again, holding its
/// lock only while it reads (a daily run that holds it is waited for until the next look).
struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the wallboard, /metrics and /report.json of a state that daily runs build, read-only.",
        discussion: """
            The figures are those of `callsift analyze --state DIR` with no input, read again \
            after each run's commit. Today is the day of the state's latest event. For today's \
            figures as calls come in, use `analyze --follow --serve` instead.
            """)

    @Option(help: ArgumentHelp("The state folder that daily runs build (analyze --state DIR).", valueName: "dir"))
    var state: String

    @Option(
        help: ArgumentHelp(
            "Where to listen: ADDRESS:PORT, or :PORT for 127.0.0.1 only (any other address is your choice to expose).",
            valueName: "address:port"))
    var listen: String

    @Option(help: "How often to look for a run's new commit.")
    var every = DurationArgument(millis: 10_000)

    @Option(help: "Rates with a smaller denominator are shown as a dash.")
    var minCell: Int64 = 10

    func validate() throws {
        if Analyze.serveAddress(listen) == nil {
            throw ValidationError("--listen: expected ADDRESS:PORT or :PORT (a port from 0 to 65535), not '\(listen)'")
        }
        if every.millis < 100 { throw ValidationError("--every must be at least 100ms") }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: state, isDirectory: &isDir), isDir.boolValue else {
            throw ValidationError("--state \(state): no such folder (a daily run makes it: analyze --state DIR FILES)")
        }
    }

    func run() throws {
        let (host, port) = Analyze.serveAddress(listen)!
        // A day and a bit: daily runs commit once a day.
        let feed = BoardFeed(stallAfter: 26 * 3600, minCell: minCell)
        let server = BoardServer(host: host, port: port, feed: feed)
        do { try server.start() } catch let e as ServeError { throw ValidationError(e.description) }
        defer { server.stop() }
        let shown = host.contains(":") ? "[\(host)]" : host
        printError("callsift: serving the wallboard of \(state) on http://\(shown):\(server.boundPort ?? port)/")
        let stop = DispatchSemaphore(value: 0)
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { stop.signal() }
            source.resume()
            sources.append(source)
        }
        var seen: String?
        var said: String?
        repeat {
            let now = Self.manifestStamp(state)
            if let now, now != seen {
                do {
                    let report = try Self.report(state)
                    feed.publish(report: report, health: FollowHealth())
                    seen = now
                    said = nil
                } catch {
                    // Held by a daily run, or being written: looked at again next time.
                    let text = "\(error)"
                    if text != said { printError("callsift: \(text); trying again in \(every.millis / 1000) s") }
                    said = text
                }
            }
        } while stop.wait(timeout: .now() + .milliseconds(Int(every.millis))) == .timedOut
    }

    /// The manifest's inode, size and modification time: a commit replaces it.
    static func manifestStamp(_ dir: String) -> String? {
        var st = stat()
        guard stat((dir as NSString).appendingPathComponent("MANIFEST"), &st) == 0 else { return nil }
        return "\(st.st_ino)-\(st.st_size)-\(st.st_mtim.tv_sec)-\(st.st_mtim.tv_nsec)"
    }

    /// The state's report, as `analyze --state DIR` with no input gives it; its lock is
    /// held only meanwhile.
    static func report(_ dir: String) throws -> Report {
        let store = try StateStore(path: dir)
        var report = try DailyRun.run(state: store, settings: AnalysisSettings(), inputs: [], pseudonymiser: Pseudonymiser(k0: 0, k1: 0)).report
        report.statePath = dir
        return report
    }
}
