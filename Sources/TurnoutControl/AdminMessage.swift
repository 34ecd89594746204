import Foundation

/// One admin API request, decoded into plain values (control plane: clarity over speed).
public struct AdminRequest: Sendable {
    public var method: String
    /// The path without the query, percent-decoded per segment by the router.
    public var path: String
    public var query: [String: String]
    /// Header names lower-cased.
    public var headers: [String: String]
    public var body: [UInt8]
    /// The peer's address, recorded as the caller in the audit log.
    public var peer: String

    public init(method: String, path: String, query: [String: String] = [:], headers: [String: String] = [:],
                body: [UInt8] = [], peer: String = "local") {
        self.method = method
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.peer = peer
    }

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// One admin API response.
public struct AdminResponse: Sendable, Equatable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: [UInt8]
    /// A body written as things happen (Server-Sent Events), after `body`; nil for a plain response.
    public var stream: AdminStreamStart?

    public init(status: Int, headers: [(String, String)] = [], body: [UInt8] = [], stream: AdminStreamStart? = nil) {
        self.status = status
        self.headers = headers
        self.body = body
        self.stream = stream
    }

    public static func == (lhs: AdminResponse, rhs: AdminResponse) -> Bool {
        lhs.status == rhs.status && lhs.body == rhs.body && lhs.headers.map { "\($0.0):\($0.1)" } == rhs.headers.map { "\($0.0):\($0.1)" }
    }

    /// A JSON response (keys sorted, so output is stable and diffable).
    public static func json(_ status: Int, _ value: JSONValue, headers: [(String, String)] = []) -> AdminResponse {
        var body = value.jsonBytes
        body.append(0x0A)
        return AdminResponse(status: status, headers: [("Content-Type", "application/json")] + headers, body: body)
    }

    /// The API's error shape: `{"error": {"code", "message"}}`.
    public static func error(_ status: Int, _ code: AdminErrorCode, _ message: String, headers: [(String, String)] = []) -> AdminResponse {
        json(status, ["error": ["code": .string(code.rawValue), "message": .string(message)]], headers: headers)
    }

    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> AdminResponse {
        AdminResponse(status: status, headers: [("Content-Type", contentType)], body: Array(text.utf8))
    }
}

/// How a streamed response begins: the server writes the head (without Content-Length: the body ends
/// when the connection closes) and `body`, then hands the connection to `start` as an `AdminStreamSink`
/// that the producer writes to from then on. Made and used on the control thread only.
public struct AdminStreamStart: @unchecked Sendable {
    let start: (AdminStreamSink) -> Void

    public init(_ start: @escaping (AdminStreamSink) -> Void) { self.start = start }
}

/// The server's side of a streamed response, for its producer; on the control thread only. Writes never
/// block: what the socket does not take now waits in the connection's buffer, and the producer keeps that
/// buffer small by writing more only when `unsentBytes` is low (`onWritable` says when it drained).
public protocol AdminStreamSink: AnyObject {
    /// Bytes written and not yet taken by the client's socket.
    var unsentBytes: Int { get }
    /// Whether the connection is gone (closed by the client, by `close`, or by the server's shutdown).
    var isClosed: Bool { get }
    /// Called when everything written has gone out to the socket.
    var onWritable: (() -> Void)? { get set }
    /// Called once when the connection closes, whoever closed it.
    var onClose: (() -> Void)? { get set }
    /// Queues `bytes` and writes what the socket takes now; ignored once closed.
    func send(_ bytes: [UInt8])
    /// Closes the connection.
    func close()
}
