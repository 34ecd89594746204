import Foundation
import Glibc
import Logging
import TurnoutHTTP1
import TurnoutPosix

/// The admin API's HTTP/1.1 server on the control loop: accepts, parses with the
/// same strict parser as the data plane, reads Content-Length bodies (at most 1 MiB),
/// hands each request to `handler` and writes the answer. Keep-alive; one request at a
/// time per connection.
///
/// A refusal the server answers before the request is read whole (a body too large, a
/// malformed head) closes with a lingering close, as the data plane does: the server shuts
/// down its side after the response and reads and discards what the client still sends
/// until it closes or `lingerTimeout` passes. Closing at once with unread input would make
/// the kernel send a reset, which can destroy the response before the client reads it.
public final class AdminServer {
    public static let maxBodyBytes = 1 << 20
    /// How long a refused client may go on sending before the connection is closed anyway.
    static let lingerTimeout: UInt64 = 5_000_000_000
    static let idleTimeout: UInt64 = 30_000_000_000
    /// Input buffered per connection at most: a head and the largest body, with room for the next head.
    static let inputLimit = maxBodyBytes + 65536
    /// Reads per readiness event while discarding, so a fast sender cannot hold the control loop.
    static let discardReadsPerEvent = 16
    /// The kernel's send buffer of a streamed response's connection: fixed, so what waits for a client that
    /// does not read stays bounded in the kernel too (the producer bounds its own side).
    static let streamSendBuffer: Int32 = 64 * 1024
    private let loop: ControlLoop
    private let listener: Int32
    private let handler: (AdminRequest) -> AdminResponse
    private let logger: Logger
    private var connections: [Int32: AdminConnection] = [:]
    /// Set by `close`; a listener paused for lack of descriptors is not watched again after it.
    private var closed = false
    /// The port actually bound.
    public let port: UInt16

    public init(loop: ControlLoop, address: SocketAddress, logger: Logger,
                handler: @escaping (AdminRequest) -> AdminResponse) throws {
        self.loop = loop
        self.logger = logger
        self.handler = handler
        listener = try Socket.listen(on: address, reusePort: false, backlog: 128)
        port = try Socket.localAddress(listener).port
        watchListener()
    }

    private func watchListener() {
        loop.register(fd: listener, events: [.readable]) { [weak self] _ in self?.acceptAll() }
    }

    /// Stops accepting and closes every connection.
    public func close() {
        closed = true
        loop.unregister(fd: listener)
        FileIO.close(listener)
        for connection in connections.values { drop(connection) }
    }

    private func acceptAll() {
        var peer = SocketAddress(storage: sockaddr_storage(), length: 0)
        while true {
            let (fd, err) = Socket.accept(listener, peer: &peer)
            if fd < 0 {
                // Out of descriptors the pending connection stays pending, and the level-triggered listener
                // would be reported again at once: look again in 100 ms rather than spin the control thread.
                if SystemError.isLocalResourceShortage(err) {
                    loop.unregister(fd: listener)
                    loop.schedule(after: 100_000_000) { [weak self] in
                        guard let self, !self.closed else { return }
                        self.watchListener()
                    }
                }
                return
            }
            let connection = AdminConnection(fd: fd, peer: peer)
            connections[fd] = connection
            loop.register(fd: fd, events: [.readable, .readHangUp]) { [weak self] events in
                self?.service(connection, events: events)
            }
            connection.timer = loop.schedule(after: AdminServer.idleTimeout) { [weak self] in self?.drop(connection) }
        }
    }

    private func service(_ connection: AdminConnection, events: EpollEvents) {
        if events.contains(.writable) { flush(connection) }
        if connection.closed { return }
        // A refused client's input, and anything a streamed response's client sends, is read only to see
        // the connection's end.
        if connection.afterReply == .linger || connection.afterReply == .stream { return discardInput(connection) }
        if !connection.output.isEmpty { return }
        if events.contains(.readable) || events.contains(.readHangUp) || events.contains(.hangUp) || events.contains(.error) {
            var chunk = [UInt8](repeating: 0, count: 16384)
            // No more than one request's worth is read before the head is looked at, so that a
            // refusal depends on the head (411, 413 by Content-Length, 431), not on how fast the
            // client sent; the rest waits in the socket (the registration is level-triggered).
            reading: while connection.input.count < AdminServer.inputLimit {
                let result = chunk.withUnsafeMutableBytes { FileIO.read(connection.fd, into: $0.baseAddress!, count: $0.count) }
                switch result {
                case .bytes(let n):
                    connection.input += chunk[0..<n]
                case .wouldBlock:
                    break reading
                case .endOfFile, .failed:
                    if connection.input.isEmpty { return drop(connection) }
                    connection.peerClosed = true
                    break reading
                }
            }
        }
        processInput(connection)
        if !connection.closed, connection.output.isEmpty, connection.input.count >= AdminServer.inputLimit {
            reply(connection, .error(413, .payloadTooLarge, "request too large"), then: .linger)
        }
    }

