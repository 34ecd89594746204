import TurnoutTLS
extension DemoRouter {
    /// RFC 6455 §1.3: the GUID appended to the client's key before hashing.
    static let webSocketGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `GET /ws` with `Upgrade: websocket`: answers 101 and echoes frames until the client closes.
    func handleWebSocket(_ exchange: DemoExchange) throws -> Outcome {
        let request = exchange.request
        // `isUpgrade`: HTTP/1.1, a Connection field naming `upgrade` and an Upgrade field.
        guard request.head.method == .get, request.head.isUpgrade, request.lists("websocket", inFieldsOf: .upgrade),
              let key = request.value(named: "sec-websocket-key"), !key.isEmpty
        else {
            try rejectQuery(exchange, "expected a WebSocket upgrade: GET with Upgrade: websocket, Connection: Upgrade and Sec-WebSocket-Key")
            return .finished
        }
        guard request.value(named: "sec-websocket-version") == "13" else {
            try exchange.drainBody()
            try exchange.respond(status: 426, headers: [("Sec-WebSocket-Version", "13")], text: "unsupported WebSocket version\n")
            return .finished
        }
        try exchange.drainBody()
        try exchange.writeHead(
            status: 101,
            headers: [
                ("Upgrade", "websocket"),
                ("Connection", "Upgrade"),
                ("Sec-WebSocket-Accept", Self.webSocketAccept(forKey: key)),
            ],
            framing: .noBody)
        WebSocketEchoSession(stream: exchange.stream).run()
        return .connectionHandedOff
    }

    /// base64(SHA-1(key + GUID)).
    static func webSocketAccept(forKey key: String) -> String {
        Base64.encode(Digest.of(Array((key + webSocketGUID).utf8), .sha1))
    }
}
