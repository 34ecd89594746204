/// What a target group does when none of its targets is routable (YAML `on_all_unhealthy`).
public enum AllUnhealthyPolicy: String, Sendable, CaseIterable {
    /// Send traffic to every target that is not draining, as ALB does: a health check that fails everywhere
    /// is more often wrong than every target at once.
    case failOpen = "fail_open"
    /// Send nothing: requests for the group get 503.
    case failClosed = "fail_closed"
}
