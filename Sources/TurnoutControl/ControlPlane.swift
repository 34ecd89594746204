import Foundation
import Logging
import TurnoutCore
import TurnoutTLS
import TurnoutMetrics

/// The authority over routing: holds the routing table, target health, drains, the
/// audit log and idempotency records; persists every acknowledged change before
/// publishing it to the data plane and replying. Runs on the control loop's thread only.
///
/// Its seams: the `DataPlane` it publishes to, the `ControlClock` its drains and retries
/// run on, the `HealthProber` its health checker probes with, the `NameResolver` that looks
/// up the targets registered by name, and the `RoutingStateStore` that keeps every acknowledged change
/// (`state_dir`'s files, or etcd shared by a fleet).
public final class ControlPlane {
    /// The configuration last loaded (at start, then by each accepted reload).
    var config: TurnoutConfig
    let dataPlane: any DataPlane
    let clock: any ControlClock
    /// Where acknowledged changes are kept.
    let store: any RoutingStateStore
    /// The sequence number of the last journal record written (or, with a shared store, applied).
    var journalSequence: UInt64
    /// What start-up recovery found wrong with the saved files, for the status.
    let recoveryDamage: String?
    /// Whether a retry of the journal's repair is scheduled.
    var repairScheduled = false
    /// The idempotency key of the mutation being handled, recorded with its change.
    var pendingIdempotency: IdempotencyContext?
    let metrics: MetricsRegistry
    var logger: Logger
    var token: [UInt8]?
    /// Host, cross-site and content-type checks every request passes first.
    var requestGuard: AdminRequestGuard
    /// The configuration file `POST /v1/reload` reads; nil when none was given (unit tests).
    public var configSource: ConfigSource?
    /// Each HTTPS listener's certificates in force, by listener name (`ControlPlane+TLS`).
    public var certificates: [String: TLSServerConfiguration] = [:]

    /// The routing table in force (the one last published).
    var table: RoutingTable
    var audit: AuditLog
    var idempotency: IdempotencyCache
    /// Targets deregistered and still draining: group → target → wall-clock deadline (ms).
    var draining: [String: [HostPort: UInt64]] = [:]
    /// Groups whose weight went to zero: wall-clock deadline (ms) of their drain.
    var groupDrainUntil: [String: UInt64] = [:]
    var health: HealthChecker!
    /// Looks up the targets registered by name, every group's `dns_refresh`.
    var names: NameRefresher!
    /// Health-check latency per target group (written on the control thread).
    var healthCheckLatency: [String: Histogram] = [:]
    /// The last fifteen minutes of per-second figures, sampled from `metrics` (`ControlPlane+Figures`).
    let figures: RecentFigures
    /// The wall-clock time of the figures' latest sample, in milliseconds.
    var figuresWallMilliseconds: UInt64 = 0
    /// The figures' timer action, made once.
    lazy var nextFigureSample: () -> Void = { [weak self] in self?.sampleFigures() }
    /// Routing changes, health transitions and drains as they happen, for `GET /v1/events`.
    let events: EventStream
    /// What each acknowledged change that moved traffic did to it (`ControlPlane+Reports`).
    public internal(set) var reports: SwitchReports!
    /// The deployments in progress and the last finished ones (`ControlPlane+Deployments`).
    var deployments: DeploymentRunner!

