import TurnoutCore
import TurnoutHTTP1
import TurnoutPosix
import TurnoutTLS

/// A small etcd v3 client over the JSON gateway (`POST /v3/...` on the members' client port, HTTP/1.1), on the
/// control loop's own `HTTPExchange`.
///
/// A unary call (`call`) is a round trip the control thread waits for, bounded by `timeout`, as it waits for a
/// journal's fdatasync: it runs its exchange on a private `ControlLoop` until the answer, so nothing else on the
/// control loop runs meanwhile. A member that cannot be reached is skipped for the next; the one that answered is
/// tried first next time. The unary calls share one kept-alive connection (HTTP/1.1, over TLS with `tls`), to the
/// member that answered last: opened (the name resolved, the TLS handshake made) once, not per call, and opened
/// again when it broke or the member closed it; when a call on it fails, `EtcdResend` decides whether it goes
/// again on a fresh connection, to the next member, or not at all. The watch (`watch`) is a streamed exchange on the
/// control loop itself. With `tls`, every exchange is HTTPS, the member's certificate checked for `serverName` (its
/// own host when nil).
///
/// With `credentials` (etcd with auth enabled), the client authenticates (`/v3/auth/authenticate`) before its first
/// request and sends the token etcd gave as `Authorization` with every one after. etcd's tokens lapse (a simple
/// token after `--auth-token-ttl` unused, every one when a member restarts): a unary call etcd answers "invalid
/// auth token" authenticates again and is sent once more; a `send` or a watch so answered forgets the token, so
/// that the next request authenticates.
final class EtcdClient {
    /// The members' client addresses, as configured.
    let endpoints: [HostPort]
    private let tls: TLSClientContext?
    private let serverName: String?
    private let credentials: Credentials?
    /// The token etcd gave for `credentials`; nil until a request authenticates, and once etcd refused it.
    private var token: String?

    /// An etcd user and its password.
    struct Credentials {
        var name: String
        var password: String
    }
    /// How long one member gets to answer a unary call, connecting included.
    let timeout: UInt64
    /// The member tried first: the last one that answered.
    private var preferred = 0
    /// The unary calls' connection, kept open between them, and the member at its other end.
    private var kept: (member: Int, connection: HTTPConnection)?
    /// The exchanges `send` started, kept until they report.
    private var sending: [ObjectIdentifier: HTTPExchange] = [:]

    /// Why a call got no answer: every member unreachable, or an answer that is not the gateway's.
    struct Failure: Error, Equatable, CustomStringConvertible {
        var description: String
        /// etcd answered that the token sent is not (or no longer) one it knows.
        var invalidToken = false
    }

    init(endpoints: [HostPort], tls: TLSClientContext? = nil, serverName: String? = nil, credentials: Credentials? = nil,
         timeout: UInt64 = 2_000_000_000) {
        self.endpoints = endpoints
        self.tls = tls
        self.serverName = serverName
        self.credentials = credentials
        self.timeout = timeout
    }

    /// Whether the members are spoken to over HTTPS.
    var isSecure: Bool { tls != nil }

    /// Starts `exchange` to `endpoint`, over TLS when the client has a context.
    private func start(_ exchange: HTTPExchange, address: SocketAddress, endpoint: HostPort) {
        exchange.start(address: address, timeout: timeout, tls: tls, serverName: serverName ?? endpoint.host)
    }

    /// POSTs `body` to `path` (`/v3/kv/range`) and returns the answer's JSON; a member that fails (no connection,
    /// no answer in time, a 5xx) is followed by the next. With credentials, authenticates first when there is no
    /// token, and again (once) when etcd refuses the one sent.
    ///
    /// `resendable`: whether the request may reach etcd twice, so may be sent again after an attempt that may have
    /// been applied (see `EtcdResend`): a read, or a transaction that compares a revision its own success moves.
    func call(_ path: String, _ body: JSONValue, resendable: Bool) throws(Failure) -> JSONValue {
        try authenticateIfNeeded()
        do {
            return try callMembers(path, body, resendable: resendable)
        } catch where error.invalidToken && credentials != nil {
            token = nil
            try authenticateIfNeeded()
            return try callMembers(path, body, resendable: resendable)
        }
    }

    /// Asks etcd for a token for `credentials`, unless the client has one (or has no credentials).
    private func authenticateIfNeeded() throws(Failure) {
        guard let credentials, token == nil else { return }
        let answer: JSONValue
        do {
            // Resendable: a second authentication only gives a second token.
            answer = try callMembers("/v3/auth/authenticate",
                                     ["name": .string(credentials.name), "password": .string(credentials.password)],
                                     resendable: true)
        } catch {
            throw Failure(description: "authenticating as \(credentials.name): \(error.description)")
        }
        guard let token = answer["token"]?.stringValue, !token.isEmpty else {
            throw Failure(description: "authenticating as \(credentials.name): etcd gave no token (is auth enabled?)")
        }
        self.token = token
    }

