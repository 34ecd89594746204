import TurnoutTLS
extension DemoRouter {
    /// Bodies up to this size are echoed back; larger ones are only hashed.
    static let maximumEchoedBodyBytes = 1024 * 1024

    /// `/echo`, any method: the response body is the request head exactly as received followed by the request body
    /// (decoded from chunked framing). A body over 1 MiB is not echoed (only the head is), but its length and
    /// SHA-256 are still reported. Headers: `X-Echo-Method`, `X-Echo-Head-Length`, `X-Echo-Body-Length`,
    /// `X-Echo-Body-Sha256`, `X-Echo-Body-Echoed` (`yes`/`no`).
    func handleEcho(_ exchange: DemoExchange) throws {
        let hasher = Digest(.sha256)
        var kept: [UInt8] = []
        var echoed = true
        let length = try exchange.readBody { bytes in
            hasher.update(bytes)
            guard echoed else { return }
            if kept.count + bytes.count > Self.maximumEchoedBodyBytes {
                echoed = false
                kept = []
            } else {
                kept.append(contentsOf: bytes)
            }
        }
        let request = exchange.request
        try exchange.respond(
            status: 200,
            contentType: "application/octet-stream",
            headers: [
                ("X-Echo-Method", request.method),
                ("X-Echo-Head-Length", String(request.rawHead.count)),
                ("X-Echo-Body-Length", String(length)),
                ("X-Echo-Body-Sha256", hasher.finalize().hexString),
                ("X-Echo-Body-Echoed", echoed ? "yes" : "no"),
            ],
            body: request.rawHead + kept)
    }

    /// `POST /upload`: reads the body streaming and answers its length and SHA-256 (headers and a one-line body).
    func handleUpload(_ exchange: DemoExchange) throws {
        let hasher = Digest(.sha256)
        let length = try exchange.readBody { hasher.update($0) }
        let digest = hasher.finalize().hexString
        try exchange.respond(
            status: 200,
            headers: [("X-Echo-Body-Length", String(length)), ("X-Echo-Body-Sha256", digest)],
            text: "received \(length) bytes, sha256 \(digest)\n")
    }
}
