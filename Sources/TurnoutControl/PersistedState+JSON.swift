/// The state file's and the journal's contents as `JSONValue`s, so that a journal record (on
/// every acknowledged change) and a snapshot are written by `JSONValue.jsonBytes` rather than
/// by `JSONEncoder`. The keys are the types' `CodingKeys`; `JSONDecoder` reads them back at
/// recovery, and the tests check the bytes are those `JSONEncoder` wrote.
extension PersistedState {
    var jsonValue: JSONValue {
        [
            CodingKeys.generation.rawValue: .int(Int64(clamping: generation)),
            CodingKeys.listeners.rawValue: .object(listeners.mapValues { .array($0.map(\.jsonValue)) }),
            CodingKeys.targetGroups.rawValue: .object(targetGroups.mapValues { .array($0.map(JSONValue.string)) }),
            CodingKeys.draining.rawValue: .array(draining.map(\.jsonValue)),
            CodingKeys.audit.rawValue: .array(audit.map(\.jsonValue)),
            CodingKeys.idempotency.rawValue: .array(idempotency.map(\.jsonValue)),
            CodingKeys.deployment.rawValue: deployment ?? .null,  // explicit null, as `encode(to:)` writes it
            CodingKeys.journalSequence.rawValue: .int(Int64(clamping: journalSequence)),
        ]
    }
}

extension JournalRecord {
    var jsonValue: JSONValue {
        var members: [String: JSONValue] = [
            CodingKeys.sequence.rawValue: .int(Int64(clamping: sequence)),
            CodingKeys.generation.rawValue: .int(Int64(clamping: generation)),
            CodingKeys.listeners.rawValue: .object(listeners.mapValues { .array($0.map(\.jsonValue)) }),
            CodingKeys.targetGroups.rawValue: .object(targetGroups.mapValues { .array($0.map(JSONValue.string)) }),
            CodingKeys.draining.rawValue: .array(draining.map(\.jsonValue)),
        ]
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
