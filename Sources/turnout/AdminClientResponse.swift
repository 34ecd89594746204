import TurnoutHTTP1

/// A complete response from the admin API.
struct AdminClientResponse {
    let status: Int
    let headers: [(name: String, value: String)]
    let body: [UInt8]

    /// The first field named `name` (ASCII case-insensitive).
    func header(_ name: String) -> String? {
        let wanted = name.lowercased()
        return headers.first { $0.name.lowercased() == wanted }?.value
    }

    var isSuccess: Bool { (200..<300).contains(status) }

    /// Whether the server answered from its idempotency record instead of applying the request again.
    var isReplay: Bool { header("Idempotent-Replayed")?.lowercased() == "true" }

    var bodyText: String { String(decoding: body, as: UTF8.self) }
}

/// Assembles one response from the bytes of a connection: head by `ResponseHeadParser`, body by
/// Content-Length, chunked framing, or end of stream.
struct AdminClientResponseReader {
    /// Responses larger than this are refused; the admin API's largest (status, audit) stay far below.
    static let maxBodyBytes = 64 << 20

    let requestMethod: HTTPMethod

    /// What the bytes so far amount to.
    enum Progress {
        case needMore
        case complete(AdminClientResponse)
    }

    /// A final (not interim) response head: its parse, its fields, and the bytes after it.
    struct Head {
        let head: ResponseHead
        let headers: [(name: String, value: String)]
        let rest: [UInt8]
    }

    /// The final response head in `buffer`, skipping interim ones (100 Continue); nil when more bytes are
    /// needed. `atEnd` says the peer closed the connection.
    func head(of buffer: [UInt8], atEnd: Bool) throws(AdminTransportError) -> Head? {
        let fields = HeaderFieldTable(capacity: 100)
        let parsed = buffer.withUnsafeBytes {
            ResponseHeadParser.parse($0, requestMethod: requestMethod, limits: HeadLimits(), fields: fields)
        }
        let head: ResponseHead
        switch parsed {
        case .incomplete:
            if atEnd { throw buffer.isEmpty ? .connectionLost("closed without a response") : .malformedResponse("truncated head") }
            return nil
        case .failed(let error):
            throw .malformedResponse("\(error.reason)")
        case .complete(let complete):
            head = complete
        }
        if head.status < 200 {
            return try self.head(of: Array(buffer[head.headLength...]), atEnd: atEnd)
        }
        let headers: [(name: String, value: String)] = buffer.withUnsafeBytes { bytes in
            (0..<fields.count).map { index in
                let field = fields[index]
                return (String(decoding: bytes.slice(field.name), as: UTF8.self),
                        String(decoding: bytes.slice(field.value), as: UTF8.self))
            }
        }
        return Head(head: head, headers: headers, rest: Array(buffer[head.headLength...]))
    }

    /// Examines everything received so far; `atEnd` says the peer closed the connection.
    func examine(_ buffer: [UInt8], atEnd: Bool) throws(AdminTransportError) -> Progress {
        guard let parsed = try head(of: buffer, atEnd: atEnd) else { return .needMore }
        let head = parsed.head
        let headers = parsed.headers
        let rest = parsed.rest
        let body: [UInt8]
        switch head.framing {
        case .none:
            body = []
        case .contentLength(let length):
            guard length <= UInt64(Self.maxBodyBytes) else { throw .malformedResponse("body too large") }
            guard rest.count >= Int(length) else {
                if atEnd { throw .connectionLost("body ended after \(rest.count) of \(length) bytes") }
                return .needMore
            }
            body = Array(rest[0..<Int(length)])
        case .untilClose:
            guard rest.count <= Self.maxBodyBytes else { throw .malformedResponse("body too large") }
            guard atEnd else { return .needMore }
            body = rest
        case .chunked:
            guard let decoded = try Self.dechunk(rest) else {
                if atEnd { throw .connectionLost("chunked body ended early") }
                return .needMore
            }
            body = decoded
        }
        return .complete(AdminClientResponse(status: Int(head.status), headers: headers, body: body))
    }

    /// The data of a complete chunked body, or nil when more bytes are needed.
    private static func dechunk(_ bytes: [UInt8]) throws(AdminTransportError) -> [UInt8]? {
        var decoder = ChunkedDecoder()
        var data: [UInt8] = []
        var offset = 0
        while true {
            let step = bytes.withUnsafeBytes { decoder.decode(UnsafeRawBufferPointer(rebasing: $0[offset...])) }
            switch step {
            case .needMore:
                return nil
            case .chunkStart(let consumed, _):
                offset += consumed
            case .data(let count):
                data.append(contentsOf: bytes[offset..<(offset + count)])
                guard data.count <= maxBodyBytes else { throw .malformedResponse("body too large") }
                decoder.consumeData(count)
                offset += count
            case .end:
                return data
            case .failed(let error):
                throw .malformedResponse("\(error.reason)")
            }
        }
    }
}
