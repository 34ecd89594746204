import Foundation

/// `GET /v1/events`: every event in order to every client that streams them (Server-Sent Events), on
/// the control thread, never blocking it.
///
/// Each client has a cursor into the `EventLog` (the next id to send) rather than a queue of its own:
/// an event is written to a client only while less than `lowWater` bytes wait unsent on its connection,
/// and the rest follow when its socket drains. So a client's buffer stays under `lowWater` plus one
/// event (and the kernel's under `AdminServer.streamSendBuffer`, doubled), and a client that falls so
/// far behind that its next event left the log is dropped (and
/// counted); when it reconnects, its `Last-Event-ID` is gone from the log and it is told to read the
/// status again (a `reset` event). At most `maxClients` stream at once; a comment line every
/// `heartbeatInterval` keeps idle connections (and the proxies between) from timing out.
final class EventStream {
    /// Clients streaming at once at most.
    static let maxClients = 32
    /// Unsent bytes on a client's connection above which no further event is written to it for now.
    static let lowWater = 64 * 1024
    static let heartbeatInterval: UInt64 = 15_000_000_000
    /// What a client waits before reconnecting (the stream's `retry:` field).
    static let reconnectMilliseconds = 1000
    static let heartbeat = Array(": heartbeat\n\n".utf8)

    private final class Client {
        let sink: AdminStreamSink
        /// The id of the next event to send it.
        var next: UInt64

        init(sink: AdminStreamSink, next: UInt64) {
            self.sink = sink
            self.next = next
        }
    }

    private let clock: any ControlClock
    private(set) var log: EventLog
    private var clients: [ObjectIdentifier: Client] = [:]
    private var heartbeatTimer: TimerID?
    /// Clients dropped because they fell behind the log.
    private(set) var droppedSlowClients: UInt64 = 0
    /// Clients refused because `maxClients` were streaming.
    private(set) var refusedClients: UInt64 = 0

    /// A stream whose first event gets `firstID`, keeping `capacity` events for clients that come back.
    init(clock: any ControlClock, firstID: UInt64, capacity: Int = EventLog.defaultCapacity) {
        self.clock = clock
        log = EventLog(capacity: capacity, firstID: firstID)
    }

    /// Clients streaming now.
    var clientCount: Int { clients.count }

    /// Adds an event to the log and writes it to every client that keeps up.
    @discardableResult
    func publish(_ kind: EventKind, generation: UInt64, _ members: [String: JSONValue]) -> ControlEvent {
        let event = log.append(kind, generation: generation, milliseconds: clock.wallMilliseconds, members)
        for client in Array(clients.values) { pump(client) }
        return event
    }

    /// The answer to `GET /v1/events` with `lastEventID` (the `Last-Event-ID` header, nil without one):
    /// a stream that replays what the client missed, or tells it to read the status again when it cannot,
    /// then goes on live. 503 when `maxClients` stream already.
    func open(lastEventID: String?, generation: UInt64) throws(AdminFailure) -> AdminResponse {
        guard clients.count < Self.maxClients else {
            refusedClients += 1
            throw .tooManyStreams("\(Self.maxClients) clients are streaming events already; try again later")
        }
        var first = Array("retry: \(Self.reconnectMilliseconds)\n\n".utf8)
        var next = log.nextID
        var resumedAfter: UInt64?
        if let text = lastEventID?.trimmingCharacters(in: .whitespaces), !text.isEmpty {
            guard let last = UInt64(text), let resumed = log.resumption(after: last) else {
                first += greeting(.reset, generation: generation, [
                    "last_event_id": .string(text),
                    "reason": "the events after Last-Event-ID are no longer kept (or it is not an id of this process): read GET /v1/status again",
                ])
                return stream(first, next: next)
            }
            next = resumed
            resumedAfter = last
        }
        first += greeting(.open, generation: generation, [
            "resumed_after": resumedAfter.map { .int(Int64($0)) } ?? .null,
        ])
        return stream(first, next: next)
    }

    /// The stream's head and first bytes, then the events from `next` on.
    private func stream(_ first: [UInt8], next: UInt64) -> AdminResponse {
        let headers = [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache"), ("X-Accel-Buffering", "no")]
        return AdminResponse(status: 200, headers: headers, body: first, stream: AdminStreamStart { [weak self] sink in
            self?.attach(sink, next: next)
        })
    }

    /// Closes every client's stream (before the admin server stops).
    func closeAll() {
        for client in Array(clients.values) { client.sink.close() }
    }

    private func attach(_ sink: AdminStreamSink, next: UInt64) {
        let client = Client(sink: sink, next: next)
        let key = ObjectIdentifier(client)
        clients[key] = client
        sink.onClose = { [weak self] in self?.detach(key) }
        sink.onWritable = { [weak self, weak client] in
            guard let self, let client else { return }
            pump(client)
        }
        pump(client)
        scheduleHeartbeat()
    }

    private func detach(_ key: ObjectIdentifier) {
        clients[key] = nil
        if clients.isEmpty, let timer = heartbeatTimer {
            clock.cancel(timer)
            heartbeatTimer = nil
        }
    }

    /// Writes the client's next events while little waits unsent; drops it when its next event is gone.
    private func pump(_ client: Client) {
        guard !client.sink.isClosed else { return }
        if let oldest = log.oldestID, client.next < oldest {
            droppedSlowClients += 1
            client.sink.close()
            return
        }
        while client.next <= log.newestID && client.sink.unsentBytes < Self.lowWater && !client.sink.isClosed {
            guard let event = log.event(client.next) else { break }
            client.sink.send(event.frame)
            client.next += 1
        }
    }

    private func scheduleHeartbeat() {
        guard heartbeatTimer == nil, !clients.isEmpty else { return }
        heartbeatTimer = clock.schedule(after: Self.heartbeatInterval) { [weak self] in
            guard let self else { return }
            heartbeatTimer = nil
            // A client with bytes still unsent is behind already: a heartbeat would only add to them.
            for client in clients.values where client.sink.unsentBytes == 0 { client.sink.send(Self.heartbeat) }
            scheduleHeartbeat()
        }
    }

    /// The first event a client gets, for it alone: `open` (no id, so its `Last-Event-ID` stays where it
    /// was) or `reset` (with the newest event's id, so that once it has read the status it resumes from
    /// here). Both say the generation in force and the newest and oldest ids kept.
    private func greeting(_ kind: EventKind, generation: UInt64, _ extra: [String: JSONValue]) -> [UInt8] {
        var members = extra
        members["kind"] = .string(kind.rawValue)
        members["generation"] = .int(Int64(generation))
        members["time"] = .string(AuditTimestamp.iso8601(milliseconds: clock.wallMilliseconds))
        members["newest_id"] = .int(Int64(log.newestID))
        members["oldest_id"] = log.oldestID.map { .int(Int64($0)) } ?? .null
        guard kind == .reset else { return ControlEvent.frame(id: nil, kind: kind, data: .object(members)) }
        members["id"] = .int(Int64(log.newestID))
        return ControlEvent.frame(id: log.newestID, kind: kind, data: .object(members))
    }
}
