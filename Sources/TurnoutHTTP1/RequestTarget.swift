/// Request-target forms (RFC 9112 §3.2) and which method may use which.
enum RequestTarget {
    /// What checking a target found: it is valid, with the parts of an absolute-form target (nil for the other
    /// forms), or it is refused.
    enum Checked {
        case valid(AbsoluteForm?)
        case invalid(HeadError)
    }

    /// The parts of `http://authority/path?query`, as ranges relative to the target's first byte.
    struct AbsoluteForm {
        /// `host[:port]`: the Host the request is for (RFC 9112 §3.2.2).
        var authority: ByteRange
        /// Everything after the authority (`/path?query`; may be empty or start with `?`).
        var rest: ByteRange
    }

    /// Checks the target's bytes and its form against the method:
    /// origin-form (`/path?query`) for any method but CONNECT; absolute-form (`http://` or `https://`, any case)
    /// for any method but CONNECT, with a non-empty host, no userinfo and an authority `Authority` accepts;
    /// asterisk-form (`*`) only for OPTIONS; authority-form (`host:port`) only for CONNECT. Controls, space, DEL
    /// and bytes >= 0x80 are refused in every form.
    static func check(_ target: UnsafeRawBufferPointer, method: HTTPMethod) -> Checked {
        guard !target.isEmpty else { return .invalid(HeadError(status: 400, reason: "empty request target")) }
        for byte in target where !ASCII.isTargetByte(byte) {
            return .invalid(HeadError(status: 400, reason: "invalid byte in request target"))
        }
        if method == .connect {
            return isAuthority(target)
                ? .valid(nil) : .invalid(HeadError(status: 400, reason: "CONNECT needs authority-form target"))
        }
        if target[0] == UInt8(ascii: "/") { return .valid(nil) }
        if target.count == 1 && target[0] == UInt8(ascii: "*") {
            return method == .options
                ? .valid(nil) : .invalid(HeadError(status: 400, reason: "asterisk-form target without OPTIONS"))
        }
        let schemeLength = hasPrefix(target, "http://") ? 7 : hasPrefix(target, "https://") ? 8 : 0
        guard schemeLength > 0 else { return .invalid(HeadError(status: 400, reason: "invalid request target form")) }
        return absoluteForm(target, authorityStart: schemeLength)
    }

    /// Splits `scheme://authority rest` at the first `/`, `?` or `#` after the scheme.
    private static func absoluteForm(_ target: UnsafeRawBufferPointer, authorityStart: Int) -> Checked {
        var end = authorityStart
        while end < target.count {
            let byte = target[end]
            if byte == UInt8(ascii: "/") || byte == UInt8(ascii: "?") || byte == UInt8(ascii: "#") { break }
            if byte == UInt8(ascii: "@") {
                // RFC 9110 §4.2.4: userinfo in an http(s) URI from an untrusted source is an error.
                return .invalid(HeadError(status: 400, reason: "userinfo in request target"))
            }
            end += 1
        }
        let authority = ByteRange(authorityStart, end)
        let authorityBytes = target.slice(authority)
        // RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid.
        if authorityBytes.isEmpty || authorityBytes[0] == ASCII.colon {
            return .invalid(HeadError(status: 400, reason: "empty host in request target"))
        }
        guard Authority.isValid(authorityBytes) else {
            return .invalid(HeadError(status: 400, reason: "invalid authority in request target"))
        }
        return .valid(AbsoluteForm(authority: authority, rest: ByteRange(end, target.count)))
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
