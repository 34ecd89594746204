import ArgumentParser

/// Options of the commands that change routing: optimistic concurrency and dry runs.
struct AdminRoutingOptions: ParsableArguments {
    @Option(
        name: .customLong("if-match"),
        help: ArgumentHelp("Apply only if the routing generation is still this one (else 409).", valueName: "generation"))
    var ifMatch: UInt64?

    @Flag(help: "Validate and show the result without applying it.")
    var dryRun = false

    /// `request` with `If-Match` and `?dry_run=true` as asked.
    func apply(to request: AdminRequest) -> AdminRequest {
        var request = request
        request.path = AdminPath.withDryRun(request.path, dryRun)
        if let ifMatch { request.headers.append(("If-Match", String(ifMatch))) }
        return request
    }
}
