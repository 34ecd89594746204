import TurnoutCore
import TurnoutMetrics

/// Runs deployments on the control thread: carries out each `DeploymentState`'s actions (a routing change is
/// one acknowledged commit, with its journal record, audit entry and generation; a hook goes to the
/// `HookRunning`), sets one timer per deployment for its deadline or its next readiness look, judges the
/// alarms after every sample of the recent figures, and publishes every change on the event stream. Nothing
/// here blocks: a hook's outcome and the time come back as events.
final class DeploymentRunner {
    /// Finished deployments kept for `GET /v1/deployments`.
    static let historyCapacity = 50
    /// How often the replacement's readiness is looked at while the gate is closed.
    static let readinessPoll: UInt64 = 100_000_000
    /// The furthest ahead a timer is set, in milliseconds.
    static let longestTimer: UInt64 = 3_600_000

    /// A deployment in progress and what the runner keeps beside its state.
    final class Running {
        var state: DeploymentState
        var timer: TimerID?
        /// The hook run in progress, if any.
        var hookRun: UInt64?
        /// The monotonic second in which the replacement first got traffic: the alarms judge it from then.
        var watchedSince: UInt64?
        /// A shared store refused one of its changes (a lost compare, etcd away): this instance stops running it.
        var storeRefused = false

        init(_ state: DeploymentState) { self.state = state }
    }

    unowned let plane: ControlPlane
    /// Runs hooks, `install` and `terminate`; nil: specs that need one are refused.
    var hooks: (any HookRunning)?
    /// In progress and run by this instance, by id.
    var active: [String: Running] = [:]
    /// In progress and run by another instance of the fleet, as its last record has them (`DeploymentRunner+Fleet`).
    var followed: [String: DeploymentState] = [:]
    /// What the fleet's other instances counted, for the alarms of the deployments run here.
    var fleetFigures = FleetFigures()
    /// Finished, oldest first.
    var history: [DeploymentState] = []
    private var lastRunID: UInt64 = 0
    /// Finished deployments kept in the state files, beside those in progress.
    static let persistedHistory = 5
    /// What the last journal record written holds of the deployments.
    var written: JSONValue?

    init(plane: ControlPlane) {
        self.plane = plane
    }

    /// Every deployment kept, newest first.
    var all: [DeploymentState] {
        (active.values.map(\.state) + followed.values + history).sorted { ($0.created, $0.id) > ($1.created, $1.id) }
    }

    func deployment(_ id: String) -> DeploymentState? {
        active[id]?.state ?? followed[id] ?? history.last { $0.id == id }
    }

    /// The deployment in progress on `listener`, if any, whichever instance runs it.
    func active(on listener: String) -> DeploymentState? {
        active.values.first { $0.state.spec.listener == listener }?.state
            ?? followed.values.first { $0.spec.listener == listener }
    }

    /// Starts a deployment of `spec` (given as `source`) from `liveGroup`.
    func start(spec: DeploymentSpec, source: JSONValue, liveGroup: String) -> DeploymentState {
        let now = plane.clock.wallMilliseconds
        var id = "d-\(now)"
        var suffix = 1
        while deployment(id) != nil {
            suffix += 1
            id = "d-\(now)-\(suffix)"
        }
        let running = Running(DeploymentState(id: id, spec: spec, source: source, liveGroup: liveGroup, now: now))
        active[id] = running
        plane.logger.notice("deployment \(id): \(spec.listener) from \(liveGroup) to \(spec.targetGroup), \(spec.strategy.name)")
        transition(running) { state, now in state.start(now: now) }
        return running.state
    }

    /// A caller's action on deployment `id`.
    func act(_ id: String, _ action: String) throws(AdminFailure) -> DeploymentState {
        guard let running = active[id] else {
            if let state = followed[id] { throw runElsewhere(state) }
            guard let done = deployment(id) else { throw .notFound("no deployment '\(id)'") }
            throw .conflict("cannot \(action) deployment \(id): it is \(done.status.rawValue)")
        }
        var refusal: DeploymentRefusal?
        transition(running) { state, now in
            do throws(DeploymentRefusal) {
                switch action {
                case "promote": return try state.promote(now: now)
                case "rollback": return try state.rollback(now: now)
                case "pause": return try state.pause(now: now)
                case "resume": return try state.resume(now: now)
                case "approve": return try state.approve(now: now)
                default: return try state.stop(now: now)
                }
            } catch {
                refusal = error
                return []
            }
        }
        if let refusal { throw .conflict(refusal.message) }
        plane.logger.notice("deployment \(id): \(action) → \(running.state.status.rawValue)")
        return running.state
    }

