/// One entry of a listener's `forward` action: a target group and its share of the requests.
public struct WeightedGroup: Sendable, Hashable {
    public var group: String
    /// The percentage of the listener's requests this group gets, 0...100; a listener's weights add up to 100
    /// (`total`), as CodeDeploy's traffic percentages do. 0 keeps the group listed without sending it traffic.
    public var weight: Int

    /// What one weight may be.
    public static let weightRange = 0...100
    /// What a listener's weights add up to.
    public static let total = 100

    public init(group: String, weight: Int) {
        self.group = group
        self.weight = weight
    }
}
