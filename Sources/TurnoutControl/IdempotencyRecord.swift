/// A mutation's reply kept under its `Idempotency-Key`, so that a retry gets the same reply.
public struct IdempotencyRecord: Encodable, Equatable, Sendable {
    public var key: String
    public var method: String
    /// The request target the mutation was sent to.
    public var path: String
    /// `IdempotencyCache.requestHash(body:)` of the request body.
    public var requestHash: String
    public var status: Int
    /// The JSON reply body.
    public var body: String
    /// ISO 8601, UTC, with milliseconds.
    public var time: String

    public init(key: String, method: String, path: String, requestHash: String, status: Int, body: String, time: String) {
        self.key = key
        self.method = method
        self.path = path
        self.requestHash = requestHash
        self.status = status
        self.body = body
        self.time = time
    }

    enum CodingKeys: String, CodingKey {
        case key, method, path, status, body, time
        case requestHash = "request_hash"
    }
}
