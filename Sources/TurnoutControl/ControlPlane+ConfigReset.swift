import TurnoutCore

/// The configuration file against what runs: which forwards and target lists come from the file and which from
/// runtime changes (`GET /v1/status`), and the way back to the file (`POST /v1/reset`).
///
/// A runtime change is saved and outlives restarts: at start the saved forwards and target lists win over the
/// file's (`StateRestore`), and `serve` logs a warning listing where they differ. A reload applies what the
/// file itself changed; a reset puts back every forward and target list of the configuration last read (at
/// start or by the last reload).
extension ControlPlane {
    /// Where the table in force differs from the configuration last read.
    var configDifferences: [ConfigDifference] { table.differences(from: config) }

    /// `{"from": "config"}`, or `{"from": "runtime", "in_force": <the value in force>, "config": <the file's value>,
    /// "since", "action", "caller", "generation"}` (a target list as registered: names, not their addresses) with the audit entry that set the value in force (nulls when the log no longer holds it).
    func sourceJSON(of difference: ConfigDifference?, name: String, section: String) -> JSONValue {
        guard let difference else { return ["from": "config"] }
        func forwardJSON(_ forward: [WeightedGroup]) -> JSONValue {
            .object(Dictionary(forward.map { ($0.group, JSONValue.int(Int64($0.weight))) }, uniquingKeysWith: { first, _ in first }))
        }
        let (running, file): (JSONValue, JSONValue)
        switch difference.value {
        case .forward(_, let inForce, let forward):
            (running, file) = (forwardJSON(inForce), forwardJSON(forward))
        case .targets(_, let inForce, let targets):
            (running, file) = (.array(inForce.map { .string($0.description) }), .array(targets.map { .string($0.description) }))
        }
        // A lookup's new addresses (`targets.resolve`) change no registered list: the registration that did is
        // what the status names.
        let change = audit.lastChange(of: name, in: section, excluding: [Self.lookupAction])
        return [
            "from": "runtime", "in_force": running, "config": file,
            "since": change.map { .string($0.time) } ?? .null,
            "action": change.map { .string($0.action) } ?? .null,
            "caller": change.map { .string($0.caller) } ?? .null,
            "generation": change.map { .int(Int64($0.generationAfter)) } ?? .null,
        ]
    }

    /// `POST /v1/reset` with `{"to": "config"}`: every forward and target list back to the configuration last
    /// read, as one audited, journalled generation (action `reset`); targets the file does not list drain. Takes
    /// `If-Match`, `?dry_run=true` and an `Idempotency-Key` as the other changes do; a table that is the file's
    /// already answers `"unchanged": true`.
    func postReset(_ request: AdminRequest) throws(AdminFailure) -> AdminResponse {
        let body = try JSONValue.parseBody(request.body)
        let members = try body.members("the body", allowed: ["to"])
        guard let toValue = members["to"] else { throw .badRequest("missing field 'to'") }
        guard try toValue.string("'to'") == "config" else {
            throw .invalid("'to' must be \"config\": a reset puts back the configuration file's forwards and targets")
        }
        try checkIfMatch(request)
        let differences = configDifferences
        let next: RoutingTable
        do {
            next = try table.withForwardsAndTargets(of: config, generation: table.generation + 1)
        } catch {
            throw .invalid("\(error)")
        }
        let reset: JSONValue = .array(differences.map { .string($0.key) })
        var reply: [String: JSONValue] = ["reset": reset, "listeners": listenersJSON(next),
                                          "target_groups": targetListsJSON(next)]
        if Self.isDryRun(request) {
            reply["dry_run"] = true
            reply["generation"] = .int(Int64(table.generation))
            if differences.isEmpty { reply["unchanged"] = true }
            return .json(200, .object(reply))
        }
        if differences.isEmpty { return Self.unchangedReply(generation: table.generation, reply) }
        reply["generation"] = .int(Int64(next.generation))
        reply["previous_generation"] = .int(Int64(table.generation))
        let response = AdminResponse.json(200, .object(reply))
        try commitFromFile(next, action: "reset", caller: request.peer, request: body, response: response)
        return response
    }

    private func listenersJSON(_ table: RoutingTable) -> JSONValue {
        .object(Dictionary(table.listeners.map { ($0.name, forwardJSON(table, listener: $0.name)) },
                           uniquingKeysWith: { first, _ in first }))
    }

    private func targetListsJSON(_ table: RoutingTable) -> JSONValue {
        .object(Dictionary(table.groups.map { ($0.name, JSONValue.array($0.registered.map { .string($0.description) })) },
                           uniquingKeysWith: { first, _ in first }))
    }
}
