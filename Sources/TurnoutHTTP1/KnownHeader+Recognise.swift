extension KnownHeader {
    /// Recognises a header name (already validated as a token), ignoring ASCII case.
    static func recognise(_ name: UnsafeRawBufferPointer) -> KnownHeader {
        switch name.count {
        case 2:
            if name.equalsIgnoringCase("te") { return .te }
        case 3:
            if name.equalsIgnoringCase("via") { return .via }
        case 4:
            if name.equalsIgnoringCase("host") { return .host }
        case 6:
            if name.equalsIgnoringCase("expect") { return .expect }
        case 7:
            if name.equalsIgnoringCase("upgrade") { return .upgrade }
            if name.equalsIgnoringCase("trailer") { return .trailer }
        case 10:
            if name.equalsIgnoringCase("connection") { return .connection }
            if name.equalsIgnoringCase("keep-alive") { return .keepAlive }
        case 12:
            if name.equalsIgnoringCase("x-request-id") { return .xRequestId }
        case 14:
            if name.equalsIgnoringCase("content-length") { return .contentLength }
        case 15:
            if name.equalsIgnoringCase("x-forwarded-for") { return .xForwardedFor }
        case 16:
            if name.equalsIgnoringCase("proxy-connection") { return .proxyConnection }
            if name.equalsIgnoringCase("x-forwarded-port") { return .xForwardedPort }
        case 17:
            if name.equalsIgnoringCase("transfer-encoding") { return .transferEncoding }
            if name.equalsIgnoringCase("x-forwarded-proto") { return .xForwardedProto }
        default:
            break
        }
        return .other
    }
}
