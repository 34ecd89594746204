/// One of a listener's rules, as an ALB listener rule: conditions that must all hold, and what to do with a
/// request that meets them. A listener tries its rules in order; the first that matches acts, and a request that
/// matches none takes the listener's `forward`.
public struct ListenerRule: Sendable, Hashable {
    /// `[A-Za-z0-9_-]`, unique within the listener: the `rule` label of the metrics and the `--rule` of the CLI.
    public var name: String
    public var match: RuleConditions
    public var action: RuleAction
    /// Stickiness and a forced group for a forward action.
    public var affinity: RouteAffinity
    /// A share of the requests copied to another group, for a forward action.
    public var mirror: RouteMirror?

    public init(name: String, match: RuleConditions, action: RuleAction, affinity: RouteAffinity = .none,
                mirror: RouteMirror? = nil) {
        self.name = name
        self.match = match
        self.action = action
        self.affinity = affinity
        self.mirror = mirror
    }
}

/// What a request must show for a rule to match. Every condition that is set must hold; within one condition, any
/// of its values will do (ALB's semantics). An empty list is no condition.
public struct RuleConditions: Sendable, Hashable {
    /// Host patterns: ASCII case ignored, the port ignored, `*` for any run of characters and `?` for one.
    public var hosts: [String] = []
    /// Path patterns (the path without its query): case-sensitive, `*` and `?` as for hosts.
    public var paths: [String] = []
    /// Method tokens, compared exactly (`GET`, `POST`, ...).
    public var methods: [String] = []
    /// Header conditions: a field with the name (case ignored) whose value matches one of the patterns (case
    /// ignored).
    public var headers: [KeyedPatterns] = []
    /// Query conditions: a parameter with the key whose value matches one of the patterns (case ignored, no
    /// percent-decoding).
    public var query: [KeyedPatterns] = []
    /// Source address blocks of the client connection's peer.
    public var sources: [SourceCIDR] = []

    public init(hosts: [String] = [], paths: [String] = [], methods: [String] = [], headers: [KeyedPatterns] = [],
                query: [KeyedPatterns] = [], sources: [SourceCIDR] = []) {
        self.hosts = hosts
        self.paths = paths
        self.methods = methods
        self.headers = headers
        self.query = query
        self.sources = sources
    }

    /// No condition at all.
    public var isEmpty: Bool {
        hosts.isEmpty && paths.isEmpty && methods.isEmpty && headers.isEmpty && query.isEmpty && sources.isEmpty
    }

    /// Whether every request matches: each condition set is a host or path pattern made of `*` alone (`*`, `/*`),
    /// so the rules after this one can never be reached.
    public var matchesEverything: Bool {
        methods.isEmpty && headers.isEmpty && query.isEmpty && sources.allSatisfy { $0.prefixLength == 0 }
            && (hosts.isEmpty || hosts.contains { $0.allSatisfy { $0 == "*" } && !$0.isEmpty })
            && (paths.isEmpty || paths.contains { $0 == "/*" || ($0.allSatisfy { $0 == "*" } && !$0.isEmpty) })
    }
}

/// A header or query condition: a key and the value patterns any of which will do.
public struct KeyedPatterns: Sendable, Hashable {
    public var key: String
    public var patterns: [String]

    public init(key: String, patterns: [String]) {
        self.key = key
        self.patterns = patterns
    }
}

/// What a matching rule does.
public enum RuleAction: Sendable, Hashable {
    /// To weighted target groups, percentages adding up to 100, as a listener's own `forward`.
    case forward([WeightedGroup])
    /// An answer of the proxy's own.
    case fixedResponse(FixedResponse)
    /// A redirect built from the request.
    case redirect(RedirectAction)

    /// The forward's groups, or nil for the actions that forward nothing.
    public var forward: [WeightedGroup]? {
        if case .forward(let groups) = self { return groups }
        return nil
    }
}