    private func processInput(_ connection: AdminConnection) {
        while !connection.closed && connection.output.isEmpty && !connection.input.isEmpty {
            let fields = connection.fields
            let parsed = connection.input.withUnsafeBytes {
                RequestHeadParser.parse($0, limits: HeadLimits(maxHeaderBytes: 16384, maxHeaders: 100), fields: fields)
            }
            switch parsed {
            case .incomplete:
                if connection.peerClosed { drop(connection) }
                return
            case .failed(let error):
                return reply(connection, .error(Int(error.status), .badRequest, "malformed request: \(error.reason)"), then: .linger)
            case .complete(let head):
                guard let request = decode(head, connection: connection) else { return }
                if let timer = connection.timer { loop.cancel(timer) }
                connection.timer = loop.schedule(after: AdminServer.idleTimeout) { [weak self] in self?.drop(connection) }
                let keepAlive = head.keepAlive
                let response = handler(request)
                // A client that asked to close sends nothing more once its request is read whole.
                let then: AdminConnection.AfterReply = keepAlive ? .keepAlive : (connection.input.isEmpty ? .close : .linger)
                reply(connection, response, then: then, method: request.method)
            }
        }
    }

    /// Turns a parsed head plus body into an `AdminRequest`; nil when the body is not
    /// complete yet or the request was answered with an error.
    private func decode(_ head: RequestHead, connection: AdminConnection) -> AdminRequest? {
        var bodyLength = 0
        switch head.framing {
        case .none: bodyLength = 0
        case .contentLength(let n):
            guard n <= UInt64(AdminServer.maxBodyBytes) else {
                reply(connection, .error(413, .payloadTooLarge, "request body over \(AdminServer.maxBodyBytes) bytes"), then: .linger)
                return nil
            }
            bodyLength = Int(n)
        case .chunked, .untilClose:
            reply(connection, .error(411, .badRequest, "send the body with Content-Length"), then: .linger)
            return nil
        }
        guard connection.input.count >= head.headLength + bodyLength else {
            if connection.peerClosed { drop(connection) }
            return nil
        }
        let bytes = connection.input
        func text(_ range: ByteRange) -> String {
            String(decoding: bytes[Int(range.start)..<Int(range.start + range.count)], as: UTF8.self)
        }
        var headers: [String: String] = [:]
        for i in 0..<connection.fields.count {
            let field = connection.fields[i]
            let name = text(field.name).lowercased()
            let value = text(field.value)
            headers[name] = headers[name].map { "\($0), \(value)" } ?? value
        }
        let target = text(head.target)
        let (path, query) = AdminServer.splitTarget(target)
        let body = Array(bytes[head.headLength..<(head.headLength + bodyLength)])
        connection.input.removeFirst(head.headLength + bodyLength)
        return AdminRequest(method: text(head.methodRange), path: path, query: query, headers: headers, body: body,
                            peer: connection.peerHost)
    }

