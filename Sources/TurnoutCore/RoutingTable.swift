/// An immutable routing snapshot: listeners with their weights, and target groups with their targets.
///
/// The control thread builds a new table for every change and publishes it; workers read it per request without
/// locks. Changes never mutate a table: they return a new one with a higher generation.
public final class RoutingTable: Sendable {
    /// Increases by one with every published change; the admin API's `If-Match` compares against it.
    public let generation: UInt64
    /// Same order as the configuration.
    public let listeners: [ListenerRoute]
    /// Same order as the configuration.
    public let groups: [GroupRoute]

    private let listenerIndexByName: [String: Int]
    private let groupIndexByName: [String: Int]

    /// Builds the snapshot of a configuration that passed `validate()`. Forward entries naming groups that do
    /// not exist are left out rather than trapping.
    public convenience init(config: TurnoutConfig, generation: UInt64) {
        let groups = config.targetGroups.map { GroupRoute(config: $0, timeouts: config.timeouts) }
        let groupIndexByName = Self.indexByName(groups.map(\.name))
        let listeners = config.listeners.map { listener in
            let known = listener.forward.filter { groupIndexByName[$0.group] != nil }
            let rules = listener.rules.map { rule in
                let action: RuleRoute.Action
                switch rule.action {
                case .forward(let forward):
                    let known = forward.filter { groupIndexByName[$0.group] != nil }
                    action = .forward(groupIndices: known.map { groupIndexByName[$0.group]! }, weights: known.map(\.weight))
                case .fixedResponse(let response): action = .fixedResponse(response)
                case .redirect(let redirect): action = .redirect(redirect)
                }
                return RuleRoute(name: rule.name, match: rule.match, action: action, affinity: rule.affinity, mirror: rule.mirror)
            }
            return ListenerRoute(
                name: listener.name,
                bind: listener.bind,
                groupIndices: known.map { groupIndexByName[$0.group]! },
                weights: known.map(\.weight),
                rules: rules,
                affinity: listener.affinity,
                mirror: listener.mirror
            )
        }
        self.init(generation: generation, listeners: listeners, groups: groups)
    }

    init(generation: UInt64, listeners: [ListenerRoute], groups: [GroupRoute]) {
        self.generation = generation
        self.listeners = listeners
        self.groups = groups
        self.listenerIndexByName = Self.indexByName(listeners.map(\.name))
        self.groupIndexByName = Self.indexByName(groups.map(\.name))
    }

    private static func indexByName(_ names: [String]) -> [String: Int] {
        // First occurrence wins, like the lookups a validated configuration would give.
        Dictionary(names.enumerated().map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
    }

    public func listenerIndex(named name: String) -> Int? { listenerIndexByName[name] }

    public func groupIndex(named name: String) -> Int? { groupIndexByName[name] }

    /// A listener's forward action as names and weights, in order (for status output and the state file).
    public func forward(ofListener index: Int) -> [WeightedGroup] {
        let listener = listeners[index]
        return zip(listener.groupIndices, listener.weights).map { WeightedGroup(group: groups[$0].name, weight: $1) }
    }

    /// A listener's rules as the configuration writes them, groups by name (for the status and the state file).
    public func rules(ofListener index: Int) -> [ListenerRule] {
        listeners[index].rules.enumerated().map { ruleIndex, rule in
            let action: RuleAction
            switch rule.action {
            case .forward: action = .forward(forward(ofRule: ruleIndex, listener: index))
            case .fixedResponse(let response): action = .fixedResponse(response)
            case .redirect(let redirect): action = .redirect(redirect)
            }
            return ListenerRule(name: rule.name, match: rule.match, action: action, affinity: rule.affinity, mirror: rule.mirror)
        }
    }

    /// A rule's forward action as names and weights, in order; empty for a rule that forwards nothing.
    public func forward(ofRule rule: Int, listener index: Int) -> [WeightedGroup] {
        let forward = listeners[index].rules[rule].forward
        return zip(forward.groupIndices, forward.weights).map { WeightedGroup(group: groups[$0].name, weight: $1) }
    }
}