    /// After each sample of the recent figures: every watched deployment's alarms, judged by its state.
    func figuresSampled(second: UInt64) {
        if plane.store.isShared { publishFleetFigures(second: second) }
        guard !active.isEmpty else { return }  // the sample allocates nothing while no deployment runs
        for running in Array(active.values) where running.state.isWatched {
            guard let alarms = running.state.spec.alarms, let since = running.watchedSince, second >= since else { continue }
            // The seconds since the replacement got traffic, the one it began in included (it had none before).
            let seconds = min(alarms.windowSeconds, Int(second - since) + 1)
            let group = running.state.spec.targetGroup
            let candidate = seconds > 0 ? window(group, seconds: seconds) : nil
            let baseline = seconds > 0 ? window(running.state.liveGroup, seconds: seconds) : nil
            let unhealthy = plane.unhealthyTargets(of: group)
            // Judged on a copy first: a transition (event, timer, journal) only for a rollback.
            var judged = running.state
            guard !judged.alarmsJudged(candidate: candidate, baseline: baseline, unhealthy: unhealthy,
                                       now: plane.clock.wallMilliseconds).isEmpty
            else {
                running.state = judged
                continue
            }
            transition(running) { state, now in
                state.alarmsJudged(candidate: candidate, baseline: baseline, unhealthy: unhealthy, now: now)
            }
        }
    }

    /// The data plane ejected `target` of `group`: the deployments replacing with that group note it for their
    /// next judgement.
    func targetEjected(group: String, target: HostPort) {
        for running in active.values where running.state.spec.targetGroup == group {
            running.state.replacementEjected(target, now: plane.clock.wallMilliseconds)
        }
    }

    // MARK: - State files

    /// The deployments in progress and the last finished ones as the state files keep them; nil when none.
    var persisted: JSONValue? {
        let kept = (active.values.map(\.state) + followed.values).sorted { $0.created < $1.created }
            + history.suffix(Self.persistedHistory)
        return kept.isEmpty ? nil : .array(kept.map(\.persisted))
    }

    /// Takes back the deployments of the state files (at start, before `resume`). One that no longer fits the
    /// configuration is kept as failed.
    func restore(_ json: JSONValue?, table: RoutingTable) {
        for (index, record) in (json?.arrayValue ?? []).enumerated() {
            do {
                let state = try DeploymentState(persisted: record, table: table)
                // With a fleet's store, the instance that takes its runner lock goes on with it.
                if state.status.isFinal { history.append(state) } else if plane.store.isShared { followed[state.id] = state } else {
                    active[state.id] = Running(state)
                }
            } catch {
                plane.logger.error("deployment \(index) of the state files not restored: \(error)")
            }
        }
        written = json
    }

    /// Goes on with every deployment in progress after a restart: a hook that was running rolls it back (or, if it
    /// was `terminate`, fails it).
    func resume() {
        for running in active.values.sorted(by: { $0.state.created < $1.state.created }) {
            transition(running) { state, now in state.restarted(now: now) }
            let restart = running.state.restarts.last?.outcome ?? "resumed"
            plane.logger.notice("deployment \(running.state.id): \(restart) after the restart")
        }
    }

    /// Journals the deployments when they changed since the last record (a routing change wrote them already);
    /// false when the store did not take them.
    private func save() -> Bool {
        let now = persisted
        guard now != written else { return true }
        return plane.recordDeploymentChange()
    }

    // MARK: - Carrying out

    /// Applies one input to `running`'s state, carries out the actions it asks for (feeding back what
    /// happens at once: routing changes are synchronous), then publishes the change, sets the timer and
    /// retires a finished deployment.
    func transition(_ running: Running,
                            _ input: (inout DeploymentState, UInt64) -> [DeploymentAction]) {
        // A fleet's runner whose lock went (seen by the watch before its timer fired) acts no more.
        if let locks = plane.runnerLocks, locks.heldLocks[running.state.spec.listener] == nil {
            return stopRunning(running, because: "this instance no longer holds the runner lock of '\(running.state.spec.listener)'")
        }
        let before = running.state
        var actions = input(&running.state, plane.clock.wallMilliseconds)
        while !actions.isEmpty, !running.storeRefused {
            let action = actions.removeFirst()
            actions += carryOut(action, running)
        }
        if running.storeRefused { return stopRunning(running, because: "the store refused its change") }
        if running.state.isWatched, running.watchedSince == nil {
            running.watchedSince = plane.clock.monotonicNanoseconds / 1_000_000_000
        }
        publishChange(from: before, to: running.state)
        if let timer = running.timer { plane.clock.cancel(timer) }
        running.timer = nil
        if running.state.status.isFinal {
            finish(running)
        } else {
            schedule(running)
        }
        guard save() || !plane.store.isShared else {
            // Not in the fleet's record: the instance that holds the lock goes on from what the record has.
            if !running.state.status.isFinal { return stopRunning(running, because: "the store refused its change") }
            return
        }
        if running.state.status.isFinal { plane.runnerLocks?.releaseRunnerLock(listener: running.state.spec.listener) }
    }

