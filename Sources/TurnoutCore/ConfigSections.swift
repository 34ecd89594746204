/// Turns the YAML tree into `TurnoutConfig`, one section at a time, with the keys each section allows.
/// Defaults come from the types' initializers; range checks are left to `TurnoutConfig.validate()`.
enum ConfigSections {
    static let rootKeys = ["workers", "state_dir", "state", "admin", "listeners", "target_groups", "timeouts", "limits",
                           "log", "access_log"]
    static let stateKeys = ["store", "endpoints", "prefix", "tls", "username", "password_file"]
    static let stateTLSKeys = upstreamTLSKeys + ["cert", "key"]
    static let adminKeys = ["bind", "token_file", "allowed_hosts"]
    static let listenerKeys = ["bind", "forward", "rules", "rules_of", "tls", "redirect_to_https", "access_log",
                               "stickiness", "force_group", "mirror"]
    static let redirectToHTTPSKeys = ["port"]
    static let listenerTLSKeys = ["certificates", "certificates_dir", "min_version", "ciphers", "alpn", "strict_sni",
                                  "ticket_key_rotation"]
    static let certificateKeys = ["cert", "key"]
    static let targetGroupKeys = [
        "targets", "algorithm", "health_check", "deregistration_delay", "on_all_unhealthy", "passive_ejection",
        "timeouts", "dns_refresh", "tls",
    ]
    static let upstreamTLSKeys = ["verify", "ca_file", "server_name"]
    static let groupTimeoutKeys = ["upstream_response"]
    static let healthCheckKeys = [
        "enabled", "path", "port", "interval", "timeout", "healthy_threshold", "unhealthy_threshold", "matcher", "host",
    ]
    static let passiveEjectionKeys = ["consecutive_failures", "count_5xx"]
    static let timeoutKeys = [
        "connect", "client_header", "client_idle", "upstream_response", "upstream_idle", "shutdown_grace", "tls_handshake",
    ]
    static let limitKeys = ["max_header_bytes", "max_headers", "max_connections"]
    static let logKeys = ["format", "level"]
    static let accessLogKeys = ["path", "format"]

