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
