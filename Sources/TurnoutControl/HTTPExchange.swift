import Glibc
import TurnoutHTTP1
import TurnoutPosix
import TurnoutTLS

/// One HTTP/1.1 exchange on the control loop over a non-blocking connection: the control plane's client, for
/// health probes, `http` hooks and etcd's gateway. It sends its request (which asks for `Connection: close`, unless
/// the exchange keeps its connection), reads the response head and at most `bodyLimit` bytes of the body, and
/// reports exactly once through `completion` (never from within `start`), unless cancelled, having closed its
/// descriptor by then. Over TLS when started with a client context (a health probe of a group with `tls`): the
/// handshake follows the connect, within the same timeout.
///
/// An exchange made with `keepsConnection` (etcd's unary calls) leaves its connection open after a complete
/// response the peer did not close (`keptConnection`, taken by its completion), and the next one starts on it
/// (`start(on:timeout:)`) instead of connecting.
///
/// A streamed exchange (`streamBody` set: an etcd watch) hands each piece of the body to `streamBody` as it
/// arrives, without limit, and reports when the body ends; its timeout covers connecting and the head only.
final class HTTPExchange {
    /// A response: its status, its header fields as sent, and the start of its body (decoded from chunked).
    struct Response: Sendable, Equatable {
        var status: Int
        var fields: [HTTPField]
        var bodyStart: [UInt8]

        /// The value of the first field named `name` (ASCII case ignored).
        func field(_ name: String) -> String? {
            let wanted = name.lowercased()
            return fields.first { $0.name.lowercased() == wanted }?.value
        }
    }

    struct HTTPField: Sendable, Equatable {
        var name: String
        var value: String
    }

    enum Outcome: Sendable, Equatable {
        case response(Response)
        /// No complete response (head, and the body up to the limit) within the timeout, connecting included.
        case timedOut
        /// The connection failed or broke: "connection refused", "connection reset", "malformed response: ...".
        case connectionFailed(String)
        /// The exchange could not start here (out of descriptors or memory): it says nothing about the peer.
        case notSent(String)
    }

    private enum Phase { case idle, connecting, handshaking, writing, readingHead, readingBody, done }

    /// The most response-head bytes read; a longer head fails the exchange.
    static let maxHeadBytes = 8192

    private let loop: ControlLoop
    private let request: [UInt8]
    private let requestMethod: HTTPMethod
    private let bodyLimit: Int
    private var completion: ((Outcome) -> Void)?
    private var phase = Phase.idle
    private var fd: Int32 = -1
    /// The session every read and write goes through, over TLS.
    private var tls: TLSSession?
    private var written = 0
    private var received: [UInt8] = []
    private var response: Response?
    private var framing = BodyFraming.none
    private var bodyReceived: UInt64 = 0
    /// Whether the connection can take another exchange: a `keepsConnection` exchange sets it once the whole
    /// response was read, the peer meant to keep the connection, and nothing followed the response.
    private var reusable = false
    private var headKeepAlive = false
    private let keepsConnection: Bool
    /// The connection left open for the next exchange, once the completion runs (`keepsConnection` only).
    private(set) var keptConnection: HTTPConnection?
    /// Whether any byte of the response arrived: after a failure, whether the peer began to answer.
    private(set) var receivedAny = false
    private var chunked = ChunkedDecoder()
    private var timeoutTimer: TimerID?
    private let fields = HeaderFieldTable(capacity: 100)
    /// Where a streamed exchange's body goes (de-chunked), instead of `Response.bodyStart`.
    private let streamBody: ((ArraySlice<UInt8>) -> Void)?

    init(loop: ControlLoop, request: [UInt8], requestMethod: HTTPMethod, bodyLimit: Int, keepsConnection: Bool = false,
         streamBody: ((ArraySlice<UInt8>) -> Void)? = nil, completion: @escaping (Outcome) -> Void) {
        self.loop = loop
        self.keepsConnection = keepsConnection
        self.request = request
        self.requestMethod = requestMethod
        self.bodyLimit = streamBody == nil ? bodyLimit : .max
        self.streamBody = streamBody
        self.completion = completion
    }

    /// Connects to `address` (then, with `tls`, makes a TLS session naming `serverName`); the whole exchange must
    /// fit in `timeout` ns.
    func start(address: SocketAddress, timeout: UInt64, tls context: TLSClientContext? = nil, serverName: String = "") {
        guard phase == .idle else { return }
        timeoutTimer = loop.schedule(after: timeout) { [weak self] in self?.finish(.timedOut) }
        let (socket, result) = Socket.connect(to: address)
        if case .failed(let error) = result {
            // Reported from the loop rather than from here, so that callers never see the outcome inside `start`.
            // A socket this process could not make says nothing about the peer.
            let outcome: Outcome = SystemError.isLocalResourceShortage(error)
                ? .notSent(Self.describe(errno: error)) : .connectionFailed(Self.describe(errno: error))
            phase = .done
            loop.schedule(after: 0) { [weak self] in self?.report(outcome) }
            return
        }
        fd = socket
        if let context {
            guard let session = context.makeSession(fd: fd, serverName: serverName) else {
                FileIO.close(fd)
                fd = -1
                phase = .done
                loop.schedule(after: 0) { [weak self] in self?.report(.notSent("no memory for a TLS session")) }
                return
            }
            tls = session
        }
        phase = result != .connected ? .connecting : tls == nil ? .writing : .handshaking
        watchSocket()
    }

