import TurnoutCore

/// SIGHUP: the configuration file is read again and what it changed since it was last read is
/// applied (`ConfigChanges`): forwards, target lists and group settings as one audited, saved
/// generation, and the admin token and allowed hosts in place. A file that changes a key only a
/// restart applies (binds, listeners or groups added or removed, workers, state_dir, timeouts other
/// than upstream_response, limits) is refused whole, naming the keys. A file that changes nothing in force makes no
/// generation: no journal record, no audit entry, every `If-Match` stays valid.
extension ControlPlane {
    public var generation: UInt64 { table.generation }

    /// Reloads the configuration at `path` (SIGHUP, or `POST /v1/reload` through `configSource`) and logs the
    /// outcome in one line. `readToken` reads `admin.token_file` (nil for none); it is called on every reload, so
    /// rewriting the token file and reloading rotates the token. `caller` is who asked, for the audit entry.
    @discardableResult
    public func reload(from path: String, caller: String = "SIGHUP", readToken: (String?) throws -> String?) -> ReloadOutcome {
        let outcome = reloadOutcome(from: path, caller: caller, readToken: readToken)
        switch outcome {
        case .refused: logger.error("\(outcome.summary)")
        default: logger.notice("\(outcome.summary)")
        }
        return outcome
    }

    private func reloadOutcome(from path: String, caller: String, readToken: (String?) throws -> String?) -> ReloadOutcome {
        let file: TurnoutConfig
        do {
            file = try ConfigLoader.load(path: path)
        } catch let error as ConfigError {
            return .refused(reason: "\(error)", keys: error.key.isEmpty ? [] : [error.key])
        } catch {
            return .refused(reason: "\(error)", keys: [])
        }
        let changes = ConfigChanges(from: config, to: file)
        guard changes.needRestart.isEmpty else {
            let keys = changes.needRestart.map(\.description).joined(separator: ", ")
            return .refused(reason: "\(keys): \(changes.needRestart.count == 1 ? "this changes" : "these change") only at a restart",
                            keys: changes.needRestart.map(\.key))
        }
        let newToken: [UInt8]?
        do {
            newToken = try readToken(file.admin.tokenFile).map { Array($0.utf8) }
        } catch {
            return .refused(reason: "admin.token_file: \(error)", keys: ["admin.token_file"])
        }
        var applied = changes.appliedKeys
        let tokenChanged = newToken != token
        if tokenChanged, !changes.tokenFile { applied.append("admin.token_file (a new token)") }

        let next: RoutingTable
        do {
            next = try table.replacingTargets(changes.targets)
                .replacingGroupSettings(changes.groupSettings, timeouts: file.timeouts)
                .replacingForward(changes.forwards, generation: table.generation + 1)
        } catch let error as ConfigError {
            return .refused(reason: "\(error)", keys: error.key.isEmpty ? [] : [error.key])
        } catch {
            return .refused(reason: "\(error)", keys: [])
        }
        let previous = table.generation
        let routingChanged = !next.routesLike(table)
        if routingChanged {
            let outcome = ReloadOutcome.applied(keys: applied, previousGeneration: previous, generation: next.generation)
            do {
                try commitFromFile(next, action: "reload", caller: caller, request: ["file": .string(path)],
                                   response: outcome.response)
            } catch {
                return .refused(reason: error.message, keys: [], status: error.status, code: error.code)
            }
        }
        token = newToken
        requestGuard = AdminRequestGuard(admin: file.admin)
        config = file
        if routingChanged || tokenChanged || changes.allowedHosts || changes.tokenFile {
            return .applied(keys: applied, previousGeneration: previous, generation: table.generation)
        }
        return .nothingToChange(alreadyInForce: applied, generation: table.generation)
    }

    /// `POST /v1/reload`: what SIGHUP does, answered with the outcome (applied keys, nothing to change, or the
    /// refusal naming the keys).
    func postReload(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        if !request.body.isEmpty { _ = try JSONValue.parseBody(request.body).members("the body", allowed: []) }
        guard let source = configSource else { throw .conflict("this process was not started from a configuration file") }
        source.willReload()
        let outcome = reload(from: source.path, caller: request.peer, readToken: source.readToken)
        source.didReload(outcome)
        return outcome.response
    }

