import TurnoutCore
import TurnoutMetrics

/// One deployment's state machine, pure: what happened comes in (a hook's outcome, a routing change made,
/// the replacement's readiness, the time, an alarm, a caller's action) with the wall-clock time in
/// milliseconds, and what to do next comes out as `DeploymentAction`s. `DeploymentRunner` carries them out
/// on the control thread and sets a timer for `deadline`; the unit tests drive it by hand.
///
/// The spec becomes a `plan`: the positions (phase, stage, step) the deployment goes through, those with
/// nothing to do left out. `cursor` is the position in progress; finishing it starts the next one.
public struct DeploymentState: Sendable {
    /// What a position does.
    public enum Stage: String, Sendable, Hashable {
        /// Runs the phase's hook (`install`, `terminate` or a lifecycle hook).
        case hook
        /// Registers the spec's targets into the replacement group.
        case registration
        /// Waits until enough replacement targets are routable.
        case readiness
        /// Makes one routing change (the test listener, or production's step).
        case routing
        /// Holds a step's split for its pause.
        case bake
        /// Waits for an approval.
        case approval
        /// Holds for the termination wait.
        case wait
    }

    /// One position of the plan; `step` for the positions of a strategy step.
    public struct Position: Sendable, Hashable {
        public let phase: DeploymentPhase
        public let stage: Stage
        public let step: Int?
    }

    /// A phase's record: when it ran and how it ended.
    public struct PhaseRecord: Sendable, Equatable {
        public enum Outcome: String, Sendable {
            case running, succeeded, failed, skipped, cancelled
        }

        public let phase: DeploymentPhase
        public var started: UInt64
        public var ended: UInt64?
        public var outcome: Outcome
        /// Why it failed, or what it did.
        public var detail: String?
        /// The end of a hook's or command's output.
        public var outputTail: String?
    }

    /// A traffic step's record.
    public struct StepRecord: Sendable, Equatable {
        public let index: Int
        public let weight: Int
        /// When its routing change was acknowledged, and the generation it made (nil: the split was already so).
        public var routed: UInt64
        public var generation: UInt64?
    }

    public let id: String
    public let spec: DeploymentSpec
    /// The spec as it was given (`POST /v1/deployments`'s body), kept for the state files.
    public let source: JSONValue
    /// The group that had the listener's traffic when the deployment started.
    public let liveGroup: String
    public let created: UInt64
    public let plan: [Position]
    /// Index into `plan` of the position in progress (`plan.count` once past the end).
    public internal(set) var cursor = 0
    public internal(set) var status = DeploymentStatus.inProgress
    /// Why the deployment is in its status (for a final status, why it ended).
    public internal(set) var reason = "starting"
    public internal(set) var phases: [PhaseRecord] = []
    public internal(set) var steps: [StepRecord] = []
    /// The replacement's share of production as last acknowledged.
    public internal(set) var replacementWeight = 0
    /// Whether the test listener points at the replacement.
    public internal(set) var testOnReplacement = false
    /// When the position in progress ends by itself (a bake, a wait, an approval's or readiness's timeout).
    public internal(set) var deadline: UInt64?
    /// A deadline frozen by `pause`: the milliseconds that were left.
    public internal(set) var frozenRemaining: UInt64?
    /// Whether the position in progress has finished while paused (the next one starts on `resume`).
    public internal(set) var held = false
    /// `promote` skips every remaining wait, approval and intermediate step.
    public internal(set) var promoted = false
    /// The generations its routing changes made, in order (registration, test traffic, steps, rollback).
    public internal(set) var generations: [UInt64] = []
    /// The alarm breaches that rolled the deployment back.
    public internal(set) var alarms: [FigureAlarmBreach] = []
    /// Replacement targets passively ejected while the alarms watched, with when (wall-clock milliseconds), those
    /// of the last alarm window (`DeploymentState+Alarms`).
    public internal(set) var ejections: [(target: HostPort, time: UInt64)] = []
    /// Targets the deployment registered into the replacement group (those the group did not have): a
    /// rollback deregisters them again.
    public internal(set) var registered: [HostPort] = []
    /// The routing change being made, while one is.
    public internal(set) var routing: DeploymentRouting?
    /// The latest readiness seen: routable and registered replacement targets.
    public internal(set) var readinessSeen: (healthy: Int, total: Int)?
    public internal(set) var updated: UInt64
    public internal(set) var ended: UInt64?

