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
        let before = table.generation
        putInForce(next, entry: entry)
        deployments.adopt(state.deployment, table: next)
        logger.notice("applied the shared state's change: generation \(before) → \(next.generation)")
    }
}

extension ControlPlane {
    /// The longest `?wait=fleet` may wait, and how long it waits without `wait_timeout`.
    static let fleetWaitLimit: UInt64 = 60_000_000_000
    static let fleetWaitDefault: UInt64 = 10_000_000_000

    /// `?wait=fleet[&wait_timeout=5s]` on a change: its answer (still 200: the change is acknowledged, in etcd and
    /// in force here) is held until every registered instance of the fleet has applied it, or the timeout came,
    /// and carries `fleet` saying which. A change that made no generation (unchanged, a dry run, a refusal) is
    /// answered at once; so is every change with the local store, whose fleet is this instance.
    func waitingForFleet(_ response: AdminResponse, request: AdminRequest) -> AdminResponse {
        guard let shared = store as? EtcdStateStore, response.status == 200, response.stream == nil,
              let body = try? JSONReader.parse(response.body), case .object(var members) = body,
              members["generation"] != nil, members["unchanged"] == nil, members["dry_run"] == nil else { return response }
        let revision = shared.appliedRevision
        let timeout = request.query["wait_timeout"].flatMap(ConfigDuration.parse).map(\.nanoseconds) ?? Self.fleetWaitDefault
        return AdminResponse(status: 200, headers: response.headers, stream: AdminStreamStart { sink in
            shared.whenFleetApplied(revision: revision, timeout: min(timeout, Self.fleetWaitLimit)) { wait in
                members["fleet"] = wait.jsonValue
                sink.send(JSONValue.object(members).jsonBytes)
                sink.close()
            }
        })
    }

    /// Refuses a `wait` other than `fleet` and a `wait_timeout` that is not a duration up to a minute (400), before
    /// anything changes.
    static func checkWaitQuery(_ request: AdminRequest) throws(AdminFailure) {
        if let wait = request.query["wait"], wait != "fleet" {
            throw .badRequest("wait must be 'fleet', got '\(wait)'")
        }
        if let text = request.query["wait_timeout"] {
            guard request.query["wait"] == "fleet" else { throw .badRequest("wait_timeout goes with wait=fleet") }
            guard let timeout = ConfigDuration.parse(text), timeout.nanoseconds > 0, timeout.nanoseconds <= fleetWaitLimit else {
                throw .badRequest("wait_timeout must be a duration up to 60s, e.g. 5s or 500ms, got '\(text)'")
            }
        }
    }
}

extension ControlPlane {
    /// A fleet's runner locks changed: the deployments this instance runs and those it takes over follow
    /// (`DeploymentRunner+Fleet`).
    public func fleetRunnersChanged() {
        deployments.fleetRunnersChanged()
    }

    /// Another instance of the fleet published its figures (nil: they went with its lease), for the alarms of the
    /// deployments this instance runs.
    public func fleetFiguresReceived(instance: String, _ figures: JSONValue?) {
        deployments.fleetFiguresReceived(instance: instance, figures)
    }

    /// This instance's view of its targets' health, as a fleet's instances compare it: group → target → what its
    /// own checks say (`TargetHealth.checkedState`).
    public var healthView: [String: [String: String]] {
        var view: [String: [String: String]] = [:]
        for group in health.snapshot() {
            view[group.group] = Dictionary(group.targets.map { ($0.target.description, $0.health.checkedState.rawValue) },
                                           uniquingKeysWith: { first, _ in first })
        }
        return view
    }

    /// A target's health changed here: the fleet hears of it with this instance's registration now, not at the
    /// next heartbeat.
    func shareHealthView() {
        (store as? EtcdStateStore)?.announce()
    }
}
