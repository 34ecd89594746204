/// What an event is about: its Server-Sent Events `event:` name and its `kind` member. Open for new
/// kinds: the deployment engine names its own (`deployment.phase`, ...).
public struct EventKind: RawRepresentable, Hashable, Sendable, ExpressibleByStringLiteral {
    public let rawValue: String

    public init(rawValue: String) { self.rawValue = rawValue }
    public init(stringLiteral value: String) { rawValue = value }

    /// An acknowledged routing change: generations before and after, action, caller, diff.
    public static let routing: EventKind = "routing"
    /// A target's health state changed.
    public static let health: EventKind = "health"
    /// A target joined a group (by the API or a reload).
    public static let targetRegistered: EventKind = "target.registered"
    /// A target stopped getting new requests and drains: deregistered, or its group lost all weight.
    public static let targetDrainStarted: EventKind = "target.drain_started"
    /// A drain ended: what was still open was closed.
    public static let targetDrainEnded: EventKind = "target.drain_ended"
    /// A switch's report is complete (its old group drained, or the watch ended).
    public static let reportSettled: EventKind = "report.settled"
    /// The first event of a stream, to its client alone: the generation in force and the ids kept.
    public static let open: EventKind = "open"
    /// The first event instead of `open` when the client's `Last-Event-ID` is no longer (or never was) in
    /// the buffer: it must read the status again; the stream goes on from the newest event.
    public static let reset: EventKind = "reset"
}

/// One event as the stream sends it.
public struct ControlEvent: Sendable, Equatable {
    /// Increases by one per event. A process's first id is its start time in microseconds since the epoch,
    /// so ids go on increasing across restarts (unless the wall clock steps back), and a client's
    /// `Last-Event-ID` from an earlier process is never mistaken for one of this process's events.
    public let id: UInt64
    public let kind: EventKind
    /// The routing generation the event belongs to (the one in force when it happened; a routing
    /// change's is the one it made).
    public let generation: UInt64
    /// The event's JSON: `id`, `kind`, `generation`, `time` (ISO 8601) and the kind's own members.
    public let data: JSONValue
    /// `id: …\nevent: …\ndata: …\n\n`, made once for every client.
    public let frame: [UInt8]

    init(id: UInt64, kind: EventKind, generation: UInt64, milliseconds: UInt64, members: [String: JSONValue]) {
        self.id = id
        self.kind = kind
        self.generation = generation
        var object = members
        object["id"] = .int(Int64(id))
        object["kind"] = .string(kind.rawValue)
        object["generation"] = .int(Int64(generation))
        object["time"] = .string(AuditTimestamp.iso8601(milliseconds: milliseconds))
        data = .object(object)
        frame = Self.frame(id: id, kind: kind, data: data)
    }

    /// One Server-Sent Events frame (the JSON has no line break, so it is one `data:` line); without an
    /// id, the client's last event id stays as it was.
    static func frame(id: UInt64?, kind: EventKind, data: JSONValue) -> [UInt8] {
        var frame = Array((id.map { "id: \($0)\n" } ?? "").utf8)
        frame.append(contentsOf: "event: \(kind.rawValue)\ndata: ".utf8)
        data.write(into: &frame)
        frame.append(contentsOf: "\n\n".utf8)
        return frame
    }
}

/// The most recent events, in order, for clients that join or come back: a bounded buffer of
/// `capacity` events, the oldest dropped first.
public struct EventLog: Sendable {
    /// Events kept for clients that reconnect.
    public static let defaultCapacity = 1024

    public let capacity: Int
    private var stored: [ControlEvent] = []
    /// Index in `stored` of the oldest event (the buffer wraps once full).
    private var start = 0
    /// The id the next event gets.
    public private(set) var nextID: UInt64

    /// An empty log whose first event gets `firstID`.
    public init(capacity: Int = EventLog.defaultCapacity, firstID: UInt64) {
        precondition(capacity > 0 && firstID > 0, "an event log keeps at least one event, with ids from 1")
        self.capacity = capacity
        nextID = firstID
    }

    /// The id of the newest event (the one before the first when there is none).
    public var newestID: UInt64 { nextID - 1 }

    /// The id of the oldest event kept; nil when there is none.
    public var oldestID: UInt64? { stored.isEmpty ? nil : stored[start].id }

    public var count: Int { stored.count }

    /// Adds an event; returns it.
    @discardableResult
    public mutating func append(_ kind: EventKind, generation: UInt64, milliseconds: UInt64,
                                _ members: [String: JSONValue]) -> ControlEvent {
        let event = ControlEvent(id: nextID, kind: kind, generation: generation, milliseconds: milliseconds, members: members)
        nextID += 1
        if stored.count < capacity {
            stored.append(event)
        } else {
            stored[start] = event
            start = (start + 1) % capacity
        }
        return event
    }

    /// The event with `id`; nil when it is not (or no longer) kept.
    public func event(_ id: UInt64) -> ControlEvent? {
        guard let oldest = oldestID, id >= oldest, id <= newestID else { return nil }
        return stored[(start + Int(id - oldest)) % stored.count]
    }

    /// Where a client that saw every event up to `lastEventID` goes on from: the id of the next event to
    /// send it. Nil when it cannot: its last event is no longer kept, or is not an event of this log.
    public func resumption(after lastEventID: UInt64) -> UInt64? {
        guard lastEventID <= newestID else { return nil }
        if lastEventID == newestID { return nextID }
        guard let oldest = oldestID, lastEventID + 1 >= oldest else { return nil }
        return lastEventID + 1
    }
}
