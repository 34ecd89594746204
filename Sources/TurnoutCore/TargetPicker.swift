/// Chooses a target inside a group, by round-robin or by fewest outstanding requests (ties round-robin),
/// skipping excluded targets (unhealthy, or one that just refused a connection).
///
/// Per-worker state: picking does not allocate. Outstanding counts and exclusions come from the caller, so the
/// picker holds only a cursor and stays valid for as long as the group's target list is the same.
public struct TargetPicker: Sendable {
    public let algorithm: TargetAlgorithm
    public let count: Int
    /// Where the next round-robin scan starts: one past the last pick.
    private var cursor = 0

    public init(algorithm: TargetAlgorithm, count: Int) {
        self.algorithm = algorithm
        self.count = max(0, count)
    }

    /// The next target index, or nil when the group is empty or every target is excluded.
    /// `outstanding` is only consulted for `leastOutstandingRequests`.
    public mutating func next(outstanding: (Int) -> Int, isExcluded: (Int) -> Bool) -> Int? {
        guard count > 0 else { return nil }
        var chosen = -1
        var chosenLoad = Int.max
        // Scanning from the cursor makes the first candidate win ties, which turns ties into round-robin.
        var index = cursor
        for _ in 0..<count {
            if !isExcluded(index) {
                if algorithm == .roundRobin {
                    chosen = index
                    break
                }
                let load = outstanding(index)
                if load < chosenLoad {
                    chosen = index
                    chosenLoad = load
                }
            }
            index = index + 1 == count ? 0 : index + 1
        }
        guard chosen >= 0 else { return nil }
        cursor = chosen + 1 == count ? 0 : chosen + 1
        return chosen
    }

    /// The next target index ignoring load (what round-robin needs).
    public mutating func next(isExcluded: (Int) -> Bool) -> Int? {
        next(outstanding: { _ in 0 }, isExcluded: isExcluded)
    }
}
