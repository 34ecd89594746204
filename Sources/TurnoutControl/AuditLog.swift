import Glibc

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

/// One applied mutation, as `GET /v1/audit` shows it and the state file keeps it.
public struct AuditEntry: Equatable, Sendable {
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

    /// The JSON member names.
    enum Key: String {
        case id, time, action, caller, request, diff
        case generationBefore = "generation_before"
        case generationAfter = "generation_after"
    }
}

/// Wall-clock time for audit entries and idempotency records: milliseconds since the Unix
/// epoch, shown as ISO 8601 in UTC with milliseconds ("2026-11-26T14:03:12.123Z").
public enum AuditTimestamp {
    /// The current wall-clock time in milliseconds since the Unix epoch.
    public static func nowMilliseconds() -> UInt64 {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        return UInt64(spec.tv_sec) * 1000 + UInt64(spec.tv_nsec / 1_000_000)
    }

    /// `milliseconds` since the epoch as ISO 8601, UTC, with milliseconds.
    public static func iso8601(milliseconds: UInt64) -> String {
        var seconds = time_t(milliseconds / 1000)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return padded(Int(parts.tm_year) + 1900, 4) + "-" + padded(Int(parts.tm_mon) + 1, 2) + "-"
            + padded(Int(parts.tm_mday), 2) + "T" + padded(Int(parts.tm_hour), 2) + ":"
            + padded(Int(parts.tm_min), 2) + ":" + padded(Int(parts.tm_sec), 2) + "."
            + padded(Int(milliseconds % 1000), 3) + "Z"
    }

    private static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }
}

extension AuditLog {
    /// The newest entry whose diff changed `name` in `section` (`listeners` or `target_groups`), actions in
    /// `excluding` aside: when the value in force was set, for the status. Nil when the log no longer holds it.
    public func lastChange(of name: String, in section: String, excluding: Set<String> = []) -> AuditEntry? {
        stored.last { $0.diff[section]?[name] != nil && !excluding.contains($0.action) }
    }
}
