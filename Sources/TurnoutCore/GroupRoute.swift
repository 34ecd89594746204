/// One target group in a routing snapshot.
///
/// Targets are registered as addresses (`127.0.0.1:3000`) or as names (`app-green:3000`, a container's name). The
/// table routes to addresses only: a name stands for every address it last resolved to (`resolved`), each its own
/// target, as Envoy's strict DNS clusters and HAProxy's `server-template` do. So the data plane never resolves
/// anything, and a name's new addresses reach it as a routing change like any other.
public struct GroupRoute: Sendable, Hashable {
    public let name: String
    /// The targets as registered (configuration file, admin API), addresses and names, in registration order:
    /// what the state files keep, so that a restart resolves the names again.
    public let registered: [HostPort]
    /// The addresses each registered name last resolved to, sorted; a name that has not resolved yet has none.
    public let resolved: [HostPort: [HostPort]]
    /// The addresses requests go to, in registration order: each registered address, and the addresses of each
    /// registered name, every address listed once (the first registration that yields it keeps it). Health,
    /// drains, pools and metrics go by these. Health is tracked elsewhere and applied when picking.
    public let targets: [HostPort]
    /// `origins[i]`: the registered target `targets[i]` comes from (the name it resolved from, or the address
    /// itself): for the status, the health checks' Host header and a request's missing Host.
    public let origins: [HostPort]
    public let algorithm: TargetAlgorithm
    /// How long in-flight requests and idle upstream connections of a drained target or group are kept.
    public let deregistrationDelay: ConfigDuration
    /// Where traffic goes when no target of the group is routable.
    public let onAllUnhealthy: AllUnhealthyPolicy
    /// When the proxy takes a target out of rotation on its own observations.
    public let passiveEjection: PassiveEjectionConfig
    /// How the control thread probes the targets.
    public let healthCheck: HealthCheckConfig
    /// `timeouts.upstream_response` for requests routed to this group: the group's own, or the top-level one.
    /// Carried in the snapshot so that the workers take a change with the next publish.
    public let upstreamResponseTimeout: ConfigDuration
    /// How often the names among `registered` are looked up again.
    public let dnsRefresh: ConfigDuration
    /// Re-encryption to the targets (nil: plain HTTP), carried so that the workers take a change with the next
    /// publish.
    public let tls: UpstreamTLSConfig?

    init(
        name: String,
        registered: [HostPort],
        resolved: [HostPort: [HostPort]],
        algorithm: TargetAlgorithm,
        deregistrationDelay: ConfigDuration,
        onAllUnhealthy: AllUnhealthyPolicy,
        passiveEjection: PassiveEjectionConfig,
        healthCheck: HealthCheckConfig,
        upstreamResponseTimeout: ConfigDuration,
        dnsRefresh: ConfigDuration,
        tls: UpstreamTLSConfig?
    ) {
        self.name = name
        self.registered = registered
        // Addresses of names no longer registered are forgotten.
        var kept: [HostPort: [HostPort]] = [:]
        for target in registered where !target.isAddress {
            if let addresses = resolved[target] { kept[target] = addresses.sorted(by: HostPort.addressOrder) }
        }
        self.resolved = kept
        (targets, origins) = Self.expand(registered, resolved: kept)
        self.algorithm = algorithm
        self.deregistrationDelay = deregistrationDelay
        self.onAllUnhealthy = onAllUnhealthy
        self.passiveEjection = passiveEjection
        self.healthCheck = healthCheck
        self.upstreamResponseTimeout = upstreamResponseTimeout
        self.dnsRefresh = dnsRefresh
        self.tls = tls
    }

    /// The route of a configured group, before any of its names resolved; `timeouts` is the top-level section,
    /// for limits the group leaves unset.
    init(config: TargetGroupConfig, timeouts: Timeouts) {
        self.init(
            name: config.name,
            registered: config.targets,
            resolved: [:],
            algorithm: config.algorithm,
            deregistrationDelay: config.deregistrationDelay,
            onAllUnhealthy: config.onAllUnhealthy,
            passiveEjection: config.passiveEjection,
            healthCheck: config.healthCheck,
            upstreamResponseTimeout: config.timeouts.upstreamResponse ?? timeouts.upstreamResponse,
            dnsRefresh: config.dnsRefresh,
            tls: config.tls
        )
    }

    /// The registered names, in registration order.
    public var names: [HostPort] { registered.filter { !$0.isAddress } }

    /// The same group with another registered list (and `resolved` for its names; by default the addresses
    /// already known for the names it keeps); every other setting is kept.
    func replacingTargets(_ registered: [HostPort], resolved: [HostPort: [HostPort]]? = nil) -> GroupRoute {
        GroupRoute(
            name: name,
            registered: registered,
            resolved: resolved ?? self.resolved,
            algorithm: algorithm,
            deregistrationDelay: deregistrationDelay,
            onAllUnhealthy: onAllUnhealthy,
            passiveEjection: passiveEjection,
            healthCheck: healthCheck,
            upstreamResponseTimeout: upstreamResponseTimeout,
            dnsRefresh: dnsRefresh,
            tls: tls
        )
    }

    /// Registered addresses as they are, names as the addresses they resolved to; each address once.
    private static func expand(_ registered: [HostPort], resolved: [HostPort: [HostPort]])
        -> (targets: [HostPort], origins: [HostPort])
    {
        var targets: [HostPort] = [], origins: [HostPort] = []
        var seen = Set<HostPort>()
        for target in registered {
            for address in target.isAddress ? [target] : resolved[target] ?? [] where seen.insert(address).inserted {
                targets.append(address)
                origins.append(target)
            }
        }
        return (targets, origins)
    }
}
