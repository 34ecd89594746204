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

    /// `POST /control/root` with body `fail` or `ok`: `/` answers 500 from then on, or 200 again (a release
    /// that breaks, for a deployment's alarms to catch).
    func handleRootControl(_ exchange: DemoExchange) throws {
        guard let failing = try readSwitch(exchange) else { return }
        rootFailing.store(failing, ordering: .relaxed)
        try exchange.respond(status: 200, text: failing ? "/ answers 500\n" : "/ answers 200\n")
    }

    /// A control's body, `fail` (true) or `ok` (false); nil after answering 400 to anything else.
    private func readSwitch(_ exchange: DemoExchange) throws -> Bool? {
        var body: [UInt8] = []
        try exchange.readBody { bytes in
            if body.count < 64 { body.append(contentsOf: bytes.prefix(64 - body.count)) }
        }
        let words = String(decoding: body, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        switch words.count == 1 ? words[0] : "" {
        case "fail": return true
        case "ok": return false
        default:
            try exchange.respond(status: 400, text: "expected body 'ok' or 'fail'\n")
            return nil
        }
    }
}
