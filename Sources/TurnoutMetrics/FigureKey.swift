/// A route traffic takes: a listener's default forward, or (when rules come) one of its rules.
public struct RouteName: Hashable, Comparable, Sendable, CustomStringConvertible {
    public var listener: String
    /// The rule's name; nil for the listener's default forward.
    public var rule: String?

    public init(listener: String, rule: String? = nil) {
        self.listener = listener
        self.rule = rule
    }

    public static func < (lhs: RouteName, rhs: RouteName) -> Bool {
        (lhs.listener, lhs.rule ?? "") < (rhs.listener, rhs.rule ?? "")
    }

    /// `production`, or `production/rule` for a rule.
    public var description: String { rule.map { "\(listener)/\($0)" } ?? listener }
}

/// What a run of figures is about: a route (all the groups it sends to), a target group (on every
/// route), or one group's share of one route (what a switch moves and drains).
public struct FigureKey: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// The route; nil for a group on every route.
    public var route: RouteName?
    /// The target group; nil for a route's traffic to every group.
    public var group: String?

    /// A route's traffic to `group`; either may be nil (not both).
    public init(route: RouteName?, group: String?) {
        precondition(route != nil || group != nil, "a figure key names a route, a group or both")
        self.route = route
        self.group = group
    }

    /// A target group's traffic on every route.
    public static func group(_ name: String) -> FigureKey { FigureKey(route: nil, group: name) }

    /// A listener's default forward, to every group.
    public static func listener(_ name: String) -> FigureKey { FigureKey(route: RouteName(listener: name), group: nil) }

    /// A route's traffic to every group.
    public static func route(_ route: RouteName) -> FigureKey { FigureKey(route: route, group: nil) }

    /// A route's traffic to one group.
    public static func route(_ route: RouteName, group: String) -> FigureKey { FigureKey(route: route, group: group) }

    public static func < (lhs: FigureKey, rhs: FigureKey) -> Bool {
        func order(_ key: FigureKey) -> (String, String, String) {
            (key.route?.listener ?? "", key.route?.rule ?? "", key.group ?? "")
        }
        return order(lhs) < order(rhs)
    }

    /// `group green`, `route production`, `route production → green`.
    public var description: String {
        switch (route, group) {
        case (let route?, let group?): return "route \(route) → \(group)"
        case (let route?, nil): return "route \(route)"
        case (nil, let group?): return "group \(group)"
        case (nil, nil): return "nothing"
        }
    }
}
