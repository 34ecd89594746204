extension TurnoutConfig {
    /// Checks values and cross-references: ranges, names, duplicate targets and binds, forward actions naming
    /// existing groups. `ConfigLoader` calls it after reading the file (and adds line numbers); call it yourself
    /// on a configuration built in code. Throws the first problem found, in file order of the sections.
    public func validate() throws(ConfigError) {
        if let workers, !Self.workersRange.contains(workers) {
            throw ConfigError(key: "workers", message: "expected 'auto' or an integer 1...256, got \(workers)")
        }
        if stateDir.isEmpty {
            throw ConfigError(key: "state_dir", message: "expected a directory path, got an empty string")
        }
        try validateAdmin()
        try validateTimeouts()
        try validateLimits()
        try validateTargetGroups()
        try validateListeners()
        try validateAccessLogs()
    }

    private func validateAccessLogs() throws(ConfigError) {
        if let accessLog, accessLog.path.isEmpty {
            throw ConfigError(key: "access_log.path", message: "expected a file path, got an empty string")
        }
        for listener in listeners {
            guard case .override(let path, _)? = listener.accessLog else { continue }
            if path?.isEmpty == true {
                throw ConfigError(key: "listeners.\(listener.name).access_log.path", message: "expected a file path, got an empty string")
            }
            if path == nil, accessLog == nil {
                throw ConfigError(key: "listeners.\(listener.name).access_log.path",
                                  message: "missing: there is no top-level access_log to take it from")
            }
        }
        // One file, one format: lines of both in one file would defeat whatever reads it.
        var formats: [String: AccessLogFormat] = [:]
        for listener in listeners {
            guard let log = self.accessLog(of: listener) else { continue }
            if let other = formats[log.path], other != log.format {
                throw ConfigError(key: "listeners.\(listener.name).access_log.format",
                                  message: "\(log.path) is written as \(other.rawValue) by another listener; one file takes one format")
            }
            formats[log.path] = log.format
        }
    }

    private func validateAdmin() throws(ConfigError) {
        if let tokenFile = admin.tokenFile, tokenFile.isEmpty {
            throw ConfigError(key: "admin.token_file", message: "expected a file path or null, got an empty string")
        }
        for (index, name) in admin.allowedHosts.enumerated() where !HostPort.isHostName(Substring(name)) {
            throw ConfigError(key: "admin.allowed_hosts[\(index)]", message: "expected a host name without a port, got '\(name)'")
        }
        if !admin.bind.isLoopback, admin.tokenFile == nil {
            throw ConfigError(
                key: "admin.bind",
                message: "a non-loopback admin bind (\(admin.bind)) requires admin.token_file"
            )
        }
    }

    private func validateTimeouts() throws(ConfigError) {
        let all: [(key: String, value: ConfigDuration)] = [
            ("connect", timeouts.connect), ("client_header", timeouts.clientHeader),
            ("client_idle", timeouts.clientIdle), ("upstream_response", timeouts.upstreamResponse),
            ("upstream_idle", timeouts.upstreamIdle), ("shutdown_grace", timeouts.shutdownGrace),
            ("tls_handshake", timeouts.tlsHandshake),
        ]
        for timeout in all where timeout.value.nanoseconds == 0 {
            throw ConfigError(key: "timeouts.\(timeout.key)", message: "must be above 0")
        }
    }

    private func validateLimits() throws(ConfigError) {
        let range = Limits.maxHeaderBytesRange
        if !range.contains(limits.maxHeaderBytes) {
            throw ConfigError(
                key: "limits.max_header_bytes",
                message: "expected an integer \(range.lowerBound)...\(range.upperBound), got \(limits.maxHeaderBytes)"
            )
        }
        if limits.maxHeaders < 1 {
            throw ConfigError(key: "limits.max_headers", message: "must be above 0, got \(limits.maxHeaders)")
        }
        if limits.maxConnections < 1 {
            throw ConfigError(key: "limits.max_connections", message: "must be above 0, got \(limits.maxConnections)")
        }
    }

    private func validateTargetGroups() throws(ConfigError) {
        var names: Set<String> = []
        for group in targetGroups {
            let key = "target_groups.\(group.name)"
            try Self.validateName(group.name, key: key, kind: "target group")
            guard names.insert(group.name).inserted else {
                throw ConfigError(key: key, message: "target group '\(group.name)' is defined more than once")
            }
            try TargetGroupConfig.validateTargets(group.targets, group: group.name)
            if !TargetGroupConfig.deregistrationDelayRange.contains(group.deregistrationDelay) {
                throw ConfigError(
                    key: "\(key).deregistration_delay",
                    message: "expected 0s...3600s, got \(group.deregistrationDelay)"
                )
            }
            try Self.validateHealthCheck(group.healthCheck, key: "\(key).health_check")
            let failures = group.passiveEjection.consecutiveFailures
            let range = PassiveEjectionConfig.consecutiveFailuresRange
            if !range.contains(failures) {
                throw ConfigError(
                    key: "\(key).passive_ejection.consecutive_failures",
                    message: "expected an integer \(range.lowerBound)...\(range.upperBound) (0 disables ejection), got \(failures)"
                )
            }
            if let upstreamResponse = group.timeouts.upstreamResponse, upstreamResponse.nanoseconds == 0 {
                throw ConfigError(key: "\(key).timeouts.upstream_response", message: "must be above 0")
            }
            let refresh = TargetGroupConfig.dnsRefreshRange
            if !refresh.contains(group.dnsRefresh) {
                throw ConfigError(
                    key: "\(key).dns_refresh",
                    message: "expected \(refresh.lowerBound)...\(refresh.upperBound), got \(group.dnsRefresh)"
                )
            }
        }
    }

    private static func validateHealthCheck(_ check: HealthCheckConfig, key: String) throws(ConfigError) {
        if !check.path.hasPrefix("/") || check.path.contains(where: { $0 == " " || $0.isNewline }) {
            throw ConfigError(key: "\(key).path", message: "expected a path starting with '/', got '\(check.path)'")
        }
        if check.port == 0 {
            throw ConfigError(key: "\(key).port", message: "expected a port 1...65535, got 0")
        }
        if check.interval.nanoseconds == 0 {
            throw ConfigError(key: "\(key).interval", message: "must be above 0")
        }
        if check.timeout.nanoseconds == 0 {
            throw ConfigError(key: "\(key).timeout", message: "must be above 0")
        }
        if check.timeout >= check.interval {
            throw ConfigError(
                key: "\(key).timeout",
                message: "must be shorter than interval (\(check.interval)), got \(check.timeout)"
            )
        }
        let range = HealthCheckConfig.thresholdRange
        for (name, value) in [("healthy_threshold", check.healthyThreshold), ("unhealthy_threshold", check.unhealthyThreshold)]
        where !range.contains(value) {
            throw ConfigError(
                key: "\(key).\(name)",
                message: "expected an integer \(range.lowerBound)...\(range.upperBound), got \(value)"
            )
        }
        if let host = check.host, host.isEmpty || host.contains(where: { $0 == " " || $0.isNewline }) {
            throw ConfigError(key: "\(key).host", message: "expected a Host header value, got '\(host)'")
        }
    }

    private func validateListeners() throws(ConfigError) {
        guard !listeners.isEmpty else {
            throw ConfigError(key: "listeners", message: "expected at least one listener, e.g. production: { bind: 0.0.0.0:8080, forward: { blue: 100 } }")
        }
        let groupNames = Set(targetGroups.map(\.name))
        var names: Set<String> = []
        for (index, listener) in listeners.enumerated() {
            let key = "listeners.\(listener.name)"
            try Self.validateName(listener.name, key: key, kind: "listener")
            guard names.insert(listener.name).inserted else {
                throw ConfigError(key: key, message: "listener '\(listener.name)' is defined more than once")
            }
            if Self.bindsOverlap(listener.bind, admin.bind) {
                throw ConfigError(key: "\(key).bind", message: "bind \(listener.bind) overlaps the admin bind \(admin.bind)")
            }
            if let other = listeners[..<index].first(where: { Self.bindsOverlap(listener.bind, $0.bind) }) {
                throw ConfigError(
                    key: "\(key).bind",
                    message: "bind \(listener.bind) overlaps listener '\(other.name)' (\(other.bind))"
                )
            }
            try WeightedGroup.validate(listener.forward, key: "\(key).forward", groupExists: groupNames.contains)
            try ListenerRule.validate(listener.rules, key: "\(key).rules", groupExists: groupNames.contains)
            let mirrors = [("\(key).mirror", listener.mirror)]
                + listener.rules.enumerated().map { ("\(key).rules[\($0.offset)].mirror", $0.element.mirror) }
            for case let (mirrorKey, mirror?) in mirrors {
                try mirror.validate(key: mirrorKey, groupExists: groupNames.contains)
                if targetGroups.contains(where: { $0.name == mirror.group && $0.tls != nil }) {
                    throw ConfigError(key: "\(mirrorKey).group",
                                      message: "mirroring to a target group with tls is not supported yet; '\(mirror.group)' has tls")
                }
            }
            if let tls = listener.tls, tls.certificates.isEmpty && tls.certificatesDir == nil {
                throw ConfigError(key: "\(key).tls.certificates",
                                  message: "an HTTPS listener needs at least one certificate, e.g. - { cert: /etc/turnout/a.pem, key: /etc/turnout/a.key }, or a certificates_dir")
            }
        }
    }

    /// Two binds on one port collide when the hosts are equal or either is a wildcard. With `SO_REUSEPORT` the
    /// kernel would not refuse the second bind: it would silently split connections between them.
    static func bindsOverlap(_ a: HostPort, _ b: HostPort) -> Bool {
        guard a.port != 0, a.port == b.port else { return false }
        return a.host == b.host || a.isWildcard || b.isWildcard
    }

    /// Names appear in URLs (`/v1/listeners/{name}`) and dotted keys, so they are kept to `[A-Za-z0-9_-]`.
    static func validateName(_ name: String, key: String, kind: String) throws(ConfigError) {
        let valid = (1...64).contains(name.utf8.count) && name.utf8.allSatisfy {
            ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z"))
                || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: "-")
        }
        if !valid {
            throw ConfigError(key: key, message: "\(kind) name must be 1-64 letters, digits, '_' or '-', got '\(name)'")
        }
    }
}
