/// One request and its response on a connection: reads the body (sending `100 Continue` when asked) and writes
/// the response with the headers every answer of the demo backend carries.
final class DemoExchange {
    /// How the response body is delimited.
    enum ResponseFraming {
        case contentLength(Int)
        case chunked
        /// No body and no length header (1xx, 204, 304).
        case noBody
    }

    let stream: ConnectionStream
    let head: RequestHead
    let bodyFraming: RequestBodyFraming
    let serverName: String
    /// Whether the connection stays open after this exchange; a handler may clear it.
    var keepAlive: Bool
    private var continueSent = false
    private var bodyConsumed = false
    private var responseIsChunked = false

    init(stream: ConnectionStream, head: RequestHead, bodyFraming: RequestBodyFraming, serverName: String) {
        self.stream = stream
        self.head = head
        self.bodyFraming = bodyFraming
        self.serverName = serverName
        self.keepAlive = head.wantsKeepAlive
    }

    /// Whether body bytes must be left out of the response (HEAD).
    var suppressesBody: Bool { head.method == "HEAD" }

    /// Reads the request body streaming and returns its length (once; later calls return 0).
    @discardableResult
    func readBody(_ handle: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        guard !bodyConsumed else { return 0 }
        bodyConsumed = true
        guard bodyFraming.hasBody else { return 0 }
        if head.minorVersion == 1, head.hasToken("100-continue", in: "Expect"), !continueSent {
            continueSent = true
            try stream.write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8))
        }
        return try RequestBodyReader(stream: stream, framing: bodyFraming).read(handle)
    }

    /// Reads and discards whatever of the request body is left, so the next request starts at a clean boundary.
    func drainBody() throws {
        try readBody { _ in }
    }

    /// Serializes a response head with the common headers.
    func responseHead(status: Int, headers: [(String, String)], framing: ResponseFraming) -> [UInt8] {
        var text = "HTTP/1.1 \(status) \(HTTPStatusReason.phrase(for: status))\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        text += "X-Served-By: \(serverName)\r\n"
        text += "X-Request-Id-Seen: \(head.value(of: "X-Request-Id") ?? "-")\r\n"
        switch framing {
        case .contentLength(let length): text += "Content-Length: \(length)\r\n"
        case .chunked: text += "Transfer-Encoding: chunked\r\n"
        case .noBody: break
        }
        if status != 101 {
            if !keepAlive {
                text += "Connection: close\r\n"
            } else if head.minorVersion == 0 {
                text += "Connection: keep-alive\r\n"
            }
        }
        text += "\r\n"
        return Array(text.utf8)
    }

    /// Sends a complete response with a Content-Length body (the body is left out for HEAD).
    func respond(status: Int, contentType: String = "text/plain; charset=utf-8", headers: [(String, String)] = [],
                 body: [UInt8]) throws {
        let framing: ResponseFraming = (status == 204 || status == 304) ? .noBody : .contentLength(body.count)
        var all: [UInt8]
        if case .noBody = framing {
            all = responseHead(status: status, headers: headers, framing: framing)
        } else {
            all = responseHead(status: status, headers: [("Content-Type", contentType)] + headers, framing: framing)
            if !suppressesBody { all += body }
        }
        try stream.write(all)
    }

    func respond(status: Int, headers: [(String, String)] = [], text: String) throws {
        try respond(status: status, headers: headers, body: Array(text.utf8))
    }

    /// Sends only the head; body bytes follow with `writeBody` / `writeChunk` / `finishChunked`.
    func writeHead(status: Int, headers: [(String, String)], framing: ResponseFraming) throws {
        if case .chunked = framing { responseIsChunked = true }
        try stream.write(responseHead(status: status, headers: headers, framing: framing))
    }

    /// Writes raw body bytes (nothing for HEAD).
    func writeBody(_ bytes: UnsafeRawBufferPointer) throws {
        guard !suppressesBody else { return }
        try stream.write(bytes)
    }

    /// Writes one chunk of a chunked body (nothing for HEAD).
    func writeChunk(_ bytes: UnsafeRawBufferPointer) throws {
        guard !suppressesBody, bytes.count > 0 else { return }
        var framed = Array((String(bytes.count, radix: 16) + "\r\n").utf8)
        framed.append(contentsOf: bytes)
        framed.append(contentsOf: [UInt8(ascii: "\r"), UInt8(ascii: "\n")])
        try stream.write(framed)
    }

    /// Writes the last chunk of a chunked body (nothing for HEAD).
    func finishChunked() throws {
        guard !suppressesBody, responseIsChunked else { return }
        try stream.write(Array("0\r\n\r\n".utf8))
    }
}
