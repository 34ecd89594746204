/// Weights given for some of a listener's groups, as `turnout weights production green=10` takes them.
///
/// The rule: when the weights given add up to less than 100, the rest goes to the one group left out that the
/// listener sends traffic to now (a weight above 0). So on a listener at `blue=100` (or `blue=90 green=10`),
/// `green=10` means `blue=90 green=10`; after a switch to green, `blue=10` means `green=90 blue=10`. When no
/// group, or more than one, is left out that way, where the rest goes is not said and nothing is completed:
/// the caller refuses and shows a complete command. Weights that add up to 100 or more are taken as given
/// (the admin API refuses more than 100 and shows the split it would make).
public struct PartialForward: Sendable, Equatable {
    /// The weights given, in the order given.
    public var given: [WeightedGroup]

    public init(_ given: [WeightedGroup]) {
        self.given = given
    }

    /// What is left of 100 after the weights given (below 0 when they add up to more; a weight over 100 counts
    /// as 101, so that any typed number adds up without overflow).
    public var rest: Int { WeightedGroup.total - given.reduce(0) { $0 + min($1.weight, WeightedGroup.total + 1) } }

    /// Whether the weights given leave part of 100 to complete (and so the listener's forward is needed).
    public var isPartial: Bool { rest > 0 }

    public enum Completion: Sendable, Equatable {
        /// The weights given add up to 100 or more: they go as given.
        case asGiven
        /// The weights given and, last, the one group left out that had traffic with the rest.
        case completed([WeightedGroup])
        /// No group left out has traffic now. `example` names the first other group the proxy has for the rest,
        /// or, when there is none, scales the weights given to 100 (weights given that are all 0 go as given).
        case nowhereForTheRest(example: [WeightedGroup])
        /// Several groups left out have traffic now (`others`, with their current weights). `example` shares the
        /// rest between them in proportion to those weights.
        case severalForTheRest(others: [WeightedGroup], example: [WeightedGroup])
    }

    /// Completes the weights given against `current`, the listener's forward in force; `groups` are the
    /// proxy's target groups in order, for an example when nothing has traffic to take the rest.
    public func completed(current: [WeightedGroup], groups: [String]) -> Completion {
        guard isPartial else { return .asGiven }
        let named = Set(given.map(\.group))
        let others = current.filter { $0.weight > 0 && !named.contains($0.group) }
        switch others.count {
        case 1:
            return .completed(given + [WeightedGroup(group: others[0].group, weight: rest)])
        case 0:
            if let spare = groups.first(where: { !named.contains($0) }) {
                return .nowhereForTheRest(example: given + [WeightedGroup(group: spare, weight: rest)])
            }
            // Nothing to suggest for weights that are all 0: the admin API refuses them as they are.
            guard let scaled = WeightedGroup.inPercentages(given) else { return .asGiven }
            return .nowhereForTheRest(example: scaled)
        default:
            let shares = WeightedGroup.apportion(others.map(\.weight), to: rest) ?? others.map { _ in 0 }
            let example = given + zip(others, shares).map { WeightedGroup(group: $0.group, weight: $1) }
            return .severalForTheRest(others: others, example: example)
        }
    }
}