    /// `authenticateIfNeeded` for a request that reports on the loop: false, with `report` scheduled, on a failure.
    private func authenticated(on loop: ControlLoop, report: @escaping (Failure) -> Void) -> Bool {
        do {
            try authenticateIfNeeded()
            return true
        } catch {
            loop.schedule(after: 0) { report(error) }
            return false
        }
    }

    private func callMembers(_ path: String, _ body: JSONValue, resendable: Bool) throws(Failure) -> JSONValue {
        var problems: [String] = []
        var invalidToken = false
        members: for attempt in 0..<endpoints.count {
            let index = (preferred + attempt) % endpoints.count
            let endpoint = endpoints[index]
            // The kept connection, if it goes to this member and the member has not closed it since.
            var connection = takeKeptConnection(to: index)
            while true {
                let (result, progress) = exchange(path, body, member: index, on: connection)
                switch result {
                case .success(let answer):
                    preferred = index
                    return answer
                case .failure(let problem):
                    invalidToken = invalidToken || problem.invalidToken
                    switch EtcdResend.next(after: progress, onKeptConnection: connection != nil, resendable: resendable) {
                    case .freshConnection:
                        connection = nil
                        continue
                    case .nextMember:
                        problems.append("\(endpoint): \(problem)")
                        continue members
                    case .giveUp:
                        problems.append("\(endpoint): \(problem) (not sent again: it may have been applied)")
                        break members
                    }
                }
            }
        }
        throw Failure(description: problems.joined(separator: "; "), invalidToken: invalidToken)
    }

    /// The kept connection when it goes to `member` and is still open; nil otherwise (a connection to another
    /// member, or one the member closed, is closed here).
    private func takeKeptConnection(to member: Int) -> HTTPConnection? {
        guard let kept else { return nil }
        self.kept = nil
        return kept.member == member && kept.connection.isOpen ? kept.connection : nil
    }

    /// One attempt of a unary call on `connection` (a new one when nil), and how far it got; the connection is kept
    /// for the next call when the answer leaves it open.
    private func exchange(_ path: String, _ body: JSONValue, member: Int,
                          on connection: HTTPConnection?) -> (Result<JSONValue, Failure>, EtcdResend.Progress) {
        let endpoint = endpoints[member]
        let loop: ControlLoop
        do {
            loop = try ControlLoop()
        } catch {
            return (.failure(Failure(description: "cannot make an event loop: \(error)")), .notSent)
        }
        var outcome: HTTPExchange.Outcome?
        let exchange = HTTPExchange(loop: loop, request: request(path, body, endpoint: endpoint, keepAlive: true),
                                    requestMethod: .post, bodyLimit: Self.answerLimit, keepsConnection: true) { result in
            outcome = result
            loop.stop()
        }
        if let connection {
            exchange.start(on: connection, timeout: timeout)
        } else {
            guard let address = Self.address(endpoint) else { return (.failure(Failure(description: "cannot resolve")), .notSent) }
            start(exchange, address: address, endpoint: endpoint)
        }
        loop.run()
        if let connection = exchange.keptConnection { kept = (member, connection) }
        return (answer(outcome), EtcdResend.Progress(outcome, sentWholeRequest: exchange.sentWholeRequest,
                                                      receivedAny: exchange.receivedAny))
    }

    /// POSTs `body` to `path` on the preferred member without waiting: `completion` runs on `loop` with the answer.
    /// For what no acknowledgement waits on (an instance's registration, its lease's keep-alive).
    func send(_ path: String, _ body: JSONValue, on loop: ControlLoop,
              completion: @escaping (Result<JSONValue, Failure>) -> Void) {
        guard authenticated(on: loop, report: { completion(.failure($0)) }) else { return }
        let endpoint = endpoints[preferred]
        var key: ObjectIdentifier?
        let exchange = HTTPExchange(loop: loop, request: request(path, body, endpoint: endpoint), requestMethod: .post,
                                    bodyLimit: Self.answerLimit) { [self] outcome in
            if let key { sending[key] = nil }
            let result = answer(outcome)
            if case .failure(let failure) = result, failure.invalidToken { token = nil }
            completion(result)
        }
        key = ObjectIdentifier(exchange)
        sending[ObjectIdentifier(exchange)] = exchange
        guard let address = Self.address(endpoint) else {
            return exchange.refuse(.connectionFailed("cannot resolve \(endpoint)"))
        }
        start(exchange, address: address, endpoint: endpoint)
    }

    /// A gateway answer's JSON, or why there is none.
    private func answer(_ outcome: HTTPExchange.Outcome?) -> Result<JSONValue, Failure> {
        switch outcome {
        case .response(let response)?:
            guard let answer = try? JSONReader.parse(response.bodyStart) else {
                return .failure(Failure(description: "HTTP \(response.status) with a body that is not JSON"))
            }
            guard response.status == 200 else {
                let message = answer["message"]?.stringValue ?? answer["error"]?.stringValue ?? "\(answer.jsonText)"
                return .failure(Failure(description: "HTTP \(response.status): \(message)",
                                        invalidToken: message.contains(Self.invalidTokenMessage)))
            }
            return .success(answer)
        case .timedOut?: return .failure(Failure(description: "no answer within \(timeout / 1_000_000) ms"))
        case .connectionFailed(let detail)?, .notSent(let detail)?: return .failure(Failure(description: detail))
        case nil: return .failure(Failure(description: "no answer"))
        }
    }

