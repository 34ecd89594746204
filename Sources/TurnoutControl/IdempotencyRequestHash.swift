import TurnoutTLS

/// SHA-256 of a request body, for telling a retry from a different request that reuses
/// an idempotency key.
enum IdempotencyRequestHash {
    /// The digest of `bytes` as 64 lowercase hex digits.
    static func sha256Hex(_ bytes: [UInt8]) -> String {
        Digest.of(bytes, .sha256).hexString
    }
}