    /// When the proxy restarted in the middle of it, and what it did then (`resumed`, `rolled back`, `failed`).
    public internal(set) var restarts: [(time: UInt64, outcome: String)] = []

    public init(id: String, spec: DeploymentSpec, source: JSONValue = .null, liveGroup: String, now: UInt64) {
        self.id = id
        self.spec = spec
        self.source = source
        self.liveGroup = liveGroup
        created = now
        updated = now
        plan = Self.plan(for: spec)
    }

    /// The positions `spec` goes through.
    static func plan(for spec: DeploymentSpec) -> [Position] {
        var plan: [Position] = []
        func add(_ phase: DeploymentPhase, _ stage: Stage, step: Int? = nil) {
            plan.append(Position(phase: phase, stage: stage, step: step))
        }
        if spec.hooks[.beforeInstall] != nil { add(.beforeInstall, .hook) }
        if !spec.targets.isEmpty { add(.install, .registration) }
        if spec.install != nil { add(.install, .hook) }
        if spec.hooks[.afterInstall] != nil { add(.afterInstall, .hook) }
        add(.readiness, .readiness)
        if spec.testListener != nil { add(.allowTestTraffic, .routing) }
        if spec.hooks[.afterAllowTestTraffic] != nil { add(.afterAllowTestTraffic, .hook) }
        if spec.hooks[.beforeAllowTraffic] != nil { add(.beforeAllowTraffic, .hook) }
        if spec.approval.beforeTraffic { add(.beforeAllowTraffic, .approval) }
        for (index, step) in spec.strategy.steps.enumerated() {
            add(.allowTraffic, .routing, step: index)
            if step.pause.map({ $0.nanoseconds > 0 }) ?? false { add(.allowTraffic, .bake, step: index) }
            if step.approval { add(.allowTraffic, .approval, step: index) }
        }
        if spec.hooks[.afterAllowTraffic] != nil { add(.afterAllowTraffic, .hook) }
        if spec.terminationWait.nanoseconds > 0 { add(.terminationWait, .wait) }
        if spec.terminate != nil { add(.retire, .hook) }
        return plan
    }

    /// The position in progress; nil once past the plan.
    public var position: Position? { cursor < plan.count ? plan[cursor] : nil }

    /// The phase in progress (the last one once finished).
    public var phase: DeploymentPhase { phases.last?.phase ?? plan.first?.phase ?? .readiness }

    /// The strategy's steps acknowledged so far (step k of n).
    public var stepsDone: Int { steps.count }

    /// Whether the alarms watch the replacement now: from test traffic on, through the termination wait, while
    /// the deployment is not over or rolling back.
    public var isWatched: Bool {
        guard !status.isFinal, status != .rollingBack, let position, position.phase < .retire else { return false }
        return position.phase > .allowTestTraffic || testOnReplacement || replacementWeight > 0
    }

    // MARK: - Inputs

    /// Begins the plan.
    public mutating func start(now: UInt64) -> [DeploymentAction] {
        begin(now: now)
    }

    /// The hook of the position in progress ended.
    public mutating func hookFinished(_ outcome: HookOutcome, now: UInt64) -> [DeploymentAction] {
        guard let position, position.stage == .hook, status != .rollingBack, !status.isFinal else { return [] }
        switch outcome {
        case .passed(let tail):
            note(outputTail: tail)
            return finishPosition(now: now)
        case .failed(let why, let tail):
            note(outputTail: tail)
            return fail(position.phase, "\(hookName(position.phase)) failed: \(why)", now: now)
        case .timedOut(let tail):
            note(outputTail: tail)
            let timeout = hookSpec(position.phase)?.timeout.description ?? "?"
            return fail(position.phase, "\(hookName(position.phase)) timed out after \(timeout)", now: now)
        }
    }

