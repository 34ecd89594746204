/// Where the admin API listens, parsed from `--admin` (`http://host:port[/prefix]`, or `host:port`).
struct AdminEndpoint: Equatable, CustomStringConvertible {
    /// The host as written, without brackets for IPv6 literals.
    let host: String
    let port: UInt16
    /// A path prefix put before every API path, without trailing slash ("" for none).
    let pathPrefix: String

    /// The URL as the operator gave it, for messages.
    let description: String

    /// Why an `--admin` value is not usable.
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    init(parsing text: String) throws(Invalid) {
        description = text
        var rest = Substring(text)
        if let schemeEnd = rest.firstRange(of: "://") {
            let scheme = rest[..<schemeEnd.lowerBound].lowercased()
            guard scheme == "http" else {
                throw Invalid(description: "--admin \(text): only http:// is supported")
            }
            rest = rest[schemeEnd.upperBound...]
        }
        let authority: Substring
        if let slash = rest.firstIndex(of: "/") {
            authority = rest[..<slash]
            var prefix = String(rest[slash...])
            while prefix.hasSuffix("/") { prefix.removeLast() }
            pathPrefix = prefix
        } else {
            authority = rest
            pathPrefix = ""
        }
        guard !authority.contains("@"), !pathPrefix.contains("?"), !pathPrefix.contains("#") else {
            throw Invalid(description: "--admin \(text): expected http://HOST:PORT")
        }
        let hostPart: Substring
        let portPart: Substring?
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else {
                throw Invalid(description: "--admin \(text): unclosed '[' in the host")
            }
            hostPart = authority[authority.index(after: authority.startIndex)..<close]
            let after = authority[authority.index(after: close)...]
            if after.isEmpty {
                portPart = nil
            } else {
                guard after.hasPrefix(":") else { throw Invalid(description: "--admin \(text): expected ':' after ']'") }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = authority[..<colon]
            portPart = authority[authority.index(after: colon)...]
        } else {
            hostPart = authority
            portPart = nil
        }
        guard !hostPart.isEmpty else { throw Invalid(description: "--admin \(text): missing host") }
        host = String(hostPart)
        if let portPart {
            guard let parsed = UInt16(portPart), parsed > 0 else {
                throw Invalid(description: "--admin \(text): port must be 1...65535")
            }
            port = parsed
        } else {
            port = 80
        }
    }

    /// The `Host` header value.
    var hostHeader: String {
        let literal = host.contains(":") ? "[\(host)]" : host
        return port == 80 ? literal : "\(literal):\(port)"
    }
}
