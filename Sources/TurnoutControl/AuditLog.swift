/// The audit trail: the most recent `capacity` entries, oldest first.
///
/// A value type, so a mutation can append to a copy and keep it only once the state file
/// holding it has been written.
public struct AuditLog: Equatable, Sendable {
    /// How many entries the admin API and the state file keep.
    public static let capacity = 1000

    /// The id the next entry gets.
    public private(set) var nextID: UInt64
    private var stored: [AuditEntry]

    /// Restores a log from persisted `entries` (oldest first); ids continue after the highest.
    public init(entries: [AuditEntry] = []) {
        stored = Array(entries.suffix(Self.capacity))
        nextID = (entries.map(\.id).max() ?? 0) + 1
    }

    /// Records a mutation and returns the entry, whose id is one more than the previous.
    @discardableResult
    public mutating func append(
        action: String, caller: String, generationBefore: UInt64, generationAfter: UInt64,
        request: JSONValue, diff: JSONValue, millisecondsSinceEpoch: UInt64 = AuditTimestamp.nowMilliseconds()
    ) -> AuditEntry {
        let entry = AuditEntry(
            id: nextID, time: AuditTimestamp.iso8601(milliseconds: millisecondsSinceEpoch), action: action,
            caller: caller, generationBefore: generationBefore, generationAfter: generationAfter,
            request: request, diff: diff)
        nextID += 1
        stored.append(entry)
        if stored.count > Self.capacity { stored.removeFirst(stored.count - Self.capacity) }
        return entry
    }

    /// The newest `limit` entries (all when `nil`), newest last.
    public func entries(limit: Int? = nil) -> [AuditEntry] {
        guard let limit else { return stored }
        return Array(stored.suffix(max(0, limit)))
    }

    public var count: Int { stored.count }
}
