import TurnoutCore

/// A fleet's shared state (`state: {store: etcd}`): what another instance committed, adopted here as it arrives.
extension ControlPlane {
    /// Publishes the state a change made through another instance left (or a reload read): the routing, the audit
    /// log, the idempotency records and the drains, as this instance's own commit would have. The events and the
    /// switch report of a record with an audit entry follow, so `GET /v1/events` on every instance shows the change.
    public func adoptShared(_ update: SharedStateChange) {
        let state: PersistedState
        let entry: AuditEntry?
        switch update {
        case .record(let record):
            var current = persistedState(table: table, audit: audit)
            current.journalSequence = journalSequence
            state = record.applied(to: current)
            entry = record.audit
        case .state(let whole):
            state = whole
            entry = nil
        }
        guard state.journalSequence != journalSequence else { return }
        let next = StateRestore.apply(state, over: config, logger: logger)
        audit = AuditLog(entries: state.audit)
        idempotency = IdempotencyCache(records: state.idempotency)
        let nowMs = clock.wallMilliseconds
        draining = [:]
        for drain in state.draining where drain.until > nowMs {
            guard let target = HostPort.parse(drain.target) else { continue }
            draining[drain.group, default: [:]][target] = drain.until
            scheduleDrainEnd(group: drain.group, target: target, untilMs: drain.until)
        }
        journalSequence = state.journalSequence
        let previous = table
        table = next
        noteGroupDrains(from: previous, to: next)
        health.update(groups: next.groups)
        names.update(groups: next.groups)
        publish()
        if let entry {
            reports.record(from: previous, to: next, entry: entry)
            publishCommitEvents(previous: previous, entry: entry)
        }
        logger.notice("applied the shared state's change: generation \(previous.generation) → \(next.generation)")
    }
}
