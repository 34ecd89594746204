import TurnoutCore
import TurnoutMetrics
import TurnoutPosix
import TurnoutTLS

/// A worker's routing state for the snapshot it last saw: the weighted pickers
/// (which carry per-worker position) and the target states per group. Rebuilt only
/// when the published version moves; read on every request.
struct WorkerRouting {
    private(set) var version: UInt64
    private(set) var routing: PublishedRouting
    var listenerPickers: [SmoothWeightedPicker] = []
    /// `rulePickers[listener][rule]`: the pickers of the rules' forwards (an empty picker for a rule that
    /// answers by itself).
    var rulePickers: [[SmoothWeightedPicker]] = []
    /// `routeGroups[listener][route]`: the groups a route's picker picks among (route 0 is the listener's forward,
    /// `rule + 1` each rule's), so that routing a request reads one array rather than copying its route out of
    /// the table.
    var routeGroups: [[[Int]]] = []
    /// `ruleCounters[listener][0]` counts the requests the listener's forward takes, `[rule + 1]` each rule's.
    var ruleCounters: [[RuleCounters]] = []
    /// Rule counter blocks by "listener|rule", kept so a rule keeps its block across snapshots.
    var countersByRule: [String: RuleCounters] = [:]
    /// `mirrors[listener][route]`: route 0 is the listener's forward, `rule + 1` each rule's; nil where the route
    /// mirrors nothing. `mirrors` is empty when no route of the table mirrors.
    var mirrors: [[MirrorRoute?]] = []
    /// Mirror counter blocks by "listener|rule", kept so a route keeps its block across snapshots.
    var countersByMirror: [String: MirrorCounters] = [:]
    var groupPickers: [TargetPicker] = []
    /// `groupResponseTimeouts[group]`: the group's `upstream_response` limit in nanoseconds.
    var groupResponseTimeouts: [UInt64] = []
    /// `groupTLS[group]`: this worker's client context for a group with `tls` (see `Worker+UpstreamTLS`).
    var groupTLS: [TLSClientContext?] = []
    /// Client contexts by settings, kept across snapshots so that a publish does not read the CA files again
    /// (until a reload moves `PublishedRouting.upstreamTLSLoad`).
    var tlsContextsBySettings: [UpstreamTLSConfig: TLSClientContext] = [:]
    /// `groupTargets[group]`: the target states in table order; nil where the target is
    /// not an address or not routable (unhealthy), so pickers skip it.
    var groupTargets: [[TargetState?]] = []
    /// Every target this worker knows, by address, kept across snapshots (pools survive).
    var targetsByKey: [HostPort: TargetState] = [:]
    /// `routeCounters[listener][group][target]` for the current table.
    var routeCounters: [[[RouteCounters]]] = []
    /// Counter blocks by "listener|group|target", kept so a label set keeps its block.
    var countersByRoute: [String: RouteCounters] = [:]

    init(routing: PublishedRouting) {
        self.routing = routing
        version = 0
    }

