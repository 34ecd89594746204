import TurnoutCore

/// Where the fleet's instances disagree about their targets' health. Health checks stay local (each instance probes
/// what it forwards to, as ALB's nodes do), so instances can see one target differently: a target reachable from
/// some instances only, a firewall, a probe that times out from one host. Each instance adds its view to its
/// registration (`health`: group → target → what its checks say), and the status lists the targets the
/// registered instances do not all see alike.
extension EtcdStateStore {
    /// Adds this instance's view of its targets' health to its registration's JSON (`health`), when there is one.
    func withHealthView(_ registration: JSONValue) -> JSONValue {
        guard case .object(var members) = registration, let view = healthView?() else { return registration }
        members["health"] = .object(view.mapValues { targets in .object(targets.mapValues(JSONValue.string)) })
        return .object(members)
    }

    /// Keeps the health view of a registration read from etcd (none from an instance that publishes none).
    func noteHealthView(of instance: String, in registration: JSONValue?) {
        guard let registration, case .object(let groups)? = registration["health"] else {
            healthViews[instance] = nil
            return
        }
        var view: [String: [String: String]] = [:]
        for (group, targets) in groups {
            guard case .object(let states) = targets else { continue }
            view[group] = states.compactMapValues(\.stringValue)
        }
        healthViews[instance] = view
    }

    /// The status's list of the targets the fleet's instances see differently, this instance's view taken as it is
    /// now rather than as last published.
    var healthDisagreementsJSON: JSONValue {
        var views = healthViews.filter { members[$0.key] != nil }
        if let own = registration?.instance, let view = healthView?() { views[own] = view }
        return .array(FleetHealthDisagreement.find(in: views).map(\.jsonValue))
    }
}

/// One target the fleet's instances see differently: every instance's view of it (the instances that do not probe
/// it left out).
struct FleetHealthDisagreement: Equatable, Sendable {
    var group: String
    var target: String
    /// Instance → the state its checks give the target.
    var views: [String: String]

    /// The targets of `views` (instance → group → target → state) that two instances see differently, by group and
    /// target.
    static func find(in views: [String: [String: [String: String]]]) -> [FleetHealthDisagreement] {
        var byTarget: [String: [String: [String: String]]] = [:]
        for (instance, groups) in views {
            for (group, targets) in groups {
                for (target, state) in targets { byTarget[group, default: [:]][target, default: [:]][instance] = state }
            }
        }
        var found: [FleetHealthDisagreement] = []
        for (group, targets) in byTarget.sorted(by: { $0.key < $1.key }) {
            for (target, seen) in targets.sorted(by: { $0.key < $1.key }) where Set(seen.values).count > 1 {
                found.append(FleetHealthDisagreement(group: group, target: target, views: seen))
            }
        }
        return found
    }

    var jsonValue: JSONValue {
        ["group": .string(group), "target": .string(target), "views": .object(views.mapValues(JSONValue.string))]
    }
}
