/// The idempotency key of the mutation being handled: what `commit` records with the
/// change, in the same journal record, so a crash cannot keep one without the other.
struct IdempotencyContext {
    let key: String
    let method: String
    let path: String
    let bodyHash: String
}
