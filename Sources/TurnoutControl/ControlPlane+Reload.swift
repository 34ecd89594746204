import TurnoutCore

/// SIGHUP: the configuration file is read again and what it changed since it was last read is
/// applied (`ConfigChanges`): forwards, target lists and group settings as one audited, saved
/// generation, and the admin token and allowed hosts in place. A file that changes a key only a
/// restart applies (binds, listeners or groups added or removed, workers, state_dir, timeouts other
/// than upstream_response, limits) is refused whole, naming the keys. A file that changes nothing in force makes no
/// generation: no journal record, no audit entry, every `If-Match` stays valid.
extension ControlPlane {
    public var generation: UInt64 { table.generation }

    /// Reloads the configuration at `path`. `readToken` reads `admin.token_file` (nil for none); it
    /// is called on every reload, so rewriting the token file and sending SIGHUP rotates the token.
    public func reload(from path: String, readToken: (String?) throws -> String?) {
        let file: TurnoutConfig
        do {
            file = try ConfigLoader.load(path: path)
        } catch {
            return refuseReload("\(error)")
        }
        let changes = ConfigChanges(from: config, to: file)
        guard changes.needRestart.isEmpty else {
            let keys = changes.needRestart.map(\.description).joined(separator: ", ")
            return refuseReload("\(keys): \(changes.needRestart.count == 1 ? "this changes" : "these change") only at a restart")
        }
        let newToken: [UInt8]?
        do {
            newToken = try readToken(file.admin.tokenFile).map { Array($0.utf8) }
        } catch {
            return refuseReload("admin.token_file: \(error)")
        }
        var applied = changes.appliedKeys
        let tokenChanged = newToken != token
        if tokenChanged, !changes.tokenFile { applied.append("admin.token_file (a new token)") }

        let next: RoutingTable
        do {
            next = try table.replacingTargets(changes.targets)
                .replacingGroupSettings(changes.groupSettings, timeouts: file.timeouts)
                .replacingForward(changes.forwards, generation: table.generation + 1)
        } catch {
            return refuseReload("\(error)")
        }
        let routingChanged = !next.routesLike(table)
        if routingChanged {
            do {
                try commitReload(next, changes: changes, path: path)
            } catch {
                return refuseReload("\(error.message)")
            }
        }
        token = newToken
        requestGuard = AdminRequestGuard(admin: file.admin)
        config = file
        if routingChanged {
            logger.notice("reload applied (\(applied.joined(separator: ", "))): published routing table generation \(table.generation)")
        } else if tokenChanged || changes.allowedHosts || changes.tokenFile {
            logger.notice("reload applied (\(applied.joined(separator: ", "))); routing table generation \(table.generation) kept")
        } else {
            let already = applied.isEmpty ? "" : " (\(applied.joined(separator: ", ")) already in force)"
            logger.notice("reload: nothing to change\(already); routing table generation \(table.generation) kept")
        }
    }

    private func refuseReload(_ reason: String) {
        logger.error("reload refused, nothing changed: \(reason)")
    }

    /// Commits the routing part of a reload; targets the file no longer lists drain like deregistered ones.
    private func commitReload(_ next: RoutingTable, changes: ConfigChanges, path: String) throws(AdminFailure) {
        var diff: [String: JSONValue] = [:]
        var listeners: [String: JSONValue] = [:]
        for name in changes.forwards.keys.sorted() where forwardJSON(table, listener: name) != forwardJSON(next, listener: name) {
            listeners[name] = ["before": forwardJSON(table, listener: name), "after": forwardJSON(next, listener: name)]
        }
        if !listeners.isEmpty { diff["listeners"] = .object(listeners) }
        var groups: [String: JSONValue] = [:]
        var settings: [String: JSONValue] = [:]
        for (before, after) in zip(table.groups, next.groups) {
            if before.registered != after.registered {
                groups[before.name] = ["before": .array(before.registered.map { .string($0.description) }),
                                       "after": .array(after.registered.map { .string($0.description) })]
            }
            let (settingsBefore, settingsAfter) = (settingsJSON(before), settingsJSON(after))
            if settingsBefore != settingsAfter {
                settings[before.name] = ["before": .object(settingsBefore), "after": .object(settingsAfter)]
            }
        }
        if !groups.isEmpty { diff["target_groups"] = .object(groups) }
        if !settings.isEmpty { diff["target_group_settings"] = .object(settings) }

        try commitDraining(next, action: "reload", caller: "SIGHUP", request: ["file": .string(path)], diff: .object(diff))
    }
}