    /// The routing change asked for (or the registration) is acknowledged; `generation` is the one it made,
    /// nil when nothing needed to change; `registered`, the targets a registration added (those the group did not
    /// have already).
    public mutating func routingApplied(generation: UInt64?, registered: [HostPort] = [], now: UInt64) -> [DeploymentAction] {
        guard let change = routing else { return [] }
        routing = nil
        updated = now
        if let generation { generations.append(generation) }
        if !change.register.isEmpty { self.registered = registered }
        if !change.deregister.isEmpty { self.registered = [] }
        if let weight = change.replacementWeight { replacementWeight = weight }
        if let test = change.test { testOnReplacement = test == .replacement }
        if status == .rollingBack {
            status = .rolledBack
            ended = now
            closePhase(.cancelled, detail: nil, now: now)
            return []
        }
        if let position, position.stage == .routing, let step = position.step {
            steps.append(StepRecord(index: step, weight: spec.strategy.steps[step].weight, routed: now, generation: generation))
        }
        return finishPosition(now: now)
    }

    /// The routing change asked for could not be saved (the journal refused it): nothing changed.
    public mutating func routingFailed(_ why: String, now: UInt64) -> [DeploymentAction] {
        guard routing != nil else { return [] }
        routing = nil
        if status == .rollingBack {
            return end(.failed, "the rollback could not be saved: \(why)", now: now)
        }
        return fail(phase, "the routing change could not be saved: \(why)", now: now)
    }

    /// How many of the replacement's `total` registered targets are routable now.
    public mutating func readinessObserved(healthy: Int, total: Int, now: UInt64) -> [DeploymentAction] {
        guard let position, position.stage == .readiness, status == .inProgress, !held else { return [] }
        readinessSeen = (healthy, total)
        guard spec.readiness.isMet(healthy: healthy, total: total) else { return [] }
        note(detail: "\(healthy) of \(total) targets healthy")
        return finishPosition(now: now)
    }

    /// The clock reached (or passed) `deadline`.
    public mutating func timeElapsed(now: UInt64) -> [DeploymentAction] {
        guard let deadline, now >= deadline, let position, frozenRemaining == nil else { return [] }
        self.deadline = nil
        switch position.stage {
        case .readiness:
            let seen = readinessSeen.map { "\($0.healthy) of \($0.total) targets healthy" } ?? "no target seen"
            return fail(.readiness, "readiness timed out after \(spec.readiness.timeout): \(seen)", now: now)
        case .approval:
            guard spec.approval.onTimeout == .continue else {
                return fail(position.phase, "no approval within \(spec.approval.timeout?.description ?? "")", now: now)
            }
            status = .inProgress
            return finishPosition(now: now)
        case .bake, .wait:
            return finishPosition(now: now)
        case .hook, .registration, .routing:
            return []
        }
    }

    /// The alarms found the replacement over its limits: roll back. `context` ends the reason (what made the
    /// judgement stricter, such as a passive ejection).
    public mutating func alarmBreached(_ breaches: [FigureAlarmBreach], context: String? = nil,
                                       now: UInt64) -> [DeploymentAction] {
        guard isWatched, !breaches.isEmpty else { return [] }
        alarms = breaches
        let what = breaches.map { "\($0.alarm.rawValue) \(Self.figure($0.value)) > \(Self.figure($0.threshold))" }
        return rollBack("alarm: " + what.joined(separator: ", ") + (context.map { " (\($0))" } ?? ""), now: now)
    }