    /// Splits `/a/b?x=1&y=2` into the path and its decoded query parameters.
    static func splitTarget(_ target: String) -> (String, [String: String]) {
        guard let mark = target.firstIndex(of: "?") else { return (target, [:]) }
        var query: [String: String] = [:]
        for pair in target[target.index(after: mark)...].split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let first = parts.first, !first.isEmpty else { continue }
            let key = String(parts[0]).removingPercentEncoding ?? String(parts[0])
            let value = parts.count > 1 ? (String(parts[1]).removingPercentEncoding ?? String(parts[1])) : ""
            query[key] = value
        }
        return (String(target[..<mark]), query)
    }

    private func reply(_ connection: AdminConnection, _ response: AdminResponse, then requested: AdminConnection.AfterReply,
                       method: String = "GET") {
        // A streamed body ends when the connection closes: no Content-Length, and nothing after it.
        let stream = method == "HEAD" ? nil : response.stream
        let then: AdminConnection.AfterReply = stream == nil ? requested : .stream
        var head = "HTTP/1.1 \(response.status) \(ReasonPhrase.of(response.status))\r\n"
        for (name, value) in response.headers { head += "\(name): \(value)\r\n" }
        if stream == nil { head += "Content-Length: \(response.body.count)\r\n" }
        if then != .keepAlive { head += "Connection: close\r\n" }
        head += "\r\n"
        connection.output = Array(head.utf8) + (method == "HEAD" ? [] : response.body)
        connection.afterReply = then
        if let stream {
            connection.input = []
            if let timer = connection.timer { loop.cancel(timer) }
            connection.timer = nil
            Socket.setSendBuffer(connection.fd, bytes: AdminServer.streamSendBuffer)
            let sink = AdminStreamConnection(server: self, connection: connection)
            connection.stream = sink
            flush(connection, notifying: false)
            if !connection.closed { stream.start(sink) }
            return
        }
        if then == .linger {
            // The bound covers writing the reply too: a client that neither reads nor closes is dropped.
            connection.input = []
            if let timer = connection.timer { loop.cancel(timer) }
            connection.timer = loop.schedule(after: AdminServer.lingerTimeout) { [weak self] in self?.drop(connection) }
        }
        flush(connection)
    }

    /// Reads and throws away what a refused client still sends; its close (or an error) ends the
    /// connection.
    private func discardInput(_ connection: AdminConnection) {
        var chunk = [UInt8](repeating: 0, count: 16384)
        for _ in 0..<AdminServer.discardReadsPerEvent {
            let result = chunk.withUnsafeMutableBytes { FileIO.read(connection.fd, into: $0.baseAddress!, count: $0.count) }
            switch result {
            case .bytes: continue
            case .wouldBlock: return
            case .endOfFile, .failed: return drop(connection)
            }
        }
    }

    /// Writes what the socket takes. Once everything is out, a streamed response's producer hears of it
    /// (`onWritable`) when `notifying`: not while it is itself writing, so a fast socket cannot make it recurse.
    fileprivate func flush(_ connection: AdminConnection, notifying: Bool = true) {
        while !connection.output.isEmpty {
            let result = connection.output.withUnsafeBytes { FileIO.write(connection.fd, from: $0.baseAddress!, count: $0.count) }
            switch result {
            case .bytes(let n):
                connection.output.removeFirst(n)
            case .wouldBlock:
                // Only a refused client's input is read meanwhile (to discard it); other input waits,
                // and a level-triggered readable event for it would only spin the loop.
                let discarding = connection.afterReply == .linger || connection.afterReply == .stream
                loop.modify(fd: connection.fd, events: discarding ? [.readable, .writable] : [.writable])
                return
            case .endOfFile, .failed:
                return drop(connection)
            }
        }
        loop.modify(fd: connection.fd, events: [.readable, .readHangUp])
        switch connection.afterReply {
        case .close:
            drop(connection)
        case .linger:
            // The reply is out: shut down our side (the client reads it, then end of stream) and
            // keep reading until the client closes.
            Socket.shutdownWrite(connection.fd)
        case .keepAlive:
            if connection.peerClosed { return drop(connection) }
            // A pipelined request may already be buffered.
            if !connection.input.isEmpty { processInput(connection) }
        case .stream:
            if notifying { connection.stream?.onWritable?() }
        }
    }

    fileprivate func drop(_ connection: AdminConnection) {
        guard !connection.closed else { return }
        connection.closed = true
        if let timer = connection.timer { loop.cancel(timer) }
        loop.unregister(fd: connection.fd)
        FileIO.close(connection.fd)
        connections[connection.fd] = nil
        if let stream = connection.stream {
            connection.stream = nil
            stream.closed()
        }
    }
}

/// A streamed response's connection, as its producer writes to it.
final class AdminStreamConnection: AdminStreamSink {
    private weak var server: AdminServer?
    private let connection: AdminConnection
    var onWritable: (() -> Void)?
    var onClose: (() -> Void)?

    init(server: AdminServer, connection: AdminConnection) {
        self.server = server
        self.connection = connection
    }

    var unsentBytes: Int { connection.output.count }

    var isClosed: Bool { connection.closed }

    func send(_ bytes: [UInt8]) {
        guard !connection.closed, let server else { return }
        connection.output += bytes
        server.flush(connection, notifying: false)
    }

    func close() { server?.drop(connection) }

    /// The connection is gone: tell the producer, once.
    func closed() {
        let onClose = self.onClose
        self.onClose = nil
        onWritable = nil
        onClose?()
    }
}

/// An admin client connection's buffers and flags.
final class AdminConnection {
    let fd: Int32
    let peerHost: String
    var input: [UInt8] = []
    var output: [UInt8] = []
    let fields = HeaderFieldTable(capacity: 100)
    var peerClosed = false
    /// What happens once the reply being written is out.
    var afterReply = AfterReply.keepAlive
    var closed = false
    var timer: TimerID?
    /// The producer's side of a streamed response, once one started.
    var stream: AdminStreamConnection?

    enum AfterReply {
        /// Read the next request.
        case keepAlive
        /// Close: the client asked to, and sent nothing after its request.
        case close
        /// Refused: shut down our side, discard input until the client closes (or the linger timeout).
        case linger
        /// A streamed response: its producer writes until either side closes; input is discarded.
        case stream
    }

    init(fd: Int32, peer: SocketAddress) {
        self.fd = fd
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { peer.formatHost(into: $0) }
        peerHost = String(decoding: buffer[0..<n], as: UTF8.self)
    }
}
