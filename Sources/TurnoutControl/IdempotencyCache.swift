import TurnoutTLS

/// Replies of keyed mutations, the most recent `capacity` keys, oldest evicted first.
///
/// A value type like `AuditLog`: a mutation stores into a copy that is kept once the state
/// file has been written.
public struct IdempotencyCache: Equatable, Sendable {
    /// How many keys the admin API and the state file keep.
    public static let capacity = 1000
    /// The longest key accepted.
    public static let maximumKeyLength = 200

    private var order: [String] = []
    private var byKey: [String: IdempotencyRecord] = [:]

    /// Restores a cache from persisted `records` (oldest first).
    public init(records: [IdempotencyRecord] = []) {
        for record in records { store(record) }
    }

    /// Whether `key` is acceptable as an `Idempotency-Key`: 1 to 200 visible ASCII characters.
    public static func isValidKey(_ key: String) -> Bool {
        let bytes = key.utf8
        return (1...maximumKeyLength).contains(bytes.count) && bytes.allSatisfy { (0x21...0x7E).contains($0) }
    }

    /// The hash a request body is compared by: SHA-256, lowercase hex.
    public static func requestHash(body: [UInt8]) -> String {
        Digest.of(body, .sha256).hexString
    }

    /// Whether a mutation with `key` is new, a retry of the stored one, or a different
    /// request reusing the key.
    public func lookup(key: String, method: String, path: String, bodyHash: String) -> IdempotencyLookup {
        guard let record = byKey[key] else { return .miss }
        guard record.method == method, record.path == path, record.requestHash == bodyHash else { return .mismatch }
        return .replay(status: record.status, body: record.body)
    }

    /// Keeps the reply to a mutation under `key`, stamped `millisecondsSinceEpoch`.
    public mutating func store(
        key: String, method: String, path: String, bodyHash: String, status: Int, body: String,
        millisecondsSinceEpoch: UInt64 = AuditTimestamp.nowMilliseconds()
    ) {
        store(IdempotencyRecord(
            key: key, method: method, path: path, requestHash: bodyHash, status: status, body: body,
            time: AuditTimestamp.iso8601(milliseconds: millisecondsSinceEpoch)))
    }

    /// The records, oldest first: what the state file keeps.
    public var records: [IdempotencyRecord] { order.compactMap { byKey[$0] } }

    public var count: Int { order.count }

    /// Keeps `record` as it is (its time included), evicting the oldest key beyond `capacity`.
    /// Storing an existing key replaces its record and makes it the newest.
    public mutating func store(_ record: IdempotencyRecord) {
        if byKey.updateValue(record, forKey: record.key) != nil {
            order.removeAll { $0 == record.key }
        }
        order.append(record.key)
        if order.count > Self.capacity {
            for evicted in order.prefix(order.count - Self.capacity) { byKey[evicted] = nil }
            order.removeFirst(order.count - Self.capacity)
        }
    }
}

/// A mutation's reply kept under its `Idempotency-Key`, so that a retry gets the same reply.
public struct IdempotencyRecord: Equatable, Sendable {
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

    /// The JSON member names.
    enum Key: String {
        case key, method, path, status, body, time
        case requestHash = "request_hash"
    }
}

/// What the cache says about a mutation carrying an `Idempotency-Key`.
public enum IdempotencyLookup: Equatable, Sendable {
    /// Unknown key: apply the mutation, then store its reply.
    case miss
    /// The same request was made before: send this reply again and apply nothing.
    case replay(status: Int, body: String)
    /// The key was used for a different request: 422 `idempotency_key_reused`.
    case mismatch
}

/// The idempotency key of the mutation being handled: what `commit` records with the
/// change, in the same journal record, so a crash cannot keep one without the other.
struct IdempotencyContext {
    let key: String
    let method: String
    let path: String
    let bodyHash: String
}
