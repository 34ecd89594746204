/// The transfer codings named by the Transfer-Encoding fields of a message, in order (RFC 9112 §6.1).
///
/// Turnout forwards only `chunked` alone and decodes nothing else, so the verdict is:
/// - `chunked` exactly once and last, nothing else → chunked framing;
/// - `chunked` twice, or not last (`chunked, gzip`), or a list that is empty or not tokens → malformed (400);
/// - `chunked` last after other codings (`gzip, chunked`), or any coding without `chunked` (`gzip`, `identity`)
///   → unsupported (501 for requests).
struct TransferCodingList {
    var isPresent = false
    private var elements = 0
    private var chunkedCount = 0
    private var otherCount = 0
    private var lastIsChunked = false
    private var malformed = false

    /// Reads one Transfer-Encoding field value.
    mutating func add(_ value: UnsafeRawBufferPointer) {
        isPresent = true
        var list = FieldListElements(value)
        while let element = list.next() {
            elements += 1
            var nameEnd = 0
            while nameEnd < element.count, element[nameEnd] != ASCII.semicolon { nameEnd += 1 }
            let name = element.slice(element.trimmingWhitespace(0, nameEnd))
            guard name.isToken() else {
                malformed = true
                return
            }
            let hasParameters = nameEnd < element.count
            if name.equalsIgnoringCase("chunked") {
                if hasParameters { malformed = true }  // chunked takes no parameters
                chunkedCount += 1
                lastIsChunked = true
            } else {
                otherCount += 1
                lastIsChunked = false
            }
        }
    }

    /// Nil when the codings are exactly `chunked`; otherwise the error, with `malformedStatus` or
    /// `unsupportedStatus`.
    func validate(malformedStatus: UInt16, unsupportedStatus: UInt16) -> HeadError? {
        if malformed || elements == 0 {
            return HeadError(status: malformedStatus, reason: "malformed Transfer-Encoding")
        }
        if chunkedCount > 1 {
            return HeadError(status: malformedStatus, reason: "chunked applied twice")
        }
        if chunkedCount == 1 && !lastIsChunked {
            return HeadError(status: malformedStatus, reason: "chunked is not the final coding")
        }
        if otherCount > 0 {
            return HeadError(status: unsupportedStatus, reason: "unsupported transfer coding")
        }
        return nil
    }
}
