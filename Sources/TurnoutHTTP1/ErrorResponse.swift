/// Complete error responses the proxy sends itself, with a short text body and `Connection: close`.
public enum ErrorResponse {
    /// Statuses with a prepared response; any other status gets the 500 response.
    public static let statuses: [UInt16] = [400, 408, 413, 417, 431, 501, 502, 503, 504, 505]

    /// The full response (head and body) for `status`. The bytes are string literals in the binary's
    /// read-only data: nothing is built or allocated per call, and they stay valid for the process lifetime.
    public static func bytes(status: UInt16) -> UnsafeRawBufferPointer {
        let literal: StaticString
        switch status {
        case 400:
            literal = """
                HTTP/1.1 400 Bad Request\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 16\r\n\
                Connection: close\r\n\
                \r\n\
                400 Bad Request\n
                """
        case 408:
            literal = """
                HTTP/1.1 408 Request Timeout\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 20\r\n\
                Connection: close\r\n\
                \r\n\
                408 Request Timeout\n
                """
        case 413:
            literal = """
                HTTP/1.1 413 Content Too Large\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 22\r\n\
                Connection: close\r\n\
                \r\n\
                413 Content Too Large\n
                """
        case 417:
            literal = """
                HTTP/1.1 417 Expectation Failed\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 23\r\n\
                Connection: close\r\n\
                \r\n\
                417 Expectation Failed\n
                """
        case 431:
            literal = """
                HTTP/1.1 431 Request Header Fields Too Large\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 36\r\n\
                Connection: close\r\n\
                \r\n\
                431 Request Header Fields Too Large\n
                """
        case 501:
            literal = """
                HTTP/1.1 501 Not Implemented\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 20\r\n\
                Connection: close\r\n\
                \r\n\
                501 Not Implemented\n
                """
        case 502:
            literal = """
                HTTP/1.1 502 Bad Gateway\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 16\r\n\
                Connection: close\r\n\
                \r\n\
                502 Bad Gateway\n
                """
        case 503:
            literal = """
                HTTP/1.1 503 Service Unavailable\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 24\r\n\
                Connection: close\r\n\
                \r\n\
                503 Service Unavailable\n
                """
        case 504:
            literal = """
                HTTP/1.1 504 Gateway Timeout\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 20\r\n\
                Connection: close\r\n\
                \r\n\
                504 Gateway Timeout\n
                """
        case 505:
            literal = """
                HTTP/1.1 505 HTTP Version Not Supported\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 31\r\n\
                Connection: close\r\n\
                \r\n\
                505 HTTP Version Not Supported\n
                """
        default:
            literal = """
                HTTP/1.1 500 Internal Server Error\r\n\
                Content-Type: text/plain\r\n\
                Content-Length: 26\r\n\
                Connection: close\r\n\
                \r\n\
                500 Internal Server Error\n
                """
        }
        return UnsafeRawBufferPointer(start: literal.utf8Start, count: literal.utf8CodeUnitCount)
    }
}