    /// Commits a table that takes values from the configuration file (a reload, or a reset to the file): the
    /// audit entry's diff holds every forward, target list and group settings that changed, and targets that
    /// left a group drain like deregistered ones.
    func commitFromFile(_ next: RoutingTable, action: String, caller: String, request: JSONValue,
                        response: AdminResponse) throws(AdminFailure) {
        var diff: [String: JSONValue] = [:]
        var listeners: [String: JSONValue] = [:]
        for listener in table.listeners where forwardJSON(table, listener: listener.name) != forwardJSON(next, listener: listener.name) {
            listeners[listener.name] = ["before": forwardJSON(table, listener: listener.name),
                                        "after": forwardJSON(next, listener: listener.name)]
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

        _ = try commitDraining(next, action: action, caller: caller, request: request, diff: .object(diff),
                               reply: { response })
    }
}

/// Where `POST /v1/reload` reads the configuration, and who hears of each reload (`serve` tells systemd).
public struct ConfigSource {
    /// The configuration file `serve` was started with.
    public let path: String
    /// Reads `admin.token_file` (nil for none).
    public let readToken: (String?) throws -> String?
    /// Called before a reload through the API starts, and with its outcome after it.
    public let willReload: () -> Void
    public let didReload: (ReloadOutcome) -> Void

    public init(path: String, readToken: @escaping (String?) throws -> String?, willReload: @escaping () -> Void = {},
                didReload: @escaping (ReloadOutcome) -> Void = { _ in }) {
        self.path = path
        self.readToken = readToken
        self.willReload = willReload
        self.didReload = didReload
    }
}

/// What a reload did: the log line, the admin API's answer, systemd's status.
public enum ReloadOutcome: Equatable, Sendable {
    /// What the file changed was applied: `keys` (forwards and targets published as `generation`, or only the
    /// token and allowed hosts, when `generation` is `previousGeneration`).
    case applied(keys: [String], previousGeneration: UInt64, generation: UInt64)
    /// The file changes nothing in force; `alreadyInForce` lists keys it changed to what runs already.
    case nothingToChange(alreadyInForce: [String], generation: UInt64)
    /// Nothing changed: the file is unreadable or invalid (`keys` names the key), or it changes keys only a
    /// restart applies (`keys`), both 422 `reload_refused`; or its change could not be saved (503 and the
    /// state store's code).
    case refused(reason: String, keys: [String], status: Int = 422, code: AdminErrorCode = .reloadRefused)

    /// The one line the log gets.
    public var summary: String {
        switch self {
        case .applied(let keys, let previous, let generation):
            return generation != previous
                ? "reload applied (\(keys.joined(separator: ", "))): published routing table generation \(generation)"
                : "reload applied (\(keys.joined(separator: ", "))); routing table generation \(generation) kept"
        case .nothingToChange(let already, let generation):
            let inForce = already.isEmpty ? "" : " (\(already.joined(separator: ", ")) already in force)"
            return "reload: nothing to change\(inForce); routing table generation \(generation) kept"
        case .refused(let reason, _, _, _):
            return "reload refused, nothing changed: \(reason)"
        }
    }

    /// The admin API's answer: 200 with what was applied, or the refusal (422 `reload_refused` naming the keys;
    /// 503 when the change could not be saved).
    var response: AdminResponse {
        switch self {
        case .applied(let keys, let previous, let generation):
            return .json(200, ["outcome": "applied", "applied": .array(keys.map(JSONValue.string)),
                               "generation": .int(Int64(generation)), "previous_generation": .int(Int64(previous))])
        case .nothingToChange(let already, let generation):
            return .json(200, ["outcome": "nothing_to_change", "applied": [], "unchanged": true,
                               "already_in_force": .array(already.map(JSONValue.string)),
                               "generation": .int(Int64(generation)), "previous_generation": .int(Int64(generation))])
        case .refused(_, let keys, let status, let code):
            var error: [String: JSONValue] = ["code": .string(code.rawValue), "message": .string(summary)]
            if code == .reloadRefused { error["keys"] = .array(keys.map(JSONValue.string)) }
            return .json(status, ["error": .object(error)])
        }
    }
}
