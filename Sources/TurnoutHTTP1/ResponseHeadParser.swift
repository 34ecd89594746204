/// Parses a response head in place, with the same field rules as requests. Every failure is a 502: the
/// upstream broke the protocol and the client gets a Bad Gateway.
///
/// Framing follows RFC 9112 §6.3, in order:
/// 1. a 101, or a 2xx to CONNECT, turns the connection into a tunnel: `.none`, `isUpgrade`, no keep-alive;
/// 2. a response to HEAD, any other 1xx, 204 and 304 have no body: `.none`;
/// 3. Transfer-Encoding exactly `chunked` → `.chunked` (any other coding list, Transfer-Encoding with
///    Content-Length, or Transfer-Encoding on HTTP/1.0 → 502: Turnout forwards `chunked` alone and decodes nothing);
/// 4. a valid Content-Length → `.contentLength`;
/// 5. otherwise `.untilClose`, and the upstream connection is not reused.
/// A status line without reason phrase (`HTTP/1.1 200` directly followed by CRLF) is accepted.
public enum ResponseHeadParser {
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, requestMethod: HTTPMethod, limits: HeadLimits, fields: HeaderFieldTable
    ) -> HeadParseResult<ResponseHead> {
        let boundary: HeadBoundary
        switch HeadBoundary.search(
            bytes, emptyLinesAllowed: 0, maxBytes: limits.maxHeaderBytes, malformed: 502, tooLarge: 502)
        {
        case .incomplete: return .incomplete
        case .failed(let error): return .failed(error)
        case .found(let found): boundary = found
        }

        // Status line: version SP 3DIGIT [SP reason] CRLF.
        let lineStart = boundary.start
        var lineEnd = lineStart
        while bytes[lineEnd] != ASCII.cr { lineEnd += 1 }
        guard lineEnd - lineStart >= 12, bytes[lineStart + 8] == ASCII.space else {
            return fail("malformed status line")
        }
        let version: HTTPVersion
        switch HTTPVersion.read(bytes.slice(ByteRange(lineStart, lineStart + 8))) {
        case .supported(let supported): version = supported
        case .unsupported, .malformed: return fail("unsupported HTTP version in response")
        }
        var status: UInt16 = 0
        for index in (lineStart + 9)..<(lineStart + 12) {
            let byte = bytes[index]
            guard ASCII.isDigit(byte) else { return fail("malformed status code") }
            status = status * 10 + UInt16(byte &- UInt8(ascii: "0"))
        }
        guard status >= 100 else { return fail("malformed status code") }
        var reason = ByteRange(lineEnd, lineEnd)
        if lineStart + 12 < lineEnd {
            guard bytes[lineStart + 12] == ASCII.space else { return fail("malformed status line") }
            for index in (lineStart + 13)..<lineEnd where !ASCII.isFieldValueByte(bytes[index]) {
                return fail("invalid byte in reason phrase")
            }
            reason = ByteRange(lineStart + 13, lineEnd)
        }

        var facts = HeaderFacts()
        if let error = HeaderSectionParser.parse(
            bytes, from: lineEnd + 2, boundaryEnd: boundary.end, maxFields: limits.maxHeaders, fields: fields,
            statuses: .init(malformed: 502, tooMany: 502), facts: &facts)
        {
            return .failed(error)
        }

        if facts.transferCodings.isPresent {
            if version == .http10 { return fail("Transfer-Encoding in HTTP/1.0 response") }
            if facts.contentLength != nil { return fail("Transfer-Encoding with Content-Length") }
            if let error = facts.transferCodings.validate(malformedStatus: 502, unsupportedStatus: 502) {
                return .failed(error)
            }
        }

        let connection = facts.connection
        var keepAlive = !connection.close && (version == .http11 || connection.keepAlive)
        let isTunnel = status == 101 || (requestMethod == .connect && status >= 200 && status < 300)
        let framing: BodyFraming
        if isTunnel {
            framing = .none
            keepAlive = false
        } else if requestMethod == .head || status < 200 || status == 204 || status == 304 {
            framing = .none
        } else if facts.transferCodings.isPresent {
            framing = .chunked
        } else if let length = facts.contentLength {
            framing = .contentLength(length)
        } else {
            framing = .untilClose
            keepAlive = false
        }
        return .complete(
            ResponseHead(
                status: status, version: version, headLength: boundary.end, framing: framing, keepAlive: keepAlive,
                isUpgrade: isTunnel, reason: reason))
    }

    private static func fail(_ reason: StaticString) -> HeadParseResult<ResponseHead> {
        .failed(HeadError(status: 502, reason: reason))
    }
}
