import TurnoutCore
import TurnoutPosix

extension HealthChecker {
    /// Schedules the first probe of `entry` after a random delay within one interval.
    func startProbing(_ entry: CheckedTarget, in group: CheckedGroup) {
        let check = group.route.healthCheck
        guard check.enabled else { return }
        let name = group.route.name
        entry.nextProbe = loop.schedule(after: UInt64.random(in: 0..<max(check.interval.nanoseconds, 1))) {
            [weak self, weak entry] in
            guard let self, let entry else { return }
            self.probe(entry, group: name)
        }
    }

    /// Starts one probe and schedules the next one an interval ±10% later.
    private func probe(_ entry: CheckedTarget, group name: String) {
        guard let group = groups[name], group.targets.contains(where: { $0 === entry }) else { return }
        let check = group.route.healthCheck
        guard check.enabled else { return }
        let interval = check.interval.nanoseconds
        let jitter = interval / 10
        entry.nextProbe = loop.schedule(after: interval - jitter + UInt64.random(in: 0...(2 * jitter))) {
            [weak self, weak entry] in
            guard let self, let entry else { return }
            self.probe(entry, group: name)
        }
        // A timeout close to the interval can let a probe outlive the next tick: skip that tick.
        guard entry.probe == nil else { return }

        let probeTarget = HostPort(host: entry.target.host, port: check.port ?? entry.target.port)
        let started = MonotonicClock.now()
        let finished: (ProbeResult) -> Void = { [weak self, weak entry] result in
            guard let self, let entry else { return }
            entry.probe = nil
            self.record(result, of: entry, group: name, probeTarget: probeTarget, started: started)
        }
        let address: SocketAddress
        if let cached = addresses[probeTarget] {
            address = cached
        } else {
            do {
                address = try SocketAddress.resolve(host: probeTarget.host, port: probeTarget.port)
                addresses[probeTarget] = address
            } catch {
                finished(.connectionFailed("cannot resolve \(probeTarget.host)"))
                return
            }
        }
        let probe = HealthProbe(
            loop: loop,
            request: HealthProbe.request(path: check.path, host: check.host ?? probeTarget.description),
            matcher: check.matcher,
            completion: finished
        )
        entry.probe = probe
        probe.start(address: address, timeout: check.timeout.nanoseconds)
    }

    private func record(_ result: ProbeResult, of entry: CheckedTarget, group name: String, probeTarget: HostPort, started: UInt64) {
        if case .notSent(let reason) = result {
            if let count = unsentProbes.record(now: MonotonicClock.now()) {
                logger.error("health probes not sent (\(reason)); targets keep their state", metadata: ["probes": "\(count)"])
            }
            return
        }
        if let unsent = unsentProbes.endIfQuiet(now: MonotonicClock.now()) {
            logger.notice("health probes sent again", metadata: ["probes_not_sent_since_last_report": "\(unsent)"])
        }
        onProbe(name, entry.target, Double(MonotonicClock.now() &- started) / 1_000_000_000)
        // A name may have moved to another address: resolve it again next time.
        if case .connectionFailed = result { addresses[probeTarget] = nil }
        guard let group = groups[name], group.targets.contains(where: { $0 === entry }) else { return }
        let check = group.route.healthCheck
        let previous = entry.health.state
        if entry.health.record(result, healthyThreshold: check.healthyThreshold, unhealthyThreshold: check.unhealthyThreshold) {
            report(group: name, entry: entry, previous: previous)
        }
    }
}
