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
        var body: [UInt8] = []
        try exchange.readBody { bytes in
            if body.count < 64 { body.append(contentsOf: bytes.prefix(64 - body.count)) }
        }
        let words = String(decoding: body, as: UTF8.self).split(whereSeparator: \.isWhitespace)
        switch words.count == 1 ? words[0] : "" {
        case "fail":
            healthFailing.store(true, ordering: .relaxed)
        case "ok":
            healthFailing.store(false, ordering: .relaxed)
        default:
            try exchange.respond(status: 400, text: "expected body 'ok' or 'fail'\n")
            return
        }
        try exchange.respond(status: 200, text: healthText(failing: healthFailing.load(ordering: .relaxed)))
    }
}
