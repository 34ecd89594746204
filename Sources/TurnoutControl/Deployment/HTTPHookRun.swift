import TurnoutCore
import TurnoutPosix

/// One run of an `http` hook on the control loop: POSTs the hook's context as JSON over an `HTTPExchange`.
/// A 2xx passes, except a 202 with `Retry-After` (ECS's IN_PROGRESS): the POST is repeated after that many
/// seconds. Any other status fails with a reason naming it, and so does a connection failure; at the timeout
/// whatever is in flight is dropped and the outcome is `timedOut`. The outcome's text is the start of the last
/// response's body.
final class HTTPHookRun {
    /// The most of a response's body kept for the record.
    static let bodyLimit = 4096

    private let loop: ControlLoop
    private let resolver: any NameResolver
    private let url: String
    private let body: [UInt8]
    private var completion: ((HookOutcome) -> Void)?
    private var address: SocketAddress?
    private var request: [UInt8] = []
    private var exchange: HTTPExchange?
    private var deadline: UInt64 = 0
    private var timers: [TimerID] = []
    private var lastBody = ""

    init(loop: ControlLoop, resolver: any NameResolver, url: String, body: [UInt8],
         completion: @escaping (HookOutcome) -> Void) {
        self.loop = loop
        self.resolver = resolver
        self.url = url
        self.body = body
        self.completion = completion
    }

    /// Starts the first POST; reports from the loop, never from here.
    func start(timeout: UInt64) {
        deadline = loop.monotonicNanoseconds &+ timeout
        timers.append(loop.schedule(after: timeout) { [weak self] in self?.report(.timedOut(outputTail: self?.lastBody ?? "")) })
        guard let target = HookURL(url) else {
            return failSoon("not an http:// URL: \(url)")
        }
        request = Array("""
            POST \(target.path) HTTP/1.1\r
            Host: \(target.address)\r
            User-Agent: turnout-hook\r
            Content-Type: application/json\r
            Content-Length: \(body.count)\r
            Connection: close\r
            \r

            """.utf8) + body
        if let numeric = SocketAddress.numeric(host: target.address.host, port: target.address.port) {
            address = numeric
            return post()
        }
        // A name is looked up off the control thread (getaddrinfo blocks), as target names are.
        resolver.lookUp(target.address) { [weak self] answer in
            guard let self, completion != nil else { return }
            guard case .addresses(let found) = answer, let first = found.first,
                  let resolved = SocketAddress.numeric(host: first.host, port: first.port) else {
                return report(.failed(reason: "cannot resolve \(target.address.host)", outputTail: ""))
            }
            address = resolved
            post()
        }
    }

    /// Drops whatever is in flight or waiting, without an outcome.
    func cancel() {
        completion = nil
        stop()
    }

    private func post() {
        guard let address else { return }
        let now = loop.monotonicNanoseconds
        guard now < deadline else { return }
        let exchange = HTTPExchange(loop: loop, request: request, requestMethod: .post, bodyLimit: Self.bodyLimit) {
            [weak self] outcome in self?.judge(outcome)
        }
        self.exchange = exchange
        exchange.start(address: address, timeout: deadline - now)
    }

    private func judge(_ outcome: HTTPExchange.Outcome) {
        exchange = nil
        switch outcome {
        case .response(let response):
            lastBody = String(decoding: response.bodyStart, as: UTF8.self)
            if response.status == 202, let retryAfter = response.field("Retry-After") {
                guard let seconds = UInt64(retryAfter) else {
                    return report(.failed(reason: "HTTP 202 with a Retry-After that is not a number of seconds: \(retryAfter)",
                                          outputTail: lastBody))
                }
                // Past the deadline the timeout's timer reports first.
                timers.append(loop.schedule(after: min(seconds, 1 << 32) * 1_000_000_000) { [weak self] in self?.post() })
            } else if (200...299).contains(response.status) {
                report(.passed(outputTail: lastBody))
            } else {
                report(.failed(reason: "HTTP \(response.status)", outputTail: lastBody))
            }
        case .timedOut: report(.timedOut(outputTail: lastBody))
        case .connectionFailed(let detail), .notSent(let detail): report(.failed(reason: detail, outputTail: lastBody))
        }
    }

    private func failSoon(_ reason: String) {
        timers.append(loop.schedule(after: 0) { [weak self] in self?.report(.failed(reason: reason, outputTail: "")) })
    }

    private func report(_ outcome: HookOutcome) {
        stop()
        guard let completion else { return }
        self.completion = nil
        completion(outcome)
    }

    private func stop() {
        exchange?.cancel()
        exchange = nil
        for timer in timers { loop.cancel(timer) }
        timers.removeAll()
    }
}

/// An `http://host[:port][/path]` URL as a hook gives it.
struct HookURL: Equatable {
    var address: HostPort
    var path: String

    init?(_ text: String) {
        guard text.lowercased().hasPrefix("http://") else { return nil }
        let rest = text.dropFirst("http://".count)
        let slash = rest.firstIndex(of: "/") ?? rest.endIndex
        let authority = String(rest[..<slash])
        path = slash == rest.endIndex ? "/" : String(rest[slash...])
        guard !authority.isEmpty, !authority.hasPrefix(":"), !authority.contains("@"), !path.contains(" "),
              !path.contains("#") else { return nil }
        // No port: 80, which HostPort wants written out (an IPv6 literal is bracketed either way).
        let hasPort = authority.hasPrefix("[") ? authority.contains("]:") : authority.contains(":")
        guard let parsed = HostPort.parse(hasPort ? authority : authority + ":80") else { return nil }
        address = parsed
    }
}
