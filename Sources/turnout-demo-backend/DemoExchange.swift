import TurnoutHTTP1

/// One request and its response on a connection: reads the body (sending `100 Continue` when asked, decoding
/// chunked framing with TurnoutHTTP1's `ChunkedDecoder`) and writes the response with the headers every answer of
/// the demo backend carries.
final class DemoExchange {
    /// How the response body is delimited.
    enum ResponseFraming {
        case contentLength(Int)
        case chunked
        /// No body and no length header (1xx, 204, 304).
        case noBody
    }

    /// What the response says about the connection.
    enum ConnectionField {
        /// Nothing: HTTP/1.1 keeps the connection, and a 101 names the upgrade itself.
        case none
        case close
        /// An HTTP/1.0 client that asked to keep the connection must hear it confirmed.
        case keepAlive
    }

    let stream: ConnectionStream
    let request: DemoRequest
    let serverName: String
    private var bodyConsumed = false
    private var responseIsChunked = false

    init(stream: ConnectionStream, request: DemoRequest, serverName: String) {
        self.stream = stream
        self.request = request
        self.serverName = serverName
    }

    /// Whether body bytes must be left out of the response (HEAD).
    var suppressesBody: Bool { request.head.method == .head }

    /// Reads the request body streaming and returns its length (once; later calls return 0).
    @discardableResult
    func readBody(_ handle: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        guard !bodyConsumed else { return 0 }
        bodyConsumed = true
        switch request.head.framing {
        case .none, .untilClose, .contentLength(0):
            return 0
        case .contentLength(let length):
            try sendContinueIfExpected()
            try stream.receive(Int(length), handle)
            return Int(length)
        case .chunked:
            try sendContinueIfExpected()
            return try readChunkedBody(handle)
        }
    }

    /// Reads and discards whatever of the request body is left, so the next request starts at a clean boundary.
    func drainBody() throws {
        try readBody { _ in }
    }

    private func sendContinueIfExpected() throws {
        guard request.head.expectContinue else { return }
        stream.output.append(contentsOf: "HTTP/1.1 100 Continue\r\n\r\n".utf8)
        try stream.flush()
    }

    /// Hands the data of a chunked body to `handle`; extensions and trailer fields are read and dropped.
    private func readChunkedBody(_ handle: (UnsafeRawBufferPointer) throws -> Void) throws -> Int {
        var decoder = ChunkedDecoder()
        var total = 0
        while true {
            switch decoder.decode(stream.buffered) {
            case .needMore(let consumed):
                stream.consume(consumed)
                guard stream.fill() else { throw DemoExchangeError.connectionClosed }
            case .chunkStart(let consumed, _):
                stream.consume(consumed)
            case .data(let count):
                try handle(UnsafeRawBufferPointer(rebasing: stream.buffered[0..<count]))
                stream.consume(count)
                decoder.consumeData(count)
                total += count
            case .end(let consumed):
                stream.consume(consumed)
                return total
            case .failed(let error):
                throw DemoExchangeError.refused(error)
            }
        }
    }

    /// Sends a complete response with a Content-Length body (the body is left out for HEAD).
    func respond(status: Int, contentType: String = "text/plain; charset=utf-8", headers: [(String, String)] = [],
                 body: some Collection<UInt8>) throws {
        if status == 204 || status == 304 {
            queueHead(status: status, headers: headers, framing: .noBody)
        } else {
            queueHead(status: status, headers: [("Content-Type", contentType)] + headers,
                      framing: .contentLength(body.count))
            if !suppressesBody { stream.output.append(contentsOf: body) }
        }
        try stream.flush()
    }

    func respond(status: Int, headers: [(String, String)] = [], text: String) throws {
        try respond(status: status, headers: headers, body: text.utf8)
    }

    /// Sends only the head; body bytes follow with `writeBody` / `writeChunk` / `finishChunked`.
    func writeHead(status: Int, headers: [(String, String)], framing: ResponseFraming) throws {
        if case .chunked = framing { responseIsChunked = true }
        queueHead(status: status, headers: headers, framing: framing)
        try stream.flush()
    }

    /// Writes raw body bytes (nothing for HEAD).
    func writeBody(_ bytes: UnsafeRawBufferPointer) throws {
        guard !suppressesBody else { return }
        try stream.write(bytes)
    }

    /// Writes one chunk of a chunked body (nothing for HEAD).
    func writeChunk(_ bytes: UnsafeRawBufferPointer) throws {
        guard !suppressesBody, bytes.count > 0 else { return }
        stream.output.append(contentsOf: String(bytes.count, radix: 16).utf8)
        stream.output.append(contentsOf: "\r\n".utf8)
        stream.output.append(contentsOf: bytes)
        stream.output.append(contentsOf: "\r\n".utf8)
        try stream.flush()
    }

    /// Writes the last chunk of a chunked body (nothing for HEAD).
    func finishChunked() throws {
        guard !suppressesBody, responseIsChunked else { return }
        stream.output.append(contentsOf: "0\r\n\r\n".utf8)
        try stream.flush()
    }

    private func queueHead(status: Int, headers: [(String, String)], framing: ResponseFraming) {
        let connection: ConnectionField
        if status == 101 {
            connection = .none
        } else if !request.head.keepAlive {
            connection = .close
        } else {
            connection = request.head.version == .http10 ? .keepAlive : .none
        }
        Self.appendHead(status: status, headers: headers, framing: framing, serverName: serverName,
                        requestId: request.requestId, connection: connection, to: &stream.output)
    }

    /// Appends a response head: the status line, `headers`, X-Served-By and X-Request-Id-Seen (`-` when the
    /// request had none), the framing header, the Connection field and the empty line.
    static func appendHead(status: Int, headers: [(String, String)], framing: ResponseFraming, serverName: String,
                           requestId: ArraySlice<UInt8>?, connection: ConnectionField, to output: inout [UInt8]) {
        output.append(contentsOf: "HTTP/1.1 ".utf8)
        output.append(contentsOf: String(status).utf8)
        output.append(UInt8(ascii: " "))
        ReasonPhrase.of(status).withUTF8Buffer { output.append(contentsOf: $0) }
        output.append(contentsOf: "\r\n".utf8)
        for (name, value) in headers {
            output.append(contentsOf: name.utf8)
            output.append(contentsOf: ": ".utf8)
            output.append(contentsOf: value.utf8)
            output.append(contentsOf: "\r\n".utf8)
        }
        output.append(contentsOf: "X-Served-By: ".utf8)
        output.append(contentsOf: serverName.utf8)
        output.append(contentsOf: "\r\nX-Request-Id-Seen: ".utf8)
        if let requestId {
            output.append(contentsOf: requestId)
        } else {
            output.append(UInt8(ascii: "-"))
        }
        output.append(contentsOf: "\r\n".utf8)
        switch framing {
        case .contentLength(let length):
            output.append(contentsOf: "Content-Length: ".utf8)
            output.append(contentsOf: String(length).utf8)
            output.append(contentsOf: "\r\n".utf8)
        case .chunked: output.append(contentsOf: "Transfer-Encoding: chunked\r\n".utf8)
        case .noBody: break
        }
        switch connection {
        case .none: break
        case .close: output.append(contentsOf: "Connection: close\r\n".utf8)
        case .keepAlive: output.append(contentsOf: "Connection: keep-alive\r\n".utf8)
        }
        output.append(contentsOf: "\r\n".utf8)
    }
}
