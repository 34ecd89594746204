import TurnoutCore

extension ListenerRule {
    /// The rule as the API shows it, in the configuration's words: `name`, `match` (each condition set, as a
    /// list of values; header and query conditions by key), one of `forward`, `fixed_response`, `redirect`, and
    /// `stickiness`, `force_group` and `mirror` when set.
    var jsonValue: JSONValue {
        var match: [String: JSONValue] = [:]
        func list(_ values: [String]) -> JSONValue { .array(values.map { .string($0) }) }
        func keyed(_ conditions: [KeyedPatterns]) -> JSONValue {
            .object(Dictionary(conditions.map { ($0.key, list($0.patterns)) }, uniquingKeysWith: { first, _ in first }))
        }
        if !self.match.hosts.isEmpty { match["host"] = list(self.match.hosts) }
        if !self.match.paths.isEmpty { match["path"] = list(self.match.paths) }
        if !self.match.methods.isEmpty { match["method"] = list(self.match.methods) }
        if !self.match.headers.isEmpty { match["header"] = keyed(self.match.headers) }
        if !self.match.query.isEmpty { match["query"] = keyed(self.match.query) }
        if !self.match.sources.isEmpty { match["source"] = list(self.match.sources.map(\.description)) }
        var rule: [String: JSONValue] = ["name": .string(name), "match": .object(match)]
        switch action {
        case .forward(let forward):
            rule["forward"] = .object(Dictionary(forward.map { ($0.group, JSONValue.int(Int64($0.weight))) },
                                                 uniquingKeysWith: { first, _ in first }))
        case .fixedResponse(let response):
            rule["fixed_response"] = [
                "status": .int(Int64(response.status)), "content_type": .string(response.contentType),
                "body": .string(response.body),
            ]
        case .redirect(let redirect):
            var members: [String: JSONValue] = ["status": .int(Int64(redirect.status))]
            if let host = redirect.host { members["host"] = .string(host) }
            if let port = redirect.port { members["port"] = .int(Int64(port)) }
            if let path = redirect.path { members["path"] = .string(path) }
            if let query = redirect.query { members["query"] = .string(query) }
            rule["redirect"] = .object(members)
        }
        affinity.addJSON(to: &rule)
        if let mirror { rule["mirror"] = mirror.jsonValue }
        return .object(rule)
    }
}

extension RouteMirror {
    /// `{group, percent, max_body}`, the body limit in bytes.
    var jsonValue: JSONValue {
        ["group": .string(group), "percent": .int(Int64(percent)), "max_body": .int(Int64(maxBody))]
    }
}

extension RouteAffinity {
    /// `stickiness` and `force_group` as the configuration writes them, into a route's members.
    func addJSON(to members: inout [String: JSONValue]) {
        if let stickiness {
            members["stickiness"] = ["cookie": .string(stickiness.cookie), "duration": .string(stickiness.duration.description)]
        }
        if let forceGroup {
            var force: [String: JSONValue] = [:]
            if let header = forceGroup.header { force["header"] = .string(header) }
            if let cookie = forceGroup.cookie { force["cookie"] = .string(cookie) }
            members["force_group"] = .object(force)
        }
    }
}
