/// The state file's and the journal's contents as `JSONValue`s, both ways: a journal record (on
/// every acknowledged change) and a snapshot are written by `JSONValue.jsonBytes` rather than by
/// `JSONEncoder` (the tests check the bytes are those `JSONEncoder` wrote), and read back at
/// recovery by `JSONReader` and the `init(json:)`s below. The keys are the types' `CodingKeys`.
/// Reading ignores keys it does not know, as `JSONDecoder` did.
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
        guard case .object(let values)? = members[key] else { throw mismatch(key, "an object") }
        var elements: [String: Element] = [:]
        for (name, value) in values { elements[name] = try element(value, "\(place(key)).\(name)") }
        return elements
    }
}

extension PersistedState {
    init(json: JSONValue) throws(JSONShapeError) {
        let members = try JSONMembers(json)
        self.init(
            generation: try members.unsigned(CodingKeys.generation.rawValue),
            listeners: try members.dictionary(CodingKeys.listeners.rawValue, JSONValue.weights),
            targetGroups: try members.dictionary(CodingKeys.targetGroups.rawValue, JSONValue.strings),
            draining: try members.array(CodingKeys.draining.rawValue, PersistedDrain.init(json:path:)),
            audit: try members.array(CodingKeys.audit.rawValue, AuditEntry.init(json:path:)),
            idempotency: try members.array(CodingKeys.idempotency.rawValue, IdempotencyRecord.init(json:path:)),
            deployment: members.optional(CodingKeys.deployment.rawValue))
        if members.optional(CodingKeys.journalSequence.rawValue) != nil {
            journalSequence = try members.unsigned(CodingKeys.journalSequence.rawValue)
        }
    }
}

extension JournalRecord {
    init(json: JSONValue) throws(JSONShapeError) {
        let members = try JSONMembers(json)
        let audit = try members.optional(CodingKeys.audit.rawValue).map { (value) throws(JSONShapeError) in
            try AuditEntry(json: value, path: CodingKeys.audit.rawValue)
        }
        let idempotency = try members.optional(CodingKeys.idempotency.rawValue).map { (value) throws(JSONShapeError) in
            try IdempotencyRecord(json: value, path: CodingKeys.idempotency.rawValue)
        }
        self.init(
            sequence: try members.unsigned(CodingKeys.sequence.rawValue),
            generation: try members.unsigned(CodingKeys.generation.rawValue),
            listeners: try members.dictionary(CodingKeys.listeners.rawValue, JSONValue.weights),
            targetGroups: try members.dictionary(CodingKeys.targetGroups.rawValue, JSONValue.strings),
            draining: try members.array(CodingKeys.draining.rawValue, PersistedDrain.init(json:path:)),
            audit: audit, idempotency: idempotency)
    }
}

extension AuditEntry {
    init(json: JSONValue, path: String) throws(JSONShapeError) {
        let members = try JSONMembers(json, path: path)
        self.init(
            id: try members.unsigned(CodingKeys.id.rawValue),
            time: try members.string(CodingKeys.time.rawValue),
            action: try members.string(CodingKeys.action.rawValue),
            caller: try members.string(CodingKeys.caller.rawValue),
            generationBefore: try members.unsigned(CodingKeys.generationBefore.rawValue),
            generationAfter: try members.unsigned(CodingKeys.generationAfter.rawValue),
            request: try members.value(CodingKeys.request.rawValue),
            diff: try members.value(CodingKeys.diff.rawValue))
    }
}

extension IdempotencyRecord {
    init(json: JSONValue, path: String) throws(JSONShapeError) {
        let members = try JSONMembers(json, path: path)
        self.init(
            key: try members.string(CodingKeys.key.rawValue),
            method: try members.string(CodingKeys.method.rawValue),
            path: try members.string(CodingKeys.path.rawValue),
            requestHash: try members.string(CodingKeys.requestHash.rawValue),
            status: try members.integer(CodingKeys.status.rawValue),
            body: try members.string(CodingKeys.body.rawValue),
            time: try members.string(CodingKeys.time.rawValue))
    }
}

extension PersistedDrain {
    init(json: JSONValue, path: String) throws(JSONShapeError) {
        let members = try JSONMembers(json, path: path)
        self.init(group: try members.string("group"), target: try members.string("target"), until: try members.unsigned("until"))
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
