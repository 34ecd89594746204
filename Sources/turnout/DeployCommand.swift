import ArgumentParser
import TurnoutControl

/// `turnout deploy`: start a deployment from a spec file, or from `--to GROUP --strategy NAME`.
struct DeployCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "deploy",
        abstract: "Start a deployment: shift a listener's traffic to a replacement group, step by step.",
        discussion: """
            The spec comes from --file (YAML or JSON, the keys of POST /v1/deployments; see \
            config/deployment.example.yaml) or from --to GROUP with --strategy and --listener. Without --watch, \
            prints the deployment as it started and exits 0. With --watch, follows it until it ends: on a \
            terminal a live view (phases, the split, the countdown, each group's figures), otherwise one line \
            per event; exits 0 when it Succeeded, 2 when it RolledBack, 1 when it Failed or was Stopped.
            """
    )

    @Option(help: ArgumentHelp("The deployment spec, YAML or JSON.", valueName: "path"))
    var file: String?

    @Option(help: ArgumentHelp("The replacement target group (without --file).", valueName: "group"))
    var to: String?

    @Option(help: ArgumentHelp(
        "The strategy with --to: AllAtOnce (server default), Canary10Percent5Minutes, Linear10PercentEvery1Minute, ...",
        valueName: "name"))
    var strategy: String?

    @Option(help: ArgumentHelp("The listener with --to (server default: production).", valueName: "name"))
    var listener: String?

    @Option(help: ArgumentHelp("With --to, shift this rule's forward instead of the listener's own.", valueName: "name"))
    var rule: String?

    @Flag(help: "Follow the deployment until it ends; the exit status says how.")
    var watch = false

    @OptionGroup var admin: AdminOptions

    func validate() throws {
        switch (file, to) {
        case (nil, nil): throw ValidationError("give --file PATH or --to GROUP")
        case (.some, .some): throw ValidationError("give either --file or --to, not both")
        case (.some, nil) where strategy != nil || listener != nil || rule != nil:
            throw ValidationError("--strategy, --listener and --rule go with --to; with --file the spec says them")
        default: break
        }
        if to?.isEmpty == true { throw ValidationError("--to must name a target group") }
    }

    func run() throws {
        let spec = try self.spec()
        let session = try AdminSession(admin)
        // The stream opens first, so that not even the deployment's first events are missed.
        let stream = watch ? try session.events() : nil
        // Watching with --json prints the events' data only, one JSON document a line.
        let request = AdminClientRequest(.post, "/v1/deployments", body: spec)
        let created = watch ? try session.read(request) : try session.perform(request)
        guard let stream else {
            session.show(DeploymentText.view(created, now: AuditTimestamp.nowMilliseconds()))
            return
        }
        guard let id = created["id"]?.stringValue else {
            printError("error: the admin API's answer names no deployment id")
            throw AdminSession.apiErrorExit
        }
        try DeploymentWatch(session: session, id: id).follow(stream)
    }

    private func spec() throws -> JSONValue {
        if let file {
            do {
                return try DeploymentSpecFile.read(file)
            } catch {
                printError("error: \(error)")
                throw AdminSession.usageExit
            }
        }
        var spec: [String: JSONValue] = ["target_group": .string(to ?? "")]
        if let strategy { spec["strategy"] = .string(strategy) }
        if let listener { spec["listener"] = .string(listener) }
        if let rule { spec["rule"] = .string(rule) }
        return .object(spec)
    }
}