    /// Sends the request on `connection`, which an earlier exchange kept open (and the caller found still open),
    /// instead of connecting: the exchange owns it from here. The whole exchange must fit in `timeout` ns.
    func start(on connection: HTTPConnection, timeout: UInt64) {
        guard phase == .idle else { return }
        timeoutTimer = loop.schedule(after: timeout) { [weak self] in self?.finish(.timedOut) }
        (fd, tls) = connection.handOver()
        phase = .writing
        watchSocket()
    }

    /// Whether the whole request was written: before that, the peer cannot have acted on it.
    var sentWholeRequest: Bool { written == request.count }

    private func watchSocket() {
        let registered = loop.register(fd: fd, events: [.writable]) { [weak self] events in self?.handle(events) }
        if !registered {
            tls = nil
            FileIO.close(fd)
            fd = -1
            phase = .done
            loop.schedule(after: 0) { [weak self] in self?.report(.notSent("cannot watch the socket")) }
        }
    }

    /// Reports `outcome` without connecting (from the loop, never from within this call).
    func refuse(_ outcome: Outcome) {
        guard phase == .idle else { return }
        phase = .done
        loop.schedule(after: 0) { [self] in report(outcome) }
    }

    /// Stops the exchange without reporting.
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
            guard tls == nil else {
                phase = .handshaking
                return advanceHandshake()
            }
            phase = .writing
            writeRequest()
        case .handshaking: advanceHandshake()
        case .writing: writeRequest()
        case .readingHead, .readingBody: readResponse()
        case .idle, .done: return
        }
    }

    /// Steps the TLS handshake, watching for what it waits on; done, the request goes.
    private func advanceHandshake() {
        guard let tls else { return }
        switch tls.handshake() {
        case .done:
            phase = .writing
            loop.modify(fd: fd, events: [.writable])
            writeRequest()
        case .wantRead: loop.modify(fd: fd, events: [.readable])
        case .wantWrite: loop.modify(fd: fd, events: [.writable])
        case .failed(_, let reason): finish(.connectionFailed("TLS handshake failed: \(reason)"))
        }
    }

    private func writeRequest() {
        while written < request.count {
            let result = request.withUnsafeBytes { bytes in
                let rest = UnsafeRawBufferPointer(rebasing: bytes[written...])
                return tls.map { $0.write(from: rest) } ?? FileIO.write(fd, from: rest.baseAddress!, count: rest.count)
            }
            switch result {
            case .bytes(let count): written += count
            case .wouldBlock: return
            case .endOfFile: return finish(.connectionFailed("connection closed"))
            case .failed(let error): return finish(.connectionFailed(describe(failure: error)))
            }
        }
        phase = .readingHead
        loop.modify(fd: fd, events: [.readable])
    }

    private func readResponse() {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let room = phase == .readingHead ? min(chunk.count, Self.maxHeadBytes + 1 - received.count) : chunk.count
            let result = chunk.withUnsafeMutableBytes { bytes in
                let space = UnsafeMutableRawBufferPointer(rebasing: bytes[..<room])
                return tls.map { $0.read(into: space) } ?? FileIO.read(fd, into: space.baseAddress!, count: room)
            }
            switch result {
            case .bytes(let count):
                receivedAny = true
                if phase == .readingHead {
                    received += chunk[0..<count]
                    if let outcome = parseHead(complete: false) { return finish(outcome) }
                } else if takeBody(chunk[0..<count]) {
                    return finishWithResponse()
                }
            case .wouldBlock: return
            case .endOfFile:
                if phase == .readingBody { return finishWithResponse() }
                return finish(parseHead(complete: true) ?? .connectionFailed("connection closed before a complete response head"))
            case .failed(let error): return finish(.connectionFailed(describe(failure: error)))
            }
        }
    }

    /// The outcome once the bytes so far hold a complete head (and no body is wanted) or can never make one; nil
    /// to read on. A complete head with a body wanted moves on to the body, with what followed the head.
    private func parseHead(complete: Bool) -> Outcome? {
        let parsed = received.withUnsafeBytes { bytes -> (HeadParseResult<ResponseHead>, Response?) in
            let result = ResponseHeadParser.parse(
                bytes, requestMethod: requestMethod,
                limits: HeadLimits(maxHeaderBytes: Self.maxHeadBytes, maxHeaders: fields.capacity), fields: fields)
            guard case .complete(let head) = result else { return (result, nil) }
            let copied = (0..<fields.count).map { index in
                HTTPField(name: String(decoding: bytes.slice(fields[index].name), as: UTF8.self),
                          value: String(decoding: bytes.slice(fields[index].value), as: UTF8.self))
            }
            return (result, Response(status: Int(head.status), fields: copied, bodyStart: []))
        }
        switch parsed.0 {
        case .complete(let head):
            response = parsed.1
            framing = head.framing
            headKeepAlive = head.keepAlive && keepsConnection
            if framing == .none || framing == .contentLength(0) {
                reusable = headKeepAlive && received.count == head.headLength
                return .response(response!)
            }
            if bodyLimit == 0 { return .response(response!) }
            phase = .readingBody
            if streamBody != nil, let timeoutTimer {
                // A stream lasts as long as it lasts: the timeout was for connecting and the head.
                loop.cancel(timeoutTimer)
                self.timeoutTimer = nil
            }
            let rest = received[head.headLength...]
            received = []
            return takeBody(rest) ? .response(response!) : nil
        case .failed(let error):
            return .connectionFailed("malformed response: \(error.reason)")
        case .incomplete:
            if received.count > Self.maxHeadBytes { return .connectionFailed("response head too large") }
            return complete ? .connectionFailed("connection closed before a complete response head") : nil
        }
    }

    /// Keeps body bytes up to the limit; true once the body is complete or the limit reached.
    private func takeBody(_ bytes: ArraySlice<UInt8>) -> Bool {
        switch framing {
        case .none: return true
        case .contentLength(let length):
            let wanted = Int(min(length - bodyReceived, UInt64(bytes.count)))
            bodyReceived += UInt64(wanted)
            keep(bytes.prefix(wanted))
            if bodyReceived == length { reusable = headKeepAlive && wanted == bytes.count }
            return bodyReceived == length || response!.bodyStart.count >= bodyLimit
        case .untilClose:
            keep(bytes)
            return response!.bodyStart.count >= bodyLimit
        case .chunked:
            return takeChunked(Array(bytes))
        }
    }

    private func takeChunked(_ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let step = bytes.withUnsafeBytes { chunked.decode(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch step {
            case .needMore(let consumed): offset += consumed
            case .chunkStart(let consumed, _): offset += consumed
            case .data(let count):
                keep(bytes[offset..<offset + count])
                chunked.consumeData(count)
                offset += count
                if response!.bodyStart.count >= bodyLimit { return true }
            case .end(let consumed):
                reusable = headKeepAlive && offset + consumed == bytes.count
                return true
            case .failed: return true
            }
        }
        return response!.bodyStart.count >= bodyLimit
    }

    private func keep(_ bytes: ArraySlice<UInt8>) {
        if let streamBody { return streamBody(bytes) }
        response!.bodyStart += bytes.prefix(bodyLimit - response!.bodyStart.count)
    }

    private func finishWithResponse() {
        finish(.response(response!))
    }

    /// Releases the socket (or keeps it, after a response that leaves it reusable) and the timer, then reports
    /// `outcome` (nil: nothing to report).
    private func finish(_ outcome: Outcome?) {
        if reusable, case .response? = outcome, fd >= 0 {
            loop.unregister(fd: fd)
            keptConnection = HTTPConnection(fd: fd, tls: tls)
            fd = -1
        }
        tls = nil
        if fd >= 0 {
            loop.unregister(fd: fd)
            FileIO.close(fd)
            fd = -1
        }
        phase = .done
        report(outcome)
    }

    private func report(_ outcome: Outcome?) {
        if let timeoutTimer { loop.cancel(timeoutTimer) }
        timeoutTimer = nil
        guard let outcome, let completion else { return }
        self.completion = nil
        completion(outcome)
    }
}

