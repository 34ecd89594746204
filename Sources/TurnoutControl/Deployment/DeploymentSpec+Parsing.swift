import TurnoutCore
import TurnoutMetrics

/// Reading a spec from JSON and checking it against the routing in force: every refusal names the field.
extension DeploymentSpec {
    static let keys: Set<String> = [
        "listener", "test_listener", "target_group", "targets", "strategy", "readiness", "install", "hooks", "alarms",
        "approval", "termination_wait", "terminate", "rule",
    ]

    /// The spec `json` describes, checked against `table`: unknown keys, listeners and groups, a replacement
    /// that is the listener's live group (unless `checkingLiveGroup` is false: a deployment read back after a
    /// restart has moved traffic already), steps that do not end at 100 %.
    public static func parse(_ json: JSONValue, table: RoutingTable, checkingLiveGroup: Bool = true)
        throws(DeploymentSpecError) -> DeploymentSpec
    {
        let members = try json.specMembers("", allowed: keys)
        let listener = try members["listener"].map { v throws(DeploymentSpecError) in try v.specString("listener") } ?? "production"
        guard table.listenerIndex(named: listener) != nil else {
            throw DeploymentSpecError(field: "listener", message: "no listener named '\(listener)'")
        }
        let rule = try members["rule"].map { v throws(DeploymentSpecError) in try v.specString("rule") }
        if let rule {
            guard let ruleIndex = table.listeners[table.listenerIndex(named: listener)!].ruleIndex(named: rule) else {
                throw DeploymentSpecError(field: "rule", message: "'\(listener)' has no rule '\(rule)'")
            }
            guard case .forward = table.listeners[table.listenerIndex(named: listener)!].rules[ruleIndex].action else {
                throw DeploymentSpecError(field: "rule", message: "rule '\(rule)' answers by itself: it has no forward to shift")
            }
        }
        var testListener: String?
        switch members["test_listener"] {
        // The listener named `test` by default; for a rule's service, when it has that rule too (it follows the
        // production listener's rules): then the deployment moves the test listener's copy of the rule.
        case nil:
            let test = table.listenerIndex(named: "test").map { table.listeners[$0] }
            let testHasRoute = rule.map { test?.ruleIndex(named: $0) != nil } ?? (test != nil)
            testListener = testHasRoute && listener != "test" ? "test" : nil
        case .null?: testListener = nil
        case let value?:
            let name = try value.specString("test_listener")
            guard table.listenerIndex(named: name) != nil else {
                throw DeploymentSpecError(field: "test_listener", message: "no listener named '\(name)'")
            }
            guard name != listener else {
                throw DeploymentSpecError(field: "test_listener", message: "must differ from 'listener' (\(listener))")
            }
            testListener = name
        }
        guard let groupValue = members["target_group"] else {
            throw DeploymentSpecError(field: "target_group", message: "missing: name the replacement group")
        }
        let targetGroup = try groupValue.specString("target_group")
        guard table.groupIndex(named: targetGroup) != nil else {
            throw DeploymentSpecError(field: "target_group", message: "no target group named '\(targetGroup)'")
        }
        if checkingLiveGroup, try liveGroup(of: listener, rule: rule, in: table) == targetGroup {
            throw DeploymentSpecError(field: "target_group", message: "'\(targetGroup)' is the live group of '\(listener)'"
                                      + (rule.map { " rule '\($0)'" } ?? "") + ": name the replacement")
        }
        var targets: [HostPort] = []
        if let value = members["targets"] {
            for (index, item) in try value.specArray("targets").enumerated() {
                let text = try item.specString("targets[\(index)]")
                guard let target = HostPort.parse(text) else {
                    throw DeploymentSpecError(field: "targets[\(index)]", message: "'\(text)' is not host:port")
                }
                targets.append(target)
            }
        }
        var hooks: [DeploymentPhase: HookSpec] = [:]
        if let value = members["hooks"] {
            let names = Set(DeploymentPhase.hookPhases.map(\.rawValue))
            for (name, hook) in try value.specMembers("hooks", allowed: names) {
                hooks[DeploymentPhase(rawValue: name)!] = try HookSpec.parse(hook, field: "hooks.\(name)")
            }
        }
        return DeploymentSpec(
            listener: listener, testListener: testListener, targetGroup: targetGroup, targets: targets,
            strategy: try members["strategy"].map { v throws(DeploymentSpecError) in try DeploymentStrategy.parse(v) } ?? .allAtOnce,
            readiness: try members["readiness"].map { v throws(DeploymentSpecError) in try Readiness.parse(v) } ?? defaultReadiness,
            install: try members["install"].map { v throws(DeploymentSpecError) in try HookSpec.parse(v, field: "install") },
            terminate: try members["terminate"].map { v throws(DeploymentSpecError) in try HookSpec.parse(v, field: "terminate") },
            hooks: hooks,
            alarms: try members["alarms"].map { v throws(DeploymentSpecError) in try DeploymentAlarms.parse(v) },
            approval: try members["approval"].map { v throws(DeploymentSpecError) in try Approval.parse(v) }
                ?? Approval(beforeTraffic: false, timeout: nil, onTimeout: .rollback),
            terminationWait: try members["termination_wait"]?.specDuration("termination_wait") ?? ConfigDuration(nanoseconds: 0),
            rule: rule)
    }

