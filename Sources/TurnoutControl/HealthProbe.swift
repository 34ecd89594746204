import Glibc
import TurnoutCore
import TurnoutHTTP1
import TurnoutPosix

/// Runs the health checker's probes over real sockets on the control loop, one `HealthProbe` each.
/// Targets are IP addresses (names are resolved by the control plane, off this thread), so starting a
/// probe never blocks on a lookup.
public final class SocketHealthProber: HealthProber {
    private let loop: ControlLoop
    private var running: [UInt64: HealthProbe] = [:]

    public init(loop: ControlLoop) {
        self.loop = loop
    }

    public func start(_ order: HealthProbeOrder, completion: @escaping (ProbeResult) -> Void) {
        let probe = HealthProbe(
            loop: loop, request: HealthProbe.request(path: order.check.path, host: order.hostHeader),
            matcher: order.check.matcher, completion: { [weak self] result in
                self?.running[order.registration] = nil
                completion(result)
            })
        guard let address = SocketAddress.numeric(host: order.address.host, port: order.address.port) else {
            return probe.refuse(.notSent("\(order.address.host) is not an IP address"))
        }
        running[order.registration] = probe
        probe.start(address: address, timeout: order.check.timeout.nanoseconds)
    }

    public func cancel(_ registration: UInt64) {
        running.removeValue(forKey: registration)?.cancel()
    }
}

/// One active health check in flight: a non-blocking connection that sends `GET <path>` and reads the response
/// head. Lives on the control loop; reports exactly once through `completion` (never from within `start`),
/// unless cancelled, and has closed its descriptor by then.
final class HealthProbe {
    private enum Phase { case idle, connecting, writing, reading, done }

    /// The most response-head bytes read; a longer head fails the probe.
    static let maxHeadBytes = 8192

    private let loop: ControlLoop
    private let request: [UInt8]
    private let matcher: StatusMatcher
    private var completion: ((ProbeResult) -> Void)?
    private var phase = Phase.idle
    private var fd: Int32 = -1
    private var written = 0
    private var response: [UInt8] = []
    private var timeoutTimer: TimerID?
    private let fields = HeaderFieldTable(capacity: 100)

    init(loop: ControlLoop, request: [UInt8], matcher: StatusMatcher, completion: @escaping (ProbeResult) -> Void) {
        self.loop = loop
        self.request = request
        self.matcher = matcher
        self.completion = completion
    }

    /// The probe request. `Connection: close` so the target does not keep an idle connection for us.
    static func request(path: String, host: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: turnout-health-check\r\nConnection: close\r\n\r\n".utf8)
    }

    /// Connects to `address`; the whole exchange up to a complete response head must fit in `timeout` ns.
    func start(address: SocketAddress, timeout: UInt64) {
        guard phase == .idle else { return }
        timeoutTimer = loop.schedule(after: timeout) { [weak self] in self?.finish(.timedOut) }
        let (socket, result) = Socket.connect(to: address)
        if case .failed(let error) = result {
            // Reported from the loop rather than from here, so that callers never see the result inside `start`.
            // A socket this process could not make says nothing about the target.
            let outcome: ProbeResult = SystemError.isLocalResourceShortage(error)
                ? .notSent(Self.describe(errno: error)) : .connectionFailed(Self.describe(errno: error))
            phase = .done
            loop.schedule(after: 0) { [weak self] in self?.report(outcome) }
            return
        }
        fd = socket
        phase = result == .connected ? .writing : .connecting
        let registered = loop.register(fd: fd, events: [.writable]) { [weak self] events in self?.handle(events) }
        if !registered {
            FileIO.close(fd)
            fd = -1
            phase = .done
            loop.schedule(after: 0) { [weak self] in self?.report(.notSent("cannot watch the probe socket")) }
        }
    }

    /// Reports `result` without connecting (from the loop, never from within this call).
    func refuse(_ result: ProbeResult) {
        guard phase == .idle else { return }
        phase = .done
        loop.schedule(after: 0) { [self] in report(result) }
    }

    /// Stops the probe without reporting.
    func cancel() {
        completion = nil
        finish(nil)
    }

    private func handle(_ events: EpollEvents) {
        switch phase {
        case .connecting:
            let error = Socket.pendingError(fd)
            if error != 0 { return finish(.connectionFailed(Self.describe(errno: error))) }
            guard events.contains(.writable) else { return finish(.connectionFailed("connection closed")) }
            phase = .writing
            writeRequest()
        case .writing: writeRequest()
        case .reading: readResponse()
        case .idle, .done: return
        }
    }

    private func writeRequest() {
        while written < request.count {
            let result = request.withUnsafeBytes { FileIO.write(fd, from: $0.baseAddress! + written, count: $0.count - written) }
            switch result {
            case .bytes(let count): written += count
            case .wouldBlock: return
            case .endOfFile: return finish(.connectionFailed("connection closed"))
            case .failed(let error): return finish(.connectionFailed(Self.describe(errno: error)))
            }
        }
        phase = .reading
        loop.modify(fd: fd, events: [.readable])
    }

    private func readResponse() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let room = min(chunk.count, Self.maxHeadBytes + 1 - response.count)
            let result = chunk.withUnsafeMutableBytes { FileIO.read(fd, into: $0.baseAddress!, count: room) }
            switch result {
            case .bytes(let count):
                response += chunk[0..<count]
                if let outcome = parseHead(complete: false) { return finish(outcome) }
            case .wouldBlock: return
            case .endOfFile: return finish(parseHead(complete: true) ?? .connectionFailed("connection closed before a complete response head"))
            case .failed(let error): return finish(.connectionFailed(Self.describe(errno: error)))
            }
        }
    }

    /// The probe's result once the bytes so far hold a complete head or can never make one; nil to read on.
    private func parseHead(complete: Bool) -> ProbeResult? {
        let parsed = response.withUnsafeBytes {
            ResponseHeadParser.parse(
                $0, requestMethod: .get, limits: HeadLimits(maxHeaderBytes: Self.maxHeadBytes, maxHeaders: fields.capacity),
                fields: fields)
        }
        switch parsed {
        case .complete(let head):
            let status = Int(head.status)
            return matcher.matches(status) ? .passed(status: status) : .codeMismatch(status: status)
        case .failed(let error):
            return .connectionFailed("malformed response: \(error.reason)")
        case .incomplete:
            if response.count > Self.maxHeadBytes { return .connectionFailed("response head too large") }
            return complete ? .connectionFailed("connection closed before a complete response head") : nil
        }
    }

    /// Releases the socket and the timer, then reports `result` (nil: nothing to report).
    private func finish(_ result: ProbeResult?) {
        if let timeoutTimer { loop.cancel(timeoutTimer) }
        timeoutTimer = nil
        if fd >= 0 {
            loop.unregister(fd: fd)
            FileIO.close(fd)
            fd = -1
        }
        phase = .done
        if let result { report(result) }
    }

    private func report(_ result: ProbeResult) {
        if let timeoutTimer { loop.cancel(timeoutTimer) }
        timeoutTimer = nil
        guard let completion else { return }
        self.completion = nil
        completion(result)
    }
}

extension HealthProbe {
    /// How a failed connection shows in a target's health description.
    static func describe(errno error: Int32) -> String {
        switch error {
        case ECONNREFUSED: return "connection refused"
        case ECONNRESET, EPIPE: return "connection reset"
        case ETIMEDOUT: return "connection timed out"
        case EHOSTUNREACH: return "host unreachable"
        case ENETUNREACH: return "network unreachable"
        default: return String(cString: strerror(error)).lowercased()
        }
    }
}
