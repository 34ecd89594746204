/// What the cache says about a mutation carrying an `Idempotency-Key`.
public enum IdempotencyLookup: Equatable, Sendable {
    /// Unknown key: apply the mutation, then store its reply.
    case miss
    /// The same request was made before: send this reply again and apply nothing.
    case replay(status: Int, body: String)
    /// The key was used for a different request: 422 `idempotency_key_reused`.
    case mismatch
}
