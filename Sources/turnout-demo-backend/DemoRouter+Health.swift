extension DemoRouter {
    func healthText(failing: Bool) -> String {
        failing ? "Health check status: failing\n" : "Health check status: ok\n"
    }

    /// `GET /health`: 200 while healthy, 503 after `POST /control/health` with `fail`.
    func handleHealth(_ exchange: DemoExchange) throws {
        try exchange.drainBody()
        let failing = healthFailing.load(ordering: .relaxed)
        try exchange.respond(status: failing ? 503 : 200, text: healthText(failing: failing))
    }

    /// `POST /control/health` with body `fail` or `ok` (surrounding whitespace ignored).
    func handleHealthControl(_ exchange: DemoExchange) throws {
        guard let failing = try readSwitch(exchange) else { return }
        healthFailing.store(failing, ordering: .relaxed)
        try exchange.respond(status: 200, text: healthText(failing: failing))
    }

    /// `POST /control/root` with body `fail`, `ok` or `slow N`: `/` answers 500 from then on, 200 again, or 200
    /// after waiting N ms (a release that breaks or turns slow, for a deployment's alarms to catch). Each sets the
    /// whole behaviour: `ok` also ends a `slow`, `slow` a `fail`.
    func handleRootControl(_ exchange: DemoExchange) throws {
        let words = try readControlWords(exchange)
        let failing: Bool
        var delay = 0
        switch (words.first, words.count) {
        case ("fail"?, 1): failing = true
        case ("ok"?, 1): failing = false
        case ("slow"?, 2):
            guard let milliseconds = Int(words[1]), (0...Self.maximumSlowMilliseconds).contains(milliseconds) else {
                return try exchange.respond(status: 400, text: Self.rootControlUsage)
            }
            failing = false
            delay = milliseconds
        default:
            return try exchange.respond(status: 400, text: Self.rootControlUsage)
        }
        rootFailing.store(failing, ordering: .relaxed)
        rootDelayMilliseconds.store(delay, ordering: .relaxed)
        try exchange.respond(status: 200, text: failing ? "/ answers 500\n" : delay > 0 ? "/ answers 200 after \(delay) ms\n" : "/ answers 200\n")
    }

    static let rootControlUsage = "expected body 'ok', 'fail' or 'slow N' with 0 <= N <= \(maximumSlowMilliseconds)\n"

    /// A control's body, `fail` (true) or `ok` (false); nil after answering 400 to anything else.
    private func readSwitch(_ exchange: DemoExchange) throws -> Bool? {
        let words = try readControlWords(exchange)
        switch words.count == 1 ? words[0] : "" {
        case "fail": return true
        case "ok": return false
        default:
            try exchange.respond(status: 400, text: "expected body 'ok' or 'fail'\n")
            return nil
        }
    }

    /// A control's body (its first 64 bytes) split at whitespace.
    private func readControlWords(_ exchange: DemoExchange) throws -> [Substring] {
        var body: [UInt8] = []
        try exchange.readBody { bytes in
            if body.count < 64 { body.append(contentsOf: bytes.prefix(64 - body.count)) }
        }
        return String(decoding: body, as: UTF8.self).split(whereSeparator: \.isWhitespace)
    }
}
