import Foundation
import TurnoutCore

/// Weight changes: `PUT /v1/routing`, `POST /v1/switch`, `PUT /v1/listeners/{name}/forward`,
/// `PUT /v1/listeners/{name}/rules/{rule}/forward`.
extension ControlPlane {
    func putRouting(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        let body = try JSONValue.parseBody(request.body)
        let members = try body.members("the body", allowed: ["listeners", "rules"])
        guard members["listeners"] != nil || members["rules"] != nil else { throw .badRequest("missing field 'listeners'") }
        var changes: [String: [WeightedGroup]] = [:]
        if let listenersValue = members["listeners"] {
            let listeners = try listenersValue.members("'listeners'")
            guard !listeners.isEmpty else { throw .invalid("'listeners' names no listener") }
            for (name, forward) in listeners {
                try requireListener(name)
                changes[name] = try parseForward(forward, field: "listeners.\(name)")
            }
        }
        // Rules' forwards: {"rules": {"production": {"api": {"api-green": 100}}}}, in the same generation.
        var rules: [String: [String: [WeightedGroup]]] = [:]
        if let rulesValue = members["rules"] {
            let byListener = try rulesValue.members("'rules'")
            guard !byListener.isEmpty else { throw .invalid("'rules' names no listener") }
            for (name, named) in byListener {
                try requireListener(name)
                for (rule, forward) in try named.members("'rules.\(name)'") {
                    rules[name, default: [:]][rule] = try parseForward(forward, field: "rules.\(name).\(rule)")
                }
            }
        }
        return try applyForward(changes, rules: rules, request: request, action: "routing", requestBody: body)
    }

    func putListenerForward(_ request: AdminRequest, listener: String) throws(AdminFailure) -> AdminResponse {
        try requireListener(listener)
        let body = try JSONValue.parseBody(request.body)
        let forward = try parseForward(body, field: "")
        return try applyForward([listener: forward], request: request, action: "weights", requestBody: body)
    }

    /// `PUT /v1/listeners/{name}/rules/{rule}/forward`: one rule's forward; the listener's own and its other rules
    /// stay. A rule the listener does not have is 404.
    func putRuleForward(_ request: AdminRequest, listener: String, rule: String) throws(AdminFailure) -> AdminResponse {
        try requireListener(listener)
        guard table.listeners[table.listenerIndex(named: listener)!].ruleIndex(named: rule) != nil else {
            throw .notFound("listener '\(listener)' has no rule '\(rule)'")
        }
        let body = try JSONValue.parseBody(request.body)
        let forward = try parseForward(body, field: "")
        return try applyForward([:], rules: [listener: [rule: forward]], request: request, action: "weights", requestBody: body)
    }

    func postSwitch(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        let body = try JSONValue.parseBody(request.body)
        let members = try body.members("the body", allowed: ["to", "listener", "rule", "swap_test", "test_listener"])
        guard let toValue = members["to"] else { throw .badRequest("missing field 'to'") }
        let to = try toValue.string("'to'")
        let listener = try members["listener"]?.string("'listener'") ?? "production"
        let rule = try members["rule"]?.string("'rule'")
        let swapTest = try members["swap_test"]?.bool("'swap_test'") ?? false
        let testListener = try members["test_listener"]?.string("'test_listener'") ?? "test"
        try requireListener(listener)
        guard table.groupIndex(named: to) != nil else { throw .invalid("unknown target group '\(to)'") }
        if let rule {
            // One rule's forward: the listener's own and its other rules stay as they are.
            guard !swapTest else { throw .invalid("'swap_test' switches a listener's own forward, not a rule's") }
            return try applyForward([:], rules: [listener: [rule: [WeightedGroup(group: to, weight: 100)]]],
                                    request: request, action: "switch", requestBody: body)
        }
        var changes = [listener: [WeightedGroup(group: to, weight: 100)]]
        if swapTest {
            try requireListener(testListener)
            guard testListener != listener else { throw .invalid("'test_listener' must differ from 'listener'") }
            let before = table.forward(ofListener: table.listenerIndex(named: listener)!)
            // The group production leaves: the one with the highest weight (first on ties).
            if let live = before.filter({ $0.weight > 0 }).max(by: { $0.weight < $1.weight }), live.group != to {
                changes[testListener] = [WeightedGroup(group: live.group, weight: 100)]
            }
        }
        return try applyForward(changes, request: request, action: "switch", requestBody: body)
    }

    /// A forward object `{"blue": 90, "green": 10}` → weights in the table's group order. `field` is where the
    /// object is in the request (`listeners.production`), empty when it is the whole body; a refusal names it.
    func parseForward(_ value: JSONValue, field: String) throws(AdminFailure) -> [WeightedGroup] {
        let members = try value.members(field.isEmpty ? "the body" : "'\(field)'")
        var weights: [WeightedGroup] = []
        for (group, weightValue) in members {
            let weight = try weightValue.integer("'\(field.isEmpty ? group : "\(field).\(group)")'")
            weights.append(WeightedGroup(group: group, weight: weight))
        }
        // In the table's order (unknown groups last, by name), so that messages do not depend on hash order.
        weights.sort { (table.groupIndex(named: $0.group) ?? .max, $0.group) < (table.groupIndex(named: $1.group) ?? .max, $1.group) }
        do {
            try WeightedGroup.validate(weights, key: field) { table.groupIndex(named: $0) != nil }
        } catch {
            throw .invalid(error.description)
        }
        return weights
    }