    /// The proxy restarted: a hook that was running is lost, so the deployment rolls back, or fails when it was
    /// `terminate` (the old version may be half stopped: production stays on the replacement, as when terminate
    /// fails); otherwise it goes on where it was (a deadline is a wall-clock time, so the waits go on from the
    /// stored times), repeating a routing change that may not have been saved.
    public mutating func restarted(now: UInt64) -> [DeploymentAction] {
        guard !status.isFinal, let position else { return [] }
        updated = now
        if status != .rollingBack, position.stage == .hook, !held {
            let why = "the proxy restarted while \(hookName(position.phase)) was running"
            guard position.phase < .retire else {
                restarts.append((now, "failed"))
                return fail(position.phase, why, now: now)
            }
            restarts.append((now, "rolled back"))
            return rollBack(why, cancellingHook: false, now: now)
        }
        restarts.append((now, "resumed"))
        if let routing { return [.route(routing)] }
        if position.stage == .readiness, status == .inProgress { return [.checkReadiness] }
        return []
    }

    // MARK: - Actions of a caller

    /// Skips every remaining wait, approval and intermediate step.
    public mutating func promote(now: UInt64) throws(DeploymentRefusal) -> [DeploymentAction] {
        try require(!status.isFinal && status != .rollingBack && phase < .retire, "promote")
        promoted = true
        updated = now
        guard let position else { return [] }
        if status == .paused { status = .inProgress }
        frozenRemaining = nil
        switch position.stage {
        case .bake, .approval, .wait:
            status = .inProgress
            deadline = nil
            return finishPosition(now: now)
        default:
            if held { held = false; return advance(now: now) }
            return []
        }
    }

    /// Moves production (and test) back to the live group, from any point before `Retire`.
    public mutating func rollback(now: UInt64) throws(DeploymentRefusal) -> [DeploymentAction] {
        try require(!status.isFinal && status != .rollingBack && phase < .retire, "rollback")
        return rollBack("rolled back by request", now: now)
    }

    public mutating func pause(now: UInt64) throws(DeploymentRefusal) -> [DeploymentAction] {
        try require(status == .inProgress, "pause")
        status = .paused
        reason = "paused by request"
        updated = now
        if let deadline {
            frozenRemaining = deadline > now ? deadline - now : 0
            self.deadline = nil
        }
        return []
    }

    public mutating func resume(now: UInt64) throws(DeploymentRefusal) -> [DeploymentAction] {
        try require(status == .paused, "resume")
        status = .inProgress
        updated = now
        if let remaining = frozenRemaining {
            deadline = now + remaining
            frozenRemaining = nil
        }
        describe()
        if held {
            held = false
            return advance(now: now)
        }
        return []
    }

    public mutating func approve(now: UInt64) throws(DeploymentRefusal) -> [DeploymentAction] {
        try require(status == .waitingForApproval, "approve")
        status = .inProgress
        deadline = nil
        note(detail: "approved")
        return finishPosition(now: now)
    }

    /// Ends the deployment where it is: routing stays as it was.
    public mutating func stop(now: UInt64) throws(DeploymentRefusal) -> [DeploymentAction] {
        try require(!status.isFinal, "stop")
        let cancel = position?.stage == .hook && routing == nil && status != .rollingBack
        routing = nil
        let actions = end(.stopped, "stopped by request", now: now)
        return cancel ? [.cancelHook] + actions : actions
    }

    // MARK: - Moving through the plan

