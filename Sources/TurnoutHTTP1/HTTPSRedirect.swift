/// The answer of a plain listener that sends every request to HTTPS (`redirect_to_https`).
public enum HTTPSRedirect {
    /// Writes `301 Moved Permanently` with `Location: https://<host>[:<port>]<path and query>`: the request's
    /// host (the absolute-form authority, else Host) without its port, the HTTPS `port` unless it is 443, and the
    /// target's origin-form as it came; an empty body and `Connection: close`.
    /// - Returns: bytes written; nil when the request names no host (an HTTP/1.0 request without Host) or the
    ///   answer does not fit in `out`.
    public static func write(_ head: RequestHead, source: UnsafeRawBufferPointer, port: UInt16,
                             into out: UnsafeMutableRawBufferPointer) -> Int? {
        guard let hostRange = head.authority ?? head.host else { return nil }
        let host = hostWithoutPort(source.slice(hostRange))
        guard !host.isEmpty else { return nil }
        var output = HeadOutput(out)
        output.write("HTTP/1.1 301 Moved Permanently\r\nLocation: https://")
        output.write(host)
        if port != 443 {
            output.write(byte: UInt8(ascii: ":"))
            output.write(decimal: UInt64(port))
        }
        let originForm = source.slice(head.originForm)
        if originForm.isEmpty || originForm[0] != UInt8(ascii: "/") { output.write(byte: UInt8(ascii: "/")) }
        output.write(originForm)
        output.write("\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
        return output.finish()
    }

    /// `a.example:8080` → `a.example`, `[::1]:8080` → `[::1]` (Host has been checked against RFC 3986 already).
    static func hostWithoutPort(_ authority: UnsafeRawBufferPointer) -> UnsafeRawBufferPointer {
        var end = authority.count
        var index = authority.count - 1
        while index >= 0 {
            let byte = authority[index]
            if byte == UInt8(ascii: ":") {
                end = index
                break
            }
            if byte == UInt8(ascii: "]") || !(byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) { break }
            index -= 1
        }
        return UnsafeRawBufferPointer(rebasing: authority[0..<end])
    }
}
