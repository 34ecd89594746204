/// Idle objects kept for reuse, so that steady traffic allocates nothing, without keeping what a burst left
/// behind: at most `limit` are kept (the high-water mark; `push` refuses more and the caller drops them), and
/// each `trim` (once a second) frees half of those that stayed idle for the whole period, down to `reserve`.
/// A steady load takes its objects every period and keeps them; a burst's leave within seconds.
struct IdleList<Element: AnyObject> {
    private var items: [Element] = []
    let limit: Int
    let reserve: Int
    /// The fewest idle items since the last `trim`: the ones above it were not needed in that period.
    private var fewest = 0

    init(limit: Int, reserve: Int) {
        self.limit = limit
        self.reserve = reserve
        items.reserveCapacity(limit)
    }

    var count: Int { items.count }

    /// The most recently pushed item, or nil (the caller makes a new one).
    @inline(__always) mutating func pop() -> Element? {
        guard let item = items.popLast() else {
            fewest = 0
            return nil
        }
        if items.count < fewest { fewest = items.count }
        return item
    }

    /// Keeps `item` for reuse; false at the limit (the caller lets it go).
    @inline(__always) mutating func push(_ item: Element) -> Bool {
        guard items.count < limit else { return false }
        items.append(item)
        return true
    }

    /// Frees half (rounded up) of the items that stayed idle since the last call, keeping `reserve`, and starts
    /// the next period. Returns how many it freed.
    @discardableResult
    mutating func trim() -> Int {
        let spare = min(fewest, items.count) - reserve
        var freed = 0
        if spare > 0 {
            freed = (spare + 1) / 2
            items.removeLast(freed)
        }
        fewest = items.count
        return freed
    }
}
