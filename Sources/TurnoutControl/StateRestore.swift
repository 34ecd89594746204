import Logging
import TurnoutCore

/// Applies a saved state over the configuration file: saved forwards and target lists
/// win for listeners and groups the file still has; the rest is ignored with a warning.
public enum StateRestore {
    public static func apply(_ state: PersistedState, over config: TurnoutConfig, logger: Logger) -> RoutingTable {
        var table = RoutingTable(config: config, generation: max(1, state.generation))
        var targets: [String: [HostPort]] = [:]
        for (group, list) in state.targetGroups.sorted(by: { $0.key < $1.key }) {
            guard table.groupIndex(named: group) != nil else {
                logger.warning("saved state names target group '\(group)', which the configuration no longer has; ignored")
                continue
            }
            let parsed = list.compactMap(HostPort.parse)
            if parsed.count == list.count { targets[group] = parsed }
        }
        if !targets.isEmpty, let next = try? table.replacingTargets(targets, generation: table.generation) { table = next }
        var forwards: [String: [WeightedGroup]] = [:]
        for (listener, weights) in state.listeners.sorted(by: { $0.key < $1.key }) {
            guard table.listenerIndex(named: listener) != nil else {
                logger.warning("saved state names listener '\(listener)', which the configuration no longer has; ignored")
                continue
            }
            let known = weights.filter { table.groupIndex(named: $0.group) != nil }
            if known.count != weights.count {
                logger.warning("saved forward of '\(listener)' names target groups the configuration no longer has; ignored")
                continue
            }
            forwards[listener] = known.map { WeightedGroup(group: $0.group, weight: $0.weight) }
        }
        if !forwards.isEmpty {
            do {
                table = try table.replacingForward(forwards, generation: table.generation)
            } catch {
                logger.warning("saved forwards no longer valid (\(error)); using the configuration's")
            }
        }
        return table
    }
}