    static func read(_ root: ConfigNode) throws(ConfigError) -> TurnoutConfig {
        if case .scalar = root.node, !root.isNull {
            throw root.error("expected a mapping of settings (listeners, target_groups, ...), got \(root.shape)")
        }
        let settings = try root.mapping(allowedKeys: rootKeys)
        var config = TurnoutConfig(listeners: [], targetGroups: [])
        for (key, value) in settings.entries {
            switch key {
            case "workers": config.workers = try workers(value)
            case "state_dir": config.stateDir = try value.string(expected: "a directory path")
            case "state": config.state = try state(value)
            case "admin": config.admin = try admin(value)
            case "listeners": config.listeners = try listeners(value)
            case "target_groups": config.targetGroups = try targetGroups(value)
            case "timeouts": config.timeouts = try timeouts(value)
            case "limits": config.limits = try limits(value)
            case "log": config.log = try log(value)
            case "access_log":
                let (path, format) = try accessLog(value)
                guard let path else { throw value.error("access_log needs a path, e.g. { path: /var/log/turnout/access.log }") }
                config.accessLog = AccessLogConfig(path: path, format: format ?? .combined)
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return config
    }

    private static func workers(_ node: ConfigNode) throws(ConfigError) -> Int? {
        if node.isNull { return nil }
        if case let .scalar(scalar) = node.node, scalar.string == "auto" { return nil }
        do {
            return try node.int()
        } catch {
            throw node.error("expected 'auto' or an integer 1...256, got \(node.shape)")
        }
    }

    /// `state: {store: etcd, endpoints: [...], prefix: /turnout/<cluster>, tls: {...}, username, password_file}`; every
    /// refusal names the key and its line.
    private static func state(_ node: ConfigNode) throws(ConfigError) -> StateConfig {
        var state = StateConfig()
        let fields = try node.mapping(allowedKeys: stateKeys)
        var schemes: [(node: ConfigNode, https: Bool?)] = []
        for (key, value) in fields.entries {
            switch key {
            case "store": state.store = try choice(value)
            case "endpoints":
                for item in try value.sequence(expected: "etcd client addresses, e.g. [127.0.0.1:2379]") {
                    let (endpoint, https) = try etcdEndpoint(item)
                    state.endpoints.append(endpoint)
                    schemes.append((item, https))
                }
            case "prefix":
                let prefix = try value.string(expected: "a key prefix such as /turnout/<cluster>")
                guard prefix.hasPrefix("/"), prefix.count > 1, !prefix.hasSuffix("/") else {
                    throw value.error("expected a key prefix such as /turnout/<cluster> (starting with '/', not ending with it), got '\(prefix)'")
                }
                state.prefix = prefix
            case "tls": state.tls = try stateTLS(value)
            case "username": state.username = try value.string(expected: "an etcd user name")
            case "password_file": state.passwordFile = try value.string(expected: "a file holding the etcd user's password")
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        if state.store == .etcd {
            guard !state.endpoints.isEmpty else {
                throw (fields["endpoints"] ?? node).error("store: etcd needs endpoints, e.g. endpoints: [127.0.0.1:2379]")
            }
            guard fields["prefix"] != nil else {
                throw node.error("store: etcd needs a prefix, e.g. prefix: /turnout/<cluster>")
            }
            // One scheme for every member: HTTPS with `tls` or an `https://` endpoint, plain HTTP otherwise.
            let https = state.tls != nil || schemes.contains { $0.https == true }
            if https, let plain = schemes.first(where: { $0.https == false }) {
                throw plain.node.error("every etcd endpoint is spoken to over HTTPS (state.tls, or another endpoint written https://); write it https:// or host:port")
            }
            if https, state.tls == nil { state.tls = EtcdTLSConfig() }
            if (state.username == nil) != (state.passwordFile == nil) {
                throw (fields["username"] ?? fields["password_file"] ?? node).error("etcd authentication needs both username and password_file")
            }
        } else if let stray = fields["endpoints"] ?? fields["prefix"] ?? fields["tls"] ?? fields["username"] ?? fields["password_file"] {
            throw stray.error("only store: etcd takes endpoints, a prefix, tls and credentials; store: local keeps the state in state_dir")
        }
        return state
    }

    /// `host:port`, `http://host:port` or `https://host:port`, with whether a scheme said HTTPS (nil: none written).
    private static func etcdEndpoint(_ node: ConfigNode) throws(ConfigError) -> (HostPort, https: Bool?) {
        let text = try node.string(expected: "an etcd client address host:port")
        var bare = Substring(text)
        var https: Bool?
        for (scheme, secure) in [("http://", false), ("https://", true)] where bare.hasPrefix(scheme) {
            bare = bare.dropFirst(scheme.count)
            https = secure
        }
        guard let endpoint = HostPort.parse(String(bare.hasSuffix("/") ? bare.dropLast() : bare)), endpoint.port != 0 else {
            throw node.error("expected an etcd client address host:port, e.g. 127.0.0.1:2379, got '\(text)'")
        }
        return (endpoint, https)
    }

    /// `state.tls`: a target group's `tls` keys, with the instance's own `cert` and `key` (both or neither).
    private static func stateTLS(_ node: ConfigNode) throws(ConfigError) -> EtcdTLSConfig {
        var tls = EtcdTLSConfig()
        let fields = try node.mapping(allowedKeys: stateTLSKeys)
        for (key, value) in fields.entries {
            switch key {
            case "cert": tls.cert = try value.string(expected: "a PEM certificate file")
            case "key": tls.key = try value.string(expected: "a PEM private key file")
            default: try upstreamTLSSetting(key, value, into: &tls.server)
            }
        }
        if (tls.cert == nil) != (tls.key == nil) {
            throw (fields["cert"] ?? fields["key"] ?? node).error("a client certificate needs both cert and key")
        }
        return tls
    }

    private static func admin(_ node: ConfigNode) throws(ConfigError) -> AdminConfig {
        var admin = AdminConfig()
        for (key, value) in try node.mapping(allowedKeys: adminKeys).entries {
            switch key {
            case "bind": admin.bind = try value.hostPort()
            case "token_file": admin.tokenFile = value.isNull ? nil : try value.string(expected: "a file path or null")
            case "allowed_hosts":
                admin.allowedHosts = []
                for item in try value.sequence(expected: "host names") {
                    admin.allowedHosts.append(try item.string(expected: "a host name"))
                }
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return admin
    }

    private static func listeners(_ node: ConfigNode) throws(ConfigError) -> [ListenerConfig] {
        var listeners: [ListenerConfig] = []
        let entries = try node.mapping(allowedKeys: nil).entries
        for (name, body) in entries {
            let fields = try body.mapping(allowedKeys: listenerKeys)
            guard let bind = fields["bind"] else {
                throw body.error("listener '\(name)' needs a bind, e.g. bind: 0.0.0.0:8080")
            }
            guard let forward = fields["forward"] else {
                throw body.error("listener '\(name)' needs a forward action, e.g. forward: { blue: 100 }")
            }
            var redirectPort: UInt16?
            if let redirect = fields["redirect_to_https"] {
                guard let port = try redirect.mapping(allowedKeys: redirectToHTTPSKeys)["port"] else {
                    throw redirect.error("redirect_to_https needs the HTTPS port, e.g. redirect_to_https: { port: 443 }")
                }
                redirectPort = try port.port()
            }
            if redirectPort != nil, let tls = fields["tls"] {
                throw tls.error("a listener that redirects to HTTPS speaks plain HTTP: remove tls or redirect_to_https")
            }
            var rules: [ListenerRule] = []
            if let list = fields["rules"] { rules = try self.rules(list) }
            listeners.append(ListenerConfig(name: name, bind: try bind.hostPort(), forward: try self.forward(forward),
                                            rules: rules, tls: try fields["tls"].map(listenerTLS),
                                            redirectToHTTPSPort: redirectPort,
                                            accessLog: try fields["access_log"].map(listenerAccessLog),
                                            affinity: try affinity(fields), mirror: try fields["mirror"].map(mirror)))
        }
        // A test listener follows its production listener's rules: `rules_of: production`, the default of a
        // listener named `test` that has no rules of its own (`rules_of: null` turns it off).
        var followed: [Int: String] = [:]
        for (index, (name, body)) in entries.enumerated() {
            let fields = try body.mapping(allowedKeys: listenerKeys)
            if let node = fields["rules_of"] {
                if node.isNull { continue }
                let source = try node.string(expected: "the name of the listener whose rules this one follows, e.g. production")
                guard fields["rules"] == nil else { throw node.error("a listener has rules or rules_of, not both") }
                guard source != name, listeners.contains(where: { $0.name == source }) else {
                    throw node.error("rules_of names another listener, got '\(source)'")
                }
                followed[index] = source
            } else if name == "test", fields["rules"] == nil,
                      listeners.contains(where: { $0.name == "production" && !$0.rules.isEmpty }) {
                followed[index] = "production"
            }
        }
        for (index, source) in followed {
            let sourceIndex = listeners.firstIndex { $0.name == source }!
            if followed[sourceIndex] != nil {
                // An implicit default gives way to the followed listener's own choice; an explicit one is refused.
                guard let node = try entries[index].value.mapping(allowedKeys: listenerKeys)["rules_of"] else { continue }
                throw node.error("listener '\(source)' follows another's rules itself")
            }
            listeners[index].rules = listeners[sourceIndex].rules
            listeners[index].rulesOf = source
        }
        return listeners
    }

    private static func listenerTLS(_ node: ConfigNode) throws(ConfigError) -> ListenerTLSConfig {
        var tls = ListenerTLSConfig(certificates: [])
        for (key, value) in try node.mapping(allowedKeys: listenerTLSKeys).entries {
            switch key {
            case "certificates":
                for item in try value.sequence(expected: "{cert, key} pairs") {
                    let pair = try item.mapping(allowedKeys: certificateKeys)
                    guard let cert = pair["cert"], let key = pair["key"] else {
                        throw item.error("a certificate needs both files, e.g. { cert: /etc/turnout/a.pem, key: /etc/turnout/a.key }")
                    }
                    tls.certificates.append(ListenerTLSConfig.CertificateFiles(
                        cert: try cert.string(expected: "a PEM file path"), key: try key.string(expected: "a PEM file path")))
                }
            case "certificates_dir": tls.certificatesDir = try value.string(expected: "a directory path")
            case "min_version": tls.minVersion = try choice(value)
            case "ciphers": tls.ciphers = try choice(value)
            case "alpn":
                tls.alpn = []
                for item in try value.sequence(expected: "protocol names") {
                    let name = try item.string(expected: "a protocol name")
                    guard ListenerTLSConfig.offerableProtocols.contains(name) else {
                        throw item.error("Turnout speaks HTTP/1.x: expected one of \(ListenerTLSConfig.offerableProtocols.joined(separator: ", ")), got '\(name)'")
                    }
                    tls.alpn.append(name)
                }
            case "strict_sni": tls.strictSNI = try value.bool()
            case "ticket_key_rotation":
                tls.ticketKeyRotation = try value.duration()
                guard tls.ticketKeyRotation >= ListenerTLSConfig.shortestTicketKeyRotation else {
                    throw value.error("expected at least \(ListenerTLSConfig.shortestTicketKeyRotation), e.g. 12h, got \(tls.ticketKeyRotation)")
                }
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return tls
    }

    static func forward(_ node: ConfigNode) throws(ConfigError) -> [WeightedGroup] {
        guard case .mapping = node.node else {
            throw node.error("expected a mapping of target group to weight, e.g. { blue: 90, green: 10 }, got \(node.shape)")
        }
        var forward: [WeightedGroup] = []
        for (group, weight) in try node.mapping(allowedKeys: nil).entries {
            do {
                forward.append(WeightedGroup(group: group, weight: try weight.int()))
            } catch {
                throw weight.error("weight must be a whole percentage 0...100, got \(weight.shape)")
            }
        }
        return forward
    }

    private static func targetGroups(_ node: ConfigNode) throws(ConfigError) -> [TargetGroupConfig] {
        var groups: [TargetGroupConfig] = []
        for (name, body) in try node.mapping(allowedKeys: nil).entries {
            var group = TargetGroupConfig(name: name)
            for (key, value) in try body.mapping(allowedKeys: targetGroupKeys).entries {
                switch key {
                case "targets":
                    group.targets = []
                    for item in try value.sequence(expected: "host:port targets") {
                        group.targets.append(try item.hostPort())
                    }
                case "algorithm": group.algorithm = try choice(value)
                case "health_check": group.healthCheck = try healthCheck(value)
                case "deregistration_delay": group.deregistrationDelay = try value.duration()
                case "on_all_unhealthy": group.onAllUnhealthy = try choice(value)
                case "passive_ejection": group.passiveEjection = try passiveEjection(value)
                case "timeouts": group.timeouts = try groupTimeouts(value)
                case "dns_refresh": group.dnsRefresh = try value.duration()
                case "tls": group.tls = try upstreamTLS(value)
                default: preconditionFailure("key '\(key)' is allowed but not read")
                }
            }
            groups.append(group)
        }
        return groups
    }

    private static func upstreamTLS(_ node: ConfigNode) throws(ConfigError) -> UpstreamTLSConfig {
        var tls = UpstreamTLSConfig()
        for (key, value) in try node.mapping(allowedKeys: upstreamTLSKeys).entries {
            try upstreamTLSSetting(key, value, into: &tls)
        }
        return tls
    }

    /// One of `upstreamTLSKeys`, which a target group's `tls` and `state.tls` share.
    private static func upstreamTLSSetting(_ key: String, _ value: ConfigNode,
                                           into tls: inout UpstreamTLSConfig) throws(ConfigError) {
        switch key {
        case "verify": tls.verify = try value.bool()
        case "ca_file": tls.caFile = try value.string(expected: "a PEM file of CA certificates")
        case "server_name": tls.serverName = try value.string(expected: "a host name")
        default: preconditionFailure("key '\(key)' is allowed but not read")
        }
    }

    /// One of the cases of `Choice`, by its YAML name.
    private static func choice<Choice: RawRepresentable<String> & CaseIterable>(_ node: ConfigNode) throws(ConfigError) -> Choice {
        let names = Choice.allCases.map(\.rawValue)
        let text = try node.string(expected: "one of \(names.joined(separator: ", "))")
        guard let choice = Choice(rawValue: text) else {
            throw node.error("expected one of \(names.joined(separator: ", ")), got '\(text)'")
        }
        return choice
    }

    private static func passiveEjection(_ node: ConfigNode) throws(ConfigError) -> PassiveEjectionConfig {
        var ejection = PassiveEjectionConfig()
        for (key, value) in try node.mapping(allowedKeys: passiveEjectionKeys).entries {
            switch key {
            case "consecutive_failures": ejection.consecutiveFailures = try value.int()
            case "count_5xx": ejection.count5xx = try value.bool()
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return ejection
    }

    private static func groupTimeouts(_ node: ConfigNode) throws(ConfigError) -> GroupTimeouts {
        var timeouts = GroupTimeouts()
        for (key, value) in try node.mapping(allowedKeys: groupTimeoutKeys).entries {
            switch key {
            case "upstream_response": timeouts.upstreamResponse = value.isNull ? nil : try value.duration()
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return timeouts
    }

    private static func healthCheck(_ node: ConfigNode) throws(ConfigError) -> HealthCheckConfig {
        var check = HealthCheckConfig()
        for (key, value) in try node.mapping(allowedKeys: healthCheckKeys).entries {
            switch key {
            case "enabled": check.enabled = try value.bool()
            case "path": check.path = try value.string(expected: "a path starting with '/'")
            case "port": check.port = value.isNull ? nil : try value.port()
            case "interval": check.interval = try value.duration()
            case "timeout": check.timeout = try value.duration()
            case "healthy_threshold": check.healthyThreshold = try value.int()
            case "unhealthy_threshold": check.unhealthyThreshold = try value.int()
            case "matcher": check.matcher = try value.statusMatcher()
            case "host": check.host = value.isNull ? nil : try value.string(expected: "a Host header value")
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return check
    }

    private static func timeouts(_ node: ConfigNode) throws(ConfigError) -> Timeouts {
        var timeouts = Timeouts()
        for (key, value) in try node.mapping(allowedKeys: timeoutKeys).entries {
            let duration = try value.duration()
            switch key {
            case "connect": timeouts.connect = duration
            case "client_header": timeouts.clientHeader = duration
            case "client_idle": timeouts.clientIdle = duration
            case "upstream_response": timeouts.upstreamResponse = duration
            case "upstream_idle": timeouts.upstreamIdle = duration
            case "shutdown_grace": timeouts.shutdownGrace = duration
            case "tls_handshake": timeouts.tlsHandshake = duration
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return timeouts
    }

    private static func limits(_ node: ConfigNode) throws(ConfigError) -> Limits {
        var limits = Limits()
        for (key, value) in try node.mapping(allowedKeys: limitKeys).entries {
            let number = try value.int()
            switch key {
            case "max_header_bytes": limits.maxHeaderBytes = number
            case "max_headers": limits.maxHeaders = number
            case "max_connections": limits.maxConnections = number
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return limits
    }

    /// `{path, format}`, either left out.
    private static func accessLog(_ node: ConfigNode) throws(ConfigError) -> (path: String?, format: AccessLogFormat?) {
        var path: String?
        var format: AccessLogFormat?
        for (key, value) in try node.mapping(allowedKeys: accessLogKeys).entries {
            switch key {
            case "path": path = try value.string(expected: "a file path")
            case "format": format = try choice(value)
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return (path, format)
    }

    /// A listener's `access_log`: `off`, or `{path, format}` over the top-level one.
    private static func listenerAccessLog(_ node: ConfigNode) throws(ConfigError) -> ListenerAccessLog {
        if case .scalar(let scalar) = node.node {
            guard scalar.string == "off" || (try? node.bool()) == false else {
                throw node.error("expected off, or { path, format } over the top-level access_log, got \(node.shape)")
            }
            return .off
        }
        let (path, format) = try accessLog(node)
        return .override(path: path, format: format)
    }

    private static func log(_ node: ConfigNode) throws(ConfigError) -> LogConfig {
        var log = LogConfig()
        for (key, value) in try node.mapping(allowedKeys: logKeys).entries {
            switch key {
            case "format": log.format = try choice(value)
            case "level": log.level = try choice(value)
            default: preconditionFailure("key '\(key)' is allowed but not read")
            }
        }
        return log
    }
}