    public init(config: TurnoutConfig, table: RoutingTable, recovered: StateRecovery.Outcome, dataPlane: any DataPlane,
                clock: any ControlClock, prober: any HealthProber, resolver: any NameResolver,
                store: any RoutingStateStore, metrics: MetricsRegistry, token: String?, logger: Logger,
                healthLogger: Logger? = nil) {
        let restored = recovered.state
        recoveryDamage = recovered.damage
        journalSequence = restored?.journalSequence ?? 0
        self.config = config
        self.table = table
        self.dataPlane = dataPlane
        self.clock = clock
        self.store = store
        self.metrics = metrics
        figures = RecentFigures(durationBuckets: metrics.durationBuckets)
        events = EventStream(clock: clock, firstID: max(1, clock.wallMilliseconds * 1000))
        self.logger = logger
        self.token = token.map { Array($0.utf8) }
        requestGuard = AdminRequestGuard(admin: config.admin)
        audit = AuditLog(entries: restored?.audit ?? [])
        idempotency = IdempotencyCache(records: restored?.idempotency ?? [])
        let nowMs = clock.wallMilliseconds
        for drain in restored?.draining ?? [] where drain.until > nowMs {
            if let target = HostPort.parse(drain.target) { draining[drain.group, default: [:]][target] = drain.until }
        }
        // The health checker's lines under a label of their own (`turnout.health`), at the plane's level, unless
        // the caller gives it a logger of its own (with a handler the label alone would not bring).
        let healthLogger = healthLogger ?? {
            var derived = Logger(label: logger.label + ".health")
            derived.logLevel = logger.logLevel
            return derived
        }()
        // A health change reaches the data plane as a republish of the same generation.
        health = HealthChecker(clock: clock, prober: prober, logger: healthLogger, onChange: { [weak self] change in
            self?.publish()
            self?.publishHealthEvent(change)
            self?.shareHealthView()
        }, onProbe: { [weak self] group, _, seconds in
            guard let self else { return }
            let histogram = self.healthCheckLatency[group] ?? Histogram()
            self.healthCheckLatency[group] = histogram
            histogram.observe(seconds: seconds)
        })
        names = NameRefresher(clock: clock, resolver: resolver, onAnswer: { [weak self] answered in
            self?.nameAnswered(answered)
        })
        reports = SwitchReports(clock: clock, sources: reportSources())
        reports.onSettled = { [weak self] report in self?.publishReportSettled(report) }
        deployments = DeploymentRunner(plane: self)
        deployments.restore(restored?.deployment, table: table)
    }

    /// What runs deployments' hooks, `install` and `terminate` commands; until one is set, specs with any
    /// are refused.
    public var hookRunner: (any HookRunning)? {
        get { deployments.hooks }
        set { deployments.hooks = newValue }
    }

    /// Starts probing and looking up names, and publishes the initial health view. Writes a
    /// fresh snapshot first, so the journal starts empty.
    public func start() {
        figures.prepare(listeners: table.listeners.map(\.name), groups: table.groups.map(\.name))
        sampleFigures()
        compact()
        health.update(groups: table.groups)
        names.update(groups: table.groups)
        for (group, targets) in draining {
            for (target, until) in targets { scheduleDrainEnd(group: group, target: target, untilMs: until) }
        }
        publish()
        deployments.resume()
        for listener in certificates.keys.sorted() { scheduleTicketKeyRotation(listener: listener) }
    }

    /// The data plane ejected `target` of `group` (passive ejection): out of rotation until its next passing
    /// check, and noted by a deployment whose replacement it is.
    func targetEjected(group: String, target: HostPort) {
        guard health.passiveEjection(group: group, target: target) else { return }
        deployments.targetEjected(group: group, target: target)
    }

    /// Publishes the current table with the current health to the data plane.
    func publish() {
        dataPlane.publish(table, routable: routability())
    }

    /// `routable[group][target]` from health and each group's all-unhealthy policy.
    func routability() -> [[Bool]] { table.groups.map(routability(of:)) }

    /// Which of `group`'s targets may take new requests.
    func routability(of group: GroupRoute) -> [Bool] {
        let states = group.targets.map { health.health(group: group.name, target: $0) ?? TargetHealth(checkEnabled: group.healthCheck.enabled) }
        return routableTargets(states, policy: group.onAllUnhealthy)
    }

    /// Persists `next` (with the audit entry, and the idempotency record when the request
    /// carried a key) and publishes it: the order that makes an acknowledgement mean
    /// "durable and in force". `response` is what the caller will answer, recorded for
    /// replays. Throws when the journal could not be written; nothing is published then.
    func commit(_ next: RoutingTable, action: String, caller: String, request: JSONValue, diff: JSONValue,
                response: AdminResponse? = nil) throws(AdminFailure) {
        let before = table.generation
        let now = clock.wallMilliseconds
        let entry = audit.entry(action: action, caller: caller, generationBefore: before,
                                generationAfter: next.generation, request: request, diff: diff, millisecondsSinceEpoch: now)
        let idempotencyRecord = response.flatMap { replayRecord(of: $0, now: now) }
        do {
            try appendRecord(for: next, audit: entry, idempotency: idempotencyRecord)
        } catch {
            throw refusal(for: error)
        }
        audit.record(entry)
        if let idempotencyRecord { idempotency.store(idempotencyRecord) }
        putInForce(next, entry: entry)
        logger.notice("\(action) by \(caller): generation \(before) → \(next.generation) \(diff.jsonText)")
    }