    private func carryOut(_ action: DeploymentAction, _ running: Running) -> [DeploymentAction] {
        let now = { self.plane.clock.wallMilliseconds }
        switch action {
        case .route(let change):
            do throws(AdminFailure) {
                let added = plane.targetsNotRegistered(change.register, in: running.state.spec.targetGroup)
                let generation = try plane.commitDeploymentRouting(change, of: running.state)
                return running.state.routingApplied(generation: generation, registered: added, now: now())
            } catch {
                plane.logger.error("deployment \(running.state.id): routing change not saved: \(error.message)")
                // A fleet's store that refused it (a lost compare, etcd away) says this instance's view is behind:
                // the change did not happen, and whoever holds the lock carries on from the record.
                if plane.store.isShared, error.code == .staleGeneration || error.code == .stateStoreUnavailable {
                    running.storeRefused = true
                    return []
                }
                return running.state.routingFailed(error.message, now: now())
            }
        case .runHook(let phase, let hook):
            lastRunID += 1
            let run = lastRunID
            running.hookRun = run
            let id = running.state.id
            guard let hooks else {
                return running.state.hookFinished(.failed(reason: "this proxy runs no hooks", outputTail: ""), now: now())
            }
            hooks.start(hook, context: plane.hookContext(run: run, phase: phase, of: running.state)) { [weak self] outcome in
                guard let self, let running = self.active[id], running.hookRun == run else { return }
                running.hookRun = nil
                self.transition(running) { state, now in state.hookFinished(outcome, now: now) }
            }
            return []
        case .cancelHook:
            if let run = running.hookRun { hooks?.cancel(runID: run) }
            running.hookRun = nil
            return []
        case .checkReadiness:
            let (healthy, total) = plane.readiness(of: running.state.spec.targetGroup)
            return running.state.readinessObserved(healthy: healthy, total: total, now: now())
        }
    }

    /// One timer: the deadline, or the next readiness look if sooner.
    private func schedule(_ running: Running) {
        let nowMs = plane.clock.wallMilliseconds
        var delay: UInt64?
        if let deadline = running.state.deadline {
            // At most an hour ahead: a later deadline is looked at again then (`timeElapsed` waits for it).
            delay = deadline > nowMs ? min(deadline - nowMs, Self.longestTimer) * 1_000_000 : 0
        }
        let gate = running.state.position?.stage == .readiness && running.state.status == .inProgress
        if gate { delay = min(delay ?? .max, Self.readinessPoll) }
        guard let delay else { return }
        let id = running.state.id
        running.timer = plane.clock.schedule(after: delay) { [weak self] in
            guard let self, let running = self.active[id] else { return }
            running.timer = nil
            self.transition(running) { state, now in
                if gate {
                    let (healthy, total) = self.plane.readiness(of: state.spec.targetGroup)
                    let actions = state.readinessObserved(healthy: healthy, total: total, now: now)
                    if !actions.isEmpty || state.position?.stage != .readiness { return actions }
                }
                return state.timeElapsed(now: now)
            }
        }
    }

    private func finish(_ running: Running) {
        if let run = running.hookRun { hooks?.cancel(runID: run) }
        active[running.state.id] = nil
        history.append(running.state)
        if history.count > Self.historyCapacity { history.removeFirst(history.count - Self.historyCapacity) }
        plane.logger.notice("deployment \(running.state.id): \(running.state.status.rawValue): \(running.state.reason)")
    }

    /// A `deployment` event whenever the status, phase, step or reason changed.
    func publishChange(from before: DeploymentState, to after: DeploymentState) {
        guard before.status != after.status || before.phase != after.phase || before.stepsDone != after.stepsDone
            || before.reason != after.reason || before.cursor != after.cursor
        else { return }
        var members = after.eventJSON
        members["deployment"] = .string(after.id)  // an event's own `id` is its number in the stream
        plane.publishEvent(.deployment, members)
    }
}

extension EventKind {
    /// A deployment started, or its status, phase, step or reason changed.
    public static let deployment: EventKind = "deployment"
}
