/// The dashboard the admin server serves at `/ui/`: static files compiled into the binary
/// (`DashboardAssets`, made from `dashboard/`). They hold no data and are served without the token; the
/// page asks for it and sends it with every `/v1` call, which stays the gate.
///
/// The answers forbid what the page never does, so that an injected script could not either: load or send
/// anything from another origin (`Content-Security-Policy`), be framed by another site (clickjacking on its
/// buttons), or be read as another media type.
enum Dashboard {
    /// The total size of the dashboard's files that its tests hold it under (the page and its assets).
    static let sizeBudget = 100 * 1024

    static let securityHeaders: [(String, String)] = [
        ("Content-Security-Policy",
         "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
            + "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"),
        ("X-Frame-Options", "DENY"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "no-referrer"),
        // A new binary may ship other files under the same names: the browser asks again each time.
        ("Cache-Control", "no-cache"),
    ]

    private static let files: [String: (contentType: String, body: [UInt8])] = Dictionary(
        uniqueKeysWithValues: DashboardAssets.files.map { ($0.name, ($0.contentType, Array($0.text.utf8))) })

    /// Whether `segments` (the request path split at `/`) is under `/ui`.
    static func owns(_ segments: [String]) -> Bool { segments.first == "ui" }

    /// The answer for a path under `/ui`: `/ui` redirects to `/ui/`, which is `index.html`; GET and HEAD only.
    static func response(method: String, path: String, segments: [String]) -> AdminResponse {
        guard method == "GET" || method == "HEAD" else {
            return .error(405, .methodNotAllowed, "\(method) is not allowed here; use GET, HEAD",
                          headers: [("Allow", "GET, HEAD")])
        }
        if path == "/ui" { return AdminResponse(status: 308, headers: [("Location", "/ui/")]) }
        let name = segments.count == 1 ? "index.html" : segments.dropFirst().joined(separator: "/")
        guard let file = files[name] else {
            return .error(404, .notFound, "no such file: \(path)")
        }
        return AdminResponse(status: 200, headers: [("Content-Type", file.contentType)] + securityHeaders, body: file.body)
    }
}
