import TurnoutHTTP1
import TurnoutPosix

/// Serves the requests of one connection in order, on a thread of its own, until either side closes it.
struct DemoConnection {
    /// Heads up to 64 KiB with up to 200 fields; beyond, 431.
    static let headLimits = HeadLimits(maxHeaderBytes: 64 * 1024, maxHeaders: 200)

    let stream: ConnectionStream
    let router: DemoRouter
    private let fields = HeaderFieldTable(capacity: Self.headLimits.maxHeaders)

    /// `descriptor` is an accepted (non-blocking) socket; the connection makes it blocking and owns it.
    init(descriptor: Int32, router: DemoRouter) {
        // One byte more than the longest head: a head that does not fit is seen to pass the limit (431), rather
        // than waiting for room that never comes.
        stream = ConnectionStream(descriptor: descriptor, receiveCapacity: Self.headLimits.maxHeaderBytes + 1)
        self.router = router
    }

    func serve() {
        do {
            try Socket.setBlocking(stream.descriptor)
        } catch {
            return stream.closeImmediately()
        }
        while true {
            let request: DemoRequest
            do {
                guard let next = try readRequest() else { return stream.closeGracefully() }
                request = next
            } catch {
                return finish(after: error)
            }
            do {
                let exchange = DemoExchange(stream: stream, request: request, serverName: router.name)
                switch try router.handle(exchange) {
                case .finished where request.head.keepAlive:
                    continue
                case .finished:
                    return stream.closeGracefully()
                case .connectionHandedOff:
                    return
                }
            } catch {
                return finish(after: error)
            }
        }
    }

    /// Waits for the next request head and consumes it; nil when the peer closes before one is complete.
    private func readRequest() throws -> DemoRequest? {
        while true {
            let buffered = stream.buffered
            switch RequestHeadParser.parse(buffered, limits: Self.headLimits, fields: fields) {
            case .complete(let head):
                let request = DemoRequest(head, fields: fields, source: buffered)
                stream.consume(head.headLength)
                return request
            case .failed(let error):
                throw DemoExchangeError.refused(error)
            case .incomplete:
                guard stream.fill() else { return nil }
            }
        }
    }

    /// Answers a refused request with its status and the parser's reason, then closes; closes without a word
    /// when the peer is gone.
    private func finish(after error: Error) {
        guard case DemoExchangeError.refused(let refusal) = error else { return stream.closeImmediately() }
        let status = Int(refusal.status)
        let body = "\(ReasonPhrase.of(status)): \(refusal.reason)\n".utf8
        stream.output.removeAll(keepingCapacity: true)
        DemoExchange.appendHead(
            status: status, headers: [("Content-Type", "text/plain; charset=utf-8")],
            framing: .contentLength(body.count), serverName: router.name, requestId: nil, connection: .close,
            to: &stream.output)
        stream.output.append(contentsOf: body)
        try? stream.flush()
        stream.closeGracefully()
    }
}
