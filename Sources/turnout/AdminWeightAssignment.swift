import TurnoutControl

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
