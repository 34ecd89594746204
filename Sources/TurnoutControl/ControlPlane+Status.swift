import TurnoutCore

/// `GET /v1/status` and `GET /v1/audit`.
extension ControlPlane {
    func status() -> AdminResponse {
        let differences = configDifferences
        func difference(_ key: String) -> ConfigDifference? { differences.first { $0.key == key } }
        var listeners: [JSONValue] = []
        for (index, listener) in table.listeners.enumerated() {
            var members: [String: JSONValue] = [
                "name": .string(listener.name),
                "bind": .string(listener.bind.description),
                "port": .int(Int64(dataPlane.boundPorts[listener.name] ?? listener.bind.port)),
                "forward": forwardJSON(table, listener: listener.name),
                "forward_source": sourceJSON(of: difference("listeners.\(listener.name).forward"), name: listener.name,
                                             section: "listeners"),
                "rules": .array(table.rules(ofListener: index).map(\.jsonValue)),
                "tls": certificates[listener.name].map(Self.certificatesJSON) ?? .null,
            ]
            listener.affinity.addJSON(to: &members)
            if let mirror = listener.mirror { members["mirror"] = mirror.jsonValue }
            if let followed = config.listeners.first(where: { $0.name == listener.name })?.rulesOf {
                members["rules_of"] = .string(followed)
            }
            listeners.append(.object(members))
        }
        var groups: [JSONValue] = []
        for group in table.groups {
            var members = settingsJSON(group)
            members["name"] = .string(group.name)
            members["targets"] = .array(targetsJSON(group))
            members["names"] = .array(namesJSON(group))
            members["targets_source"] = sourceJSON(of: difference("target_groups.\(group.name).targets"), name: group.name,
                                                   section: "target_groups")
            groups.append(.object(members))
        }
        return .json(200, [
            "generation": .int(Int64(table.generation)),
            "differs_from_config": .array(differences.map { .string($0.key) }),
            "listeners": .array(listeners),
            "target_groups": .array(groups),
            "deployment": deployments.all.first { !$0.status.isFinal }?.json ?? .null,
            "state_store": stateStoreJSON,
            "figures": statusFiguresJSON(),
        ])
    }

    /// A group's settings as the configuration names them (what a reload can change, targets aside).
    func settingsJSON(_ group: GroupRoute) -> [String: JSONValue] {
        let check = group.healthCheck
        var healthCheck: [String: JSONValue] = [
            "enabled": .bool(check.enabled), "path": .string(check.path),
            "interval": .string(check.interval.description), "timeout": .string(check.timeout.description),
            "healthy_threshold": .int(Int64(check.healthyThreshold)),
            "unhealthy_threshold": .int(Int64(check.unhealthyThreshold)),
            "matcher": .string(check.matcher.description),
        ]
        if let port = check.port { healthCheck["port"] = .int(Int64(port)) }
        if let host = check.host { healthCheck["host"] = .string(host) }
        return [
            "algorithm": .string(group.algorithm.rawValue),
            "on_all_unhealthy": .string(group.onAllUnhealthy.rawValue),
            "deregistration_delay": .string(group.deregistrationDelay.description),
            "dns_refresh": .string(group.dnsRefresh.description),
            "health_check": .object(healthCheck),
            "passive_ejection": [
                "consecutive_failures": .int(Int64(group.passiveEjection.consecutiveFailures)),
                "count_5xx": .bool(group.passiveEjection.count5xx),
            ],
        ]
    }

    func auditLog(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        var limit = 100
        if let text = request.query["limit"] {
            guard let value = Int(text), value >= 1, value <= AuditLog.capacity else {
                throw .badRequest("limit must be an integer in 1...\(AuditLog.capacity)")
            }
            limit = value
        }
        let entries = audit.entries(limit: limit).map { entry -> JSONValue in
            [
                "id": .int(Int64(entry.id)), "time": .string(entry.time), "action": .string(entry.action),
                "caller": .string(entry.caller), "generation_before": .int(Int64(entry.generationBefore)),
                "generation_after": .int(Int64(entry.generationAfter)), "request": entry.request, "diff": entry.diff,
                "report": Self.reportLink(of: entry),
            ]
        }
        return .json(200, ["entries": .array(entries)])
    }
}