    /// Takes `routing` as the snapshot in force.
    ///
    /// A target that leaves service (removed from its groups, or its groups lost all
    /// weight) drains: no new requests, requests in flight finish, and connections still
    /// open at the deregistration delay are closed by the tick. A removed target's idle
    /// pooled connections close now; a healthy target whose group merely lost its weight
    /// keeps them until the delay ends (`TargetState.standby`). An unhealthy target only
    /// stops getting new requests, and its idle pooled connections close.
    mutating func refresh(from routing: PublishedRouting, worker: Worker) {
        if routing.upstreamTLSLoad != self.routing.upstreamTLSLoad { tlsContextsBySettings = [:] }
        self.routing = routing
        version = routing.version
        let table = routing.table
        let now = worker.now
        listenerPickers = table.listeners.map { SmoothWeightedPicker(weights: $0.weights) }
        rulePickers = table.listeners.map { listener in listener.rules.map { SmoothWeightedPicker(weights: $0.forward.weights) } }
        routeGroups = table.listeners.map { listener in [listener.groupIndices] + listener.rules.map(\.forward.groupIndices) }
        ruleCounters = table.listeners.map { listener in
            ([RuleCounters.defaultRule] + listener.rules.map(\.name)).map { rule in
                let key = "\(listener.name)|\(rule)"
                if let known = countersByRule[key] { return known }
                let made = worker.metrics.ruleCounters(listener: listener.name, rule: rule)
                countersByRule[key] = made
                return made
            }
        }
        mirrors = []
        if table.listeners.contains(where: { $0.mirror != nil || $0.rules.contains { $0.mirror != nil } }) {
            mirrors = table.listeners.map { listener in
                ([(RuleCounters.defaultRule, listener.mirror)] + listener.rules.map { ($0.name, $0.mirror) }).map { rule, mirror in
                    guard let mirror, let group = table.groupIndex(named: mirror.group) else { return nil }
                    let key = "\(listener.name)|\(rule)"
                    let counters = countersByMirror[key] ?? worker.metrics.mirrorCounters(listener: listener.name, rule: rule)
                    countersByMirror[key] = counters
                    return MirrorRoute(group: group, percent: mirror.percent, maxBody: mirror.maxBody, counters: counters)
                }
            }
            worker.prepareMirrorCopies()
        }
        groupPickers = table.groups.map { TargetPicker(algorithm: $0.algorithm, count: $0.targets.count) }
        groupResponseTimeouts = table.groups.map(\.upstreamResponseTimeout.nanoseconds)
        groupTLS = table.groups.map { group in group.tls.flatMap { worker.upstreamTLSContext($0, known: &tlsContextsBySettings) } }

        var weighted = Set<Int>()
        for listener in table.listeners {
            for (group, weight) in zip(listener.groupIndices, listener.weights) where weight > 0 { weighted.insert(group) }
            for rule in listener.rules {
                let forward = rule.forward
                for (group, weight) in zip(forward.groupIndices, forward.weights) where weight > 0 { weighted.insert(group) }
            }
        }
        // A mirror group takes requests too (copies): its targets are in service.
        for routes in mirrors { for route in routes { if let route, route.percent > 0 { weighted.insert(route.group) } } }
        var wasInService = Set<HostPort>()
        for (key, state) in targetsByKey where state.inService { wasInService.insert(key) }
        var drainDelay: [HostPort: UInt64] = [:]
        // Targets in a group without weight that health would allow: candidates for standby.
        var healthyUnweighted = Set<HostPort>()
        for state in targetsByKey.values {
            // A target that just left the table keeps the delay of the group it was in.
            drainDelay[state.key] = state.deregistrationDelay
            state.inService = false
            state.routable = false
        }
        groupTargets = table.groups.enumerated().map { groupIndex, group in
            group.targets.enumerated().map { targetIndex, key -> TargetState? in
                guard let address = routing.addresses[groupIndex][targetIndex] else { return nil }
                let failureRun = routing.failureRuns[groupIndex][targetIndex]
                let state: TargetState
                if let known = targetsByKey[key], known.address == address {
                    state = known
                    state.failureRun = failureRun  // a new run if the target left the table meanwhile
                } else {
                    state = TargetState(key: key, address: address, authority: group.origins[targetIndex],
                                        failureRun: failureRun)
                    targetsByKey[key] = state
                }
                state.groupName = group.name
                state.passiveEjection = group.passiveEjection
                state.deregistrationDelay = group.deregistrationDelay.nanoseconds
                drainDelay[key] = max(drainDelay[key] ?? 0, group.deregistrationDelay.nanoseconds)
                let routable = routing.routable[groupIndex][targetIndex]
                if weighted.contains(groupIndex) {
                    state.inService = true
                    if routable { state.routable = true }
                } else if routable {
                    healthyUnweighted.insert(key)
                }
                return state
            }
        }
        for state in targetsByKey.values {
            if state.inService {
                state.drainDeadline = nil
            } else if wasInService.contains(state.key) {
                state.drainDeadline = now &+ (drainDelay[state.key] ?? 0)
            }
            if state.routable && state.ejected {
                // Back in service after an ejection (a passing probe): a new run starts.
                state.ejected = false
                state.failureRun.recordSuccess()
            }
            state.standby = !state.inService && healthyUnweighted.contains(state.key)
            let keepsIdle = state.inService ? state.routable : state.keepsIdleConnections(now: now)
            if !keepsIdle {
                for upstream in state.idle { worker.closeUpstream(upstream) }
                state.idle.removeAll(keepingCapacity: true)
            }
        }
        groupTargets = groupTargets.map { targets in targets.map { $0?.routable == true ? $0 : nil } }
        routeCounters = table.listeners.map { listener in
            table.groups.map { group in
                group.targets.map { target in
                    let key = "\(listener.name)|\(group.name)|\(target)"
                    if let known = countersByRoute[key] { return known }
                    let made = worker.metrics.routeCounters(listener: listener.name, group: group.name, target: target.description)
                    countersByRoute[key] = made
                    return made
                }
            }
        }
        targetsByKey = targetsByKey.filter { $0.value.inService || $0.value.outstanding > 0 || !$0.value.idle.isEmpty }
    }
}

