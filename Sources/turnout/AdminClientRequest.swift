import TurnoutControl
import TurnoutHTTP1

/// One request to the admin API.
struct AdminClientRequest {
    var method: HTTPMethod
    /// Path and query below the endpoint's prefix, starting with `/`.
    var path: String
    /// JSON body, sent with `Content-Type: application/json`.
    var body: JSONValue?
    /// Extra header fields (`If-Match`, `Idempotency-Key`).
    var headers: [(name: String, value: String)] = []

    init(_ method: HTTPMethod, _ path: String, body: JSONValue? = nil) {
        self.method = method
        self.path = path
        self.body = body
    }

    /// Whether the request changes state, and so carries an idempotency key.
    var isMutation: Bool { method == .post || method == .put || method == .delete }

    var methodName: String {
        switch method {
        case .get: return "GET"
        case .head: return "HEAD"
        case .post: return "POST"
        case .put: return "PUT"
        case .delete: return "DELETE"
        case .options, .trace, .patch, .connect, .other:
            preconditionFailure("the admin client sends only GET, HEAD, POST, PUT and DELETE")
        }
    }

    /// The bytes on the wire: head with `Connection: close` (one request per connection), then the body.
    func serialized(endpoint: AdminEndpoint, token: String?) -> [UInt8] {
        let bodyBytes = body?.jsonBytes ?? []
        var head = "\(methodName) \(endpoint.pathPrefix)\(path) HTTP/1.1\r\n"
        head += "Host: \(endpoint.hostHeader)\r\n"
        head += "User-Agent: turnout-cli\r\n"
        head += "Accept: application/json\r\n"
        head += "Connection: close\r\n"
        if let token { head += "Authorization: Bearer \(token)\r\n" }
        for field in headers { head += "\(field.name): \(field.value)\r\n" }
        if body != nil || isMutation {
            if body != nil { head += "Content-Type: application/json\r\n" }
            head += "Content-Length: \(bodyBytes.count)\r\n"
        }
        head += "\r\n"
        return Array(head.utf8) + bodyBytes
    }
}

/// Building request targets for the admin API.
enum AdminPath {
    /// `value` percent-encoded as one path segment: unreserved bytes and `:` stay, everything else
    /// (`/`, `[`, `]`, `%`, spaces, non-ASCII) is escaped.
    static func segment(_ value: String) -> String {
        var out = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: ":"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = Array("0123456789ABCDEF".utf8)
                out += "%"
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte >> 4)]))
                out.unicodeScalars.append(Unicode.Scalar(hex[Int(byte & 0x0F)]))
            }
        }
        return out
    }

    /// `path` with `?dry_run=true` when `dryRun` is set.
    static func withDryRun(_ path: String, _ dryRun: Bool) -> String {
        dryRun ? path + "?dry_run=true" : path
    }
}
