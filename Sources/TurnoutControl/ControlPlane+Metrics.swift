import TurnoutCore
import TurnoutMetrics

/// `GET /metrics`: the data plane's per-worker counters summed, plus the gauges the
/// control plane owns (target health, weights, generation, health-check latency).
extension ControlPlane {
    func renderMetrics() -> String {
        var healthSamples: [MetricSample] = []
        let states = ["initial", "healthy", "unhealthy", "draining", "unused"]
        for group in table.groups {
            for target in targetsJSON(group) {
                guard case .object(let fields) = target, case .string(let address)? = fields["target"],
                      case .string(let state)? = fields["state"] else { continue }
                for candidate in states {
                    healthSamples.append(MetricSample(
                        labels: [("target_group", group.name), ("target", address), ("state", candidate)],
                        value: candidate == state ? 1 : 0))
                }
            }
        }
        var weightSamples: [MetricSample] = []
        for (index, listener) in table.listeners.enumerated() {
            for weight in table.forward(ofListener: index) {
                weightSamples.append(MetricSample(labels: [("listener", listener.name), ("target_group", weight.group)],
                                                  value: Double(weight.weight)))
            }
        }
        let extra: [MetricFamily] = [
            .gauge("turnout_target_health", help: "Target health: 1 for the target's current state, 0 for the others.",
                   samples: healthSamples),
            .gauge("turnout_listener_weight", help: "Forward weight of a target group on a listener.", samples: weightSamples),
            .gauge("turnout_routing_generation", help: "Generation of the routing table in force.",
                   samples: [MetricSample(value: Double(table.generation))]),
            .gauge("turnout_state_sound", help: "1 while changes can be saved; 0 while the state journal is unsound and every change is refused.",
                   samples: [MetricSample(value: journal.problem == nil ? 1 : 0)]),
            .histogram("turnout_health_check_duration_seconds", help: "Active health check latency.",
                       series: healthCheckLatency.sorted { $0.key < $1.key }
                           .map { $0.value.series(labels: [("target_group", $0.key)]) }),
        ]
        return metrics.render(extra: extra)
    }
}
