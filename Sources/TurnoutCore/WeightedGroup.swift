/// One entry of a listener's `forward` action: a target group and its share of the requests.
public struct WeightedGroup: Sendable, Hashable {
    public var group: String
    /// 0...999 as in ALB weighted target groups; 0 keeps the group listed without sending it traffic.
    public var weight: Int

    /// The weights ALB accepts.
    public static let weightRange = 0...999

    public init(group: String, weight: Int) {
        self.group = group
        self.weight = weight
    }
}
