/// How the body of a request is delimited (RFC 9112 §6).
enum RequestBodyFraming: Equatable {
    case none
    case contentLength(Int)
    case chunked

    /// Determines the framing of `head`; ambiguous or invalid framing is a bad request.
    init(of head: RequestHead) throws {
        let transferEncodings = head.values(of: "Transfer-Encoding")
        let contentLengths = head.values(of: "Content-Length")
        if !transferEncodings.isEmpty {
            guard head.minorVersion == 1 else { throw DemoHTTPError.badRequest("Transfer-Encoding in an HTTP/1.0 request") }
            guard contentLengths.isEmpty else { throw DemoHTTPError.badRequest("both Transfer-Encoding and Content-Length") }
            let codings = transferEncodings.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces().lowercased() }
            guard codings == ["chunked"] else {
                throw DemoHTTPError.badRequest("unsupported Transfer-Encoding '\(transferEncodings.joined(separator: ", "))'")
            }
            self = .chunked
            return
        }
        guard !contentLengths.isEmpty else {
            self = .none
            return
        }
        let lengths = contentLengths.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
            .map { $0.trimmingSpaces() }
        guard let first = lengths.first, lengths.allSatisfy({ $0 == first }),
              !first.isEmpty, first.count <= 18, first.allSatisfy(\.isASCIIDigit), let length = Int(first)
        else {
            throw DemoHTTPError.badRequest("invalid Content-Length")
        }
        self = length == 0 ? .none : .contentLength(length)
    }

    /// Whether there are body bytes to read.
    var hasBody: Bool { self != .none }
}
