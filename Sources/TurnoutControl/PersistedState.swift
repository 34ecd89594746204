/// What survives a restart: the payload of `state.json`.
///
/// Forwards and target lists are keyed by listener and group name; on start the ones whose
/// listener or group still exists in the configuration win over the configuration file.
public struct PersistedState: Equatable, Sendable {
    /// The routing generation the state was saved at.
    public var generation: UInt64
    /// Each listener's forward, in its configured order.
    public var listeners: [String: [PersistedWeight]]
    /// listener → rule → the rule's forward, for the rules that forward.
    public var ruleForwards: [String: [String: [PersistedWeight]]] = [:]
    /// Each target group's registered targets as "host:port" (addresses and names, as registered).
    public var targetGroups: [String: [String]]
    /// group → registered name → the "host:port" addresses it last resolved to.
    public var resolvedNames: [String: [String: [String]]]
    /// Deregistered targets still finishing their in-flight requests.
    public var draining: [PersistedDrain]
    /// The most recent audit entries, oldest first.
    public var audit: [AuditEntry]
    /// The most recent idempotency records, oldest first.
    public var idempotency: [IdempotencyRecord]
    /// The deployments in progress and the last finished ones (`DeploymentRunner.persisted`); `nil` (JSON
    /// `null`) when there are none.
    public var deployment: JSONValue?
    /// The last journal record this snapshot includes (records after it are replayed on load).
    public var journalSequence: UInt64 = 0

    public init(
        generation: UInt64,
        listeners: [String: [PersistedWeight]] = [:],
        targetGroups: [String: [String]] = [:],
        resolvedNames: [String: [String: [String]]] = [:],
        draining: [PersistedDrain] = [],
        audit: [AuditEntry] = [],
        idempotency: [IdempotencyRecord] = [],
        deployment: JSONValue? = nil
    ) {
        self.generation = generation
        self.listeners = listeners
        self.targetGroups = targetGroups
        self.resolvedNames = resolvedNames
        self.draining = draining
        self.audit = audit
        self.idempotency = idempotency
        self.deployment = deployment
    }

    /// The JSON member names.
    enum Key: String {
        case generation, listeners, draining, audit, idempotency, deployment
        case targetGroups = "target_groups"
        case resolvedNames = "resolved_names"
        case ruleForwards = "rule_forwards"
        case journalSequence = "journal_sequence"
    }
}

/// One acknowledged change as appended to the journal: the routing state after it
/// (small: proportional to the configuration, not to history), plus the audit entry and
/// idempotency record it produced.
public struct JournalRecord: Equatable, Sendable {
    public var sequence: UInt64
    public var generation: UInt64
    public var listeners: [String: [PersistedWeight]]
    public var ruleForwards: [String: [String: [PersistedWeight]]] = [:]
    public var targetGroups: [String: [String]]
    public var resolvedNames: [String: [String: [String]]]
    public var draining: [PersistedDrain]
    public var audit: AuditEntry?
    public var idempotency: IdempotencyRecord?
    /// The deployments as they were when the record was written (as `PersistedState.deployment`).
    public var deployment: JSONValue?

    public init(sequence: UInt64, generation: UInt64, listeners: [String: [PersistedWeight]],
                targetGroups: [String: [String]], resolvedNames: [String: [String: [String]]] = [:],
                draining: [PersistedDrain], audit: AuditEntry?, idempotency: IdempotencyRecord?,
                deployment: JSONValue? = nil) {
        self.sequence = sequence
        self.generation = generation
        self.listeners = listeners
        self.targetGroups = targetGroups
        self.resolvedNames = resolvedNames
        self.draining = draining
        self.audit = audit
        self.idempotency = idempotency
        self.deployment = deployment
    }

    /// The JSON member names.
    enum Key: String {
        case sequence, generation, listeners, draining, audit, idempotency, deployment
        case targetGroups = "target_groups"
        case resolvedNames = "resolved_names"
        case ruleForwards = "rule_forwards"
    }

    /// `state` with this record applied.
    public func applied(to state: PersistedState) -> PersistedState {
        var next = state
        next.generation = generation
        next.listeners = listeners
        next.ruleForwards = ruleForwards
        next.targetGroups = targetGroups
        next.resolvedNames = resolvedNames
        next.draining = draining
        next.deployment = deployment
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

/// One entry of a listener's forward.
public struct PersistedWeight: Equatable, Sendable {
    public var group: String
    public var weight: Int

    public init(group: String, weight: Int) {
        self.group = group
        self.weight = weight
    }
}

/// A deregistered target that keeps draining until a wall-clock deadline, so that a
/// restart neither forgets it nor extends its deregistration delay.
public struct PersistedDrain: Equatable, Sendable {
    public var group: String
    /// "host:port".
    public var target: String
    /// Wall-clock deadline in milliseconds since the Unix epoch.
    public var until: UInt64

    public init(group: String, target: String, until: UInt64) {
        self.group = group
        self.target = target
        self.until = until
    }
}
