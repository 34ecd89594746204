import TurnoutCore
import TurnoutPosix

/// SIGHUP: the configuration file's forwards and target lists become a new
/// generation, audited and saved like an API change. Listener changes need a restart.
extension ControlPlane {
    public var generation: UInt64 { table.generation }

    public func reload(from path: String) {
        let fresh: TurnoutConfig
        do {
            fresh = try ConfigLoader.load(path: path)
        } catch {
            logger.error("reload refused, routing unchanged: \(error)")
            return
        }
        let before = config.listeners.map { "\($0.name)@\($0.bind)" }
        let after = fresh.listeners.map { "\($0.name)@\($0.bind)" }
        guard before == after, fresh.targetGroups.map(\.name) == config.targetGroups.map(\.name) else {
            logger.error("reload refused, routing unchanged: listeners or target groups changed; restart to apply")
            return
        }
        var forwards: [String: [WeightedGroup]] = [:]
        for listener in fresh.listeners { forwards[listener.name] = listener.forward }
        var targets: [String: [HostPort]] = [:]
        for group in fresh.targetGroups { targets[group.name] = group.targets }
        do {
            let next = try table.replacingTargets(targets).replacingForward(forwards, generation: table.generation + 1)
            var diff: [String: JSONValue] = [:]
            for listener in fresh.listeners {
                diff[listener.name] = ["before": forwardJSON(table, listener: listener.name),
                                       "after": forwardJSON(next, listener: listener.name)]
            }
            // Targets the file no longer lists drain like deregistered ones.
            let nowMs = WallClock.now() / 1_000_000
            var drains: [(group: String, target: HostPort, untilMs: UInt64)] = []
            let saved = draining
            for group in table.groups {
                let kept = Set(targets[group.name] ?? [])
                let untilMs = nowMs + group.deregistrationDelay.nanoseconds / 1_000_000
                for target in group.targets where !kept.contains(target) {
                    draining[group.name, default: [:]][target] = untilMs
                    drains.append((group.name, target, untilMs))
                }
                for target in kept { draining[group.name]?[target] = nil }
            }
            do {
                try commit(next, action: "reload", caller: "SIGHUP", request: ["file": .string(path)],
                           diff: ["listeners": .object(diff)])
            } catch {
                draining = saved
                throw error
            }
            for drain in drains { scheduleDrainEnd(group: drain.group, target: drain.target, untilMs: drain.untilMs) }
            logger.notice("published routing table generation \(next.generation)")
        } catch {
            logger.error("reload refused, routing unchanged: \(error)")
        }
    }
}
