/// Parses a request head in place (RFC 9112, strict). No allocation, no copies: the result holds offsets into
/// `bytes` and the fields go to the caller's preallocated `HeaderFieldTable`.
///
/// Decisions where the RFCs leave room:
/// - up to `emptyLinesAllowed` (4) CRLFs before the request line are skipped (RFC 9112 §2.2 asks for at least
///   one, for clients that send a CRLF after a POST body); one more is a 400;
/// - a well-formed `HTTP/x.y` other than 1.0 and 1.1 is 505, anything else in the version place is 400;
/// - `Content-Length: 5, 5` (identical values) is accepted as 5; differing values, in one field or several, are 400;
/// - Transfer-Encoding must be exactly `chunked` (see `TransferCodingList`): misplaced or repeated `chunked` and
///   malformed lists are 400, other codings 501; Transfer-Encoding with Content-Length, or on HTTP/1.0, is 400;
/// - an Expect other than `100-continue` is 417, after every other check passed;
/// - a Host value must be `uri-host [":" port]` of RFC 3986 (`Authority`), else 400; an absolute-form target
///   must have a non-empty host and no userinfo, and its authority is reported so that it replaces the Host
///   field (RFC 9112 §3.2.2); an HTTP/1.1 request still needs a Host field.
public enum RequestHeadParser {
    /// Empty lines tolerated before the request line.
    public static let emptyLinesAllowed = 4

    /// Parses the request head at the start of `bytes`. Cheap to call again as bytes arrive: while the head is
    /// incomplete only the boundary scan runs.
    public static func parse(
        _ bytes: UnsafeRawBufferPointer, limits: HeadLimits, fields: HeaderFieldTable
    ) -> HeadParseResult<RequestHead> {
        let boundary: HeadBoundary
        switch HeadBoundary.search(
            bytes, emptyLinesAllowed: emptyLinesAllowed, maxBytes: limits.maxHeaderBytes, malformed: 400,
            tooLarge: 431)
        {
        case .incomplete: return .incomplete
        case .failed(let error): return .failed(error)
        case .found(let found): boundary = found
        }

        // Request line: method SP target SP version CRLF.
        let lineStart = boundary.start
        var lineEnd = lineStart
        while bytes[lineEnd] != ASCII.cr { lineEnd += 1 }

        var methodEnd = lineStart
        while methodEnd < lineEnd, bytes[methodEnd] != ASCII.space {
            guard ASCII.isToken(bytes[methodEnd]) else { return fail(400, "invalid byte in method") }
            methodEnd += 1
        }
        guard methodEnd > lineStart else { return fail(400, "empty method") }
        guard methodEnd < lineEnd else { return fail(400, "request line without target") }

        let targetStart = methodEnd + 1
        var targetEnd = targetStart
        while targetEnd < lineEnd, bytes[targetEnd] != ASCII.space { targetEnd += 1 }
        guard targetEnd < lineEnd else { return fail(400, "request line without version") }

        let version: HTTPVersion
        switch HTTPVersion.read(bytes.slice(ByteRange(targetEnd + 1, lineEnd))) {
        case .supported(let supported): version = supported
        case .unsupported: return fail(505, "unsupported HTTP version")
        case .malformed: return fail(400, "malformed HTTP version")
        }

        let methodRange = ByteRange(lineStart, methodEnd)
        let method = HTTPMethod.recognise(bytes, methodRange)
        let target = ByteRange(targetStart, targetEnd)
        var originForm = target
        var authority: ByteRange?
        switch RequestTarget.check(bytes.slice(target), method: method) {
        case .invalid(let error):
            return .failed(error)
        case .valid(let absolute?):
            authority = ByteRange(targetStart + absolute.authority.lowerBound, targetStart + absolute.authority.upperBound)
            originForm = ByteRange(targetStart + absolute.rest.lowerBound, targetEnd)
        case .valid(nil):
            break
        }

        var facts = HeaderFacts()
        if let error = HeaderSectionParser.parse(
            bytes, from: lineEnd + 2, boundaryEnd: boundary.end, maxFields: limits.maxHeaders, fields: fields,
            statuses: .init(malformed: 400, tooMany: 431), facts: &facts)
        {
            return .failed(error)
        }

        if facts.hostCount > 1 { return fail(400, "duplicate Host") }
        if facts.hostCount == 0 && version == .http11 { return fail(400, "missing Host") }
        if let host = facts.host, !Authority.isValid(bytes.slice(host)) { return fail(400, "invalid Host") }

        let framing: BodyFraming
        if facts.transferCodings.isPresent {
            if version == .http10 { return fail(400, "Transfer-Encoding in HTTP/1.0 request") }
            if facts.contentLength != nil { return fail(400, "Transfer-Encoding with Content-Length") }
            if let error = facts.transferCodings.validate(malformedStatus: 400, unsupportedStatus: 501) {
                return .failed(error)
            }
            framing = .chunked
        } else if let length = facts.contentLength {
            framing = .contentLength(length)
        } else {
            framing = .none
        }

        if facts.expectsOther { return fail(417, "unsupported expectation") }

        let connection = facts.connection
        let keepAlive = !connection.close && (version == .http11 || connection.keepAlive)
        return .complete(
            RequestHead(
                method: method, methodRange: methodRange, target: target, version: version,
                headLength: boundary.end, framing: framing, keepAlive: keepAlive,
                expectContinue: facts.expectsContinue && version == .http11,
                isUpgrade: version == .http11 && connection.upgrade && facts.hasUpgrade,
                host: facts.host, hasRequestId: facts.hasRequestId, xForwardedFor: facts.lastXForwardedFor,
                originForm: originForm, authority: authority))
    }

    private static func fail(_ status: UInt16, _ reason: StaticString) -> HeadParseResult<RequestHead> {
        .failed(HeadError(status: status, reason: reason))
    }
}
