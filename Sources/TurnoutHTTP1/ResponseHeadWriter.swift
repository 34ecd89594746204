/// Writes the head the proxy sends to the client for a parsed response.
public enum ResponseHeadWriter {
    /// Writes, in order:
    /// - `HTTP/1.1 SP status SP reason` CRLF (the upstream's status and reason);
    /// - every forwarded (not hop-by-hop) field verbatim, with `, 1.x turnout` appended to the last Via in its
    ///   place (or a Via field added); Content-Length once, as its single value, except in a 1xx or a 204, which
    ///   must not carry one (RFC 9110 §8.6; a 304 keeps it: there it describes the selected representation);
    /// - `extraFields` as they are (complete lines of the proxy's own, such as a sticky route's `Set-Cookie`);
    /// - `Transfer-Encoding: chunked` for a chunked body, unless `dechunkForHTTP10`;
    /// - for a 101, `Connection: upgrade` and the upstream's Upgrade field; for another 1xx (an interim response)
    ///   nothing; otherwise `Connection: close` when `closeAfter`, `dechunkForHTTP10` or the body runs until
    ///   close, else `Connection: keep-alive` when `announceKeepAlive`;
    /// - the empty line.
    ///
    /// - Parameters:
    ///   - closeAfter: the proxy closes the client connection after this response.
    ///   - dechunkForHTTP10: the client speaks HTTP/1.0 and the body is chunked: the proxy sends the data
    ///     unframed and closes, so no Transfer-Encoding and `Connection: close`.
    ///   - announceKeepAlive: the client speaks HTTP/1.0 and asked for keep-alive, which the response must
    ///     confirm for the connection to stay open.
    /// - Returns: bytes written, or nil if the head does not fit in `out`.
    public static func write(
        _ head: ResponseHead, fields: HeaderFieldTable, source: UnsafeRawBufferPointer, closeAfter: Bool,
        dechunkForHTTP10: Bool = false, announceKeepAlive: Bool = false,
        extraFields: UnsafeRawBufferPointer = UnsafeRawBufferPointer(start: nil, count: 0), into out: UnsafeMutableRawBufferPointer
    ) -> Int? {
        var output = HeadOutput(out)
        output.write("HTTP/1.1 ")
        output.write(byte: UInt8(ascii: "0") + UInt8(head.status / 100 % 10))
        output.write(byte: UInt8(ascii: "0") + UInt8(head.status / 10 % 10))
        output.write(byte: UInt8(ascii: "0") + UInt8(head.status % 10))
        output.write(byte: ASCII.space)
        output.write(source.slice(head.reason))
        output.write("\r\n")

        let lastVia = fields.lastForwardedIndex(of: .via)
        let interim = head.status < 200
        // Set once written, and from the start where the status forbids the field.
        var wroteContentLength = interim || head.status == 204
        for index in 0..<fields.count {
            let field = fields[index]
            if field.isHopByHop { continue }
            switch field.kind {
            case .contentLength:
                if !wroteContentLength { output.writeContentLength(field, from: source) }
                wroteContentLength = true
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
        if lastVia == nil {
            output.write("Via: ")
            output.writeViaElement(receivedAs: head.version)
            output.write("\r\n")
        }

        output.write(extraFields)

        let chunked = head.framing == .chunked
        if chunked && !dechunkForHTTP10 {
            output.write("Transfer-Encoding: chunked\r\n")
        }
        if head.status == 101 {
            output.write("Connection: upgrade\r\n")
            output.writeFields(of: .upgrade, in: fields, from: source)
        } else if interim {
            // The final response says what becomes of the connection.
        } else if closeAfter || (chunked && dechunkForHTTP10) || head.framing == .untilClose {
            output.write("Connection: close\r\n")
        } else if announceKeepAlive {
            output.write("Connection: keep-alive\r\n")
        }
        output.write("\r\n")
        return output.finish()
    }
}
