/// One acknowledged change as appended to the journal: the routing state after it
/// (small: proportional to the configuration, not to history), plus the audit entry and
/// idempotency record it produced.
public struct JournalRecord: Equatable, Sendable {
    public var sequence: UInt64
    public var generation: UInt64
    public var listeners: [String: [PersistedWeight]]
    public var targetGroups: [String: [String]]
    public var draining: [PersistedDrain]
    public var audit: AuditEntry?
    public var idempotency: IdempotencyRecord?

    public init(sequence: UInt64, generation: UInt64, listeners: [String: [PersistedWeight]],
                targetGroups: [String: [String]], draining: [PersistedDrain], audit: AuditEntry?,
                idempotency: IdempotencyRecord?) {
        self.sequence = sequence
        self.generation = generation
        self.listeners = listeners
        self.targetGroups = targetGroups
        self.draining = draining
        self.audit = audit
        self.idempotency = idempotency
    }

    /// The JSON member names.
    enum Key: String {
        case sequence, generation, listeners, draining, audit, idempotency
        case targetGroups = "target_groups"
    }

    /// `state` with this record applied.
    public func applied(to state: PersistedState) -> PersistedState {
        var next = state
        next.generation = generation
        next.listeners = listeners
        next.targetGroups = targetGroups
        next.draining = draining
        next.journalSequence = sequence
        if let audit {
            next.audit.append(audit)
            if next.audit.count > AuditLog.capacity { next.audit.removeFirst(next.audit.count - AuditLog.capacity) }
        }
        if let idempotency {
            var cache = IdempotencyCache(records: next.idempotency)
            cache.store(idempotency)
            next.idempotency = cache.records
        }
        return next
    }
}