    /// The group that has all of `listener`'s traffic (with `rule`, all of that rule's): where a deployment
    /// starts from.
    public static func liveGroup(of listener: String, rule: String? = nil, in table: RoutingTable) throws(DeploymentSpecError) -> String {
        guard let index = table.listenerIndex(named: listener) else {
            throw DeploymentSpecError(field: "listener", message: "no listener named '\(listener)'")
        }
        var forward = table.forward(ofListener: index)
        var field = "listener", route = "'\(listener)'"
        if let rule {
            guard let ruleIndex = table.listeners[index].ruleIndex(named: rule) else {
                throw DeploymentSpecError(field: "rule", message: "'\(listener)' has no rule '\(rule)'")
            }
            forward = table.forward(ofRule: ruleIndex, listener: index)
            (field, route) = ("rule", "rule '\(rule)' of '\(listener)'")
        }
        let weighted = forward.filter { $0.weight > 0 }
        guard weighted.count == 1 else {
            let split = weighted.map { "\($0.group) \($0.weight)" }.joined(separator: ", ")
            throw DeploymentSpecError(field: field, message: weighted.isEmpty ? "\(route) sends traffic nowhere"
                : "\(route) splits its traffic (\(split)): a deployment starts from one live group")
        }
        return weighted[0].group
    }
}

extension DeploymentStrategy {
    /// A preset's name, `{canary: {percent, wait}}`, `{linear: {percent, every}}` or
    /// `{steps: [{weight, pause, approval}, ...]}`.
    static func parse(_ value: JSONValue) throws(DeploymentSpecError) -> DeploymentStrategy {
        if case .string(let name) = value {
            guard let preset = preset(named: name) else {
                throw DeploymentSpecError(field: "strategy", message: "unknown strategy '\(name)'; use one of "
                    + presets.keys.sorted().joined(separator: ", ") + ", or {canary}, {linear}, {steps}")
            }
            return preset
        }
        let members = try value.specMembers("strategy", allowed: ["canary", "linear", "steps"])
        guard members.count == 1, let (kind, body) = members.first else {
            throw DeploymentSpecError(field: "strategy", message: "give one of canary, linear, steps")
        }
        let field = "strategy.\(kind)"
        switch kind {
        case "canary", "linear":
            let wait = kind == "canary" ? "wait" : "every"
            let fields = try body.specMembers(field, allowed: ["percent", wait])
            guard let percentValue = fields["percent"] else { throw DeploymentSpecError(field: "\(field).percent", message: "missing") }
            let percent = try percentValue.specInteger("\(field).percent")
            guard (1...99).contains(percent) else {
                throw DeploymentSpecError(field: "\(field).percent", message: "must be 1 to 99, not \(percent)")
            }
            guard let waitValue = fields[wait] else { throw DeploymentSpecError(field: "\(field).\(wait)", message: "missing") }
            let duration = try waitValue.specDuration("\(field).\(wait)")
            return kind == "canary" ? .canary(percent: percent, wait: duration) : .linear(percent: percent, every: duration)
        default:
            let items = try body.specArray(field)
            guard !items.isEmpty else { throw DeploymentSpecError(field: field, message: "lists no step") }
            var steps: [DeploymentStep] = []
            for (index, item) in items.enumerated() {
                let at = "\(field)[\(index)]"
                let fields = try item.specMembers(at, allowed: ["weight", "pause", "approval"])
                guard let weightValue = fields["weight"] else { throw DeploymentSpecError(field: "\(at).weight", message: "missing") }
                let weight = try weightValue.specInteger("\(at).weight")
                let previous = steps.last?.weight ?? 0
                guard weight > previous, weight <= 100 else {
                    throw DeploymentSpecError(field: "\(at).weight", message: "must be more than \(previous) and at most 100, not \(weight)")
                }
                steps.append(DeploymentStep(
                    weight: weight, pause: try fields["pause"]?.specDuration("\(at).pause"),
                    approval: try fields["approval"]?.specBool("\(at).approval") ?? false))
            }
            guard steps.last?.weight == 100 else {
                throw DeploymentSpecError(field: "\(field)[\(steps.count - 1)].weight", message: "the last step must be 100")
            }
            return DeploymentStrategy(name: "steps", steps: steps)
        }
    }
}

