/// What the header fields of a head say about framing and connection handling, gathered while storing them.
struct HeaderFacts {
    var host: ByteRange?
    var hostCount = 0
    var contentLength: UInt64?
    var transferCodings = TransferCodingList()
    var connection = ConnectionOptions()
    var hasUpgrade = false
    var hasRequestId = false
    var lastXForwardedFor: Int?
    var expectsContinue = false
    var expectsOther = false
}

extension HeaderFacts {
    /// Takes note of one field; an error for values that are malformed whatever the message.
    mutating func record(
        _ kind: KnownHeader, value: ByteRange, index: Int, in bytes: UnsafeRawBufferPointer, malformed: UInt16
    ) -> HeadError? {
        switch kind {
        case .host:
            host = value
            hostCount += 1
        case .contentLength:
            guard let length = ContentLengthValue.parse(bytes.slice(value)) else {
                return HeadError(status: malformed, reason: "invalid Content-Length")
            }
            if let previous = contentLength, previous != length {
                return HeadError(status: malformed, reason: "conflicting Content-Length")
            }
            contentLength = length
        case .transferEncoding:
            transferCodings.add(bytes.slice(value))
        case .connection:
            guard connection.add(bytes.slice(value)) else {
                return HeadError(status: malformed, reason: "malformed Connection")
            }
        case .upgrade:
            hasUpgrade = true
        case .xRequestId:
            hasRequestId = true
        case .xForwardedFor:
            lastXForwardedFor = index
        case .expect:
            if bytes.slice(value).equalsIgnoringCase("100-continue") {
                expectsContinue = true
            } else {
                expectsOther = true
            }
        case .other, .keepAlive, .proxyConnection, .te, .trailer, .xForwardedProto, .xForwardedPort, .via:
            break
        }
        return nil
    }
}
