/// A target group's own time limits (YAML `target_groups.<name>.timeouts`). A limit left nil takes the value of
/// the top-level `timeouts` section.
public struct GroupTimeouts: Sendable, Hashable {
    /// From the end of the request to the response head, and between response body reads, for requests routed
    /// to this group. Set it for a group whose application is slower (or must fail faster) than the rest.
    public var upstreamResponse: ConfigDuration?

    public init(upstreamResponse: ConfigDuration? = nil) {
        self.upstreamResponse = upstreamResponse
    }
}
