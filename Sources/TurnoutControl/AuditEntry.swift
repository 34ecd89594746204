/// One applied mutation, as `GET /v1/audit` shows it and the state file keeps it.
public struct AuditEntry: Encodable, Equatable, Sendable {
    /// Increases by one per entry, across evictions and restarts.
    public var id: UInt64
    /// ISO 8601, UTC, with milliseconds.
    public var time: String
    /// What was done: "routing", "switch", "forward", "targets.replace", ...
    public var action: String
    /// Who did it (the admin client's address).
    public var caller: String
    public var generationBefore: UInt64
    public var generationAfter: UInt64
    /// The request body as received.
    public var request: JSONValue
    /// Before and after of what changed.
    public var diff: JSONValue

    public init(
        id: UInt64, time: String, action: String, caller: String,
        generationBefore: UInt64, generationAfter: UInt64, request: JSONValue, diff: JSONValue
    ) {
        self.id = id
        self.time = time
        self.action = action
        self.caller = caller
        self.generationBefore = generationBefore
        self.generationAfter = generationAfter
        self.request = request
        self.diff = diff
    }

    enum CodingKeys: String, CodingKey {
        case id, time, action, caller, request, diff
        case generationBefore = "generation_before"
        case generationAfter = "generation_after"
    }
}
