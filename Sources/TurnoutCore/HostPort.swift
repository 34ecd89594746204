/// A `host:port` pair as written in the configuration: a bind address or a target.
///
/// The host is kept as written (an IPv4 address, a host name, or an IPv6 address without its brackets);
/// resolving names is the job of whoever connects or binds.
public struct HostPort: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 host (`[::1]:8080`), so that `parse(description)` round-trips.
    public var description: String {
        host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// True when the host is an IP address, false when it is a name to resolve (`app-green`, `localhost`).
    public var isAddress: Bool { Self.isIPAddress(Substring(host)) }

    /// The order a name's addresses are kept in, whatever order a lookup returned them in (DNS servers rotate
    /// them): IPv4 first, then by text, then by port.
    public static func addressOrder(_ a: HostPort, _ b: HostPort) -> Bool {
        let (aIsV6, bIsV6) = (a.host.contains(":"), b.host.contains(":"))
        if aIsV6 != bIsV6 { return !aIsV6 }
        if a.host != b.host { return a.host < b.host }
        return a.port < b.port
    }

    /// True for the addresses that accept on every interface (`0.0.0.0`, `::`).
    public var isWildcard: Bool { host == "0.0.0.0" || host == "::" }

    /// True when the host can only be reached from this machine (`127.0.0.0/8`, `::1`, `localhost`).
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || (host.hasPrefix("127.") && Self.isIPv4Literal(Substring(host)))
    }

    /// Parses `0.0.0.0:8080`, `127.0.0.1:3000`, `[::1]:8080`, `localhost:3000`, and `:8080` (meaning `0.0.0.0:8080`).
    ///
    /// Port 0 is accepted here (it asks the kernel for a free port when binding); the configuration refuses it
    /// where it makes no sense, such as a target. An IPv6 host must be in brackets.
    public static func parse(_ s: String) -> HostPort? {
        let host: Substring
        let portText: Substring
        if s.hasPrefix("[") {
            guard let close = s.firstIndex(of: "]") else { return nil }
            host = s[s.index(after: s.startIndex)..<close]
            let rest = s[s.index(after: close)...]
            guard rest.first == ":", isIPv6Literal(host) else { return nil }
            portText = rest.dropFirst()
        } else {
            guard let colon = s.lastIndex(of: ":") else { return nil }
            host = s[..<colon]
            portText = s[s.index(after: colon)...]
            // An unbracketed IPv6 address is ambiguous: `::1:80` could end in a port or not.
            guard host.isEmpty || isHostName(host) || isIPv4Literal(host) else { return nil }
        }
        guard let port = parsePort(portText) else { return nil }
        return HostPort(host: host.isEmpty ? "0.0.0.0" : String(host), port: port)
    }

    private static func parsePort(_ text: Substring) -> UInt16? {
        guard (1...5).contains(text.utf8.count) else { return nil }
        var value = 0
        for byte in text.utf8 {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value <= Int(UInt16.max) ? UInt16(value) : nil
    }

    /// Whether `host` (an IPv6 address without its brackets) is an IP address rather than a name.
    public static func isIPAddress(_ host: Substring) -> Bool { isIPv4Literal(host) || isIPv6Literal(host) }

    static func isIPv4Literal(_ text: Substring) -> Bool {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return false }
        return octets.allSatisfy { octet in
            guard (1...3).contains(octet.utf8.count), octet.utf8.allSatisfy(isDigit) else { return false }
            return Int(octet)! <= 255
        }
    }

    /// A DNS name: dot-separated labels of letters, digits, `-` and `_`. All-numeric names must be IPv4 literals.
    public static func isHostName(_ text: Substring) -> Bool {
        guard text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        let wellFormed = labels.allSatisfy { label in
            (1...63).contains(label.utf8.count)
                && label.utf8.allSatisfy { isDigit($0) || isLetter($0) || $0 == UInt8(ascii: "-") || $0 == UInt8(ascii: "_") }
        }
        guard wellFormed else { return false }
        let allNumeric = text.utf8.allSatisfy { isDigit($0) || $0 == UInt8(ascii: ".") }
        return !allNumeric || isIPv4Literal(text)
    }

    /// Hex digits, colons and dots (for an embedded IPv4 tail), at least two colons, optionally `%zone`.
    private static func isIPv6Literal(_ text: Substring) -> Bool {
        let address = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bare = address.first, !bare.isEmpty else { return false }
        if address.count == 2 {
            guard !address[1].isEmpty, address[1].utf8.allSatisfy({ isDigit($0) || isLetter($0) }) else { return false }
        }
        let colons = bare.utf8.filter { $0 == UInt8(ascii: ":") }.count
        return colons >= 2 && bare.utf8.allSatisfy {
            isHexDigit($0) || $0 == UInt8(ascii: ":") || $0 == UInt8(ascii: ".")
        }
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z")) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        isDigit(byte) || (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "f"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "F"))
    }
}
