/// How a target group chooses one of its targets for a request (ALB's `load_balancing.algorithm.type`).
public enum TargetAlgorithm: String, Sendable, CaseIterable {
    /// Each target in turn.
    case roundRobin = "round_robin"
    /// The target with the fewest requests in flight on this worker; ties go round-robin.
    case leastOutstandingRequests = "least_outstanding_requests"
}
