/// Smooth weighted round-robin, nginx's algorithm: each pick adds every candidate's weight to its running score,
/// takes the highest score, and subtracts the total weight from the winner.
///
/// Over any window of `sum(weights)` picks each index is chosen exactly `weight` times, and choices are
/// interleaved rather than bunched: 50/50 alternates, 90/10 never picks the heavy side more than 9 times in a row.
///
/// Per-worker state: picking does not allocate (the score array is mutated in place), so it can run per request.
public struct SmoothWeightedPicker: Sendable {
    /// Weights as given, negatives read as 0.
    public let weights: [Int]
    private var scores: [Int]

    public init(weights: [Int]) {
        self.weights = weights.map { max(0, $0) }
        self.scores = [Int](repeating: 0, count: weights.count)
    }

    /// The next index, or nil when every weight is 0.
    public mutating func next() -> Int? {
        next(skipping: { _ in false })
    }

    /// The next index among those `isSkipped` does not refuse (e.g. a group with no usable target), or nil when
    /// none remains. Skipped indices sit out this round entirely, so the others keep their relative shares.
    public mutating func next(skipping isSkipped: (Int) -> Bool) -> Int? {
        var total = 0
        var best = -1
        for index in weights.indices {
            let weight = weights[index]
            if weight == 0 || isSkipped(index) { continue }
            scores[index] += weight
            total += weight
            if best < 0 || scores[index] > scores[best] {
                best = index
            }
        }
        guard best >= 0 else { return nil }
        scores[best] -= total
        return best
    }
}
