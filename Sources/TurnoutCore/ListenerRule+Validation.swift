import Foundation

extension ListenerRule {
    /// Checks one listener's rules: names (valid, each once), at least one condition each, patterns, methods,
    /// keys and address blocks as `RulePattern` allows, each action (a forward as a listener's, a fixed response's
    /// status and body, a redirect's status and placeholders), and no rule after one that matches every request.
    /// Shared by the configuration and the admin API, so that both refuse the same things.
    ///
    /// - Parameter key: where the list is (`listeners.production.rules`); a rule's errors are reported under
    ///   `key[i]` and below.
    public static func validate(_ rules: [ListenerRule], key: String, groupExists: (String) -> Bool) throws(ConfigError) {
        var names: Set<String> = []
        var catchAll: String?
        for (index, rule) in rules.enumerated() {
            let ruleKey = "\(key)[\(index)]"
            try TurnoutConfig.validateName(rule.name, key: "\(ruleKey).name", kind: "rule")
            if rule.name == "default" {
                throw ConfigError(key: "\(ruleKey).name", message: "'default' names the listener's own forward; give the rule another name")
            }
            guard names.insert(rule.name).inserted else {
                throw ConfigError(key: "\(ruleKey).name", message: "rule '\(rule.name)' is defined more than once")
            }
            if let catchAll {
                throw ConfigError(key: ruleKey, message: "rule '\(rule.name)' is never reached: rule '\(catchAll)' before it matches every request")
            }
            try validate(rule.match, key: "\(ruleKey).match")
            try validate(rule.action, match: rule.match, key: ruleKey, groupExists: groupExists)
            if rule.match.matchesEverything { catchAll = rule.name }
        }
    }

    private static func validate(_ match: RuleConditions, key: String) throws(ConfigError) {
        if match.isEmpty {
            throw ConfigError(key: key, message: "expected at least one condition: host, path, method, header, query or source")
        }
        for (index, host) in match.hosts.enumerated() {
            if let problem = RulePattern.hostProblem(host) { throw ConfigError(key: "\(key).host\(at(index, match.hosts))", message: problem) }
        }
        for (index, path) in match.paths.enumerated() {
            if let problem = RulePattern.pathProblem(path) { throw ConfigError(key: "\(key).path\(at(index, match.paths))", message: problem) }
        }
        for (index, method) in match.methods.enumerated() where !RulePattern.isMethod(method) {
            throw ConfigError(key: "\(key).method\(at(index, match.methods))", message: "expected a method such as GET, got '\(method)'")
        }
        for (field, keyed) in [("header", match.headers), ("query", match.query)] {
            for condition in keyed {
                let conditionKey = "\(key).\(field).\(condition.key)"
                if let problem = RulePattern.keyProblem(condition.key) { throw ConfigError(key: conditionKey, message: problem) }
                if condition.patterns.isEmpty { throw ConfigError(key: conditionKey, message: "expected at least one value pattern") }
                for (index, pattern) in condition.patterns.enumerated() {
                    if let problem = RulePattern.valueProblem(pattern) {
                        throw ConfigError(key: "\(conditionKey)\(at(index, condition.patterns))", message: problem)
                    }
                }
            }
        }
    }

    /// `[i]` when the condition was a list, nothing when it was one value.
    private static func at(_ index: Int, _ values: [String]) -> String { values.count > 1 ? "[\(index)]" : "" }

    private static func validate(_ action: RuleAction, match: RuleConditions, key: String,
                                 groupExists: (String) -> Bool) throws(ConfigError) {
        switch action {
        case .forward(let forward):
            try WeightedGroup.validate(forward, key: "\(key).forward", groupExists: groupExists)
        case .fixedResponse(let response):
            let key = "\(key).fixed_response"
            if !FixedResponse.statusRange.contains(response.status) {
                throw ConfigError(key: "\(key).status", message: "expected a status 200...599, got \(response.status)")
            }
            if response.body.utf8.count > FixedResponse.maxBodyBytes {
                throw ConfigError(key: "\(key).body", message: "at most \(FixedResponse.maxBodyBytes) bytes, got \(response.body.utf8.count)")
            }
            if response.contentType.isEmpty || !response.contentType.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7f }) {
                throw ConfigError(key: "\(key).content_type", message: "expected a media type such as text/plain, got '\(response.contentType)'")
            }
        case .redirect(let redirect):
            let key = "\(key).redirect"
            if !RedirectAction.statuses.contains(redirect.status) {
                throw ConfigError(key: "\(key).status", message: "expected one of 301, 302, 303, 307, 308, got \(redirect.status)")
            }
            if redirect.host == nil, redirect.port == nil, redirect.path == nil, redirect.query == nil {
                throw ConfigError(key: key, message: "a redirect changes at least one of host, port, path or query")
            }
            if let host = redirect.host, host != "{host}", RulePattern.hostProblem(host) != nil || host.contains(where: { $0 == "*" || $0 == "?" }) {
                throw ConfigError(key: "\(key).host", message: "expected a host name or {host}, got '\(host)'")
            }
            if let path = redirect.path {
                let literal = path.replacingOccurrences(of: "{path}", with: "").replacingOccurrences(of: "{host}", with: "")
                if !path.hasPrefix("/") || literal.contains(where: { $0 == "{" || $0 == "}" || $0 == "?" || $0 == "#" })
                    || !literal.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) {
                    throw ConfigError(key: "\(key).path", message: "expected a path starting with '/' in which only {path} and {host} are replaced, got '\(path)'")
                }
                if path.contains("{path}"), !match.paths.contains(where: { $0.contains("*") }) {
                    throw ConfigError(key: "\(key).path", message: "{path} stands for what a path pattern's '*' matched, and the rule has no path pattern with '*'")
                }
            }
            if let query = redirect.query, !query.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f && $0 != UInt8(ascii: "#") }) || query.hasPrefix("?") {
                throw ConfigError(key: "\(key).query", message: "expected a query without its '?', got '\(query)'")
            }
        }
    }
}
