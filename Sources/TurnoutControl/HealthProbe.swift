import TurnoutCore
import TurnoutHTTP1
import TurnoutPosix
import TurnoutTLS

/// Runs the health checker's probes over real sockets on the control loop, each an `HTTPExchange` that sends
/// `GET <path>` and judges the response head's status. Targets are IP addresses (names are resolved by the
/// control plane, off this thread), so starting a probe never blocks on a lookup. A group with `tls` is probed
/// over TLS, verified and named as its requests are (`server_name`, else the target's host).
public final class SocketHealthProber: HealthProber {
    private let loop: ControlLoop
    private var running: [UInt64: HTTPExchange] = [:]
    /// Client contexts by settings, made on first use (the CA file read once).
    private var tlsContexts: [UpstreamTLSConfig: TLSClientContext] = [:]

    public init(loop: ControlLoop) {
        self.loop = loop
    }

    public func start(_ order: HealthProbeOrder, completion: @escaping (ProbeResult) -> Void) {
        let matcher = order.check.matcher
        let probe = HTTPExchange(
            loop: loop, request: Self.request(path: order.check.path, host: order.hostHeader), requestMethod: .get,
            bodyLimit: 0
        ) { [weak self] outcome in
            self?.running[order.registration] = nil
            switch outcome {
            case .response(let response):
                completion(matcher.matches(response.status)
                    ? .passed(status: response.status) : .codeMismatch(status: response.status))
            case .timedOut: completion(.timedOut)
            case .connectionFailed(let detail): completion(.connectionFailed(detail))
            case .notSent(let detail): completion(.notSent(detail))
            }
        }
        guard let address = SocketAddress.numeric(host: order.address.host, port: order.address.port) else {
            return probe.refuse(.notSent("\(order.address.host) is not an IP address"))
        }
        var context: TLSClientContext?
        if let tls = order.tls {
            do {
                context = try tlsContexts[tls] ?? TLSClientContext(verify: tls.verify, caFile: tls.caFile)
                tlsContexts[tls] = context
            } catch {
                return probe.refuse(.notSent("\(error)"))
            }
        }
        running[order.registration] = probe
        probe.start(address: address, timeout: order.check.timeout.nanoseconds, tls: context,
                    serverName: order.tls?.serverName ?? order.target.host)
    }

    public func reloadTLS() {
        tlsContexts = [:]
    }

    public func cancel(_ registration: UInt64) {
        running.removeValue(forKey: registration)?.cancel()
    }

    /// The probe request. `Connection: close` so the target does not keep an idle connection for us.
    static func request(path: String, host: String) -> [UInt8] {
        Array("GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: turnout-health-check\r\nConnection: close\r\n\r\n".utf8)
    }
}