extension DeploymentSpec.Readiness {
    /// `{min_healthy: 2 | "50%", timeout: 5m}`.
    static func parse(_ value: JSONValue) throws(DeploymentSpecError) -> Self {
        let members = try value.specMembers("readiness", allowed: ["min_healthy", "timeout"])
        var readiness = DeploymentSpec.defaultReadiness
        switch members["min_healthy"] {
        case nil: break
        case .string(let text)? where text.hasSuffix("%"):
            guard let percent = Int(text.dropLast()), (0...100).contains(percent) else {
                throw DeploymentSpecError(field: "readiness.min_healthy", message: "'\(text)' is not a percentage 0% to 100%")
            }
            readiness.minHealthy = .percent(percent)
        case let value?:
            let count = try value.specInteger("readiness.min_healthy")
            guard count >= 0 else { throw DeploymentSpecError(field: "readiness.min_healthy", message: "must not be negative") }
            readiness.minHealthy = .count(count)
        }
        if let timeout = members["timeout"] { readiness.timeout = try timeout.specDuration("readiness.timeout") }
        return readiness
    }
}

extension DeploymentSpec.Approval {
    /// `{before_traffic: true, timeout: 1h, on_timeout: rollback | continue}`.
    static func parse(_ value: JSONValue) throws(DeploymentSpecError) -> Self {
        let members = try value.specMembers("approval", allowed: ["before_traffic", "timeout", "on_timeout"])
        var onTimeout = OnTimeout.rollback
        if let value = members["on_timeout"] {
            let text = try value.specString("approval.on_timeout")
            guard let parsed = OnTimeout(rawValue: text) else {
                throw DeploymentSpecError(field: "approval.on_timeout", message: "must be rollback or continue, not '\(text)'")
            }
            onTimeout = parsed
        }
        return Self(beforeTraffic: try members["before_traffic"]?.specBool("approval.before_traffic") ?? false,
                    timeout: try members["timeout"]?.specDuration("approval.timeout"), onTimeout: onTimeout)
    }
}

extension DeploymentAlarms {
    /// `{max_5xx_rate: 0.01, max_p99: 500ms, max_p99_ratio: 2.0, max_connect_errors: 5, max_unhealthy_targets: 0,
    /// window: 30s, min_requests: 20}`.
    static func parse(_ value: JSONValue) throws(DeploymentSpecError) -> Self {
        let members = try value.specMembers("alarms", allowed: [
            "max_5xx_rate", "max_p99", "max_p99_ratio", "max_connect_errors", "max_unhealthy_targets", "window", "min_requests",
        ])
        func count(_ key: String) throws(DeploymentSpecError) -> Int? {
            guard let value = members[key] else { return nil }
            let count = try value.specInteger("alarms.\(key)")
            guard count >= 0 else { throw DeploymentSpecError(field: "alarms.\(key)", message: "must not be negative") }
            return count
        }
        var figures = FigureAlarms(minRequests: UInt64(try count("min_requests") ?? 20))
        if let value = members["max_5xx_rate"] {
            let rate = try value.specNumber("alarms.max_5xx_rate")
            guard (0...1).contains(rate) else {
                throw DeploymentSpecError(field: "alarms.max_5xx_rate", message: "must be a share from 0 to 1, not \(rate)")
            }
            figures.max5xxRate = rate
        }
        figures.maxP99 = try members["max_p99"]?.specDuration("alarms.max_p99").seconds
        if let value = members["max_p99_ratio"] {
            let ratio = try value.specNumber("alarms.max_p99_ratio")
            guard ratio > 0 else { throw DeploymentSpecError(field: "alarms.max_p99_ratio", message: "must be more than 0") }
            figures.maxP99Ratio = ratio
        }
        figures.maxConnectErrors = try count("max_connect_errors").map(UInt64.init)
        var window = 30
        if let value = members["window"] {
            let duration = try value.specDuration("alarms.window")
            guard duration.nanoseconds >= 1_000_000_000, duration.nanoseconds % 1_000_000_000 == 0 else {
                throw DeploymentSpecError(field: "alarms.window", message: "must be whole seconds (the figures are per second), not \(duration)")
            }
            window = Int(duration.nanoseconds / 1_000_000_000)
        }
        return Self(figures: figures, windowSeconds: window, maxUnhealthyTargets: try count("max_unhealthy_targets"))
    }
}

