import Glibc
import TurnoutHTTP1
import TurnoutPosix

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
    func send(_ request: AdminClientRequest) throws(AdminTransportError) -> AdminClientResponse {
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

    private func exchange(_ bytes: [UInt8], method: HTTPMethod) throws(AdminTransportError) -> AdminClientResponse {
        let deadline = MonotonicClock.now() + UInt64(timeoutSeconds) * 1_000_000_000
        let connection = try AdminClientConnection(to: endpoint, deadline: deadline)
        try connection.send(bytes, timeoutSeconds: timeoutSeconds)
        let reader = AdminClientResponseReader(requestMethod: method)
        var buffer: [UInt8] = []
        while true {
            let received = try connection.receive(into: &buffer, timeoutSeconds: timeoutSeconds)
            if case .complete(let response) = try reader.examine(buffer, atEnd: received == nil) {
                return response
            }
        }
    }
}

/// Why no usable response came back from the admin API.
enum AdminTransportError: Error, CustomStringConvertible {
    /// No connection could be made (resolution, refused, unreachable, connect timeout).
    case unreachable(String)
    /// The connection broke before a complete response arrived; nothing says whether the server acted.
    case connectionLost(String)
    /// No complete response within the timeout after the request was sent.
    case timedOut(seconds: Int)
    /// Something answered, but not with HTTP/1.x the client understands.
    case malformedResponse(String)

    var description: String {
        switch self {
        case .unreachable(let reason): return reason
        case .connectionLost(let reason): return "connection lost before the response: \(reason)"
        case .timedOut(let seconds): return "no response within \(seconds)s"
        case .malformedResponse(let reason): return "malformed response: \(reason)"
        }
    }

    /// Whether sending the same request again on a new connection is the right answer.
    var isRetryable: Bool {
        if case .connectionLost = self { return true }
        return false
    }

    static func describe(_ code: Int32) -> String {
        String(cString: strerror(code))
    }
}

/// Random `Idempotency-Key` values: 128 bits from the kernel, as 32 lowercase hex digits.
enum AdminIdempotencyKey {
    static func generate() -> String {
        var bytes = [UInt8](repeating: 0, count: 16)
        bytes.withUnsafeMutableBytes { SystemRandom.fill($0) }
        let digits = Array("0123456789abcdef".unicodeScalars)
        var key = ""
        for byte in bytes {
            key.unicodeScalars.append(digits[Int(byte >> 4)])
            key.unicodeScalars.append(digits[Int(byte & 0x0F)])
        }
        return key
    }
}