extension HTTPExchange {
    /// A read or write's failure: over TLS, a protocol error with OpenSSL's reason (an alert the peer sent).
    private func describe(failure error: Int32) -> String {
        guard error == EPROTO, let reason = tls?.protocolFailure else { return Self.describe(errno: error) }
        return "TLS: \(reason)"
    }

    /// How a failed connection shows in a target's health description or a hook's reason.
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

/// A connection an exchange kept open after a complete response (HTTP/1.1 keep-alive), for the next exchange with
/// the same peer: its socket and, over TLS, the session on it. Closed when dropped unused.
final class HTTPConnection {
    private var fd: Int32
    private var tls: TLSSession?

    fileprivate init(fd: Int32, tls: TLSSession?) {
        self.fd = fd
        self.tls = tls
    }

    /// Whether the peer may still read a request on it: false once it closed the connection while it was idle, or
    /// sent something nobody asked for (over TLS, its close_notify).
    var isOpen: Bool { fd >= 0 && Socket.isIdleConnectionOpen(fd) }

    /// The socket and session, for the exchange that takes the connection over; this object forgets them.
    fileprivate func handOver() -> (Int32, TLSSession?) {
        defer { (fd, tls) = (-1, nil) }
        return (fd, tls)
    }

    deinit {
        tls = nil
        if fd >= 0 { FileIO.close(fd) }
    }
}
