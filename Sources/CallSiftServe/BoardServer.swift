import CallSiftCore
import Dispatch
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The HTTP server of `--serve` (docs/architecture.md, "Serving"): read-only, answering
/// every request from the feed's last snapshot.
///
/// - `GET /`: the wallboard (`WallboardPage`), one page with no external assets, which
///   follows `/events`;
/// - `GET /events`: Server-Sent Events, one `board` message per emit (the figures of
///   `/board.json`), and a comment every 15 seconds so that the page can tell a quiet
///   feed from a broken connection;
/// - `GET /board.json`, `/report.json` (the report as `-o` writes it), `/metrics`;
/// - `GET /healthz`: 200 while the follower is keeping up, else 503.
///
/// Unknown paths get 404; any method but GET and HEAD, 405.
public final class BoardServer: Sendable {
    public let host: String
    public let port: Int
    private let feed: BoardFeed
    private let task = Locked<Task<Void, Never>?>(nil)
    /// The port actually bound (differs from `port` when that is 0).
    private let bound = Locked<Int?>(nil)

    public init(host: String, port: Int, feed: BoardFeed) {
        self.host = host
        self.port = port
        self.feed = feed
    }

    public var boundPort: Int? { bound.withLock { $0 } }

    /// Binds and starts serving on threads of its own; throws a clear error, before
    /// anything else starts, when the address cannot be bound (a port in use). For a
    /// thread outside Swift's concurrency pool (the command line's main thread): it waits.
    public func start() throws {
        let ready = DispatchSemaphore(value: 0)
        let outcome = Locked<Result<Int, any Error>?>(nil)
        Task {
            do {
                try await self.start()
                outcome.withLock { $0 = .success(0) }
            } catch {
                outcome.withLock { $0 = .failure(error) }
            }
            ready.signal()
        }
        guard ready.wait(timeout: .now() + 30) == .success else {
            stop()
            throw ServeError(description: "--serve \(host):\(port): the server did not start within 30 seconds")
        }
        if case .failure(let error) = outcome.withLock({ $0 })! { throw error }
    }

    /// `start()` from asynchronous code.
    public func start() async throws {
        let feed = self.feed
        let responder = CallbackResponder<BasicRequestContext> { request, _ in
            try await Self.respond(to: request, feed: feed)
        }
        var logger = Logger(label: "callsift.serve")
        logger.logLevel = .critical
        // Resumed once: by the listener running, or by the server failing first.
        let once = Locked<CheckedContinuation<Int, any Error>?>(nil)
        @Sendable func finish(_ result: Result<Int, any Error>) {
            once.withLock { c in
                c?.resume(with: result)
                c = nil
            }
        }
        let port = try await withCheckedThrowingContinuation { (c: CheckedContinuation<Int, any Error>) in
            once.withLock { $0 = c }
            let app = Application(
                responder: responder,
                configuration: ApplicationConfiguration(address: .hostname(host, port: self.port), serverName: "callsift"),
                onServerRunning: { channel in finish(.success(channel.localAddress?.port ?? 0)) },
                logger: logger)
            let t = Task {
                do {
                    try await app.run()
                } catch {
                    finish(.failure(ServeError(description: "--serve \(self.host):\(self.port): cannot listen there: \(Self.reason(error))")))
                }
            }
            task.withLock { $0 = t }
        }
        bound.withLock { $0 = port }
    }

    /// Closes the listener.
    public func stop() {
        task.withLock { $0?.cancel() }
    }

    private static func reason(_ error: any Error) -> String {
        let text = "\(error)"
        if text.contains("Address already in use") || text.contains("EADDRINUSE") { return "the address is already in use" }
        return text
    }

    static func respond(to request: Request, feed: BoardFeed) async throws -> Response {
        guard request.method == .get || request.method == .head else {
            return Response(
                status: .methodNotAllowed, headers: [.allow: "GET, HEAD"], body: ResponseBody(byteBuffer: ByteBuffer(string: "405 method not allowed\n")))
        }
        let path = request.uri.path
        switch path {
        case "/":
            return page(WallboardPage.html, type: "text/html; charset=utf-8")
        case "/healthz":
            let ok = feed.isKeepingUp()
            return Response(
                status: ok ? .ok : .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8", .cacheControl: "no-store"],
                body: ResponseBody(byteBuffer: ByteBuffer(string: ok ? "ok\n" : "stalled: no emit within \(Int(feed.stallAfter)) s\n")))
        case "/metrics", "/report.json", "/board.json":
            guard let s = feed.snapshot else {
                return Response(
                    status: .serviceUnavailable, headers: [.contentType: "text/plain; charset=utf-8", .retryAfter: "1"],
                    body: ResponseBody(byteBuffer: ByteBuffer(string: "no figures yet: the first emit has not happened\n")))
            }
            switch path {
            case "/metrics": return page(s.metrics, type: "text/plain; version=0.0.4; charset=utf-8")
            case "/report.json": return page(s.reportJSON, type: "application/json")
            default: return page(s.board, type: "application/json")
            }
        case "/events":
            return events(feed)
        default:
            return Response(
                status: .notFound, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: "404 not found\n")))
        }
    }

    private static func page(_ text: String, type: String) -> Response { page(Array(text.utf8), type: type) }

    private static func page(_ bytes: [UInt8], type: String) -> Response {
        Response(
            status: .ok, headers: [.contentType: type, .cacheControl: "no-store"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
    }

    /// Server-Sent Events: the figures now, then at each new version; and every 5 s an
    /// `alive` event with how long ago the follower last said it was keeping up (in
    /// milliseconds), so that a page can tell a quiet log from a stalled feed.
    private static func events(_ feed: BoardFeed) -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-store"],
            body: ResponseBody { writer in
                var shown = -1
                var turns = 0
                while !Task.isCancelled {
                    if let s = feed.snapshot, s.version != shown {
                        shown = s.version
                        var b = ByteBuffer(string: "event: board\ndata: ")
                        b.writeBytes(s.board)
                        b.writeString("\n\n")
                        try await writer.write(b)
                    }
                    if turns % 25 == 0 {
                        // How long ago, by the server's clock (a screen's clock need not agree).
                        let age = feed.lastAlive.map { String(Int64((Date().timeIntervalSince($0) * 1000).rounded())) } ?? "null"
                        try await writer.write(ByteBuffer(string: "event: alive\ndata: \(age)\n\n"))
                    }
                    turns += 1
                    try await Task.sleep(for: .milliseconds(200))
                }
                try await writer.finish(nil)
            })
    }
}

/// `--serve` could not start.
public struct ServeError: Error, CustomStringConvertible {
    public var description: String
}
