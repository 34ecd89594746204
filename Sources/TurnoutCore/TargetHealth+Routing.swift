/// Which targets of a group get traffic, parallel to `health`: the routable ones (healthy, or `initial` when
/// the group has no checks). When none is routable, `failOpen` routes to every target that is not draining and
/// `failClosed` to none (requests get 503).
public func routableTargets(_ health: [TargetHealth], policy: AllUnhealthyPolicy) -> [Bool] {
    let routable = health.map(\.isRoutable)
    if routable.contains(true) { return routable }
    switch policy {
    case .failOpen: return health.map { !$0.isDraining }
    case .failClosed: return routable
    }
}
