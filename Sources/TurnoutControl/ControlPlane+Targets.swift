import Foundation
import TurnoutCore

/// Target registration: `GET|PUT|POST /v1/target-groups/{name}/targets`,
/// `DELETE /v1/target-groups/{name}/targets/{host:port}`. A target is registered as an address or as a name;
/// the lists these answer are the addresses requests go to (each with the name it came from), and the names
/// with what their lookups found.
extension ControlPlane {
    func getTargets(group: String) throws(AdminFailure) -> AdminResponse {
        let route = try requireGroup(group)
        return .json(200, ["group": .string(group), "targets": .array(targetsJSON(route)), "names": .array(namesJSON(route))])
    }

    func putTargets(_ request: AdminRequest, group: String) throws(AdminFailure) -> AdminResponse {
        _ = try requireGroup(group)
        let (body, targets) = try parseTargets(request)
        var seen = Set<HostPort>()
        for target in targets where !seen.insert(target).inserted { throw .invalid("target \(target) is listed twice") }
        return try applyTargets(group: group, targets: targets, request: request, action: "targets.replace", requestBody: body)
    }

    func postTargets(_ request: AdminRequest, group: String) throws(AdminFailure) -> AdminResponse {
        let route = try requireGroup(group)
        let (body, added) = try parseTargets(request)
        var targets = route.registered
        for target in added {
            if targets.contains(target) { throw .conflict("target \(target) is already registered in '\(group)'") }
            targets.append(target)
        }
        return try applyTargets(group: group, targets: targets, request: request, action: "targets.register", requestBody: body)
    }

    func deleteTarget(_ request: AdminRequest, group: String, target text: String) throws(AdminFailure) -> AdminResponse {
        let route = try requireGroup(group)
        guard let target = HostPort.parse(text) else { throw .invalid("'\(text)' is not host:port") }
        guard route.registered.contains(target) else {
            if let index = route.targets.firstIndex(of: target), route.origins[index] != target {
                throw .notFound("\(target) is an address of \(route.origins[index]) in '\(group)'; deregister the name")
            }
            throw .notFound("no target \(target) in '\(group)'")
        }
        let targets = route.registered.filter { $0 != target }
        return try applyTargets(group: group, targets: targets, request: request, action: "targets.deregister",
                                requestBody: ["target": .string(target.description)])
    }

    func requireGroup(_ name: String) throws(AdminFailure) -> GroupRoute {
        guard let index = table.groupIndex(named: name) else { throw .notFound("no target group named '\(name)'") }
        return table.groups[index]
    }

    private func parseTargets(_ request: AdminRequest) throws(AdminFailure) -> (JSONValue, [HostPort]) {
        let body = try JSONValue.parseBody(request.body)
        let members = try body.members("the body", allowed: ["targets"])
        guard let list = members["targets"] else { throw .badRequest("missing field 'targets'") }
        var targets: [HostPort] = []
        for item in try list.array("'targets'") {
            let text = try item.string("each target")
            guard let target = HostPort.parse(text), target.port != 0, !target.host.isEmpty, !target.isWildcard else {
                throw .invalid("'\(text)' is not host:port")
            }
            targets.append(target)
        }
        return (body, targets)
    }

    private func applyTargets(group: String, targets: [HostPort], request: AdminRequest, action: String,
                              requestBody: JSONValue) throws(AdminFailure) -> AdminResponse {
        try checkIfMatch(request)
        let route = try requireGroup(group)
        let next: RoutingTable
        do {
            next = try table.replacingTargets([group: targets])
        } catch let error as ConfigError {
            throw .invalid(error.message)
        } catch {
            throw .invalid("\(error)")
        }
        let unchanged = next.routesLike(table)
        if Self.isDryRun(request) {
            var reply: [String: JSONValue] = ["dry_run": true, "generation": .int(Int64(table.generation)), "group": .string(group),
                                              "targets": .array(targets.map { .string($0.description) })]
            if unchanged { reply["unchanged"] = true }
            return .json(200, .object(reply))
        }
        if unchanged {
            return Self.unchangedReply(generation: table.generation, ["group": .string(group), "targets": .array(targetsJSON(route)),
                                                                      "names": .array(namesJSON(route))])
        }
        let diff: JSONValue = ["target_groups": [group: [
            "before": .array(route.registered.map { .string($0.description) }),
            "after": .array(targets.map { .string($0.description) }),
        ]]]
        let previous = table.generation
        // The reply is built once, before the commit, so that it can be recorded with the change
        // and an idempotent replay returns exactly what the first call did.
        return try commitDraining(next, action: action, caller: request.peer, request: requestBody, diff: diff) {
            targetsResponse(next: next, previous: previous, group: group)
        }!
    }

    private func targetsResponse(next: RoutingTable, previous: UInt64, group: String) -> AdminResponse {
        let route = next.groups[next.groupIndex(named: group)!]
        return .json(200, ["generation": .int(Int64(next.generation)), "previous_generation": .int(Int64(previous)),
                           "group": .string(group), "targets": .array(targetsJSON(route, in: next)),
                           "names": .array(namesJSON(route))])
    }

    /// Every target of a group with its health, plus targets still draining.
    func targetsJSON(_ group: GroupRoute) -> [JSONValue] { targetsJSON(group, in: table) }

    func targetsJSON(_ group: GroupRoute, in table: RoutingTable) -> [JSONValue] {
        let routable = routability(of: group)
        var result: [JSONValue] = []
        let weighted = table.weightedGroups.contains(group.name)
        let nowMs = clock.wallMilliseconds
        let groupDraining = (groupDrainUntil[group.name] ?? 0) > nowMs
        for (index, target) in group.targets.enumerated() {
            let state = health.health(group: group.name, target: target) ?? TargetHealth(checkEnabled: group.healthCheck.enabled)
            var shownState = state.state.rawValue
            var reason: JSONValue = state.reason.map { .string($0.rawValue) } ?? .null
            var description = state.description
            if !weighted {
                // ALB: a target of a group no listener sends traffic to is `unused`; right after
                // its weight went to zero it drains for the deregistration delay first.
                shownState = groupDraining ? "draining" : "unused"
                reason = .string(groupDraining ? "Target.DeregistrationInProgress" : "Target.NotInUse")
                description = groupDraining ? "target group lost its weight; draining" : "target group receives no traffic"
            }
            let origin = group.origins[index]
            var entry: [String: JSONValue] = [
                "target": .string(target.description), "name": origin.isAddress ? .null : .string(origin.description),
                "state": .string(shownState), "reason": reason,
                "description": .string(description), "routable": .bool(weighted && routable[index]),
            ]
            if !weighted && groupDraining, let until = groupDrainUntil[group.name] {
                entry["drain_until"] = .string(AuditTimestamp.iso8601(milliseconds: until))
            }
            result.append(.object(entry))
        }
        for (target, until) in (draining[group.name] ?? [:]).sorted(by: { $0.key.description < $1.key.description })
            where until > nowMs && !group.targets.contains(target) {
            result.append([
                "target": .string(target.description), "name": .null, "state": "draining",
                "reason": "Target.DeregistrationInProgress",
                "description": .string("deregistered; connections close at the deregistration delay"), "routable": false,
                "drain_until": .string(AuditTimestamp.iso8601(milliseconds: until)),
            ])
        }
        return result
    }
}
