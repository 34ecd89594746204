import TurnoutCore
import TurnoutMetrics

/// The runner locks of a fleet's store: one instance runs each listener's deployment, the one that holds the
/// listener's lock (`EtcdStateStore+Runners`).
public protocol RunnerLocking: AnyObject {
    /// The locks this instance holds: listener → the lock's create revision.
    var heldLocks: [String: Int64] { get }
    /// Whether a lock can be taken now (the store answers and this instance has its lease).
    var canTakeLocks: Bool { get }
    /// Who holds `listener`'s lock, as this instance last saw it.
    func runner(of listener: String) -> RunnerLock?
    /// Takes `listener`'s lock: true when taken (or held already), false when another instance holds it or this
    /// instance's state is behind the store's.
    func takeRunnerLock(listener: String) throws(StateStoreError) -> Bool
    /// Lets the lock go once its deployment ended.
    func releaseRunnerLock(listener: String)
}

/// Deployments across a fleet: every instance follows each deployment from the journal records (which carry the
/// deployments), and the one that holds a listener's runner lock runs its deployment. When the runner dies its lock
/// goes with its lease, and an instance that takes the lock carries the deployment on from the record as a restart
/// does (`DeploymentState.restarted`: resumed, or rolled back if a hook was running). A runner whose change the store
/// refused (a lost compare, etcd away) stops running it: what the store did not take did not happen.
extension DeploymentRunner {
    /// Takes the deployments of a record another instance wrote (or of a whole read of the store): those this
    /// instance does not run are followed as the record has them, those that ended go to the history, and the
    /// changes are published on the event stream here too.
    func adopt(_ json: JSONValue?, table: RoutingTable) {
        var inRecord: Set<String> = []
        for (index, record) in (json?.arrayValue ?? []).enumerated() {
            let state: DeploymentState
            do {
                state = try DeploymentState(persisted: record, table: table)
            } catch {
                plane.logger.error("deployment \(index) of the shared state not followed: \(error)")
                continue
            }
            inRecord.insert(state.id)
            if active[state.id] != nil { continue }  // run here: this instance's state is the newest
            if let before = followed[state.id] ?? history.last(where: { $0.id == state.id }) {
                publishChange(from: before, to: state)
            } else {
                var members = state.eventJSON
                members["deployment"] = .string(state.id)
                plane.publishEvent(.deployment, members)
            }
            if state.status.isFinal {
                followed[state.id] = nil
                history.removeAll { $0.id == state.id }
                history.append(state)
                history.sort { ($0.created, $0.id) < ($1.created, $1.id) }
                if history.count > Self.historyCapacity { history.removeFirst(history.count - Self.historyCapacity) }
            } else {
                followed[state.id] = state
            }
        }
        for id in followed.keys where !inRecord.contains(id) { followed[id] = nil }
        written = json
    }

    /// The runner locks changed (one went or came, the lease turned, the store was read again): stops running the
    /// deployments whose lock this instance lost, and takes over those whose lock is free.
    func fleetRunnersChanged() {
        guard let locks = plane.runnerLocks else { return }
        for running in active.values.sorted(by: { $0.state.created < $1.state.created })
        where locks.heldLocks[running.state.spec.listener] == nil {
            stopRunning(running, because: "this instance no longer holds the runner lock of '\(running.state.spec.listener)'")
        }
        guard locks.canTakeLocks else { return }
        for state in followed.values.sorted(by: { $0.created < $1.created }) where !state.status.isFinal {
            let listener = state.spec.listener
            guard Self.mayTakeOver(listener: listener, runner: locks.runner(of: listener), held: locks.heldLocks) else { continue }
            let taken: Bool
            do {
                taken = try locks.takeRunnerLock(listener: listener)
            } catch {
                return  // the store logs its own turns; the next look tries again
            }
            guard taken else { continue }
            followed[state.id] = nil
            let running = Running(state)
            active[state.id] = running
            let from = state.restarts.count
            transition(running) { state, now in state.restarted(now: now) }
            let outcome = running.state.restarts.dropFirst(from).first?.outcome ?? "resumed"
            plane.logger.notice("deployment \(state.id): taken over from its record, \(outcome)")
        }
    }

