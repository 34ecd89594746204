/// The state file's and the journal's contents as `JSONValue`s, so that a journal record (on
/// every acknowledged change) and a snapshot are written by `JSONValue.jsonBytes` rather than
/// by `JSONEncoder`. The keys are the types' `CodingKeys`; `JSONDecoder` reads them back at
/// recovery, and the tests check the bytes are those `JSONEncoder` wrote.
extension PersistedState {
    var jsonValue: JSONValue {
        var members = routingMembers(generation: generation, listeners: listeners, targetGroups: targetGroups,
                                     draining: draining)
        members[CodingKeys.audit.rawValue] = .array(audit.map(\.jsonValue))
        members[CodingKeys.idempotency.rawValue] = .array(idempotency.map(\.jsonValue))
        members[CodingKeys.deployment.rawValue] = deployment ?? .null  // explicit null, as `encode(to:)` writes it
        members[CodingKeys.journalSequence.rawValue] = .int(Int64(clamping: journalSequence))
        return .object(members)
    }
}

/// The routing members a snapshot and a journal record share (same keys in both).
private func routingMembers(generation: UInt64, listeners: [String: [PersistedWeight]], targetGroups: [String: [String]],
                            draining: [PersistedDrain]) -> [String: JSONValue] {
    [
        "generation": .int(Int64(clamping: generation)),
        "listeners": .object(listeners.mapValues { .array($0.map(\.jsonValue)) }),
        "target_groups": .object(targetGroups.mapValues { .array($0.map(JSONValue.string)) }),
        "draining": .array(draining.map(\.jsonValue)),
    ]
}

extension JournalRecord {
    var jsonValue: JSONValue {
        var members = routingMembers(generation: generation, listeners: listeners, targetGroups: targetGroups,
                                     draining: draining)
        members[CodingKeys.sequence.rawValue] = .int(Int64(clamping: sequence))
        // Absent rather than null, as the synthesized encoding leaves them.
        if let audit { members[CodingKeys.audit.rawValue] = audit.jsonValue }
        if let idempotency { members[CodingKeys.idempotency.rawValue] = idempotency.jsonValue }
        return .object(members)
    }
}

extension AuditEntry {
    var jsonValue: JSONValue {
        [
            CodingKeys.id.rawValue: .int(Int64(clamping: id)),
            CodingKeys.time.rawValue: .string(time),
            CodingKeys.action.rawValue: .string(action),
            CodingKeys.caller.rawValue: .string(caller),
            CodingKeys.generationBefore.rawValue: .int(Int64(clamping: generationBefore)),
            CodingKeys.generationAfter.rawValue: .int(Int64(clamping: generationAfter)),
            CodingKeys.request.rawValue: request,
            CodingKeys.diff.rawValue: diff,
        ]
    }
}

extension IdempotencyRecord {
    var jsonValue: JSONValue {
        [
            CodingKeys.key.rawValue: .string(key),
            CodingKeys.method.rawValue: .string(method),
            CodingKeys.path.rawValue: .string(path),
            CodingKeys.requestHash.rawValue: .string(requestHash),
            CodingKeys.status.rawValue: .int(Int64(clamping: status)),
            CodingKeys.body.rawValue: .string(body),
            CodingKeys.time.rawValue: .string(time),
        ]
    }
}

extension PersistedWeight {
    var jsonValue: JSONValue { ["group": .string(group), "weight": .int(Int64(clamping: weight))] }
}

extension PersistedDrain {
    var jsonValue: JSONValue { ["group": .string(group), "target": .string(target), "until": .int(Int64(clamping: until))] }
}
