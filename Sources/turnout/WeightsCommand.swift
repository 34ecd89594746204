import ArgumentParser
import TurnoutControl
import TurnoutCore

/// `turnout weights LISTENER GROUP=PERCENT ...`: replace a listener's forward weights (canary, linear steps).
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Replace a listener's forward weights, e.g. `turnout weights production blue=90 green=10`.",
        discussion: """
            Weights are percentages of the listener's requests, 0...100, and add up to 100; a group not named \
            gets none. A group at 0 stays listed without traffic (blue=100 green=0).

            Shorthand: when the weights given add up to less than 100, the rest goes to the one group left out \
            that the listener sends traffic to now. On a listener at blue=100 (or at blue=80 green=20), \
            `turnout weights production green=10` sets blue=90 green=10; after a switch to green, \
            `turnout weights production blue=10` sets green=90 blue=10. When no group left out has traffic, or \
            several do, nothing changes and the error shows a complete command to type instead.
            """
    )

    @Argument(help: "The listener whose weights change.")
    var listener: String

    @Argument(help: ArgumentHelp("The new percentages, one per group.", valueName: "group=percent"))
    var weights: [String]

    @Option(help: ArgumentHelp("Change this rule's forward instead of the listener's own (which, like the other rules, stays as it is).",
                               valueName: "name"))
    var rule: String?

    @OptionGroup var routing: AdminRoutingOptions
    @OptionGroup var admin: AdminOptions

    func validate() throws {
        guard !weights.isEmpty else { throw ValidationError("give at least one GROUP=PERCENT") }
        do {
            _ = try AdminWeightArguments.parse(weights)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let session = try AdminSession(admin)
        var routing = self.routing
        let forward = try forwardToSend(session, ifMatch: &routing.ifMatch)
        var path = "/v1/listeners/\(AdminPath.segment(listener))/forward"
        if let rule { path = "/v1/listeners/\(AdminPath.segment(listener))/rules/\(AdminPath.segment(rule))/forward" }
        let request = AdminClientRequest(.put, path, body: AdminWeightArguments.forwardBody(forward))
        let answer = try session.perform(routing.apply(to: request))
        session.show(AdminChangeReport.routing(answer))
    }

    /// The weights given or, when they add up to less than 100, those completed from the listener's forward in
    /// force; then `ifMatch`, unless given, becomes the generation they were completed from, so that a change
    /// made meanwhile is refused (409) rather than overwritten.
    private func forwardToSend(_ session: AdminSession, ifMatch: inout UInt64?) throws -> [WeightedGroup] {
        let partial = PartialForward(try AdminWeightArguments.parse(weights))
        guard partial.isPartial,
            let now = ListenerNow(try session.read(AdminClientRequest(.get, "/v1/status")), listener: listener, rule: rule)
        else { return partial.given }
        switch partial.completed(current: now.forward, groups: now.groups) {
        case .asGiven:
            return partial.given
        case .completed(let forward):
            ifMatch = ifMatch ?? now.generation
            return forward
        case .nowhereForTheRest(let example):
            throw refusal(partial, "'\(listener)' sends traffic to no other group that could take the other \(partial.rest)",
                          example: example)
        case .severalForTheRest(let others, let example):
            let named = others.map { "\($0.group) (\($0.weight))" }
            let list = named.dropLast().joined(separator: ", ") + " and " + named.last!
            throw refusal(partial, "'\(listener)' also sends traffic to \(list): which of them takes the other \(partial.rest) is not said",
                          example: example)
        }
    }

    /// Prints why the weights given cannot be completed, with a complete command, and gives the usage exit status.
    private func refusal(_ partial: PartialForward, _ reason: String, example: [WeightedGroup]) -> ExitCode {
        printError("""
            error: \(WeightedGroup.describe(partial.given)) adds up to \(WeightedGroup.total - partial.rest), not \
            \(WeightedGroup.total), and \(reason). Give every group's percentage, e.g. \
            `turnout weights \(listener) \(WeightedGroup.describe(example))\(rule.map { " --rule \($0)" } ?? "")`
            """)
        return AdminSession.usageExit
    }
}

/// What `GET /v1/status` says of one listener: its forward in the proxy's group order, the groups, the generation.
private struct ListenerNow {
    let forward: [WeightedGroup]
    let groups: [String]
    let generation: UInt64?

    /// Nil when the status has no such listener (the change is then sent as given, for the API to answer 404).
    /// The listener's forward, or with `rule` that rule's.
    init?(_ status: JSONValue, listener: String, rule: String?) {
        var entry = status["listeners"]?.arrayValue?.first { $0["name"]?.stringValue == listener }
        if let rule { entry = entry?["rules"]?.arrayValue?.first { $0["name"]?.stringValue == rule } }
        guard let weights = entry?["forward"]?.objectValue else { return nil }
        let groups = status["target_groups"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        let order = { (group: String) in groups.firstIndex(of: group) ?? groups.count }
        self.groups = groups
        forward = weights.keys.sorted { (order($0), $0) < (order($1), $1) }.map {
            WeightedGroup(group: $0, weight: weights[$0]?.intValue.map { Int(clamping: $0) } ?? 0)
        }
        generation = status["generation"]?.intValue.flatMap { UInt64(exactly: $0) }
    }
}

/// The `GROUP=PERCENT` arguments of `turnout weights`.
enum AdminWeightArguments {
    /// Why an argument is not `GROUP=PERCENT`.
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `blue=90`. The weight is a non-negative decimal integer; its range is the server's to judge.
    static func parse(_ argument: String) throws(Invalid) -> WeightedGroup {
        guard let equals = argument.firstIndex(of: "=") else {
            throw Invalid(description: "expected GROUP=PERCENT (for example blue=90), got '\(argument)'")
        }
        let group = String(argument[..<equals])
        let weightText = argument[argument.index(after: equals)...]
        guard !group.isEmpty else { throw Invalid(description: "missing group name in '\(argument)'") }
        guard !weightText.isEmpty, weightText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let weight = Int(weightText)
        else {
            throw Invalid(description: "weight of '\(group)' must be a whole number, got '\(weightText)'")
        }
        return WeightedGroup(group: group, weight: weight)
    }

    /// All arguments, refusing a group named twice.
    static func parse(_ arguments: [String]) throws(Invalid) -> [WeightedGroup] {
        var forward: [WeightedGroup] = []
        for argument in arguments {
            let entry = try parse(argument)
            if forward.contains(where: { $0.group == entry.group }) {
                throw Invalid(description: "group '\(entry.group)' is given twice")
            }
            forward.append(entry)
        }
        return forward
    }

    /// The body of `PUT /v1/listeners/{name}/forward` (`parse` refused a group given twice).
    static func forwardBody(_ forward: [WeightedGroup]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: forward.map { ($0.group, .int(Int64($0.weight))) }))
    }
}