    func requireListener(_ name: String) throws(AdminFailure) {
        guard table.listenerIndex(named: name) != nil else { throw .notFound("no listener named '\(name)'") }
    }

    /// `If-Match: <generation>` (quoted or not; `*` matches any) → 409 when stale.
    func checkIfMatch(_ request: AdminRequest) throws(AdminFailure) {
        guard let raw = request.header("If-Match")?.trimmingCharacters(in: .whitespaces), !raw.isEmpty, raw != "*" else { return }
        var text = raw
        if text.hasPrefix("W/") { text = String(text.dropFirst(2)) }
        let cleaned = text.trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        guard let expected = UInt64(cleaned) else { throw .badRequest("If-Match must be a generation number, got '\(raw)'") }
        guard expected == table.generation else {
            throw .stale("generation is \(table.generation), not \(expected): reread the status and retry")
        }
    }

    static func isDryRun(_ request: AdminRequest) -> Bool {
        guard let value = request.query["dry_run"]?.lowercased() else { return false }
        return value == "true" || value == "1" || value == "yes"
    }

    func forwardJSON(_ table: RoutingTable, listener: String) -> JSONValue {
        guard let index = table.listenerIndex(named: listener) else { return .null }
        var object: [String: JSONValue] = [:]
        for weight in table.forward(ofListener: index) { object[weight.group] = .int(Int64(weight.weight)) }
        return .object(object)
    }

    /// Applies listeners' forwards (`changes`) and rules' forwards (`rules`: listener → rule → forward) as one
    /// generation. The reply and the audit diff name the listeners under `listeners` and the rules under
    /// `rules` (listener → rule), each member present only when something of its kind was asked for.
    private func applyForward(_ changes: [String: [WeightedGroup]], rules: [String: [String: [WeightedGroup]]] = [:],
                              request: AdminRequest, action: String,
                              requestBody: JSONValue) throws(AdminFailure) -> AdminResponse {
        try checkIfMatch(request)
        // A deployment's steps would undo a change made beside it, and its rollback would undo them.
        for name in Set(changes.keys).union(rules.keys).sorted() {
            if let active = deployments.active(on: name) {
                throw .conflict("deployment \(active.id) is in progress on '\(name)': promote, roll back or stop it first")
            }
        }
        let next: RoutingTable
        do {
            next = try table.replacingForward(changes).replacingRuleForwards(rules, generation: table.generation + 1)
        } catch let error as ConfigError {
            throw .invalid(rules.isEmpty ? error.message : error.description)
        } catch {
            throw .invalid("\(error)")
        }
        var resulting: [String: JSONValue] = [:]
        var diff: [String: JSONValue] = [:]
        if !changes.isEmpty || rules.isEmpty {
            var listeners: [String: JSONValue] = [:], listenerDiff: [String: JSONValue] = [:]
            for name in changes.keys.sorted() {
                listeners[name] = forwardJSON(next, listener: name)
                listenerDiff[name] = ["before": forwardJSON(table, listener: name), "after": forwardJSON(next, listener: name)]
            }
            resulting["listeners"] = .object(listeners)
            diff["listeners"] = .object(listenerDiff)
        }
        if !rules.isEmpty {
            var ruleForwards: [String: JSONValue] = [:], ruleDiff: [String: JSONValue] = [:]
            for (listener, named) in rules {
                var after: [String: JSONValue] = [:], changed: [String: JSONValue] = [:]
                for rule in named.keys {
                    after[rule] = ruleForwardJSON(next, listener: listener, rule: rule)
                    changed[rule] = ["before": ruleForwardJSON(table, listener: listener, rule: rule), "after": after[rule]!]
                }
                ruleForwards[listener] = .object(after)
                ruleDiff[listener] = .object(changed)
            }
            resulting["rules"] = .object(ruleForwards)
            diff["rules"] = .object(ruleDiff)
        }
        let unchanged = next.routesLike(table)
        if Self.isDryRun(request) {
            var reply = resulting
            reply["dry_run"] = true
            reply["generation"] = .int(Int64(table.generation))
            if unchanged { reply["unchanged"] = true }
            return .json(200, .object(reply))
        }
        if unchanged { return Self.unchangedReply(generation: table.generation, resulting) }
        var reply = resulting
        reply["generation"] = .int(Int64(next.generation))
        reply["previous_generation"] = .int(Int64(table.generation))
        let response = AdminResponse.json(200, .object(reply))
        try commit(next, action: action, caller: request.peer, request: requestBody, diff: .object(diff), response: response)
        return response
    }

    /// A rule's forward as an object of percentages (`null` for a rule the listener does not have).
    func ruleForwardJSON(_ table: RoutingTable, listener: String, rule: String) -> JSONValue {
        guard let index = table.listenerIndex(named: listener), let ruleIndex = table.listeners[index].ruleIndex(named: rule) else {
            return .null
        }
        var object: [String: JSONValue] = [:]
        for weight in table.forward(ofRule: ruleIndex, listener: index) { object[weight.group] = .int(Int64(weight.weight)) }
        return .object(object)
    }

    /// The answer to a change to where things already are: 200 with the generation in force as both
    /// `generation` and `previous_generation`, and `"unchanged": true`. Nothing is journalled or
    /// audited, no idempotency record is kept, and every `If-Match` naming the generation stays valid.
    static func unchangedReply(generation: UInt64, _ members: [String: JSONValue]) -> AdminResponse {
        var reply = members
        reply["generation"] = .int(Int64(generation))
        reply["previous_generation"] = .int(Int64(generation))
        reply["unchanged"] = true
        return .json(200, .object(reply))
    }
}