    /// What etcd answers a request whose token it does not know (`ErrInvalidAuthToken`).
    static let invalidTokenMessage = "invalid auth token"

    /// The most bytes of an answer read: a range of the whole prefix (the journal's last records) fits.
    static let answerLimit = 64 << 20

    /// A gateway request: HTTP/1.1, the JSON body, the client's token when it has one, and `Connection: close`
    /// unless the connection is kept for the next (a unary call's).
    private func request(_ path: String, _ body: JSONValue, endpoint: HostPort, keepAlive: Bool = false) -> [UInt8] {
        let json = body.jsonBytes
        let authorization = token.map { "Authorization: \($0)\r\n" } ?? ""
        let connection = keepAlive ? "" : "Connection: close\r\n"
        var request = Array("""
            POST \(path) HTTP/1.1\r\nHost: \(endpoint)\r\nContent-Type: application/json\r\n\
            Content-Length: \(json.count)\r\n\(authorization)\(connection)\r\n
            """.utf8)
        request += json
        return request
    }

    static func address(_ endpoint: HostPort) -> SocketAddress? {
        SocketAddress.numeric(host: endpoint.host, port: endpoint.port)
            ?? (try? SocketAddress.resolve(host: endpoint.host, port: endpoint.port))
    }

    /// Opens a watch of every key under `prefix` from `startRevision` on, on `loop`, trying the members in turn from
    /// the preferred one. Each message goes to `onMessage`; `onEnd` says why the stream ended (it is reported once,
    /// unless the watch is cancelled).
    func watch(prefix: String, from startRevision: Int64, on loop: ControlLoop,
               onMessage: @escaping (EtcdGateway.WatchMessage) -> Void, onEnd: @escaping (String) -> Void) -> EtcdWatch {
        let endpoint = endpoints[preferred]
        let watch = EtcdWatch(onMessage: onMessage, onEnd: onEnd)
        guard authenticated(on: loop, report: { onEnd($0.description) }) else { return watch }
        guard let address = Self.address(endpoint) else {
            loop.schedule(after: 0) { onEnd("\(endpoint): cannot resolve") }
            return watch
        }
        let exchange = HTTPExchange(
            loop: loop, request: request("/v3/watch", EtcdGateway.watchRequest(prefix: prefix, startRevision: startRevision),
                                              endpoint: endpoint),
            requestMethod: .post, bodyLimit: 0, streamBody: { [weak watch] bytes in watch?.received(bytes) }
        ) { [weak watch] outcome in
            switch outcome {
            case .response(let response): watch?.ended("\(endpoint): the watch ended (HTTP \(response.status))")
            case .timedOut: watch?.ended("\(endpoint): no answer within \(self.timeout / 1_000_000) ms")
            case .connectionFailed(let detail), .notSent(let detail): watch?.ended("\(endpoint): \(detail)")
            }
        }
        watch.exchange = exchange
        // The next watch (after this one ends) tries the next member, unless this one answers a unary call first.
        preferred = (preferred + 1) % endpoints.count
        start(exchange, address: address, endpoint: endpoint)
        return watch
    }
}

/// One open watch stream: its messages decoded as they arrive, until it ends or is cancelled.
final class EtcdWatch {
    fileprivate var exchange: HTTPExchange?
    private var framing = EtcdWatchFraming()
    private var onMessage: ((EtcdGateway.WatchMessage) -> Void)?
    private var onEnd: ((String) -> Void)?

    fileprivate init(onMessage: @escaping (EtcdGateway.WatchMessage) -> Void, onEnd: @escaping (String) -> Void) {
        self.onMessage = onMessage
        self.onEnd = onEnd
    }

    /// Closes the stream without reporting its end.
    func cancel() {
        onMessage = nil
        onEnd = nil
        exchange?.cancel()
        exchange = nil
    }

    fileprivate func received(_ bytes: ArraySlice<UInt8>) {
        guard onMessage != nil else { return }
        do {
            for message in try framing.take(bytes) {
                guard let onMessage else { return }
                let decoded: EtcdGateway.WatchMessage
                do {
                    decoded = try EtcdGateway.watchMessage(JSONReader.parse(message))
                } catch {
                    return ended("a watch message that is not the gateway's: \(error)")
                }
                onMessage(decoded)
            }
        } catch {
            ended("a watch message longer than \(EtcdWatchFraming.maxMessageBytes) bytes")
        }
    }

    fileprivate func ended(_ reason: String) {
        let onEnd = self.onEnd
        cancel()
        onEnd?(reason)
    }
}
