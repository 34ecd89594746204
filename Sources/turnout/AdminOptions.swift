import ArgumentParser
import Glibc

/// Options shared by the commands that talk to a running proxy's admin API.
struct AdminOptions: ParsableArguments {
    static let defaultURL = "http://127.0.0.1:9901"

    @Option(
        name: .customLong("admin"),
        help: ArgumentHelp(
            "The admin API's URL (default: $TURNOUT_ADMIN, else \(AdminOptions.defaultURL)).", valueName: "url"))
    var adminURL: String?

    @Option(
        help: ArgumentHelp(
            "File holding the bearer token (default: $TURNOUT_TOKEN_FILE).", valueName: "path"))
    var tokenFile: String?

    @Flag(help: "Print the API's JSON response as is.")
    var json = false

    @Option(help: ArgumentHelp("Seconds to wait for the admin API to answer.", valueName: "seconds"))
    var timeout: Int = 10

    func validate() throws {
        guard timeout > 0 else { throw ValidationError("--timeout must be at least 1 second") }
        do {
            _ = try endpoint()
        } catch {
            throw ValidationError(error.description)
        }
    }

    /// The URL in force: `--admin`, else `$TURNOUT_ADMIN`, else the default.
    var resolvedURL: String {
        adminURL ?? Self.environment("TURNOUT_ADMIN") ?? Self.defaultURL
    }

    /// Where `resolvedURL` came from, for messages.
    var urlSource: String {
        if adminURL != nil { return "came from --admin" }
        if Self.environment("TURNOUT_ADMIN") != nil { return "came from TURNOUT_ADMIN" }
        return "is the default"
    }

    /// The token file in force: `--token-file`, else `$TURNOUT_TOKEN_FILE`, else none.
    var resolvedTokenFile: String? {
        tokenFile ?? Self.environment("TURNOUT_TOKEN_FILE")
    }

    func endpoint() throws(AdminEndpoint.Invalid) -> AdminEndpoint {
        try AdminEndpoint(parsing: resolvedURL)
    }

    /// A non-empty environment variable.
    private static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }
}

/// Options of the commands that change routing: optimistic concurrency and dry runs.
struct AdminRoutingOptions: ParsableArguments {
    @Option(
        name: .customLong("if-match"),
        help: ArgumentHelp("Apply only if the routing generation is still this one (else 409).", valueName: "generation"))
    var ifMatch: UInt64?

    @Flag(help: "Validate and show the result without applying it.")
    var dryRun = false

    /// `request` with `If-Match` and `?dry_run=true` as asked.
    func apply(to request: AdminClientRequest) -> AdminClientRequest {
        var request = request
        request.path = AdminPath.withDryRun(request.path, dryRun)
        if let ifMatch { request.headers.append(("If-Match", String(ifMatch))) }
        return request
    }
}
