/// The state file's and the journal's contents as `JSONValue`s, both ways, and the only way each
/// persisted type is encoded and decoded: a journal record (on every acknowledged change) and a
/// snapshot are written by `JSONValue.jsonBytes` (byte for byte what `JSONEncoder` wrote before
/// it) and read back at recovery by `JSONReader` and the `init(json:)`s below. The member names
/// are the types' `Key`s. Reading ignores members it does not know, as `JSONDecoder` did.
extension PersistedState {
    var jsonValue: JSONValue {
        var members = routingMembers(generation: generation, listeners: listeners, ruleForwards: ruleForwards,
                                     targetGroups: targetGroups, resolvedNames: resolvedNames, draining: draining)
        members[Key.audit.rawValue] = .array(audit.map(\.jsonValue))
        members[Key.idempotency.rawValue] = .array(idempotency.map(\.jsonValue))
        members[Key.deployment.rawValue] = deployment ?? .null  // explicit null, as `encode(to:)` writes it
        members[Key.journalSequence.rawValue] = .int(Int64(clamping: journalSequence))
        return .object(members)
    }
}

/// The routing members a snapshot and a journal record share (same keys in both).
private func routingMembers(generation: UInt64, listeners: [String: [PersistedWeight]],
                            ruleForwards: [String: [String: [PersistedWeight]]], targetGroups: [String: [String]],
                            resolvedNames: [String: [String: [String]]], draining: [PersistedDrain]) -> [String: JSONValue] {
    var members: [String: JSONValue] = [
        "generation": .int(Int64(clamping: generation)),
        "listeners": .object(listeners.mapValues { .array($0.map(\.jsonValue)) }),
        "target_groups": .object(targetGroups.mapValues { .array($0.map(JSONValue.string)) }),
        "draining": .array(draining.map(\.jsonValue)),
    ]
    // Absent while no listener has a rule that forwards, so that files without rules read as they were written before.
    if !ruleForwards.isEmpty {
        members["rule_forwards"] = .object(ruleForwards.mapValues { rules in .object(rules.mapValues { .array($0.map(\.jsonValue)) }) })
    }
    // Absent while no name is registered, so that files without names read as they were written before.
    if !resolvedNames.isEmpty {
        members["resolved_names"] = .object(resolvedNames.mapValues { names in
            .object(names.mapValues { .array($0.map(JSONValue.string)) })
        })
    }
    return members
}

extension JournalRecord {
    var jsonValue: JSONValue {
        var members = routingMembers(generation: generation, listeners: listeners, ruleForwards: ruleForwards,
                                     targetGroups: targetGroups, resolvedNames: resolvedNames, draining: draining)
        members[Key.sequence.rawValue] = .int(Int64(clamping: sequence))
        // Absent rather than null, as the synthesized encoding leaves them.
        if let audit { members[Key.audit.rawValue] = audit.jsonValue }
        if let idempotency { members[Key.idempotency.rawValue] = idempotency.jsonValue }
        if let deployment { members[Key.deployment.rawValue] = deployment }
        return .object(members)
    }
}

extension AuditEntry {
    var jsonValue: JSONValue {
        [
            Key.id.rawValue: .int(Int64(clamping: id)),
            Key.time.rawValue: .string(time),
            Key.action.rawValue: .string(action),
            Key.caller.rawValue: .string(caller),
            Key.generationBefore.rawValue: .int(Int64(clamping: generationBefore)),
            Key.generationAfter.rawValue: .int(Int64(clamping: generationAfter)),
            Key.request.rawValue: request,
            Key.diff.rawValue: diff,
        ]
    }
}

extension IdempotencyRecord {
    var jsonValue: JSONValue {
        [
            Key.key.rawValue: .string(key),
            Key.method.rawValue: .string(method),
            Key.path.rawValue: .string(path),
            Key.requestHash.rawValue: .string(requestHash),
            Key.status.rawValue: .int(Int64(clamping: status)),
            Key.body.rawValue: .string(body),
            Key.time.rawValue: .string(time),
        ]
    }
}

extension PersistedWeight {
    var jsonValue: JSONValue { ["group": .string(group), "weight": .int(Int64(clamping: weight))] }
}

extension PersistedDrain {
    var jsonValue: JSONValue { ["group": .string(group), "target": .string(target), "until": .int(Int64(clamping: until))] }
}

// MARK: - Reading

/// Why a JSON document does not have the shape of a persisted type: the key path and what was expected.
struct JSONShapeError: Error, Equatable, CustomStringConvertible {
    let description: String
}

