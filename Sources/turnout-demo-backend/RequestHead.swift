/// A parsed HTTP/1.x request head, with the raw bytes it was parsed from.
struct RequestHead {
    /// The head exactly as received: request line through the terminating empty line.
    let raw: [UInt8]
    let method: String
    /// The request target as sent (origin form, e.g. `/bytes?n=10`).
    let target: String
    /// The target without its query.
    let path: String
    /// Query parameters (last one wins); values are not percent-decoded.
    let query: [String: String]
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    let minorVersion: Int
    let headers: [(name: String, value: String)]

    static let maximumHeaderCount = 200

    /// Parses `raw`, which must end with the empty line.
    init(parsing raw: [UInt8]) throws {
        self.raw = raw
        var lines = raw.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map { line in
            line.last == UInt8(ascii: "\r") ? line.dropLast() : line
        }
        // The terminating empty line(s) produce trailing empty elements.
        while let last = lines.last, last.isEmpty { lines.removeLast() }
        guard let requestLine = lines.first else { throw DemoHTTPError.badRequest("empty request") }

        let parts = requestLine.split(separator: UInt8(ascii: " "), omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else {
            throw DemoHTTPError.badRequest("malformed request line")
        }
        guard parts[0].allSatisfy(Self.isTokenCharacter) else { throw DemoHTTPError.badRequest("malformed method") }
        guard parts[1].allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else { throw DemoHTTPError.badRequest("malformed target") }
        let version = String(decoding: parts[2], as: UTF8.self)
        switch version {
        case "HTTP/1.1": minorVersion = 1
        case "HTTP/1.0": minorVersion = 0
        default:
            if version.hasPrefix("HTTP/"), version.count == 8 { throw DemoHTTPError.versionNotSupported }
            throw DemoHTTPError.badRequest("malformed HTTP version")
        }
        method = String(decoding: parts[0], as: UTF8.self)
        target = String(decoding: parts[1], as: UTF8.self)

        if let questionMark = target.firstIndex(of: "?") {
            path = String(target[..<questionMark])
            var query: [String: String] = [:]
            for pair in target[target.index(after: questionMark)...].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                query[String(keyValue[0])] = keyValue.count == 2 ? String(keyValue[1]) : ""
            }
            self.query = query
        } else {
            path = target
            query = [:]
        }

        var headers: [(name: String, value: String)] = []
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                throw DemoHTTPError.badRequest("header line without colon")
            }
            let name = line[line.startIndex..<colon]
            guard !name.isEmpty, name.allSatisfy(Self.isTokenCharacter) else {
                // Also rejects obsolete line folding and whitespace before the colon.
                throw DemoHTTPError.badRequest("malformed header name")
            }
            var value = line[(colon + 1)...]
            while let first = value.first, first == UInt8(ascii: " ") || first == UInt8(ascii: "\t") { value.removeFirst() }
            while let last = value.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") { value.removeLast() }
            guard !value.contains(where: { ($0 < 0x20 && $0 != UInt8(ascii: "\t")) || $0 == 0x7f }) else {
                throw DemoHTTPError.badRequest("control character in header value")
            }
            headers.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self)))
            if headers.count > Self.maximumHeaderCount { throw DemoHTTPError.headTooLarge }
        }
        self.headers = headers
    }

    /// All values of the header `name` (case-insensitive), in order.
    func values(of name: String) -> [String] {
        headers.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
    }

    /// The first value of the header `name` (case-insensitive).
    func value(of name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// Whether the comma-separated lists of header `name` contain `token` (case-insensitive).
    func hasToken(_ token: String, in name: String) -> Bool {
        values(of: name).contains { value in
            value.split(separator: ",").contains { $0.trimmingSpaces().lowercased() == token.lowercased() }
        }
    }

    /// HTTP/1.1 keeps the connection unless `Connection: close`; HTTP/1.0 closes unless `Connection: keep-alive`.
    var wantsKeepAlive: Bool {
        if hasToken("close", in: "Connection") { return false }
        return minorVersion == 1 || hasToken("keep-alive", in: "Connection")
    }

    private static func isTokenCharacter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        default:
            return Array("!#$%&'*+-.^_`|~".utf8).contains(byte)
        }
    }
}
