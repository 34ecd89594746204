import TurnoutPosix
import TurnoutHTTP1

/// A small blocking HTTP/1.1 client for the admin API: one connection per request, `Connection: close`,
/// bearer token when one is configured.
struct AdminClient {
    let endpoint: AdminEndpoint
    /// Sent as `Authorization: Bearer <token>` when set.
    let token: String?
    /// Bound on connecting, sending and receiving one response, in seconds.
    let timeoutSeconds: Int

    /// Sends `request` and returns the response, whatever its status.
    ///
    /// A mutation gets a random `Idempotency-Key` first. When the connection breaks before a complete
    /// response, the request is sent once more on a new connection with the same key: if the first
    /// attempt was applied, the server replays its answer instead of applying it twice.
    func send(_ request: AdminRequest) throws(AdminTransportError) -> AdminResponse {
        var request = request
        if request.isMutation && !request.headers.contains(where: { $0.name == "Idempotency-Key" }) {
            request.headers.append(("Idempotency-Key", AdminIdempotencyKey.generate()))
        }
        let bytes = request.serialized(endpoint: endpoint, token: token)
        do {
            return try exchange(bytes, method: request.method)
        } catch let error where error.isRetryable {
            return try exchange(bytes, method: request.method)
        }
    }

    private func exchange(_ bytes: [UInt8], method: HTTPMethod) throws(AdminTransportError) -> AdminResponse {
        let deadline = MonotonicClock.now() + UInt64(timeoutSeconds) * 1_000_000_000
        let connection = try AdminConnection(to: endpoint, deadline: deadline)
        try connection.send(bytes, timeoutSeconds: timeoutSeconds)
        let reader = AdminResponseReader(requestMethod: method)
        var buffer: [UInt8] = []
        while true {
            let received = try connection.receive(into: &buffer, timeoutSeconds: timeoutSeconds)
            if case .complete(let response) = try reader.examine(buffer, atEnd: received == nil) {
                return response
            }
        }
    }
}