/// `fixed_response: { status: 503, content_type: text/plain, body: "back soon" }`.
public struct FixedResponse: Sendable, Hashable {
    public var status: Int
    public var contentType: String
    public var body: String

    /// ALB's limit on a fixed response's body.
    public static let maxBodyBytes = 1024
    public static let statusRange = 200...599

    public init(status: Int, contentType: String = "text/plain", body: String = "") {
        self.status = status
        self.contentType = contentType
        self.body = body
    }
}

/// `redirect: { path: "/new/{path}", status: 301 }`. Unset parts keep the request's: with neither `host` nor
/// `port` the Location is a path (`/new/a?x=1`), otherwise `http://host[:port]/path`. In `host` and `path`,
/// `{host}` stands for the request's host (without its port) and `{path}` for what the first `*` of the rule's
/// matching path pattern covered. The request's query is kept unless `query` is set (`""` drops it).
public struct RedirectAction: Sendable, Hashable {
    public var host: String?
    public var port: UInt16?
    public var path: String?
    public var query: String?
    public var status: Int

    public static let statuses = [301, 302, 303, 307, 308]

    public init(host: String? = nil, port: UInt16? = nil, path: String? = nil, query: String? = nil, status: Int = 301) {
        self.host = host
        self.port = port
        self.path = path
        self.query = query
        self.status = status
    }
}

/// What the rule patterns allow (ALB's characters), checked by the configuration and the admin API alike.
public enum RulePattern {
    /// Why `pattern` is no host pattern, or nil: letters, digits, `-`, `.`, `*` and `?`, at most 128.
    public static func hostProblem(_ pattern: String) -> String? {
        guard (1...128).contains(pattern.utf8.count) else { return "a host pattern is 1-128 characters" }
        let allowed = pattern.utf8.allSatisfy {
            isAlphanumeric($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: ".") || isWildcard($0)
        }
        return allowed ? nil : "a host pattern holds letters, digits, '-', '.', '*' and '?', got '\(pattern)'"
    }

    /// Why `pattern` is no path pattern, or nil: starts with `/` (or is `*`), at most 128 characters, none of
    /// space, control characters, `?` as a query or `#`.
    public static func pathProblem(_ pattern: String) -> String? {
        guard (1...128).contains(pattern.utf8.count) else { return "a path pattern is 1-128 characters" }
        guard pattern.hasPrefix("/") || pattern.hasPrefix("*") else {
            return "a path pattern starts with '/' (or '*'), got '\(pattern)'"
        }
        let allowed = pattern.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "#") }
        return allowed ? nil : "a path pattern holds printable ASCII without spaces or '#', got '\(pattern)'"
    }

    /// Why `pattern` is no header or query value pattern, or nil: printable ASCII (spaces allowed), at most 128.
    public static func valueProblem(_ pattern: String) -> String? {
        guard (1...128).contains(pattern.utf8.count) else { return "a value pattern is 1-128 characters" }
        let allowed = pattern.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7f }
        return allowed ? nil : "a value pattern holds printable ASCII, got '\(pattern)'"
    }

    /// Why `name` is no header field name or query key, or nil: a token (RFC 9110 §5.6.2).
    public static func keyProblem(_ name: String) -> String? {
        let tokenSymbols = Array("!#$%&'*+-.^_`|~".utf8)
        let allowed = !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { isAlphanumeric($0) || tokenSymbols.contains($0) }
        return allowed ? nil : "expected a field name or query key (a token of at most 64 characters), got '\(name)'"
    }

    /// Whether `method` is a method token.
    public static func isMethod(_ method: String) -> Bool {
        (1...32).contains(method.utf8.count) && keyProblem(method) == nil
    }

    static func isWildcard(_ byte: UInt8) -> Bool { byte == UInt8(ascii: "*") || byte == UInt8(ascii: "?") }

    static func isAlphanumeric(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
    }
}
