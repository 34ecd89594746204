import TurnoutCore
import TurnoutPosix

/// A worker's routing state for the published table it last saw: the weighted
/// pickers (which carry per-worker position) and the target states per group.
/// Rebuilt only when the generation moves; read on every request.
struct WorkerRouting {
    private(set) var generation: UInt64
    private(set) var routing: PublishedRouting
    var listenerPickers: [SmoothWeightedPicker] = []
    var groupPickers: [TargetPicker] = []
    /// `groupTargets[group]`: the target states in table order (nil: unresolved).
    var groupTargets: [[TargetState?]] = []
    /// Every target this worker knows, by address, kept across generations.
    var targetsByKey: [HostPort: TargetState] = [:]

    init(routing: PublishedRouting) {
        self.routing = routing
        generation = routing.table.generation
    }

    /// Takes `routing` as the table in force. Targets that lose all weight stop
    /// being pooled and their idle connections are closed (draining).
    mutating func refresh(from routing: PublishedRouting, worker: Worker) {
        self.routing = routing
        generation = routing.table.generation
        let table = routing.table
        listenerPickers = table.listeners.map { SmoothWeightedPicker(weights: $0.weights) }
        groupPickers = table.groups.map { TargetPicker(algorithm: $0.algorithm, count: $0.targets.count) }

        var weighted = Set<Int>()
        for listener in table.listeners {
            for (group, weight) in zip(listener.groupIndices, listener.weights) where weight > 0 { weighted.insert(group) }
        }
        for state in targetsByKey.values { state.inService = false }
        groupTargets = table.groups.enumerated().map { groupIndex, group in
            group.targets.enumerated().map { targetIndex, key -> TargetState? in
                guard let address = routing.addresses[groupIndex][targetIndex] else { return nil }
                let state: TargetState
                if let known = targetsByKey[key], known.address == address {
                    state = known
                } else {
                    state = TargetState(key: key, address: address)
                    targetsByKey[key] = state
                }
                if weighted.contains(groupIndex) { state.inService = true }
                return state
            }
        }
        for state in targetsByKey.values where !state.inService {
            for upstream in state.idle { worker.closeUpstream(upstream) }
            state.idle.removeAll(keepingCapacity: true)
        }
        targetsByKey = targetsByKey.filter { $0.value.inService || $0.value.outstanding > 0 }
    }
}

extension Worker {
    /// Picks a group and a target for a request on `listenerIndex`, skipping targets
    /// that just refused connections and `excluding` (the one that just failed).
    /// Reads the published generation first: a table published before this call is used.
    func pickTarget(listenerIndex: Int, excluding: TargetState?) -> (group: Int, target: TargetState)? {
        if publisher.generation != routing.generation {
            routing.refresh(from: publisher.routing, worker: self)
            logger.debug("routing table generation \(routing.generation) in use")
        }
        let table = routing.routing.table
        guard listenerIndex < table.listeners.count else { return nil }
        let listener = table.listeners[listenerIndex]
        let now = self.now
        let groupTargets = routing.groupTargets

        func usable(_ target: TargetState?) -> Bool {
            guard let target else { return false }
            return target !== excluding && target.refusedUntil <= now
        }
        func hasUsableTarget(_ position: Int) -> Bool {
            groupTargets[listener.groupIndices[position]].contains { usable($0) }
        }

        var position = routing.listenerPickers[listenerIndex].next(skipping: { !hasUsableTarget($0) })
        if position == nil {
            // Every target refused recently: try them anyway rather than fail outright.
            position = routing.listenerPickers[listenerIndex].next(skipping: { p in
                !groupTargets[listener.groupIndices[p]].contains { $0 != nil && $0 !== excluding }
            })
        }
        guard let position else { return nil }
        let group = listener.groupIndices[position]
        let targets = groupTargets[group]
        let anyUsable = targets.contains { usable($0) }
        guard let index = routing.groupPickers[group].next(
            outstanding: { targets[$0]?.outstanding ?? 0 },
            isExcluded: { anyUsable ? !usable(targets[$0]) : (targets[$0] == nil || targets[$0] === excluding) }
        ), let target = targets[index] else { return nil }
        return (group, target)
    }
}