    /// Starts the position at `cursor`, skipping those `promote` made pointless; past the end, succeeds.
    private mutating func begin(now: UInt64) -> [DeploymentAction] {
        updated = now
        while let position {
            if promoted, skippedByPromotion(position) {
                cursor += 1
                continue
            }
            openPhase(position.phase, now: now)
            describe()
            switch position.stage {
            case .hook:
                guard let hook = hookSpec(position.phase) else { break }
                return [.runHook(position.phase, hook)]
            case .registration:
                routing = DeploymentRouting(register: spec.targets)
                return [.route(routing!)]
            case .readiness:
                deadline = now + spec.readiness.timeout.nanoseconds / 1_000_000
                return [.checkReadiness]
            case .routing:
                let change = position.step.map { DeploymentRouting(replacementWeight: spec.strategy.steps[$0].weight) }
                    ?? DeploymentRouting(test: .replacement)
                routing = change
                return [.route(change)]
            case .bake:
                deadline = now + (position.step.flatMap { spec.strategy.steps[$0].pause }?.nanoseconds ?? 0) / 1_000_000
                return []
            case .wait:
                deadline = now + spec.terminationWait.nanoseconds / 1_000_000
                return []
            case .approval:
                status = .waitingForApproval
                deadline = spec.approval.timeout.map { now + $0.nanoseconds / 1_000_000 }
                describe()
                return []
            }
            cursor += 1
        }
        closePhase(.succeeded, detail: nil, now: now)
        let last = phases.last?.phase
        for after in DeploymentPhase.allCases where last.map({ after > $0 }) ?? true {
            phases.append(PhaseRecord(phase: after, started: now, ended: now, outcome: .skipped))
        }
        status = .succeeded
        reason = "production is on \(spec.targetGroup)"
        ended = now
        return []
    }

    private func skippedByPromotion(_ position: Position) -> Bool {
        switch position.stage {
        case .bake, .approval, .wait: return true
        case .routing: return position.step.map { $0 < spec.strategy.steps.count - 1 } ?? false
        default: return false
        }
    }

    /// The position in progress is done: on to the next one, unless paused.
    private mutating func finishPosition(now: UInt64) -> [DeploymentAction] {
        deadline = nil
        updated = now
        if status == .paused {
            held = true
            return []
        }
        return advance(now: now)
    }

    private mutating func advance(now: UInt64) -> [DeploymentAction] {
        cursor += 1
        return begin(now: now)
    }

    /// Something failed in `phase`: before `Retire`, roll back; in it, the deployment failed (the old
    /// version may be partly retired, so production stays on the replacement).
    private mutating func fail(_ phase: DeploymentPhase, _ why: String, now: UInt64) -> [DeploymentAction] {
        closePhase(.failed, detail: why, now: now)
        guard phase < .retire else { return end(.failed, why, now: now) }
        return rollBack(why, cancellingHook: false, now: now)
    }

    /// Asks for the routing change that puts production (and test, if it moved) back on the live group and
    /// deregisters the targets the deployment registered (they drain); `cancellingHook` when a hook may still be
    /// running.
    private mutating func rollBack(_ why: String, cancellingHook: Bool = true, now: UInt64) -> [DeploymentAction] {
        let cancel = cancellingHook && position?.stage == .hook && routing == nil
        status = .rollingBack
        reason = why
        deadline = nil
        frozenRemaining = nil
        held = false
        updated = now
        closePhase(.cancelled, detail: why, now: now)
        let change = DeploymentRouting(replacementWeight: 0, test: testOnReplacement ? .live : nil, deregister: registered)
        routing = change
        return (cancel ? [.cancelHook] : []) + [.route(change)]
    }

    private mutating func end(_ final: DeploymentStatus, _ why: String, now: UInt64) -> [DeploymentAction] {
        closePhase(.cancelled, detail: why, now: now)
        status = final
        reason = why
        deadline = nil
        frozenRemaining = nil
        ended = now
        updated = now
        return []
    }

    // MARK: - Records

    /// Opens `phase`'s record unless it is the one open; phases in between with nothing to do are skipped.
    private mutating func openPhase(_ phase: DeploymentPhase, now: UInt64) {
        if let last = phases.last, last.phase == phase { return }
        closePhase(.succeeded, detail: nil, now: now)
        let after = phases.last?.phase
        for between in DeploymentPhase.allCases where between < phase && (after.map { between > $0 } ?? true) {
            phases.append(PhaseRecord(phase: between, started: now, ended: now, outcome: .skipped))
        }
        phases.append(PhaseRecord(phase: phase, started: now, ended: nil, outcome: .running))
    }