/// An object's members, read by key with the types the persisted records use; every failure names
/// the member's path (`audit[3].generation_before: expected an integer 0 or above`).
struct JSONMembers {
    private let members: [String: JSONValue]
    private let path: String

    init(_ value: JSONValue, path: String = "") throws(JSONShapeError) {
        guard case .object(let members) = value else {
            throw JSONShapeError(description: "\(path.isEmpty ? "the document" : path): expected an object")
        }
        self.members = members
        self.path = path
    }

    private func place(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private func mismatch(_ key: String, _ expected: String) -> JSONShapeError {
        JSONShapeError(description: "\(place(key)): \(members[key] == nil ? "missing" : "expected \(expected)")")
    }

    /// The member whatever its kind (`null` included); throws when it is absent.
    func value(_ key: String) throws(JSONShapeError) -> JSONValue {
        guard let value = members[key] else { throw mismatch(key, "a value") }
        return value
    }

    /// The member, or nil when it is absent or `null`.
    func optional(_ key: String) -> JSONValue? {
        guard let value = members[key], value != .null else { return nil }
        return value
    }

    func unsigned(_ key: String) throws(JSONShapeError) -> UInt64 {
        guard case .int(let value)? = members[key], value >= 0 else { throw mismatch(key, "an integer 0 or above") }
        return UInt64(value)
    }

    func integer(_ key: String) throws(JSONShapeError) -> Int {
        guard case .int(let value)? = members[key] else { throw mismatch(key, "an integer") }
        return Int(value)
    }

    func string(_ key: String) throws(JSONShapeError) -> String {
        guard case .string(let value)? = members[key] else { throw mismatch(key, "a string") }
        return value
    }

    /// An array member, each element read by `element` (given its value and its path).
    func array<Element>(_ key: String, _ element: (JSONValue, String) throws(JSONShapeError) -> Element)
        throws(JSONShapeError) -> [Element]
    {
        guard let value = members[key] else { throw mismatch(key, "an array") }
        return try Self.elements(of: value, path: place(key), element)
    }

    /// Each element of the array `value` read by `element` (given its value and its path).
    static func elements<Element>(of value: JSONValue, path: String,
                                  _ element: (JSONValue, String) throws(JSONShapeError) -> Element)
        throws(JSONShapeError) -> [Element]
    {
        guard case .array(let values) = value else { throw JSONShapeError(description: "\(path): expected an array") }
        var elements: [Element] = []
        elements.reserveCapacity(values.count)
        for (index, value) in values.enumerated() { elements.append(try element(value, "\(path)[\(index)]")) }
        return elements
    }

    /// An object member whose values are all read by `element` (given its value and its path).
    func dictionary<Element>(_ key: String, _ element: (JSONValue, String) throws(JSONShapeError) -> Element)
        throws(JSONShapeError) -> [String: Element]
    {
        guard let value = members[key], case .object = value else { throw mismatch(key, "an object") }
        return try Self.entries(of: value, path: place(key), element)
    }

    /// Each member of the object `value` read by `element` (given its value and its path).
    static func entries<Element>(of value: JSONValue, path: String,
                                 _ element: (JSONValue, String) throws(JSONShapeError) -> Element)
        throws(JSONShapeError) -> [String: Element]
    {
        guard case .object(let values) = value else { throw JSONShapeError(description: "\(path): expected an object") }
        var elements: [String: Element] = [:]
        for (name, value) in values { elements[name] = try element(value, "\(path).\(name)") }
        return elements
    }
}

extension PersistedState {
    init(json: JSONValue) throws(JSONShapeError) {
        let members = try JSONMembers(json)
        self.init(
            generation: try members.unsigned(Key.generation.rawValue),
            listeners: try members.dictionary(Key.listeners.rawValue, JSONValue.weights),
            targetGroups: try members.dictionary(Key.targetGroups.rawValue, JSONValue.strings),
            resolvedNames: try members.resolvedNames(Key.resolvedNames.rawValue),
            draining: try members.array(Key.draining.rawValue, PersistedDrain.init(json:path:)),
            audit: try members.array(Key.audit.rawValue, AuditEntry.init(json:path:)),
            idempotency: try members.array(Key.idempotency.rawValue, IdempotencyRecord.init(json:path:)),
            deployment: members.optional(Key.deployment.rawValue))
        ruleForwards = try members.ruleForwards(Key.ruleForwards.rawValue)
        if members.optional(Key.journalSequence.rawValue) != nil {
            journalSequence = try members.unsigned(Key.journalSequence.rawValue)
        }
    }
}

extension JournalRecord {
    init(json: JSONValue) throws(JSONShapeError) {
        let members = try JSONMembers(json)
        let audit = try members.optional(Key.audit.rawValue).map { (value) throws(JSONShapeError) in
            try AuditEntry(json: value, path: Key.audit.rawValue)
        }
        let idempotency = try members.optional(Key.idempotency.rawValue).map { (value) throws(JSONShapeError) in
            try IdempotencyRecord(json: value, path: Key.idempotency.rawValue)
        }
        self.init(
            sequence: try members.unsigned(Key.sequence.rawValue),
            generation: try members.unsigned(Key.generation.rawValue),
            listeners: try members.dictionary(Key.listeners.rawValue, JSONValue.weights),
            targetGroups: try members.dictionary(Key.targetGroups.rawValue, JSONValue.strings),
            resolvedNames: try members.resolvedNames(Key.resolvedNames.rawValue),
            draining: try members.array(Key.draining.rawValue, PersistedDrain.init(json:path:)),
            audit: audit, idempotency: idempotency, deployment: members.optional(Key.deployment.rawValue))
        ruleForwards = try members.ruleForwards(Key.ruleForwards.rawValue)
    }
}

extension AuditEntry {
    init(json: JSONValue, path: String) throws(JSONShapeError) {
        let members = try JSONMembers(json, path: path)
        self.init(
            id: try members.unsigned(Key.id.rawValue),
            time: try members.string(Key.time.rawValue),
            action: try members.string(Key.action.rawValue),
            caller: try members.string(Key.caller.rawValue),
            generationBefore: try members.unsigned(Key.generationBefore.rawValue),
            generationAfter: try members.unsigned(Key.generationAfter.rawValue),
            request: try members.value(Key.request.rawValue),
            diff: try members.value(Key.diff.rawValue))
    }
}

extension IdempotencyRecord {
    init(json: JSONValue, path: String) throws(JSONShapeError) {
        let members = try JSONMembers(json, path: path)
        self.init(
            key: try members.string(Key.key.rawValue),
            method: try members.string(Key.method.rawValue),
            path: try members.string(Key.path.rawValue),
            requestHash: try members.string(Key.requestHash.rawValue),
            status: try members.integer(Key.status.rawValue),
            body: try members.string(Key.body.rawValue),
            time: try members.string(Key.time.rawValue))
    }
}

extension PersistedDrain {
    init(json: JSONValue, path: String) throws(JSONShapeError) {
        let members = try JSONMembers(json, path: path)
        self.init(group: try members.string("group"), target: try members.string("target"), until: try members.unsigned("until"))
    }
}

extension JSONMembers {
    /// group → name → addresses; empty when the member is absent (a file written before names were kept).
    /// listener → rule → weights; absent (files written before rules) reads as none.
    fileprivate func ruleForwards(_ key: String) throws(JSONShapeError) -> [String: [String: [PersistedWeight]]] {
        guard optional(key) != nil else { return [:] }
        return try dictionary(key) { (value, path) throws(JSONShapeError) in
            try JSONMembers.entries(of: value, path: path, JSONValue.weights)
        }
    }

    fileprivate func resolvedNames(_ key: String) throws(JSONShapeError) -> [String: [String: [String]]] {
        guard optional(key) != nil else { return [:] }
        return try dictionary(key) { (value, path) throws(JSONShapeError) in
            try JSONMembers.entries(of: value, path: path, JSONValue.strings)
        }
    }
}

extension JSONValue {
    /// An array of strings, for target lists.
    fileprivate static func strings(_ value: JSONValue, path: String) throws(JSONShapeError) -> [String] {
        try JSONMembers.elements(of: value, path: path) { (item, path) throws(JSONShapeError) in
            guard case .string(let text) = item else { throw JSONShapeError(description: "\(path): expected a string") }
            return text
        }
    }

    /// A listener's forward: an array of `{"group", "weight"}`.
    fileprivate static func weights(_ value: JSONValue, path: String) throws(JSONShapeError) -> [PersistedWeight] {
        try JSONMembers.elements(of: value, path: path) { (item, path) throws(JSONShapeError) in
            let members = try JSONMembers(item, path: path)
            return PersistedWeight(group: try members.string("group"), weight: try members.integer("weight"))
        }
    }
}