    /// Makes `next` the table in force once its change is kept: the drains of the groups it takes all weight from,
    /// probes and lookups for its groups, the publish, then the switch report and the events of `entry`'s change.
    func putInForce(_ next: RoutingTable, entry: AuditEntry?) {
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
    }

    /// The record that keeps `response` under the `Idempotency-Key` of the request being handled; nil without one.
    func replayRecord(of response: AdminResponse, now: UInt64) -> IdempotencyRecord? {
        guard let context = pendingIdempotency else { return nil }
        return IdempotencyRecord(key: context.key, method: context.method, path: context.path, requestHash: context.bodyHash,
                                 status: response.status, body: String(decoding: response.body, as: UTF8.self),
                                 time: AuditTimestamp.iso8601(milliseconds: now))
    }

    /// Keeps the reply of a keyed request that changed state outside `commit` (a deployment started) in a journal
    /// record of its own, so that a retry with the key gets it again, after a restart too.
    func recordIdempotentReply(_ response: AdminResponse) {
        guard let record = replayRecord(of: response, now: clock.wallMilliseconds) else { return }
        do { try appendRecord(for: table, audit: nil, idempotency: record) } catch { stateNotSaved(error) }
        idempotency.store(record)
    }

    /// Appends one journal record holding the routing state of `table` (and the drains)
    /// and compacts when enough records accumulated.
    func appendRecord(for table: RoutingTable, audit entry: AuditEntry?, idempotency record: IdempotencyRecord?)
        throws(StateStoreError)
    {
        let routing = routingState(of: table)
        let deployment = deployments?.persisted
        var journalRecord = JournalRecord(
            sequence: journalSequence + 1, generation: table.generation, listeners: routing.listeners,
            targetGroups: routing.groups, resolvedNames: routing.resolvedNames, draining: routing.drains, audit: entry,
            idempotency: record, deployment: deployment)
        journalRecord.ruleForwards = routing.ruleForwards
        try store.append(journalRecord)
        deployments?.written = deployment
        journalSequence += 1
        if store.wantsCompaction {
            // After this reply, not before it: the snapshot rewrite is not on the acknowledgement's path.
            clock.schedule(after: 0) { [weak self] in self?.compact() }
        }
    }

    /// Records a state change that is not a routing change (a drain ending). A shared store does not take a drain's
    /// end: every instance ends it at the deadline the record holds.
    func recordStateChange() {
        guard !store.isShared else { return }
        do { try appendRecord(for: table, audit: nil, idempotency: nil) } catch { stateNotSaved(error) }
    }

    /// Records a deployment's change that moved no traffic (a phase, a pause), a shared store's too: the fleet's
    /// instances follow each deployment from the records. False when the store did not take it.
    func recordDeploymentChange() -> Bool {
        do {
            try appendRecord(for: table, audit: nil, idempotency: nil)
            return true
        } catch {
            stateNotSaved(error)
            return false
        }
    }

    /// The runner locks of a fleet's store; nil with one instance's.
    var runnerLocks: (any RunnerLocking)? { store as? any RunnerLocking }

    /// Hands the store everything so far (the local one rewrites its snapshot, then empties the journal).
    func compact(reportingFailure: Bool = true) {
        var state = persistedState(table: table, audit: audit)
        state.journalSequence = journalSequence
        do {
            try store.compact(state)
        } catch {
            guard reportingFailure else { return }
            logger.error("state not compacted (the journal still holds every change): \(error)")
            watchJournal()
        }
    }

