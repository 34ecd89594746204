/// The `uri-host [ ":" port ]` grammar of RFC 3986 (§3.2.2, §3.2.3) that a Host field value (RFC 9110 §7.2) and
/// the authority of an absolute-form request target, without userinfo, must follow.
///
/// The host is an IP-literal (`[` IPv6address or IPvFuture `]`) or a reg-name (unreserved characters,
/// percent-encodings and sub-delims, which covers IPv4address); the port is digits. So `/`, `@`, `?`, `#`,
/// `\`, space and a second `:` outside brackets are refused: a Host of `x/../../y` or `user@evil` is a 400, not
/// something an upstream may resolve into another virtual host or path.
enum Authority {
    /// Whether `bytes` is `uri-host [ ":" port ]`. An empty host is valid here (RFC 9110 §7.2 lets a client
    /// send an empty Host); the absolute-form target refuses it separately (RFC 9110 §4.2.1).
    static func isValid(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var hostEnd = 0
        if !bytes.isEmpty && bytes[0] == UInt8(ascii: "[") {
            var close = 1
            while close < bytes.count && bytes[close] != UInt8(ascii: "]") { close += 1 }
            guard close < bytes.count, isIPLiteral(bytes.slice(ByteRange(1, close))) else { return false }
            hostEnd = close + 1
        } else {
            // Checked on every request: one bit test per byte.
            while hostEnd < bytes.count {
                let byte = bytes[hostEnd]
                if isRegNameByte(byte) {
                    hostEnd += 1
                } else if byte == ASCII.colon {
                    break
                } else if byte == UInt8(ascii: "%") && hostEnd + 2 < bytes.count
                            && ASCII.hexValue(bytes[hostEnd + 1]) != nil && ASCII.hexValue(bytes[hostEnd + 2]) != nil {
                    hostEnd += 3
                } else {
                    return false
                }
            }
        }
        return isPort(bytes, from: hostEnd)
    }

    /// Nothing, or `:` and digits (RFC 3986 allows an empty port).
    private static func isPort(_ bytes: UnsafeRawBufferPointer, from start: Int) -> Bool {
        guard start < bytes.count else { return true }
        guard bytes[start] == ASCII.colon else { return false }
        for index in (start + 1)..<bytes.count where !ASCII.isDigit(bytes[index]) { return false }
        return true
    }

    /// The bytes a reg-name may hold besides percent-encodings, unreserved and sub-delims, as a set of 128
    /// bits: bytes 0-63 in the first word, 64-127 in the second (`AuthorityTests` checks them against the
    /// grammar's lists).
    static let regNameBytes: (UInt64, UInt64) = (0x2BFF_7FD2_0000_0000, 0x47FF_FFFE_87FF_FFFE)

    /// Unreserved or sub-delims.
    @inline(__always)
    static func isRegNameByte(_ byte: UInt8) -> Bool {
        if byte < 64 { return (regNameBytes.0 >> UInt64(byte)) & 1 == 1 }
        if byte < 128 { return (regNameBytes.1 >> UInt64(byte - 64)) & 1 == 1 }
        return false
    }

    /// `ALPHA / DIGIT / "-" / "." / "_" / "~"`
    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"),
            UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }

    /// `"!" / "$" / "&" / "'" / "(" / ")" / "*" / "+" / "," / ";" / "="`
    static func isSubDelimiter(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "$"), UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("),
            UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: ","), ASCII.semicolon,
            UInt8(ascii: "="):
            return true
        default:
            return false
        }
    }

    /// The inside of `[...]`: IPv6address, or IPvFuture (`v` 1*HEXDIG `.` 1*( unreserved / sub-delims / `:` )).
    private static func isIPLiteral(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard !bytes.isEmpty else { return false }
        guard bytes[0] == UInt8(ascii: "v") || bytes[0] == UInt8(ascii: "V") else { return isIPv6(bytes) }
        var index = 1
        while index < bytes.count && ASCII.hexValue(bytes[index]) != nil { index += 1 }
        guard index > 1, index < bytes.count - 1, bytes[index] == UInt8(ascii: ".") else { return false }
        for rest in (index + 1)..<bytes.count {
            let byte = bytes[rest]
            guard isUnreserved(byte) || isSubDelimiter(byte) || byte == ASCII.colon else { return false }
        }
        return true
    }

    /// RFC 3986's IPv6address: eight groups of 1-4 hex digits, or fewer with one `::`, the last two groups
    /// possibly written as an IPv4address.
    static func isIPv6(_ bytes: UnsafeRawBufferPointer) -> Bool {
        let count = bytes.count
        var index = 0
        var groups = 0
        var compressed = false
        if count >= 2 && bytes[0] == ASCII.colon {
            guard bytes[1] == ASCII.colon else { return false }
            compressed = true
            index = 2
        }
        while index < count {
            let start = index
            while index < count && ASCII.hexValue(bytes[index]) != nil { index += 1 }
            if index < count && bytes[index] == UInt8(ascii: ".") {
                // The IPv4 tail takes the place of the last two groups and ends the address.
                guard isIPv4(bytes.slice(ByteRange(start, count))) else { return false }
                groups += 2
                index = count
                break
            }
            guard index - start >= 1, index - start <= 4 else { return false }
            groups += 1
            if index == count { break }
            guard bytes[index] == ASCII.colon else { return false }
            index += 1
            if index < count && bytes[index] == ASCII.colon {
                guard !compressed else { return false }
                compressed = true
                index += 1
            } else if index == count {
                return false  // a single trailing colon
            }
        }
        return compressed ? groups <= 7 : groups == 8
    }

    /// Four dec-octets (0-255, no leading zeros) separated by dots.
    static func isIPv4(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var octets = 0
        var index = 0
        while index <= bytes.count {
            let start = index
            var value = 0
            while index < bytes.count && ASCII.isDigit(bytes[index]) {
                value = value * 10 + Int(bytes[index] &- UInt8(ascii: "0"))
                index += 1
                guard value <= 255 else { return false }
            }
            let digits = index - start
            guard digits >= 1, digits == 1 || bytes[start] != UInt8(ascii: "0") else { return false }
            octets += 1
            if index == bytes.count { break }
            guard bytes[index] == UInt8(ascii: "."), octets < 4 else { return false }
            index += 1
        }
        return octets == 4
    }
}
