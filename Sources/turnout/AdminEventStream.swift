import TurnoutControl
import TurnoutHTTP1
import TurnoutPosix

/// `GET /v1/events` read as Server-Sent Events over the admin client's own connection: the one place the CLI
/// reads a response that does not end. Events are parsed as the HTML standard's EventSource does (`id`,
/// `event`, `data` fields, comment lines, a blank line ends an event); `retry` is ignored.
final class AdminEventStream {
    /// One event: its kind (`event` field, `message` when absent), its id, and its data as JSON.
    struct Event {
        let kind: String
        let id: String?
        let data: JSONValue
    }

    /// How opening the stream went.
    enum Opening {
        case streaming(AdminEventStream)
        /// The API answered with something else than the stream (401, 503 too many streams).
        case refused(AdminClientResponse)
    }

    private let connection: AdminClientConnection
    private let timeoutSeconds: Int
    private var buffer: [UInt8]
    private var kind = ""
    private var id: String?
    private var data: [String] = []
    /// The id of the newest event read, for `Last-Event-ID` when reconnecting.
    private(set) var lastEventID: String?

    private init(connection: consuming AdminClientConnection, timeoutSeconds: Int, buffer: [UInt8]) {
        self.connection = connection
        self.timeoutSeconds = timeoutSeconds
        self.buffer = buffer
    }

    /// Connects and reads the response head, within the client's timeout; `lastEventID` resumes after it.
    static func open(_ client: AdminClient, lastEventID: String? = nil) throws(AdminTransportError) -> Opening {
        var request = AdminClientRequest(.get, "/v1/events")
        if let lastEventID { request.headers.append(("Last-Event-ID", lastEventID)) }
        let deadline = MonotonicClock.now() + UInt64(client.timeoutSeconds) * 1_000_000_000
        let connection = try AdminClientConnection(to: client.endpoint, deadline: deadline)
        try connection.send(request.serialized(endpoint: client.endpoint, token: client.token),
                            timeoutSeconds: client.timeoutSeconds)
        let reader = AdminClientResponseReader(requestMethod: .get)
        var buffer: [UInt8] = []
        var atEnd = false
        while true {
            atEnd = try connection.receive(into: &buffer, timeoutSeconds: client.timeoutSeconds) == nil
            guard let head = try reader.head(of: buffer, atEnd: atEnd) else { continue }
            guard head.head.status == 200 else { break }
            let stream = AdminEventStream(connection: connection, timeoutSeconds: client.timeoutSeconds, buffer: head.rest)
            stream.lastEventID = lastEventID
            return .streaming(stream)
        }
        while true {
            if case .complete(let response) = try reader.examine(buffer, atEnd: atEnd) { return .refused(response) }
            atEnd = try connection.receive(into: &buffer, timeoutSeconds: client.timeoutSeconds) == nil
        }
    }

    /// The next event, waiting until `deadline` (monotonic nanoseconds); nil when none came by then.
    /// Throws `connectionLost` when the server closed the stream.
    func next(until deadline: UInt64) throws(AdminTransportError) -> Event? {
        while true {
            while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                var line = buffer[..<newline]
                if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
                buffer.removeSubrange(...newline)
                if let event = take(String(decoding: line, as: UTF8.self)) { return event }
            }
            let received: Int?
            do {
                received = try connection.receive(into: &buffer, timeoutSeconds: timeoutSeconds, until: deadline)
            } catch .timedOut {
                return nil
            }
            if received == nil { throw .connectionLost("the event stream ended") }
        }
    }

    /// Takes one line; returns the event a blank line completes.
    private func take(_ line: String) -> Event? {
        guard !line.isEmpty else {
            defer { (kind, id, data) = ("", nil, []) }
            guard !data.isEmpty else { return nil }
            if let id { lastEventID = id }
            let text = data.joined(separator: "\n")
            let json = (try? JSONReader.parse(Array(text.utf8))) ?? .string(text)
            return Event(kind: kind.isEmpty ? "message" : kind, id: id, data: json)
        }
        guard !line.hasPrefix(":") else { return nil }
        let name: Substring
        var value: Substring
        if let colon = line.firstIndex(of: ":") {
            name = line[..<colon]
            value = line[line.index(after: colon)...]
            if value.hasPrefix(" ") { value = value.dropFirst() }
        } else {
            name = line[...]
            value = ""
        }
        switch name {
        case "event": kind = String(value)
        case "data": data.append(String(value))
        case "id": id = String(value)
        default: break
        }
        return nil
    }
}