/// A route's mirroring resolved for a worker: the group by index, and the worker's counters of the route's copies.
struct MirrorRoute {
    let group: Int
    let percent: Int
    let maxBody: Int
    let counters: MirrorCounters
}

extension Worker {
    /// Takes the snapshot published last, if the worker's is older: every routing decision starts here.
    @inline(__always)
    func refreshRouting() {
        if publisher.version != routing.version {
            routing.refresh(from: publisher.routing, worker: self)
        }
    }

    /// Picks a group and a target for a request on `listenerIndex` by the forward of `rule` (nil: the
    /// listener's own), skipping targets that just refused connections and `excluding` (the one that just failed).
    /// `pinned` is the position of a group the request is held to (sticky or forced): taken while it has a
    /// target, the weights deciding otherwise. Loads the published version first: a table published before this
    /// call is used.
    func pickTarget(listenerIndex: Int, rule: Int?, pinned: Int?, excluding: TargetState?)
        -> (position: Int, group: Int, target: TargetState, counters: RouteCounters)?
    {
        refreshRouting()
        guard listenerIndex < routing.routeGroups.count else { return nil }
        let routes = routing.routeGroups[listenerIndex]
        let groupIndices = routes[rule.map { $0 + 1 < routes.count ? $0 + 1 : 0 } ?? 0]
        let now = self.now
        let groupTargets = routing.groupTargets

        // Static helpers rather than local functions: a closure that calls a capturing local
        // function gets a heap-allocated context in unoptimised builds, on every request.
        var position: Int?
        if let pinned, pinned < groupIndices.count,
           Worker.hasUsableTarget(groupTargets[groupIndices[pinned]], excluding: excluding, now: now) {
            position = pinned
        } else {
            position = nextPosition(listenerIndex: listenerIndex, rule: rule, skipping: { p in
                !Worker.hasUsableTarget(groupTargets[groupIndices[p]], excluding: excluding, now: now)
            })
        }
        if position == nil {
            // Every target refused or was ejected recently: try them anyway rather than fail outright.
            position = nextPosition(listenerIndex: listenerIndex, rule: rule, skipping: { p in
                !groupTargets[groupIndices[p]].contains { $0 != nil && $0 !== excluding }
            })
        }
        guard let position else { return nil }
        let group = groupIndices[position]
        let targets = groupTargets[group]
        let anyUsable = Worker.hasUsableTarget(targets, excluding: excluding, now: now)
        guard let index = routing.groupPickers[group].next(
            outstanding: { targets[$0]?.outstanding ?? 0 },
            isExcluded: { i in
                anyUsable ? !Worker.isUsable(targets[i], excluding: excluding, now: now)
                          : (targets[i] == nil || targets[i] === excluding)
            }
        ), let target = targets[index] else { return nil }
        return (position, group, target, routing.routeCounters[listenerIndex][group][index])
    }

    /// The next position of the listener's picker, or of its rule's.
    private func nextPosition(listenerIndex: Int, rule: Int?, skipping: (Int) -> Bool) -> Int? {
        if let rule, rule < routing.rulePickers[listenerIndex].count {
            return routing.rulePickers[listenerIndex][rule].next(skipping: skipping)
        }
        return routing.listenerPickers[listenerIndex].next(skipping: skipping)
    }

    /// Whether `target` may take a request now: present, not the one that just failed, not
    /// refusing connections, not ejected.
    static func isUsable(_ target: TargetState?, excluding: TargetState?, now: UInt64) -> Bool {
        guard let target else { return false }
        return target !== excluding && target.refusedUntil <= now && !target.ejected
    }

    private static func hasUsableTarget(_ targets: [TargetState?], excluding: TargetState?, now: UInt64) -> Bool {
        // An index loop: `for in` and `contains(where:)` are generic, and unspecialised (debug)
        // they allocate a coroutine frame per element read.
        var index = 0
        while index < targets.count {
            if isUsable(targets[index], excluding: excluding, now: now) { return true }
            index += 1
        }
        return false
    }
}
