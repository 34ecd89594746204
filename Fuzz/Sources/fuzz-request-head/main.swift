import FuzzSupport
import TurnoutHTTP1

runLibFuzzer(fuzzRequestHead)

/// libFuzzer entry point for `RequestHeadParser`. Beyond not crashing, every input must keep these properties:
/// - a complete head lies inside the input and `maxHeaderBytes`, and what the proxy forwards from it is clean:
///   a method and field names of token bytes, a target of visible ASCII, field values without CR, LF or NUL, a
///   Content-Length that fits an Int64;
/// - a failure answers one of the request statuses (400, 417, 431, 501, 505);
/// - how the bytes arrive changes nothing: a prefix parses `.incomplete` or exactly as the whole input (fields
///   included), and a complete head is decided by its last byte (one byte less is `.incomplete`);
/// - the limits are exact: a head parses the same with `maxHeaderBytes` at its length and `maxHeaders` at its
///   field count, and fails 431 with one byte or one field less.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzRequestHead(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let whole = parse(input, HeadLimits())
    checkPrefixes(of: input, parseTo: whole) { parse($0, HeadLimits()) }

    switch whole.result {
    case .incomplete:
        break
    case .failed(let error):
        check([400, 417, 431, 501, 505].contains(error.status), "unexpected status for a request")
    case .complete(let head):
        checkComplete(head, whole.fields, input)
    }
    return 0
}

private func parse(
    _ bytes: UnsafeRawBufferPointer, _ limits: HeadLimits, capacity: Int? = nil
) -> ParsedHead<RequestHead> {
    ParsedHead(bytes, capacity: capacity ?? limits.maxHeaders) {
        RequestHeadParser.parse($0, limits: limits, fields: $1)
    }
}

private func checkComplete(_ head: RequestHead, _ fields: [HeaderField], _ input: UnsafeRawBufferPointer) {
    let length = head.headLength
    check(length > 0 && length <= input.count && length <= HeadLimits().maxHeaderBytes, "head length")
    check(fields.count <= HeadLimits().maxHeaders, "more fields than maxHeaders")
    check(head.methodRange.lies(within: length) && !head.methodRange.isEmpty, "method outside the head")
    check(input.slice(head.methodRange).allSatisfy(isTokenByte), "method with a non-token byte")
    check(head.target.lies(within: length) && !head.target.isEmpty, "target outside the head")
    check(input.slice(head.target).allSatisfy { $0 > 0x20 && $0 < 0x7F }, "target with a non-visible byte")
    if let host = head.host { check(host.lies(within: length), "Host outside the head") }
    if let index = head.xForwardedFor { check(index >= 0 && index < fields.count, "X-Forwarded-For index") }
    if case .contentLength(let bodyLength) = head.framing {
        check(bodyLength <= UInt64(Int64.max), "Content-Length beyond Int64")
    }
    if head.version == .http10 {
        check(head.framing != .chunked && !head.isUpgrade && !head.expectContinue, "HTTP/1.0 head")
    }
    checkFields(fields, in: input, headLength: length)

    let headBytes = UnsafeRawBufferPointer(rebasing: input[..<length])
    let exact = HeadLimits(maxHeaderBytes: length, maxHeaders: fields.count)
    let atLimits = parse(headBytes, exact)
    check(atLimits.result == .complete(head) && atLimits.fields == fields, "not the same at its own limits")
    let lessOne = parse(UnsafeRawBufferPointer(rebasing: input[..<(length - 1)]), HeadLimits())
    check(lessOne.result == .incomplete, "decided before its last byte")
    let tooLarge = parse(headBytes, HeadLimits(maxHeaderBytes: length - 1, maxHeaders: fields.count))
    check(tooLarge.result == .failed(HeadError(status: 431, reason: "head too large")), "maxHeaderBytes")
    if !fields.isEmpty {
        let expected = HeadParseResult<RequestHead>.failed(HeadError(status: 431, reason: "too many header fields"))
        check(
            parse(headBytes, HeadLimits(maxHeaderBytes: length, maxHeaders: fields.count - 1)).result == expected,
            "maxHeaders")
        check(parse(headBytes, exact, capacity: fields.count - 1).result == expected, "table capacity")
    }
}
