import ArgumentParser
import TurnoutControl

/// `turnout weights LISTENER GROUP=W ...`: replace a listener's forward weights (canary, linear steps).
struct WeightsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "weights",
        abstract: "Replace a listener's forward weights, e.g. `turnout weights production blue=90 green=10`.",
        discussion: "Weights are percentages, 0...100, that add up to 100. Groups not named get no traffic from the listener."
    )

    @Argument(help: "The listener whose weights change.")
    var listener: String

    @Argument(help: ArgumentHelp("The new weights, one per group.", valueName: "group=weight"))
    var weights: [String]

    @OptionGroup var routing: AdminRoutingOptions
    @OptionGroup var admin: AdminOptions

    func validate() throws {
        guard !weights.isEmpty else { throw ValidationError("give at least one GROUP=WEIGHT") }
        do {
            _ = try AdminWeightAssignment.parseAll(weights)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        let assignments = try AdminWeightAssignment.parseAll(weights)
        let path = "/v1/listeners/\(AdminPath.segment(listener))/forward"
        let session = try AdminSession(admin)
        let request = AdminClientRequest(.put, path, body: AdminWeightAssignment.forwardBody(assignments))
        let answer = try session.perform(routing.apply(to: request))
        session.show(AdminChangeReport.routing(answer))
    }
}

/// One `GROUP=WEIGHT` argument of `turnout weights`.
struct AdminWeightAssignment: Equatable {
    let group: String
    let weight: Int

    /// Why an argument is not `GROUP=WEIGHT`.
    struct Invalid: Error, CustomStringConvertible {
        let description: String
    }

    /// Parses `blue=90`. The weight is a non-negative decimal integer; its range is the server's to judge.
    init(parsing argument: String) throws(Invalid) {
        guard let equals = argument.firstIndex(of: "=") else {
            throw Invalid(description: "expected GROUP=WEIGHT (for example blue=90), got '\(argument)'")
        }
        let group = String(argument[..<equals])
        let weightText = argument[argument.index(after: equals)...]
        guard !group.isEmpty else { throw Invalid(description: "missing group name in '\(argument)'") }
        guard !weightText.isEmpty, weightText.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }),
            let weight = Int(weightText)
        else {
            throw Invalid(description: "weight of '\(group)' must be a whole number, got '\(weightText)'")
        }
        self.group = group
        self.weight = weight
    }

    /// All arguments, refusing a group named twice.
    static func parseAll(_ arguments: [String]) throws(Invalid) -> [AdminWeightAssignment] {
        var assignments: [AdminWeightAssignment] = []
        for argument in arguments {
            let assignment = try AdminWeightAssignment(parsing: argument)
            if assignments.contains(where: { $0.group == assignment.group }) {
                throw Invalid(description: "group '\(assignment.group)' is given twice")
            }
            assignments.append(assignment)
        }
        return assignments
    }

    /// The forward body of `PUT /v1/listeners/{name}/forward` (`parseAll` refused a group given twice).
    static func forwardBody(_ assignments: [AdminWeightAssignment]) -> JSONValue {
        .object(Dictionary(uniqueKeysWithValues: assignments.map { ($0.group, .int(Int64($0.weight))) }))
    }
}
