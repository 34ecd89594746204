/// One listener in a routing snapshot: where it binds, its rules, and how the requests no rule takes are spread
/// over groups.
public struct ListenerRoute: Sendable, Hashable {
    public let name: String
    public let bind: HostPort
    /// Indices into `RoutingTable.groups`, in configuration order.
    public let groupIndices: [Int]
    /// Parallel to `groupIndices`. Zero weights are kept (the group stays listed); pickers skip them.
    public let weights: [Int]
    /// Tried in order before the forward above, the default action.
    public let rules: [RuleRoute]
    /// Stickiness and a forced group for the default forward.
    public let affinity: RouteAffinity
    /// The default forward's mirror, from the configuration.
    public let mirror: RouteMirror?

    init(name: String, bind: HostPort, groupIndices: [Int], weights: [Int], rules: [RuleRoute] = [],
         affinity: RouteAffinity = .none, mirror: RouteMirror? = nil) {
        self.mirror = mirror
        self.name = name
        self.bind = bind
        self.groupIndices = groupIndices
        self.weights = weights
        self.rules = rules
        self.affinity = affinity
    }

    /// The same listener with another default forward.
    func replacingForward(groupIndices: [Int], weights: [Int]) -> ListenerRoute {
        ListenerRoute(name: name, bind: bind, groupIndices: groupIndices, weights: weights, rules: rules, affinity: affinity,
                      mirror: mirror)
    }

    /// The same listener with another forward for the rule at `index`.
    func replacingForward(ofRule index: Int, groupIndices: [Int], weights: [Int]) -> ListenerRoute {
        var rules = self.rules
        let rule = rules[index]
        rules[index] = RuleRoute(name: rule.name, match: rule.match, action: .forward(groupIndices: groupIndices, weights: weights),
                                 affinity: rule.affinity, mirror: rule.mirror)
        return ListenerRoute(name: name, bind: bind, groupIndices: self.groupIndices, weights: self.weights, rules: rules,
                             affinity: affinity, mirror: mirror)
    }

    /// The index of the rule named `name`, if any.
    public func ruleIndex(named name: String) -> Int? { rules.firstIndex { $0.name == name } }
}

/// One rule of a listener in a routing snapshot: its conditions, and its action with groups as indices.
public struct RuleRoute: Sendable, Hashable {
    public let name: String
    public let match: RuleConditions
    public let action: Action
    /// Stickiness and a forced group for a forward action.
    public let affinity: RouteAffinity
    /// The forward's mirror, from the configuration.
    public let mirror: RouteMirror?

    public enum Action: Sendable, Hashable {
        /// Indices into `RoutingTable.groups` and their percentages, parallel, as a listener's forward.
        case forward(groupIndices: [Int], weights: [Int])
        case fixedResponse(FixedResponse)
        case redirect(RedirectAction)
    }

    init(name: String, match: RuleConditions, action: Action, affinity: RouteAffinity = .none, mirror: RouteMirror? = nil) {
        self.mirror = mirror
        self.name = name
        self.match = match
        self.action = action
        self.affinity = affinity
    }

    /// The forward's group indices and weights; empty for the actions that forward nothing.
    public var forward: (groupIndices: [Int], weights: [Int]) {
        if case .forward(let groupIndices, let weights) = action { return (groupIndices, weights) }
        return ([], [])
    }
}
