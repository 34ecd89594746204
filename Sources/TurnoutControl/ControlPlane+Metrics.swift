import TurnoutCore
import TurnoutMetrics

/// `GET /metrics`: the data plane's per-worker counters summed, plus the gauges the
/// control plane owns (target health, names, weights, generation, health-check latency).
extension ControlPlane {
    func renderMetrics() -> String {
        var healthSamples: [MetricSample] = []
        let states = ["initial", "healthy", "unhealthy", "draining", "unused"]
        var nameResolvedSamples: [MetricSample] = [], nameAddressSamples: [MetricSample] = []
        for group in table.groups {
            for target in targetsJSON(group) {
                guard case .object(let fields) = target, case .string(let address)? = fields["target"],
                      case .string(let state)? = fields["state"] else { continue }
                // The name an address came from (none for a target registered as an address), so that the data
                // plane's per-address series can be joined to it.
                var labels = [("target_group", group.name), ("target", address)]
                if let name = fields["name"]?.stringValue { labels.append(("name", name)) }
                for candidate in states {
                    healthSamples.append(MetricSample(labels: labels + [("state", candidate)], value: candidate == state ? 1 : 0))
                }
            }
            for name in group.names {
                let labels = [("target_group", group.name), ("name", name.description)]
                let resolved = names.resolution(group: group.name, name: name)?.phase == .resolved
                nameResolvedSamples.append(MetricSample(labels: labels, value: resolved ? 1 : 0))
                nameAddressSamples.append(MetricSample(labels: labels, value: Double(group.resolved[name]?.count ?? 0)))
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
            .gauge("turnout_target_name_resolved",
                   help: "1 while the latest lookup of a target name found addresses; 0 before its first answer and while lookups fail.",
                   samples: nameResolvedSamples),
            .gauge("turnout_target_name_addresses",
                   help: "Addresses a target name stands for (those of its last successful lookup).",
                   samples: nameAddressSamples),
            .gauge("turnout_listener_weight", help: "Forward weight of a target group on a listener.", samples: weightSamples),
            .gauge("turnout_tls_certificate_expiry_timestamp_seconds",
                   help: "When each HTTPS listener's certificate expires (notAfter), in seconds since the epoch.",
                   samples: certificateExpirySamples),
            .gauge("turnout_routing_generation", help: "Generation of the routing table in force.",
                   samples: [MetricSample(value: Double(table.generation))]),
            .gauge("turnout_state_sound", help: "1 while changes can be saved; 0 while the state journal is unsound and every change is refused.",
                   samples: [MetricSample(value: store.problem == nil ? 1 : 0)]),
            .gauge("turnout_event_stream_clients", help: "Clients streaming GET /v1/events.",
                   samples: [MetricSample(value: Double(events.clientCount))]),
            .counter("turnout_event_stream_dropped_clients_total",
                     help: "Event stream clients dropped because they fell behind the event buffer.",
                     samples: [MetricSample(value: Double(events.droppedSlowClients))]),
            .counter("turnout_event_stream_refused_clients_total",
                     help: "Event stream clients refused because the most allowed were streaming.",
                     samples: [MetricSample(value: Double(events.refusedClients))]),
        ] + accessLogFamilies() + [
            .histogram("turnout_health_check_duration_seconds", help: "Active health check latency.",
                       series: healthCheckLatency.sorted { $0.key < $1.key }
                           .map { $0.value.series(labels: [("target_group", $0.key)]) }),
        ]
        return metrics.render(extra: extra)
    }
}
