/// Weights in proportion: the percentages weights that do not add up to 100 would make, for messages, for saved
/// state written when weights were relative, and for completing a partial forward.
extension WeightedGroup {
    /// `weights` scaled in proportion to whole numbers that add up to `total`, by largest remainder (ties go to
    /// the first). A positive weight keeps at least 1 while there are no more positive weights than `total`, so
    /// a group that got traffic still gets some. Nil when no weight is positive, one is negative, or the
    /// arithmetic would overflow.
    public static func apportion(_ weights: [Int], to total: Int = WeightedGroup.total) -> [Int]? {
        let limit = Int(Int32.max)
        guard total >= 0, total <= limit, weights.count <= limit, weights.allSatisfy({ (0...limit).contains($0) }) else {
            return nil
        }
        let sum = weights.reduce(0, +)
        guard sum > 0 else { return nil }
        var shares = weights.map { $0 * total / sum }
        let remainders = weights.map { $0 * total % sum }
        let byRemainder = weights.indices.sorted {
            remainders[$0] != remainders[$1] ? remainders[$0] > remainders[$1] : $0 < $1
        }
        for index in byRemainder.prefix(total - shares.reduce(0, +)) { shares[index] += 1 }

        let positive = weights.filter { $0 > 0 }.count
        guard positive <= total else { return shares }
        for index in weights.indices where weights[index] > 0 && shares[index] == 0 {
            // Some positive weight holds 2 or more: `positive` weights share `total` and this one holds none.
            let largest = shares.indices.max { shares[$0] != shares[$1] ? shares[$0] < shares[$1] : $0 > $1 }!
            shares[largest] -= 1
            shares[index] = 1
        }
        return shares
    }

    /// `forward` with its weights apportioned to add up to 100; nil as for `apportion`.
    public static func inPercentages(_ forward: [WeightedGroup]) -> [WeightedGroup]? {
        apportion(forward.map(\.weight)).map { percentages in
            zip(forward, percentages).map { WeightedGroup(group: $0.group, weight: $1) }
        }
    }

    /// `blue=90 green=10`: a forward as the command line and the log write it.
    public static func describe(_ forward: [WeightedGroup]) -> String {
        forward.map { "\($0.group)=\($0.weight)" }.joined(separator: " ")
    }

    /// `75 % to blue and 25 % to green`: where weights that need not add up to 100 send requests, to a tenth of
    /// a percent (a positive weight never shows as 0). Groups without weight are left out.
    static func proportions(of forward: [WeightedGroup]) -> String {
        let sum = forward.reduce(0) { $0 + max(0, $1.weight) }
        let parts = forward.filter { $0.weight > 0 }.map { entry in
            let tenths = max(1, (entry.weight * 2000 + sum) / (2 * sum))
            let percent = tenths % 10 == 0 ? "\(tenths / 10)" : "\(tenths / 10).\(tenths % 10)"
            return "\(percent) % to \(entry.group)"
        }
        guard parts.count > 1 else { return parts.first ?? "nothing" }
        return parts.dropLast().joined(separator: ", ") + " and " + parts.last!
    }
}
