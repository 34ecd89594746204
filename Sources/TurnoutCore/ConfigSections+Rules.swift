/// A listener's `rules:` list: each rule's conditions and its one action. Values are checked by
/// `ListenerRule.validate`, as the admin API's are.
extension ConfigSections {
    static let ruleKeys = ["name", "match", "forward", "fixed_response", "redirect", "stickiness", "force_group", "mirror"]
    static let mirrorKeys = ["group", "percent", "max_body"]
    static let stickinessKeys = ["cookie", "duration"]
    static let forceGroupKeys = ["header", "cookie"]
    static let matchKeys = ["host", "path", "method", "header", "query", "source"]
    static let fixedResponseKeys = ["status", "content_type", "body"]
    static let redirectKeys = ["host", "port", "path", "query", "status"]

    static func rules(_ node: ConfigNode) throws(ConfigError) -> [ListenerRule] {
        var rules: [ListenerRule] = []
        for item in try node.sequence(expected: "rules, e.g. - { name: api, match: { host: api.example.com }, forward: { blue: 100 } }") {
            let fields = try item.mapping(allowedKeys: ruleKeys)
            guard let name = fields["name"] else { throw item.error("a rule needs a name, e.g. name: api") }
            guard let match = fields["match"] else {
                throw item.error("a rule needs match conditions, e.g. match: { host: api.example.com }")
            }
            let actions = fields.entries.filter { ["forward", "fixed_response", "redirect"].contains($0.key) }
            guard actions.count == 1, let (kind, body) = actions.first else {
                throw item.error("a rule needs exactly one action: forward, fixed_response or redirect")
            }
            let action: RuleAction
            switch kind {
            case "forward": action = .forward(try forward(body))
            case "fixed_response": action = .fixedResponse(try fixedResponse(body))
            default: action = .redirect(try redirect(body))
            }
            let affinity = try self.affinity(fields)
            if !affinity.isEmpty, action.forward == nil, let key = fields["stickiness"] ?? fields["force_group"] {
                throw key.error("stickiness and force_group apply to a forward action only")
            }
            let mirror = try fields["mirror"].map(self.mirror)
            if mirror != nil, action.forward == nil, let key = fields["mirror"] {
                throw key.error("mirror applies to a forward action only")
            }
            rules.append(ListenerRule(name: try name.string(expected: "a rule name"), match: try conditions(match),
                                      action: action, affinity: affinity, mirror: mirror))
        }
        return rules
    }

    /// A route's `stickiness` and `force_group`, from the fields of the listener or rule that holds them.
    static func affinity(_ fields: ConfigMapping) throws(ConfigError) -> RouteAffinity {
        var affinity = RouteAffinity()
        if let node = fields["stickiness"] {
            let keys = try node.mapping(allowedKeys: stickinessKeys)
            guard let cookie = keys["cookie"] else {
                throw node.error("stickiness needs a cookie, e.g. stickiness: { cookie: turnout-group, duration: 1h }")
            }
            guard let duration = keys["duration"] else {
                throw node.error("stickiness needs a duration, e.g. stickiness: { cookie: turnout-group, duration: 1h }")
            }
            let name = try cookieName(cookie)
            let lifetime = try duration.duration()
            guard lifetime.nanoseconds >= 1_000_000_000 else {
                throw duration.error("a stickiness duration is at least 1s, got '\(lifetime)'")
            }
            affinity.stickiness = RouteAffinity.Stickiness(cookie: name, duration: lifetime)
        }
        if let node = fields["force_group"] {
            let keys = try node.mapping(allowedKeys: forceGroupKeys)
            var force = RouteAffinity.ForceGroup()
            if let header = keys["header"] {
                let text = try header.string(expected: "a header field name such as X-Turnout-Group")
                if let problem = RulePattern.keyProblem(text) { throw header.error(problem) }
                force.header = text
            }
            if let cookie = keys["cookie"] { force.cookie = try cookieName(cookie) }
            if force.header == nil && force.cookie == nil {
                throw node.error("force_group needs a header or a cookie, e.g. force_group: { header: X-Turnout-Group }")
            }
            affinity.forceGroup = force
        }
        return affinity
    }