extension HookSpec {
    /// `{http: URL | {url, timeout}}` or `{exec: COMMAND | [ARG, ...] | {command, shell, timeout}}`, with
    /// `timeout` and `shell` also beside `http`/`exec`. A command string without `shell: true` is split at spaces.
    static func parse(_ value: JSONValue, field: String) throws(DeploymentSpecError) -> HookSpec {
        let members = try value.specMembers(field, allowed: ["http", "exec", "timeout", "shell"])
        var timeout = try members["timeout"]?.specDuration("\(field).timeout")
        var shell = try members["shell"]?.specBool("\(field).shell") ?? false
        let action: HookAction
        switch (members["http"], members["exec"]) {
        case (let http?, nil):
            var url: String
            if case .object = http {
                let inner = try http.specMembers("\(field).http", allowed: ["url", "timeout"])
                guard let urlValue = inner["url"] else { throw DeploymentSpecError(field: "\(field).http.url", message: "missing") }
                url = try urlValue.specString("\(field).http.url")
                if let value = inner["timeout"] { timeout = try value.specDuration("\(field).http.timeout") }
            } else {
                url = try http.specString("\(field).http")
            }
            guard url.hasPrefix("http://") else {
                throw DeploymentSpecError(field: "\(field).http.url", message: "must be an http:// URL, not '\(url)'")
            }
            action = .http(url: url)
        case (nil, let exec?):
            var command = exec
            if case .object = exec {
                let inner = try exec.specMembers("\(field).exec", allowed: ["command", "shell", "timeout"])
                guard let commandValue = inner["command"] else {
                    throw DeploymentSpecError(field: "\(field).exec.command", message: "missing")
                }
                command = commandValue
                if let value = inner["shell"] { shell = try value.specBool("\(field).exec.shell") }
                if let value = inner["timeout"] { timeout = try value.specDuration("\(field).exec.timeout") }
            }
            var arguments: [String]
            if case .array(let items) = command {
                arguments = []
                for (index, item) in items.enumerated() { arguments.append(try item.specString("\(field).exec[\(index)]")) }
                if shell { arguments = ["/bin/sh", "-c", arguments.joined(separator: " ")] }
            } else {
                let text = try command.specString("\(field).exec")
                arguments = shell ? ["/bin/sh", "-c", text] : text.split(separator: " ").map(String.init)
            }
            guard !arguments.isEmpty else { throw DeploymentSpecError(field: "\(field).exec", message: "names no command") }
            action = .exec(arguments: arguments)
        default:
            throw DeploymentSpecError(field: field, message: "give either 'http' or 'exec'")
        }
        return HookSpec(action: action, timeout: timeout ?? DeploymentSpec.defaultHookTimeout)
    }
}

/// Typed reading of a spec's values, refusing with the field's name.
extension JSONValue {
    func specMembers(_ field: String, allowed: Set<String>) throws(DeploymentSpecError) -> [String: JSONValue] {
        guard case .object(let members) = self else {
            throw DeploymentSpecError(field: field.isEmpty ? "(spec)" : field, message: "must be an object")
        }
        for key in members.keys.sorted() where !allowed.contains(key) {
            let place = field.isEmpty ? key : "\(field).\(key)"
            let hint = KeySuggestion.closest(to: key, among: allowed.sorted()).map { " (did you mean '\($0)'?)" } ?? ""
            throw DeploymentSpecError(field: place, message: "unknown key\(hint)")
        }
        return members
    }

    func specString(_ field: String) throws(DeploymentSpecError) -> String {
        guard case .string(let value) = self else { throw DeploymentSpecError(field: field, message: "must be a string") }
        return value
    }

    func specBool(_ field: String) throws(DeploymentSpecError) -> Bool {
        guard case .bool(let value) = self else { throw DeploymentSpecError(field: field, message: "must be true or false") }
        return value
    }

    func specInteger(_ field: String) throws(DeploymentSpecError) -> Int {
        guard case .int(let value) = self else { throw DeploymentSpecError(field: field, message: "must be an integer") }
        return Int(value)
    }

    func specNumber(_ field: String) throws(DeploymentSpecError) -> Double {
        switch self {
        case .int(let value): return Double(value)
        case .double(let value): return value
        default: throw DeploymentSpecError(field: field, message: "must be a number")
        }
    }

    func specArray(_ field: String) throws(DeploymentSpecError) -> [JSONValue] {
        guard case .array(let values) = self else { throw DeploymentSpecError(field: field, message: "must be a list") }
        return values
    }

    /// A duration with a unit (`300ms`, `5m`); a bare number is refused, as in the configuration.
    func specDuration(_ field: String) throws(DeploymentSpecError) -> ConfigDuration {
        guard case .string(let text) = self, let duration = ConfigDuration.parse(text) else {
            throw DeploymentSpecError(field: field, message: "must be a duration with a unit (300ms, 5s, 2m)")
        }
        return duration
    }
}
