/// What a re-read configuration file changes against the one in force, sorted by what a running
/// proxy can do about it (SIGHUP).
///
/// A reload applies what the file changed since it was last read: a listener's forward, a group's
/// target list, a group's settings (algorithm, health check, deregistration delay, all-unhealthy
/// policy, passive ejection, its timeouts, its DNS refresh: they travel in the routing table), the top-level
/// `timeouts.upstream_response` (the default of every group's, so it travels there too), and the
/// admin API's token file and allowed hosts. Settings the file did not change keep their running
/// values, including changes made through the admin API since. Keys that only a restart can change
/// (binds, listeners or groups added or removed, workers, the state directory, the data plane's
/// other `timeouts` and `limits`, which workers read once at start, and the process log's `log`) are
/// listed in `needRestart`; a reload that changes any of them is refused whole.
public struct ConfigChanges: Sendable, Equatable {
    /// A key only a restart applies: its dotted path (as in configuration errors) and what changed.
    public struct RestartOnly: Sendable, Equatable, CustomStringConvertible {
        public let key: String
        public let change: String

        public var description: String { "\(key) (\(change))" }
    }

    /// In file order of the sections; empty when the reload can be applied.
    public private(set) var needRestart: [RestartOnly] = []
    /// Listeners whose forward the file changed, with the file's new forward.
    public private(set) var forwards: [String: [WeightedGroup]] = [:]
    /// Groups whose target list the file changed, with the file's new list.
    public private(set) var targets: [String: [HostPort]] = [:]
    /// Groups whose other settings the file changed, with their new configuration (targets aside).
    public private(set) var groupSettings: [String: TargetGroupConfig] = [:]
    /// Whether `admin.token_file` names another file (its content is compared by whoever reads it).
    public private(set) var tokenFile = false
    /// Whether `admin.allowed_hosts` changed.
    public private(set) var allowedHosts = false

    /// The keys a reload applies, for the log: `listeners.production.forward`, `target_groups.blue.health_check`.
    public private(set) var appliedKeys: [String] = []

    public init(from running: TurnoutConfig, to file: TurnoutConfig) {
        restartOnly("workers", running.workers.map(String.init) ?? "auto", file.workers.map(String.init) ?? "auto")
        restartOnly("state_dir", running.stateDir, file.stateDir)
        restartOnly("state", running.state.description, file.state.description)
        restartOnly("admin.bind", running.admin.bind.description, file.admin.bind.description)
        if running.admin.tokenFile != file.admin.tokenFile {
            tokenFile = true
            appliedKeys.append("admin.token_file")
        }
        if running.admin.allowedHosts != file.admin.allowedHosts {
            allowedHosts = true
            appliedKeys.append("admin.allowed_hosts")
        }

        for (before, listener) in paired("listeners", running.listeners, file.listeners, name: \.name) {
            restartOnly("listeners.\(listener.name).bind", before.bind.description, listener.bind.description)
            if before.forward != listener.forward {
                forwards[listener.name] = listener.forward
                appliedKeys.append("listeners.\(listener.name).forward")
            }
            if before.rules != listener.rules {
                needRestart.append(RestartOnly(key: "listeners.\(listener.name).rules", change: "rules changed"))
            }
            var unapplied = listener
            unapplied.bind = before.bind
            unapplied.forward = before.forward
            unapplied.rules = before.rules
            unapplied.rulesOf = before.rulesOf  // a change of which rules are followed is a change of the rules
            if unapplied != before { needRestart.append(RestartOnly(key: "listeners.\(listener.name)", change: "settings changed")) }
        }

        for (before, group) in paired("target_groups", running.targetGroups, file.targetGroups, name: \.name) {
            if before.targets != group.targets {
                targets[group.name] = group.targets
                appliedKeys.append("target_groups.\(group.name).targets")
            }
            var settingsBefore = before
            settingsBefore.targets = group.targets
            if settingsBefore != group {
                groupSettings[group.name] = group
                appliedKeys += Self.changedSettings(before, group).map { "target_groups.\(group.name).\($0)" }
            }
        }

        let t0 = running.timeouts, t1 = file.timeouts
        if t0.upstreamResponse != t1.upstreamResponse {
            // Every group that leaves it unset takes the new value with the next routing table.
            appliedKeys.append("timeouts.upstream_response")
            for group in file.targetGroups where group.timeouts.upstreamResponse == nil && groupSettings[group.name] == nil {
                groupSettings[group.name] = group
            }
        }
        for (key, before, after) in [
            ("connect", t0.connect, t1.connect), ("client_header", t0.clientHeader, t1.clientHeader),
            ("client_idle", t0.clientIdle, t1.clientIdle), ("upstream_idle", t0.upstreamIdle, t1.upstreamIdle),
            ("shutdown_grace", t0.shutdownGrace, t1.shutdownGrace), ("tls_handshake", t0.tlsHandshake, t1.tlsHandshake),
        ] {
            restartOnly("timeouts.\(key)", before.description, after.description)
        }
        let l0 = running.limits, l1 = file.limits
        for (key, before, after) in [
            ("max_header_bytes", l0.maxHeaderBytes, l1.maxHeaderBytes), ("max_headers", l0.maxHeaders, l1.maxHeaders),
            ("max_connections", l0.maxConnections, l1.maxConnections),
        ] {
            restartOnly("limits.\(key)", String(before), String(after))
        }

        // The log handler is installed once, before anything logs.
        restartOnly("log.format", running.log.format.rawValue, file.log.format.rawValue)
        restartOnly("log.level", running.log.level.rawValue, file.log.level.rawValue)
        // The access logs' files are opened and their writer started with the workers.
        func accessLog(_ config: AccessLogConfig?) -> String { config.map { "\($0.path) (\($0.format.rawValue))" } ?? "none" }
        restartOnly("access_log", accessLog(running.accessLog), accessLog(file.accessLog))

        // Whatever else a configuration holds (a section this function does not know yet) needs a restart.
        var unapplied = file
        unapplied.workers = running.workers
        unapplied.stateDir = running.stateDir
        unapplied.state = running.state
        unapplied.admin = running.admin
        unapplied.listeners = running.listeners
        unapplied.targetGroups = running.targetGroups
        unapplied.timeouts = running.timeouts
        unapplied.limits = running.limits
        unapplied.log = running.log
        unapplied.accessLog = running.accessLog
        if unapplied != running { needRestart.append(RestartOnly(key: "(other settings)", change: "changed")) }
        var admin = file.admin
        admin.bind = running.admin.bind
        admin.tokenFile = running.admin.tokenFile
        admin.allowedHosts = running.admin.allowedHosts
        if admin != running.admin { needRestart.append(RestartOnly(key: "admin", change: "settings changed")) }
    }

