/// The audit trail: the most recent `capacity` entries, oldest first.
///
/// A change first gets its entry from `entry(...)`, which leaves the log as it is; the
/// entry is `record`ed once the journal holding it has been written. No copy of the
/// log is made per change (with 1,000 entries that copy was most of a switch's CPU time).
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

    /// The entry a mutation would get (id one more than the previous); the log is unchanged.
    public func entry(
        action: String, caller: String, generationBefore: UInt64, generationAfter: UInt64,
        request: JSONValue, diff: JSONValue, millisecondsSinceEpoch: UInt64 = AuditTimestamp.nowMilliseconds()
    ) -> AuditEntry {
        AuditEntry(
            id: nextID, time: AuditTimestamp.iso8601(milliseconds: millisecondsSinceEpoch), action: action,
            caller: caller, generationBefore: generationBefore, generationAfter: generationAfter,
            request: request, diff: diff)
    }

    /// Keeps `entry`, made by `entry(...)` on this log, dropping the oldest beyond `capacity`.
    public mutating func record(_ entry: AuditEntry) {
        precondition(entry.id == nextID, "audit entries are recorded in the order they were made")
        nextID += 1
        stored.append(entry)
        if stored.count > Self.capacity { stored.removeFirst(stored.count - Self.capacity) }
    }

    /// Makes and records an entry in one step.
    @discardableResult
    public mutating func append(
        action: String, caller: String, generationBefore: UInt64, generationAfter: UInt64,
        request: JSONValue, diff: JSONValue, millisecondsSinceEpoch: UInt64 = AuditTimestamp.nowMilliseconds()
    ) -> AuditEntry {
        let made = entry(action: action, caller: caller, generationBefore: generationBefore,
                         generationAfter: generationAfter, request: request, diff: diff,
                         millisecondsSinceEpoch: millisecondsSinceEpoch)
        record(made)
        return made
    }

    /// The newest `limit` entries (all when `nil`), newest last.
    public func entries(limit: Int? = nil) -> [AuditEntry] {
        guard let limit else { return stored }
        return Array(stored.suffix(max(0, limit)))
    }

    public var count: Int { stored.count }
}
