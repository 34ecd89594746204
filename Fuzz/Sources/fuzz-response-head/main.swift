import FuzzSupport
import TurnoutHTTP1

runLibFuzzer(fuzzResponseHead)

/// libFuzzer entry point for `ResponseHeadParser`. Beyond not crashing, every input must keep these properties:
/// - a complete head lies inside the input and `maxHeaderBytes`; its status is three digits from 100, its reason
///   phrase and fields are clean (no CR, LF or NUL; names are tokens); a Content-Length fits an Int64;
/// - every failure is a 502;
/// - how the bytes arrive changes nothing: a prefix parses `.incomplete` or exactly as the whole input, and a
///   complete head is decided by its last byte;
/// - framing follows RFC 9112 §6.3 whatever the fields say: no body for 1xx, 204, 304 or a response to HEAD;
///   a 2xx to CONNECT and a 101 are tunnels, never kept alive; a body delimited by close is never kept alive.
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzResponseHead(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = UnsafeRawBufferPointer(start: data, count: size)
    let whole = parse(input, .get)
    checkPrefixes(of: input, parseTo: whole) { parse($0, .get) }

    switch whole.result {
    case .incomplete:
        break
    case .failed(let error):
        check(error.status == 502, "a response failure other than 502")
    case .complete(let head):
        checkComplete(head, whole.fields, input)
    }
    return 0
}

private func parse(_ bytes: UnsafeRawBufferPointer, _ method: HTTPMethod) -> ParsedHead<ResponseHead> {
    let limits = HeadLimits()
    return ParsedHead(bytes, capacity: limits.maxHeaders) {
        ResponseHeadParser.parse($0, requestMethod: method, limits: limits, fields: $1)
    }
}

private func checkComplete(_ head: ResponseHead, _ fields: [HeaderField], _ input: UnsafeRawBufferPointer) {
    let length = head.headLength
    check(length > 0 && length <= input.count && length <= HeadLimits().maxHeaderBytes, "head length")
    check(head.status >= 100 && head.status <= 999, "status out of range")
    check(head.reason.lies(within: length), "reason outside the head")
    check(input.slice(head.reason).allSatisfy(isFieldValueByte), "reason with CR, LF, NUL or a control")
    checkFields(fields, in: input, headLength: length)
    let lessOne = parse(UnsafeRawBufferPointer(rebasing: input[..<(length - 1)]), .get)
    check(lessOne.result == .incomplete, "decided before its last byte")

    if case .contentLength(let bodyLength) = head.framing {
        check(bodyLength <= UInt64(Int64.max), "Content-Length beyond Int64")
    }
    let status = head.status
    let tunnel = status == 101
    check(head.isUpgrade == tunnel, "isUpgrade for a GET")
    if tunnel || status < 200 || status == 204 || status == 304 {
        check(head.framing == .none, "a body where none may be")
    }
    if tunnel || head.framing == .untilClose { check(!head.keepAlive, "kept alive after close framing") }

    // The same bytes answering HEAD and CONNECT: the head and its fields are the same, only the framing moves.
    for method in [HTTPMethod.head, .connect] {
        let other = parse(input, method)
        guard case .complete(let answer) = other.result else { fatalError("property broken: complete for GET only") }
        check(other.fields == fields && answer.status == status && answer.headLength == length, "same head")
        let isTunnel = tunnel || (method == .connect && status >= 200 && status < 300)
        check(answer.isUpgrade == isTunnel, "isUpgrade for \(method)")
        if isTunnel { check(answer.framing == .none && !answer.keepAlive, "tunnel kept alive") }
        if method == .head { check(answer.framing == .none, "a body in answer to HEAD") }
    }
}
