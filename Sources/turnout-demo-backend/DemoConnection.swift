/// Serves the requests of one connection in order until either side closes it.
struct DemoConnection {
    static let maximumHeadBytes = 64 * 1024

    let stream: ConnectionStream
    let router: DemoRouter

    func serve() {
        while true {
            let raw: [UInt8]?
            do {
                raw = try stream.readHead(limit: Self.maximumHeadBytes)
            } catch {
                return finish(after: error)
            }
            guard let raw else { return stream.closeGracefully() }

            let exchange: DemoExchange
            do {
                let head = try RequestHead(parsing: raw)
                exchange = DemoExchange(stream: stream, head: head, bodyFraming: try RequestBodyFraming(of: head),
                                        serverName: router.name)
            } catch {
                return finish(after: error)
            }

            do {
                switch try router.handle(exchange) {
                case .finished where exchange.keepAlive:
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

    /// Answers a protocol error when the peer can still hear it, then closes.
    private func finish(after error: Error) {
        let response: (status: Int, text: String)?
        switch error {
        case DemoHTTPError.badRequest(let reason): response = (400, "bad request: \(reason)\n")
        case DemoHTTPError.headTooLarge: response = (431, "request head too large\n")
        case DemoHTTPError.versionNotSupported: response = (505, "HTTP version not supported\n")
        default: response = nil
        }
        if let response {
            let body = Array(response.text.utf8)
            let head = "HTTP/1.1 \(response.status) \(HTTPStatusReason.phrase(for: response.status))\r\n"
                + "Content-Type: text/plain; charset=utf-8\r\nContent-Length: \(body.count)\r\n"
                + "X-Served-By: \(router.name)\r\nX-Request-Id-Seen: -\r\nConnection: close\r\n\r\n"
            try? stream.write(Array(head.utf8) + body)
            stream.closeGracefully()
        } else {
            stream.closeImmediately()
        }
    }
}