    func routingState(of table: RoutingTable) -> (listeners: [String: [PersistedWeight]],
                                                  ruleForwards: [String: [String: [PersistedWeight]]], groups: [String: [String]],
                                                  resolvedNames: [String: [String: [String]]], drains: [PersistedDrain]) {
        var listeners: [String: [PersistedWeight]] = [:]
        var ruleForwards: [String: [String: [PersistedWeight]]] = [:]
        for (index, listener) in table.listeners.enumerated() {
            listeners[listener.name] = table.forward(ofListener: index).map { PersistedWeight(group: $0.group, weight: $0.weight) }
            for (ruleIndex, rule) in listener.rules.enumerated() {
                guard case .forward = rule.action else { continue }
                ruleForwards[listener.name, default: [:]][rule.name] = table.forward(ofRule: ruleIndex, listener: index)
                    .map { PersistedWeight(group: $0.group, weight: $0.weight) }
            }
        }
        var groups: [String: [String]] = [:]
        var resolvedNames: [String: [String: [String]]] = [:]
        for group in table.groups {
            // What was registered (names included), so that a restart looks the names up again; their last
            // addresses beside, so that it serves them meanwhile.
            groups[group.name] = group.registered.map(\.description)
            if !group.resolved.isEmpty {
                resolvedNames[group.name] = Dictionary(uniqueKeysWithValues: group.resolved.map {
                    ($0.key.description, $0.value.map(\.description))
                })
            }
        }
        var drains: [PersistedDrain] = []
        for (group, targets) in draining {
            for (target, until) in targets { drains.append(PersistedDrain(group: group, target: target.description, until: until)) }
        }
        drains.sort { ($0.group, $0.target) < ($1.group, $1.target) }
        return (listeners, ruleForwards, groups, resolvedNames, drains)
    }

    func persistedState(table: RoutingTable, audit: AuditLog) -> PersistedState {
        let routing = routingState(of: table)
        var state = PersistedState(generation: table.generation, listeners: routing.listeners, targetGroups: routing.groups,
                                   resolvedNames: routing.resolvedNames, draining: routing.drains,
                                   audit: audit.entries(limit: AuditLog.capacity), idempotency: idempotency.records,
                                   deployment: deployments?.persisted)
        state.ruleForwards = routing.ruleForwards
        return state
    }

    /// Groups that just lost all weight drain for their deregistration delay.
    private func noteGroupDrains(from previous: RoutingTable, to next: RoutingTable) {
        let was = previous.weightedGroups, now = next.weightedGroups
        let nowMs = clock.wallMilliseconds
        for group in next.groups {
            if was.contains(group.name) && !now.contains(group.name) {
                groupDrainUntil[group.name] = nowMs + group.deregistrationDelay.nanoseconds / 1_000_000
            } else if now.contains(group.name) {
                groupDrainUntil[group.name] = nil
            }
        }
    }

    /// Commits `next` with the drains it starts: an address a group no longer routes to (deregistered, dropped
    /// from the file, or gone from its name's lookup) drains for the group's deregistration delay, and one it
    /// routes to again stops draining. `reply` builds the answer once the drains are set, so that it lists them,
    /// and before the commit, so that it is recorded with the change. A refused commit leaves the drains as
    /// they were.
    @discardableResult
    func commitDraining(_ next: RoutingTable, action: String, caller: String, request: JSONValue, diff: JSONValue,
                        reply: () -> AdminResponse? = { nil }) throws(AdminFailure) -> AdminResponse? {
        let nowMs = clock.wallMilliseconds
        let saved = draining
        var started: [(group: String, target: HostPort, untilMs: UInt64)] = []
        for (group, targets) in table.targetsLeaving(to: next).sorted(by: { $0.key < $1.key }) {
            let untilMs = nowMs + next.groups[next.groupIndex(named: group)!].deregistrationDelay.nanoseconds / 1_000_000
            for target in targets {
                draining[group, default: [:]][target] = untilMs
                started.append((group, target, untilMs))
            }
        }
        for group in next.groups {
            for target in group.targets { draining[group.name]?[target] = nil }
        }
        let response = reply()
        do {
            try commit(next, action: action, caller: caller, request: request, diff: diff, response: response)
        } catch {
            draining = saved
            throw error
        }
        for drain in started { scheduleDrainEnd(group: drain.group, target: drain.target, untilMs: drain.untilMs) }
        return response
    }