    /// Whether this instance may take over `listener`'s deployment: nobody holds its lock, or this instance does
    /// (it stopped running the deployment on a refused change, and goes on once its view caught up).
    static func mayTakeOver(listener: String, runner: RunnerLock?, held: [String: Int64]) -> Bool {
        guard let runner else { return true }
        return held[listener] == runner.createRevision
    }

    /// Stops running `running` here (its timer, its hook): it is followed again as the store last took it, which is
    /// what the instance that holds its lock goes on from.
    func stopRunning(_ running: Running, because why: String) {
        let id = running.state.id
        if let timer = running.timer { plane.clock.cancel(timer) }
        if let run = running.hookRun { hooks?.cancel(runID: run) }
        running.timer = nil
        running.hookRun = nil
        active[id] = nil
        let record = written?.arrayValue?.first { $0["id"]?.stringValue == id }
        followed[id] = record.flatMap { try? DeploymentState(persisted: $0, table: plane.table) }
        plane.logger.warning("deployment \(id): no longer run by this instance (\(why)); followed from the shared state")
    }

    // MARK: - Figures

    /// `group`'s figures over the last `seconds` seconds for an alarm: this instance's, and with a fleet's store
    /// those the other instances published too, so that a bad replacement seen on any of them rolls back.
    func window(_ group: String, seconds: Int) -> WindowFigures {
        let local = plane.figures.window(.group(group), seconds: seconds)
        guard plane.store.isShared, !fleetFigures.seconds.isEmpty else { return local }
        var counts = local.counts
        counts.add(fleetFigures.window(group: group, seconds: seconds, nowSecond: plane.clock.wallMilliseconds / 1000,
                                       durationBuckets: plane.figures.durationBuckets))
        return WindowFigures(seconds: local.seconds, counts: counts, inFlight: local.inFlight)
    }

    /// Publishes this instance's last seconds of the groups that the deployments in progress move (whoever runs
    /// them), stamped with the wall clock; nothing while none is in progress.
    func publishFleetFigures(second: UInt64) {
        guard let store = plane.store as? EtcdStateStore, !(active.isEmpty && followed.isEmpty) else { return }
        let deployments = active.values.map(\.state) + followed.values
        let groups = Set(deployments.flatMap { [$0.spec.targetGroup, $0.liveGroup] })
        let wallSecond = plane.clock.wallMilliseconds / 1000
        var seconds: [UInt64: [String: FigureCounts]] = [:]
        for group in groups {
            for figures in plane.figures.series(.group(group), seconds: FleetFigures.publishedSeconds) {
                // The monotonic second `second` is the wall clock's `wallSecond`.
                guard figures.second + wallSecond >= second else { continue }
                seconds[figures.second + wallSecond - second, default: [:]][group] = figures.counts
            }
        }
        store.publishFigures(FleetFigures.Publication(seconds: seconds).jsonValue)
    }

    /// Another instance's figures arrived (nil: it left the fleet).
    func fleetFiguresReceived(instance: String, _ json: JSONValue?) {
        guard let json else { return fleetFigures.remove(instance: instance) }
        guard let publication = FleetFigures.Publication(json: json, durationBuckets: plane.figures.durationBuckets) else {
            return plane.logger.warning("the figures instance \(instance) published do not read; left out of the alarms")
        }
        fleetFigures.add(instance: instance, publication)
    }

    /// The refusal of an action on a deployment another instance runs: where to send it.
    func runElsewhere(_ state: DeploymentState) -> AdminFailure {
        let runner = plane.runnerLocks?.runner(of: state.spec.listener)
        let by = runner.map { "instance \($0.instance) (admin API at \($0.address))" } ?? "another instance, being taken over,"
        return .conflict("deployment \(state.id) is run by \(by): send its actions there")
    }
}