    /// Ends the open phase record, if any, with `outcome` (a failed one keeps failing).
    private mutating func closePhase(_ outcome: PhaseRecord.Outcome, detail: String?, now: UInt64) {
        guard let last = phases.indices.last, phases[last].ended == nil else { return }
        phases[last].ended = now
        phases[last].outcome = outcome
        if let detail { phases[last].detail = detail }
    }

    private mutating func note(outputTail: String) {
        guard let last = phases.indices.last, !outputTail.isEmpty else { return }
        phases[last].outputTail = outputTail
    }

    private mutating func note(detail: String) {
        guard let last = phases.indices.last else { return }
        phases[last].detail = detail
    }

    /// The reason of a status in progress: what it is doing.
    private mutating func describe() {
        guard let position, status == .inProgress || status == .waitingForApproval else { return }
        let n = spec.strategy.steps.count
        switch position.stage {
        case .hook: reason = "running \(hookName(position.phase))"
        case .registration: reason = "registering \(spec.targets.count) target(s) into \(spec.targetGroup)"
        case .readiness: reason = "waiting for \(spec.targetGroup)'s targets to be healthy"
        case .routing: reason = position.step.map { "step \($0 + 1) of \(n): \(spec.strategy.steps[$0].weight)% to \(spec.targetGroup)" }
            ?? "test traffic to \(spec.targetGroup)"
        case .bake: reason = "step \((position.step ?? 0) + 1) of \(n): baking at \(replacementWeight)%"
        case .approval: reason = position.step.map { "step \($0 + 1) of \(n): waiting for approval" }
            ?? "waiting for approval before production traffic"
        case .wait: reason = "termination wait: \(liveGroup) kept for an instant rollback"
        }
    }

    private func hookSpec(_ phase: DeploymentPhase) -> HookSpec? {
        switch phase {
        case .install: return spec.install
        case .retire: return spec.terminate
        default: return spec.hooks[phase]
        }
    }

    private func hookName(_ phase: DeploymentPhase) -> String {
        switch phase {
        case .install: return "install"
        case .retire: return "terminate"
        default: return "hook \(phase.rawValue)"
        }
    }

    private func require(_ condition: Bool, _ action: String) throws(DeploymentRefusal) {
        guard condition else {
            throw DeploymentRefusal(message: "cannot \(action) deployment \(id): it is \(status.rawValue)"
                + (status.isFinal || status == .rollingBack ? "" : " in \(phase.rawValue)"))
        }
    }

    /// A figure in a reason: whole numbers without a fraction, others to three places.
    static func figure(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e12 ? String(Int64(value)) : "\(rounded(value, places: 3))"
    }
}

/// What the machine asks its runner to do.
public enum DeploymentAction: Sendable, Equatable {
    /// Run the hook; its outcome comes back as `hookFinished`.
    case runHook(DeploymentPhase, HookSpec)
    /// Abandon the hook running (no outcome comes back).
    case cancelHook
    /// Make the change in one acknowledged commit; `routingApplied` or `routingFailed` follows.
    case route(DeploymentRouting)
    /// Report the replacement's readiness (`readinessObserved`) now and as it changes.
    case checkReadiness
}

/// One routing change of a deployment: production's split, the test listener, targets to register, or (in a
/// rollback) to deregister.
public struct DeploymentRouting: Sendable, Equatable {
    public enum TestRoute: String, Sendable { case replacement, live }

    /// The replacement's share of production in percent; the live group has the rest. Nil: unchanged.
    public var replacementWeight: Int?
    /// Where the test listener points; nil: unchanged.
    public var test: TestRoute?
    /// Targets to register into the replacement group.
    public var register: [HostPort]
    /// Targets to deregister from the replacement group (they drain).
    public var deregister: [HostPort]

    public init(replacementWeight: Int? = nil, test: TestRoute? = nil, register: [HostPort] = [],
                deregister: [HostPort] = []) {
        self.replacementWeight = replacementWeight
        self.test = test
        self.register = register
        self.deregister = deregister
    }
}

/// A caller's action the deployment's status does not allow (409).
public struct DeploymentRefusal: Error, Sendable, Equatable {
    public let message: String
}
