import Synchronization
import TurnoutPosix

/// The demo backend's endpoints. One instance is shared by all connection threads; its only mutable state is
/// the health and root switches.
///
/// | path | methods | answer |
/// |---|---|---|
/// | `/` | GET, HEAD | 200 `Hello World! from <name>\n`, or 500 `Internal Server Error from <name>\n` |
/// | `/health` | GET, HEAD | 200 `Health check status: ok\n`, or 503 `Health check status: failing\n` |
/// | `/control/health` | POST | body `fail` / `ok` flips `/health`; 200 with the new state |
/// | `/control/root` | POST | body `fail` / `ok` / `slow N` makes `/` answer 500 / 200 / 200 after N ms |
/// | `/bytes?n=N[&chunked=1]` | GET, HEAD | N bytes, byte i = i % 251; chunked in 16 KiB chunks on request |
/// | `/echo` | any | the raw request head followed by the body (the body only up to 1 MiB) |
/// | `/upload` | POST | body length and SHA-256 only |
/// | `/slow?ms=N[&first=1]` | any | waits N ms then 200 `slow\n`; with `first=1` the head goes out before the wait |
/// | `/status?code=N` | any | status N (200-599) with body `status N\n` |
/// | `/abort?after=N` | any | head promising 1000000 bytes, N bytes, then RST |
/// | `/ws` | GET + Upgrade | WebSocket echo |
/// | anything else | any | 404 |
final class DemoRouter: Sendable {
    /// What happened to the connection after a handler ran.
    enum Outcome {
        /// The response is complete; the connection may serve another request.
        case finished
        /// The handler closed the connection itself (abort, WebSocket).
        case connectionHandedOff
    }

    let name: String
    /// True after `POST /control/health` with `fail`.
    let healthFailing = Atomic<Bool>(false)
    /// True after `POST /control/root` with `fail`.
    let rootFailing = Atomic<Bool>(false)
    /// How long `/` waits before answering, in milliseconds: N after `POST /control/root` with `slow N`.
    let rootDelayMilliseconds = Atomic<Int>(0)

    init(name: String) {
        self.name = name
    }

    func handle(_ exchange: DemoExchange) throws -> Outcome {
        switch exchange.request.path {
        case "/":
            guard try allow(["GET", "HEAD"], exchange) else { return .finished }
            try exchange.drainBody()
            let delay = rootDelayMilliseconds.load(ordering: .relaxed)
            if delay > 0 { PosixThread.sleep(milliseconds: delay) }
            if rootFailing.load(ordering: .relaxed) {
                try exchange.respond(status: 500, text: "Internal Server Error from \(name)\n")
            } else {
                try exchange.respond(status: 200, text: "Hello World! from \(name)\n")
            }
        case "/health":
            guard try allow(["GET", "HEAD"], exchange) else { return .finished }
            try handleHealth(exchange)
        case "/control/health":
            guard try allow(["POST"], exchange) else { return .finished }
            try handleHealthControl(exchange)
        case "/control/root":
            guard try allow(["POST"], exchange) else { return .finished }
            try handleRootControl(exchange)
        case "/bytes":
            guard try allow(["GET", "HEAD"], exchange) else { return .finished }
            try handleBytes(exchange)
        case "/echo":
            try handleEcho(exchange)
        case "/upload":
            guard try allow(["POST"], exchange) else { return .finished }
            try handleUpload(exchange)
        case "/slow":
            try handleSlow(exchange)
        case "/status":
            try handleStatus(exchange)
        case "/abort":
            return try handleAbort(exchange)
        case "/ws":
            return try handleWebSocket(exchange)
        default:
            try exchange.drainBody()
            try exchange.respond(status: 404, text: "not found: \(exchange.request.path)\n")
        }
        return .finished
    }

    /// Answers 405 (after draining the body) unless the method is one of `methods`.
    private func allow(_ methods: [String], _ exchange: DemoExchange) throws -> Bool {
        if methods.contains(exchange.request.method) { return true }
        try exchange.drainBody()
        try exchange.respond(status: 405, headers: [("Allow", methods.joined(separator: ", "))],
                             text: "method \(exchange.request.method) not allowed on \(exchange.request.path)\n")
        return false
    }

    /// Answers 400 with `message` after draining the body.
    func rejectQuery(_ exchange: DemoExchange, _ message: String) throws {
        try exchange.drainBody()
        try exchange.respond(status: 400, text: "\(message)\n")
    }
}
