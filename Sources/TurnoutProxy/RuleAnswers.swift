import TurnoutCore
import TurnoutHTTP1

/// The answers rules give without a target: fixed responses, written once when the rules are compiled, and
/// redirects, whose Location is built from the request. Their heads end before `Connection` and the blank line,
/// which the matcher adds (`RuleMatcher.writeAnswer`).
enum RuleAnswers {
    /// A fixed response's status line and fields, and its body.
    static func fixedResponse(_ response: FixedResponse) -> (head: String, body: String) {
        let head = "HTTP/1.1 \(response.status) \(ReasonPhrase.of(response.status))\r\n"
            + "Content-Type: \(response.contentType)\r\nContent-Length: \(response.body.utf8.count)\r\n"
        return (head, response.body)
    }

    /// Writes the status line and fields of the redirect `template` (templates in `templates`) for `request`.
    static func writeRedirect(_ template: RedirectTemplate, templates: UnsafeRawBufferPointer, request: RuleRequest,
                              pathCapture: ByteRange, into out: inout HeadOutput) {
        let source = request.source
        let host = source.slice(request.host)
        out.write("HTTP/1.1 ")
        out.write(decimal: UInt64(template.status))
        out.write(byte: UInt8(ascii: " "))
        out.write(ReasonPhrase.of(Int(template.status)))
        out.write("\r\nLocation: ")
        if template.absolute {
            out.write("http://")
            if let hostTemplate = template.host {
                expand(templates.slice(hostTemplate), host: host, path: source.slice(pathCapture), into: &out)
            } else {
                out.write(host)
            }
            if template.port != 0 {
                out.write(byte: UInt8(ascii: ":"))
                out.write(decimal: UInt64(template.port))
            }
        }
        if let pathTemplate = template.path {
            expand(templates.slice(pathTemplate), host: host, path: source.slice(pathCapture), into: &out)
        } else if request.path.isEmpty {
            out.write(byte: UInt8(ascii: "/"))
        } else {
            out.write(source.slice(request.path))
        }
        let query = template.query.map { templates.slice($0) } ?? source.slice(request.query)
        if !query.isEmpty {
            out.write(byte: UInt8(ascii: "?"))
            out.write(query)
        }
        out.write("\r\nContent-Length: 0\r\n")
    }

    /// Writes `template` with `{host}` and `{path}` replaced.
    private static func expand(_ template: UnsafeRawBufferPointer, host: UnsafeRawBufferPointer,
                               path: UnsafeRawBufferPointer, into out: inout HeadOutput) {
        var index = 0
        while index < template.count {
            if template[index] == UInt8(ascii: "{") {
                if placeholder(template, at: index, "{path}") {
                    out.write(path)
                    index += 6
                    continue
                }
                if placeholder(template, at: index, "{host}") {
                    out.write(host)
                    index += 6
                    continue
                }
            }
            out.write(byte: template[index])
            index += 1
        }
    }

    private static func placeholder(_ template: UnsafeRawBufferPointer, at index: Int, _ name: StaticString) -> Bool {
        let length = name.utf8CodeUnitCount
        guard index + length <= template.count else { return false }
        return Wildcard.equal(UnsafeRawBufferPointer(rebasing: template[index..<(index + length)]),
                              UnsafeRawBufferPointer(start: name.utf8Start, count: length), ignoringCase: false)
    }
}

/// A redirect's parts, templates as ranges into the matcher's bytes: nil keeps the request's.
struct RedirectTemplate {
    var status: UInt16
    /// `http://host[:port]` before the path: the redirect sets a host or a port.
    var absolute: Bool
    var host: ByteRange?
    /// 0: none.
    var port: UInt16
    var path: ByteRange?
    /// Set (possibly empty, which drops the request's query) or nil (the request's is kept).
    var query: ByteRange?

    init(_ redirect: RedirectAction, add: (String) -> ByteRange) {
        status = UInt16(redirect.status)
        absolute = redirect.host != nil || redirect.port != nil
        host = redirect.host.map(add)
        port = redirect.port ?? 0
        path = redirect.path.map(add)
        query = redirect.query.map(add)
    }
}
