/// How a route (a listener's forward or a rule's) may keep a client on one of its groups: group stickiness while
/// the route is split, and a group a request names for itself. Both off unless configured.
public struct RouteAffinity: Sendable, Hashable {
    /// `stickiness: { cookie: turnout-group, duration: 1h }`, as ALB's target-group stickiness: a client keeps the
    /// group it first got while the route is split. The cookie names the group; a cookie naming a group without
    /// weight is ignored, so a switch still moves everyone at once.
    public var stickiness: Stickiness?
    /// `force_group: { header: X-Turnout-Group, cookie: turnout-force }`: a request naming one of the route's
    /// groups (by the header's value or the cookie's) reaches it whatever the weights, even 0. An unknown name is
    /// ignored.
    public var forceGroup: ForceGroup?

    public struct Stickiness: Sendable, Hashable {
        public var cookie: String
        public var duration: ConfigDuration

        public init(cookie: String, duration: ConfigDuration) {
            self.cookie = cookie
            self.duration = duration
        }
    }

    public struct ForceGroup: Sendable, Hashable {
        public var header: String?
        public var cookie: String?

        public init(header: String? = nil, cookie: String? = nil) {
            self.header = header
            self.cookie = cookie
        }
    }

    public init(stickiness: Stickiness? = nil, forceGroup: ForceGroup? = nil) {
        self.stickiness = stickiness
        self.forceGroup = forceGroup
    }

    /// Neither stickiness nor a forced group.
    public static let none = RouteAffinity()

    public var isEmpty: Bool { stickiness == nil && forceGroup == nil }

    /// Why `name` is no cookie name, or nil: a token (RFC 6265 §4.1.1) of at most 64 characters.
    public static func cookieNameProblem(_ name: String) -> String? {
        RulePattern.keyProblem(name).map { _ in "expected a cookie name (a token of at most 64 characters), got '\(name)'" }
    }
}
