import Foundation
import TurnoutCore

/// Refuses the requests a web page could make a browser send to the admin API, before any
/// endpoint sees them. The bearer token stays the real gate; this closes the hole when no token
/// is set (a loopback bind) and is a second wall when one is.
///
/// - `Host` (DNS rebinding: a page on a name its author controls, pointed at 127.0.0.1): it must
///   name an IP address, `localhost`, the bind's own host, or one of `admin.allowed_hosts`; else
///   403 `host_not_allowed`. A browser sends the name of the page's origin there, so a rebound
///   name never matches. `/healthz` is exempt (health checkers send what they like).
/// - Cross-site requests (CSRF): a request that can change state (any method but GET, HEAD and
///   OPTIONS) with `Sec-Fetch-Site` other than `same-origin` or `none`, or, from a browser that
///   does not send that header, with an `Origin` whose host and port are not the `Host` header's,
///   is refused with 403 `cross_site_request`. Clients that are not browsers send neither header.
///   The dashboard served by this server at `/ui/` calls the API from the same origin and passes.
///   (Go's `net/http.CrossOriginProtection` decides the same way.)
/// - A body must be `Content-Type: application/json` (415 `unsupported_media_type`): a page can
///   post `text/plain` or a form anywhere without a CORS preflight, but not JSON.
struct AdminRequestGuard {
    /// Lower-cased host names the `Host` header may carry besides IP addresses and `localhost`.
    private let allowedNames: Set<String>

    init(admin: AdminConfig) {
        var names = Set(admin.allowedHosts.map { $0.lowercased() })
        if !HostPort.isIPAddress(Substring(admin.bind.host)) { names.insert(admin.bind.host.lowercased()) }
        names.insert("localhost")
        allowedNames = names
    }

    /// The refusal for `request`, or nil when it may go on.
    func refusal(for request: AdminRequest, isHealthCheck: Bool) -> AdminResponse? {
        if !isHealthCheck, let host = request.header("Host"), !allows(host: host) {
            return .error(403, .hostNotAllowed,
                          "the Host header '\(host)' names neither an IP address, localhost nor a name in admin.allowed_hosts")
        }
        if !Self.safeMethods.contains(request.method), let reason = Self.crossSiteReason(request) {
            return .error(403, .crossSiteRequest, reason)
        }
        if !request.body.isEmpty, !Self.isJSON(request.header("Content-Type")) {
            let given = request.header("Content-Type").map { "'\($0)'" } ?? "none"
            return .error(415, .unsupportedMediaType, "a request body must be sent with Content-Type: application/json (got \(given))")
        }
        return nil
    }

    private static let safeMethods: Set<String> = ["GET", "HEAD", "OPTIONS"]

    /// `host[:port]` with an IP address or an allowed name as the host.
    func allows(host header: String) -> Bool {
        guard let host = Self.hostPart(of: header) else { return false }
        if host.hasPrefix("[") { return HostPort.isIPAddress(host.dropFirst().dropLast()) }
        return HostPort.isIPAddress(host) || allowedNames.contains(host.lowercased())
    }

    /// The host of a `Host` header value (brackets kept around an IPv6 address), nil when the value
    /// is not `host[:port]`.
    private static func hostPart(of header: String) -> Substring? {
        let value = Substring(header)
        if value.hasPrefix("[") {
            guard let close = value.firstIndex(of: "]") else { return nil }
            let rest = value[value.index(after: close)...]
            guard rest.isEmpty || isPort(rest) else { return nil }
            return value[...close]
        }
        let parts = value.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
        guard let host = parts.first, !host.isEmpty, parts.count == 1 || isPort(":" + parts[1]) else { return nil }
        return host
    }

    private static func isPort(_ text: Substring) -> Bool {
        text.first == ":" && text.count > 1 && text.dropFirst().allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Why `request` looks sent by a browser on behalf of another site; nil when it does not.
    private static func crossSiteReason(_ request: AdminRequest) -> String? {
        if let site = request.header("Sec-Fetch-Site") {
            let value = site.lowercased()
            return value == "same-origin" || value == "none"
                ? nil : "a browser sent this request from another site (Sec-Fetch-Site: \(site))"
        }
        guard let origin = request.header("Origin") else { return nil }
        // An origin is `scheme://host[:port]`; it is this API's own when its host and port are the Host header's.
        if let scheme = origin.range(of: "://"), let host = request.header("Host"),
           origin[scheme.upperBound...].lowercased() == host.lowercased() {
            return nil
        }
        return "a browser sent this request from another origin (Origin: \(origin))"
    }

    /// `application/json`, with parameters or not (`; charset=utf-8`).
    private static func isJSON(_ contentType: String?) -> Bool {
        guard let contentType else { return false }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first ?? ""
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }
}
