/// Request-target forms (RFC 9112 §3.2) and which method may use which.
enum RequestTarget {
    /// Checks the target's bytes and its form against the method:
    /// origin-form (`/path?query`) for any method but CONNECT; absolute-form (`http://` or `https://`, any case)
    /// for any method but CONNECT; asterisk-form (`*`) only for OPTIONS; authority-form (`host:port`) only for
    /// CONNECT. Controls, space, DEL and bytes >= 0x80 are refused in every form.
    static func validate(_ target: UnsafeRawBufferPointer, method: HTTPMethod) -> HeadError? {
        guard !target.isEmpty else { return HeadError(status: 400, reason: "empty request target") }
        for byte in target where !ASCII.isTargetByte(byte) {
            return HeadError(status: 400, reason: "invalid byte in request target")
        }
        if method == .connect {
            return isAuthority(target) ? nil : HeadError(status: 400, reason: "CONNECT needs authority-form target")
        }
        if target[0] == UInt8(ascii: "/") { return nil }
        if target.count == 1 && target[0] == UInt8(ascii: "*") {
            return method == .options ? nil : HeadError(status: 400, reason: "asterisk-form target without OPTIONS")
        }
        if hasHTTPScheme(target) { return nil }
        return HeadError(status: 400, reason: "invalid request target form")
    }

    /// `http://` or `https://` followed by at least one byte.
    private static func hasHTTPScheme(_ target: UnsafeRawBufferPointer) -> Bool {
        hasPrefix(target, "http://") || hasPrefix(target, "https://")
    }

    private static func hasPrefix(_ target: UnsafeRawBufferPointer, _ lowercasePrefix: StaticString) -> Bool {
        let length = lowercasePrefix.utf8CodeUnitCount
        return target.count > length && target.slice(ByteRange(0, length)).equalsIgnoringCase(lowercasePrefix)
    }

    /// `host:port` with a non-empty host, no `/`, `?`, `#` or `@`, and a decimal port after the last colon.
    private static func isAuthority(_ target: UnsafeRawBufferPointer) -> Bool {
        var lastColon = -1
        for index in 0..<target.count {
            switch target[index] {
            case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "@"): return false
            case ASCII.colon: lastColon = index
            default: break
            }
        }
        guard lastColon > 0, lastColon < target.count - 1 else { return false }
        for index in (lastColon + 1)..<target.count where !ASCII.isDigit(target[index]) {
            return false
        }
        return true
    }
}