    func scheduleDrainEnd(group: String, target: HostPort, untilMs: UInt64) {
        let nowMs = clock.wallMilliseconds
        let delay = untilMs > nowMs ? (untilMs - nowMs) * 1_000_000 : 0
        clock.schedule(after: delay) { [weak self] in
            guard let self, let until = self.draining[group]?[target], until <= self.clock.wallMilliseconds + 1 else { return }
            self.draining[group]?[target] = nil
            if self.draining[group]?.isEmpty == true { self.draining[group] = nil }
            self.logger.notice("target \(target) in \(group): draining done")
            self.recordStateChange()
            self.publishDrainEnd(group: group, target: target)
        }
    }
}

/// What the control plane needs of the data plane: somewhere to publish the routing table, and
/// the ports its listeners actually bound (for the status). `TurnoutProxy`'s `Proxy` is the one
/// that serves traffic; the control plane's unit tests publish to a fake that records each table.
public protocol DataPlane: AnyObject {
    /// Listener name → the port actually bound (differs from the configuration for port 0).
    var boundPorts: [String: UInt16] { get }

    /// Makes `table` the routing table for every request routed after this returns;
    /// `routable[group][target]` applies target health (nil: every target routable).
    func publish(_ table: RoutingTable, routable: [[Bool]]?)

    /// Makes `configuration` the certificates of the HTTPS listener `listener` for every handshake begun after
    /// this returns; connections already open keep theirs.
    func replaceCertificates(listener: String, with configuration: TLSServerConfiguration)

    /// Makes every upstream TLS handshake begun after this returns read its group's CA file again (each worker
    /// makes its client contexts anew at its next routing refresh); pooled connections keep their sessions.
    func reloadUpstreamTLS()

    /// Opens the access logs' files again (after logrotate renamed them); their paths. Throws what failed, naming
    /// the path (the other files are reopened).
    func reopenAccessLogs() throws -> [String]

    /// What each access log file did so far.
    var accessLogFigures: [AccessLogFigures] { get }
}

extension DataPlane {
    /// A data plane without HTTPS listeners has nothing to replace.
    public func replaceCertificates(listener: String, with configuration: TLSServerConfiguration) {}

    /// A data plane without upstream TLS has no CA file to read again.
    public func reloadUpstreamTLS() {}

    /// A data plane that writes no access log.
    public func reopenAccessLogs() throws -> [String] { [] }
    public var accessLogFigures: [AccessLogFigures] { [] }
}

/// One access log file's lines: written, dropped by the workers because the writer was behind (a full ring), and
/// lost to write errors (a full disk).
public struct AccessLogFigures: Sendable {
    public let path: String
    public let written: UInt64
    public let dropped: UInt64
    public let failed: UInt64

    public init(path: String, written: UInt64, dropped: UInt64, failed: UInt64) {
        self.path = path
        self.written = written
        self.dropped = dropped
        self.failed = failed
    }
}

/// Lets a worker thread hand an event to the control plane: only dereferenced on
/// the control loop (inside `ControlLoop.execute`), which is the plane's own thread.
public final class ControlPlaneHandle: @unchecked Sendable {
    private weak var plane: ControlPlane?
    private let loop: ControlLoopHandle

    public init(loop: ControlLoop) { self.loop = ControlLoopHandle(loop) }

    public func attach(_ plane: ControlPlane) { self.plane = plane }

    /// The data plane's passive ejection report, from any thread.
    public func targetEjected(group: String, target: HostPort) {
        loop.execute { [self] in plane?.targetEjected(group: group, target: target) }
    }
}

/// The one thread-safe entry into a `ControlLoop` (`execute`), usable from other threads.
final class ControlLoopHandle: @unchecked Sendable {
    private let loop: ControlLoop
    init(_ loop: ControlLoop) { self.loop = loop }
    func execute(_ work: @escaping @Sendable () -> Void) { loop.execute(work) }
}

extension RoutingTable {
    /// The groups some listener gives weight to; the others are unused (a switch's old colour).
    var weightedGroups: Set<String> {
        var names = Set<String>()
        for listener in listeners {
            for (group, weight) in zip(listener.groupIndices, listener.weights) where weight > 0 { names.insert(groups[group].name) }
            for rule in listener.rules {
                let forward = rule.forward
                for (group, weight) in zip(forward.groupIndices, forward.weights) where weight > 0 { names.insert(groups[group].name) }
            }
        }
        return names
    }
}