    /// Whether the file changes nothing a reload applies (and nothing that needs a restart).
    public var isEmpty: Bool { needRestart.isEmpty && appliedKeys.isEmpty }

    /// The entries of a section (listeners, groups) in both configurations, paired by name, in file
    /// order; a name on one side only (added or removed) needs a restart.
    private mutating func paired<Entry>(_ section: String, _ running: [Entry], _ file: [Entry],
                                        name: (Entry) -> String) -> [(before: Entry, after: Entry)] {
        let before = Dictionary(running.map { (name($0), $0) }, uniquingKeysWith: { first, _ in first })
        let names = Set(file.map(name))
        for entry in running where !names.contains(name(entry)) {
            needRestart.append(RestartOnly(key: "\(section).\(name(entry))", change: "removed"))
        }
        var pairs: [(before: Entry, after: Entry)] = []
        for entry in file {
            if let old = before[name(entry)] {
                pairs.append((old, entry))
            } else {
                needRestart.append(RestartOnly(key: "\(section).\(name(entry))", change: "added"))
            }
        }
        return pairs
    }

    private mutating func restartOnly(_ key: String, _ before: String, _ after: String) {
        if before != after { needRestart.append(RestartOnly(key: key, change: "\(before) → \(after)")) }
    }

    /// The YAML keys of a group's settings that differ, targets aside.
    private static func changedSettings(_ before: TargetGroupConfig, _ after: TargetGroupConfig) -> [String] {
        var keys: [String] = []
        if before.algorithm != after.algorithm { keys.append("algorithm") }
        if before.healthCheck != after.healthCheck { keys.append("health_check") }
        if before.deregistrationDelay != after.deregistrationDelay { keys.append("deregistration_delay") }
        if before.onAllUnhealthy != after.onAllUnhealthy { keys.append("on_all_unhealthy") }
        if before.passiveEjection != after.passiveEjection { keys.append("passive_ejection") }
        if before.timeouts != after.timeouts { keys.append("timeouts") }
        if before.dnsRefresh != after.dnsRefresh { keys.append("dns_refresh") }
        if before.tls != after.tls { keys.append("tls") }
        // A setting added to groups later and not named above still counts as changed.
        return keys.isEmpty ? ["settings"] : keys
    }
}
