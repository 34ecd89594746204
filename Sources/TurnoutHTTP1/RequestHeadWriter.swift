/// Writes the head the proxy sends upstream for a parsed request.
public enum RequestHeadWriter {
    /// Writes, in order:
    /// - `method SP target SP HTTP/1.1` CRLF, where an absolute-form target goes out in origin-form
    ///   (`http://a.example/x?y` → `/x?y`, `http://a.example` → `/`);
    /// - `Host: <authority>` for an absolute-form target, whose authority replaces the client's Host field
    ///   (RFC 9112 §3.2.2), or `Host: <forwarded.targetAuthority>` for a request without a Host field (HTTP/1.0);
    /// - every forwarded (not hop-by-hop) field verbatim as `Name: value`, except X-Forwarded-Proto and
    ///   X-Forwarded-Port (replaced), with `, <client>` appended to the last X-Forwarded-For and `, 1.x turnout`
    ///   to the last Via, in their places; Content-Length once, as its single value;
    /// - X-Forwarded-For (when the client sent none), X-Forwarded-Proto, X-Forwarded-Port, Via (when the client
    ///   sent none) and X-Request-Id (when `forwarded.requestId` is given);
    /// - `Transfer-Encoding: chunked` for a chunked body;
    /// - for an upgrade, `Connection: upgrade` and the client's Upgrade field;
    /// - `extraFields` as they are (whole `Name: value` CRLF lines: a mirrored copy's marks);
    /// - the empty line.
    ///
    /// The Via element names the version the request was received in (`1.0 turnout` for HTTP/1.0 clients),
    /// as RFC 9110 §7.6.3 asks.
    /// - Returns: bytes written, or nil if the head does not fit in `out`.
    public static func write(
        _ head: RequestHead, fields: HeaderFieldTable, source: UnsafeRawBufferPointer, forwarded: ForwardedFor,
        extraFields: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0),
        into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var output = HeadOutput(out)
        output.write(source.slice(head.methodRange))
        output.write(byte: ASCII.space)
        let originForm = source.slice(head.originForm)
        if head.authority != nil && (originForm.isEmpty || originForm[0] != UInt8(ascii: "/")) {
            output.write(byte: UInt8(ascii: "/"))
        }
        output.write(originForm)
        output.write(" HTTP/1.1\r\n")
        if let authority = head.authority {
            output.write("Host: ")
            output.write(source.slice(authority))
            output.write("\r\n")
        } else if head.host == nil {
            output.write("Host: ")
            output.write(forwarded.targetAuthority)
            output.write("\r\n")
        }

        let lastForwardedFor = fields.lastForwardedIndex(of: .xForwardedFor)
        let lastVia = fields.lastForwardedIndex(of: .via)
        var wroteContentLength = false
        for index in 0..<fields.count {
            let field = fields[index]
            if field.isHopByHop { continue }
            switch field.kind {
            case .xForwardedProto, .xForwardedPort:
                continue
            case .host where head.authority != nil:
                continue
            case .contentLength:
                if !wroteContentLength { output.writeContentLength(field, from: source) }
                wroteContentLength = true
            case .xForwardedFor where index == lastForwardedFor:
                output.write(source.slice(field.name))
                output.write(": ")
                output.write(source.slice(field.value))
                output.write(", ")
                output.write(forwarded.clientAddress)
                output.write("\r\n")
            case .via where index == lastVia:
                output.write(source.slice(field.name))
                output.write(": ")
                output.write(source.slice(field.value))
                output.write(", ")
                output.writeViaElement(receivedAs: head.version)
                output.write("\r\n")
            default:
                output.writeField(field, from: source)
            }
        }

        if lastForwardedFor == nil {
            output.write("X-Forwarded-For: ")
            output.write(forwarded.clientAddress)
            output.write("\r\n")
        }
        output.write("X-Forwarded-Proto: ")
        output.write(forwarded.proto)
        output.write("\r\nX-Forwarded-Port: ")
        output.write(decimal: UInt64(forwarded.port))
        output.write("\r\n")
        if lastVia == nil {
            output.write("Via: ")
            output.writeViaElement(receivedAs: head.version)
            output.write("\r\n")
        }
        if let requestId = forwarded.requestId {
            output.write("X-Request-Id: ")
            output.write(requestId)
            output.write("\r\n")
        }
        if head.framing == .chunked {
            output.write("Transfer-Encoding: chunked\r\n")
        }
        if head.isUpgrade {
            output.write("Connection: upgrade\r\n")
            output.writeFields(of: .upgrade, in: fields, from: source)
        }
        if !extraFields.isEmpty { output.write(extraFields) }
        output.write("\r\n")
        return output.finish()
    }
}
