import TurnoutPosix

extension DemoRouter {
    static let maximumSlowMilliseconds = 600_000
    /// The length `/abort` promises and never delivers.
    static let abortPromisedLength = 1_000_000

    /// `/slow?ms=N[&first=1]`: waits N ms, then 200 `slow\n`. With `first=1` the head is sent before the wait.
    func handleSlow(_ exchange: DemoExchange) throws {
        guard case .value(let milliseconds) = exchange.request.integerQuery("ms", in: 0...Self.maximumSlowMilliseconds) else {
            return try rejectQuery(exchange, "expected /slow?ms=N with 0 <= N <= \(Self.maximumSlowMilliseconds)")
        }
        try exchange.drainBody()
        let body = Array("slow\n".utf8)
        if exchange.request.flagQuery("first") {
            try exchange.writeHead(status: 200, headers: [("Content-Type", "text/plain; charset=utf-8")],
                                   framing: .contentLength(body.count))
            PosixThread.sleep(milliseconds: milliseconds)
            try body.withUnsafeBytes { try exchange.writeBody($0) }
        } else {
            PosixThread.sleep(milliseconds: milliseconds)
            try exchange.respond(status: 200, body: body)
        }
    }

    /// `/status?code=N`: status N (200-599) with body `status N\n` (no body for 204 and 304).
    func handleStatus(_ exchange: DemoExchange) throws {
        guard case .value(let code) = exchange.request.integerQuery("code", in: 200...599) else {
            return try rejectQuery(exchange, "expected /status?code=N with 200 <= N <= 599")
        }
        try exchange.drainBody()
        try exchange.respond(status: code, text: "status \(code)\n")
    }

    /// `/abort?after=N`: a head with `Content-Length: 1000000`, the first N pattern bytes, then a TCP reset once the
    /// peer has acknowledged those bytes (waiting at most one second).
    func handleAbort(_ exchange: DemoExchange) throws -> Outcome {
        let sent: Int
        switch exchange.request.integerQuery("after", in: 0...(Self.abortPromisedLength - 1)) {
        case .missing: sent = 0
        case .value(let value): sent = value
        case .invalid:
            try rejectQuery(exchange, "expected /abort?after=N with 0 <= N < \(Self.abortPromisedLength)")
            return .finished
        }
        try exchange.drainBody()
        try exchange.writeHead(status: 200, headers: [("Content-Type", "application/octet-stream")],
                               framing: .contentLength(Self.abortPromisedLength))
        try writePattern(count: sent, pieceSize: BytePattern.maximumSliceLength, exchange.writeBody)
        exchange.stream.resetAfterDelivery(timeoutMilliseconds: 1000)
        return .connectionHandedOff
    }
}