    /// A route's `mirror`; its values are checked by `RouteMirror.validate`.
    static func mirror(_ node: ConfigNode) throws(ConfigError) -> RouteMirror {
        let keys = try node.mapping(allowedKeys: mirrorKeys)
        guard let group = keys["group"] else {
            throw node.error("mirror needs a group, e.g. mirror: { group: green, percent: 10, max_body: 64KiB }")
        }
        var mirror = RouteMirror(group: try group.string(expected: "a target group name"))
        if let percent = keys["percent"] { mirror.percent = try percent.int() }
        if let size = keys["max_body"] {
            let text = try size.scalarText(expected: "a size such as 64KiB")
            guard let bytes = RouteMirror.parseSize(text) else {
                throw size.error("expected a size in bytes, or with a unit B, KiB or MiB such as 64KiB, got '\(text)'")
            }
            mirror.maxBody = bytes
        }
        return mirror
    }

    private static func cookieName(_ node: ConfigNode) throws(ConfigError) -> String {
        let text = try node.string(expected: "a cookie name such as turnout-group")
        if let problem = RouteAffinity.cookieNameProblem(text) { throw node.error(problem) }
        return text
    }

    private static func conditions(_ node: ConfigNode) throws(ConfigError) -> RuleConditions {
        var conditions = RuleConditions()
        for (key, value) in try node.mapping(allowedKeys: matchKeys).entries {
            switch key {
            case "host": conditions.hosts = try texts(value, expected: "host patterns")
            case "path": conditions.paths = try texts(value, expected: "path patterns")
            case "method": conditions.methods = try texts(value, expected: "methods")
            case "header": conditions.headers = try keyedPatterns(value, expected: "a mapping of field name to value patterns")
            case "query": conditions.query = try keyedPatterns(value, expected: "a mapping of query key to value patterns")
            case "source":
                conditions.sources = []
                for item in try items(value) {
                    let text = try item.scalarText(expected: "an address block such as 10.0.0.0/8")
                    guard let block = SourceCIDR.parse(text) else {
                        throw item.error("expected an address block such as 10.0.0.0/8, 192.0.2.7 or 2001:db8::/32, got '\(text)'")
                    }
                    conditions.sources.append(block)
                }
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return conditions
    }

    /// One scalar or a list of them.
    private static func items(_ node: ConfigNode) throws(ConfigError) -> [ConfigNode] {
        if case .sequence = node.node { return try node.sequence(expected: "values") }
        return [node]
    }

    private static func texts(_ node: ConfigNode, expected: String) throws(ConfigError) -> [String] {
        var texts: [String] = []
        for item in try items(node) { texts.append(try item.scalarText(expected: expected)) }
        return texts
    }

    private static func keyedPatterns(_ node: ConfigNode, expected: String) throws(ConfigError) -> [KeyedPatterns] {
        guard case .mapping = node.node else { throw node.error("expected \(expected), got \(node.shape)") }
        var keyed: [KeyedPatterns] = []
        for (key, value) in try node.mapping(allowedKeys: nil).entries {
            keyed.append(KeyedPatterns(key: key, patterns: try texts(value, expected: "value patterns")))
        }
        return keyed
    }

    private static func fixedResponse(_ node: ConfigNode) throws(ConfigError) -> FixedResponse {
        var response = FixedResponse(status: 0)
        for (key, value) in try node.mapping(allowedKeys: fixedResponseKeys).entries {
            switch key {
            case "status": response.status = try value.int()
            case "content_type": response.contentType = try value.string(expected: "a media type such as text/plain")
            case "body": response.body = try value.scalarText(expected: "the body's text")
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        if response.status == 0 { throw node.error("a fixed response needs a status, e.g. status: 503") }
        return response
    }

    private static func redirect(_ node: ConfigNode) throws(ConfigError) -> RedirectAction {
        var redirect = RedirectAction()
        for (key, value) in try node.mapping(allowedKeys: redirectKeys).entries {
            switch key {
            case "host": redirect.host = try value.string(expected: "a host, or {host}")
            case "port": redirect.port = try value.port()
            case "path": redirect.path = try value.string(expected: "a path such as /new/{path}")
            case "query": redirect.query = value.isNull ? "" : try value.scalarText(expected: "a query without '?'")
            case "status": redirect.status = try value.int()
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return redirect
    }
}
