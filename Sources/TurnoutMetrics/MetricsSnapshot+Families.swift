extension MetricsSnapshot {
    /// Exposition status class labels, by `responsesByClass` index.
    static let statusClassLabels = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    /// The data-plane metric families, in a fixed order. Every route shows its 2xx…5xx counts (zero
    /// included, so rates start at the first scrape); 1xx (protocol switches) only once seen. Proxy
    /// errors show the codes seen.
    public func families() -> [MetricFamily] {
        let routes = self.routes.sorted { $0.key < $1.key }
        let listeners = self.listeners.sorted { $0.key < $1.key }
        return [
            requestsTotal(routes),
            requestDurations(routes),
            requestsInFlight(routes),
            connectErrors(routes),
            .counter("turnout_upstream_retries_total",
                     help: "Requests sent again to another target after a failed attempt, by listener.",
                     samples: listeners.map { MetricSample(labels: [("listener", $0.key)], value: Double($0.value.retries)) }),
            proxyErrors(listeners),
            .gauge("turnout_active_connections",
                   help: "Client connections open, by listener.",
                   samples: listeners.map {
                       MetricSample(labels: [("listener", $0.key)], value: Double($0.value.activeConnections))
                   }),
            splicedBytes(listeners),
            .counter("turnout_rule_requests_total",
                     help: "Requests taken by each listener rule (rule=\"default\": by the listener's forward), by listener and rule.",
                     samples: ruleRequests.sorted { $0.key < $1.key }.map {
                         MetricSample(labels: [("listener", $0.key.listener), ("rule", $0.key.rule)], value: Double($0.value))
                     }),
            tlsHandshakes(listeners),
            tlsHandshakeFailures(listeners),
            upstreamTLSHandshakes(routes),
            upstreamTLSHandshakeFailures(routes),
        ] + mirrorFamilies()
    }

    /// `turnout_mirror_requests_total` and `turnout_mirror_dropped_total`, for the mirrored routes only (every
    /// reason shown, zero included).
    private func mirrorFamilies() -> [MetricFamily] {
        let mirrors = self.mirrors.sorted { $0.key < $1.key }
        guard !mirrors.isEmpty else { return [] }
        var dropped: [MetricSample] = []
        for (key, totals) in mirrors {
            for reason in MirrorCounters.DropReason.allCases {
                dropped.append(MetricSample(labels: [("listener", key.listener), ("rule", key.rule), ("reason", reason.label)],
                                            value: Double(totals.dropped[reason.rawValue])))
            }
        }
        return [
            .counter("turnout_mirror_requests_total",
                     help: "Requests of a mirrored route chosen for a copy to its mirror group, by listener and rule.",
                     samples: mirrors.map {
                         MetricSample(labels: [("listener", $0.key.listener), ("rule", $0.key.rule)], value: Double($0.value.requests))
                     }),
            .counter("turnout_mirror_dropped_total",
                     help: "Copies to a mirror group dropped (not sent, or not answered), by listener, rule and reason.",
                     samples: dropped),
        ]
    }

    private func requestsTotal(_ routes: [(key: RouteKey, value: RouteTotals)]) -> MetricFamily {
        var samples: [MetricSample] = []
        for (key, totals) in routes {
            for (index, count) in totals.responsesByClass.enumerated() where index > 0 || count > 0 {
                samples.append(MetricSample(
                    labels: [("listener", key.listener), ("target_group", key.group), ("target", key.target),
                             ("code_class", Self.statusClassLabels[index])],
                    value: Double(count)))
            }
        }
        return .counter("turnout_requests_total",
                        help: "Responses forwarded from targets to clients, by listener, target group, target and status class.",
                        samples: samples)
    }

    private func requestDurations(_ routes: [(key: RouteKey, value: RouteTotals)]) -> MetricFamily {
        var groups: [String] = []
        for (key, _) in routes where !groups.contains(key.group) {
            groups.append(key.group)
        }
        return .histogram("turnout_request_duration_seconds",
                          help: "Durations of forwarded requests, by target group.",
                          series: groups.map { HistogramSeries(labels: [("target_group", $0)], counts: duration(group: $0)) })
    }

    private func requestsInFlight(_ routes: [(key: RouteKey, value: RouteTotals)]) -> MetricFamily {
        .gauge("turnout_requests_in_flight",
               help: "Requests routed to a target group and not finished, by listener and target group.",
               samples: samplesByPair(routes, labels: ("listener", "target_group"), pair: { ($0.listener, $0.group) },
                                      value: \.inFlight))
    }

    private func connectErrors(_ routes: [(key: RouteKey, value: RouteTotals)]) -> MetricFamily {
        .counter("turnout_upstream_connect_errors_total",
                 help: "Failed connection attempts to targets.",
                 samples: samplesByPair(routes, labels: ("target_group", "target"), pair: { ($0.group, $0.target) },
                                        value: \.connectErrors))
    }

    /// One sample per pair of label values, summing `value` over the routes that share them.
    private func samplesByPair(_ routes: [(key: RouteKey, value: RouteTotals)], labels: (String, String),
                               pair: (RouteKey) -> (String, String), value: (RouteTotals) -> UInt64) -> [MetricSample] {
        var sums: [PairKey: UInt64] = [:]
        for (key, totals) in routes {
            let (first, second) = pair(key)
            sums[PairKey(first: first, second: second), default: 0] += value(totals)
        }
        return sums.map {
            MetricSample(labels: [(labels.0, $0.key.first), (labels.1, $0.key.second)], value: Double($0.value))
        }
    }

    private func splicedBytes(_ listeners: [(key: String, value: ListenerTotals)]) -> MetricFamily {
        var samples: [MetricSample] = []
        for (listener, totals) in listeners {
            samples.append(MetricSample(labels: [("listener", listener), ("direction", "request")],
                                        value: Double(totals.splicedRequestBytes)))
            samples.append(MetricSample(labels: [("listener", listener), ("direction", "response")],
                                        value: Double(totals.splicedResponseBytes)))
        }
        return .counter("turnout_spliced_bytes_total",
                        help: "Body bytes moved with splice(2), never copied through user space, by listener and direction.",
                        samples: samples)
    }

    /// HTTPS listeners only: those that saw a handshake, whole or failed (plain ones would show zeros forever).
    private func tlsHandshakes(_ listeners: [(key: String, value: ListenerTotals)]) -> MetricFamily {
        .counter("turnout_tls_handshakes_total", help: "TLS handshakes completed, by listener.",
                 samples: listeners.filter { $0.value.tlsHandshakes > 0 || !$0.value.tlsHandshakeFailures.isEmpty }
                     .map { MetricSample(labels: [("listener", $0.key)], value: Double($0.value.tlsHandshakes)) })
    }

    private func tlsHandshakeFailures(_ listeners: [(key: String, value: ListenerTotals)]) -> MetricFamily {
        var samples: [MetricSample] = []
        for (listener, totals) in listeners {
            for (reason, count) in totals.tlsHandshakeFailures.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                samples.append(MetricSample(labels: [("listener", listener), ("reason", reason.label)], value: Double(count)))
            }
        }
        return .counter("turnout_tls_handshake_failures_total",
                        help: "TLS handshakes that failed, by listener and reason (\(Self.handshakeFailureLabels)).",
                        samples: samples)
    }

    static let handshakeFailureLabels = TLSHandshakeFailure.allCases.map(\.label).joined(separator: ", ")

    /// Routes' TLS figures by target group and target (the listeners' routes to one target summed), for the
    /// targets of groups with `tls` that saw a handshake, whole or failed.
    private func upstreamTLSTotals(_ routes: [(key: RouteKey, value: RouteTotals)])
        -> [(group: String, target: String, totals: RouteTotals)] {
        var summed: [(group: String, target: String, totals: RouteTotals)] = []
        for (key, totals) in routes where totals.tlsHandshakes > 0 || !totals.tlsHandshakeFailures.isEmpty {
            if let index = summed.firstIndex(where: { $0.group == key.group && $0.target == key.target }) {
                summed[index].totals.add(totals)
            } else {
                summed.append((key.group, key.target, totals))
            }
        }
        return summed.sorted { ($0.group, $0.target) < ($1.group, $1.target) }
    }

    private func upstreamTLSHandshakes(_ routes: [(key: RouteKey, value: RouteTotals)]) -> MetricFamily {
        .counter("turnout_upstream_tls_handshakes_total",
                 help: "TLS handshakes with targets completed, by target group and target.",
                 samples: upstreamTLSTotals(routes).map {
                     MetricSample(labels: [("target_group", $0.group), ("target", $0.target)], value: Double($0.totals.tlsHandshakes))
                 })
    }

    private func upstreamTLSHandshakeFailures(_ routes: [(key: RouteKey, value: RouteTotals)]) -> MetricFamily {
        var samples: [MetricSample] = []
        for (group, target, totals) in upstreamTLSTotals(routes) {
            for (reason, count) in totals.tlsHandshakeFailures.sorted(by: { $0.key.rawValue < $1.key.rawValue }) {
                samples.append(MetricSample(labels: [("target_group", group), ("target", target), ("reason", reason.label)],
                                            value: Double(count)))
            }
        }
        return .counter("turnout_upstream_tls_handshake_failures_total",
                        help: "TLS handshakes with targets that failed, by target group, target and reason (\(Self.handshakeFailureLabels)).",
                        samples: samples)
    }

    private func proxyErrors(_ listeners: [(key: String, value: ListenerTotals)]) -> MetricFamily {
        var samples: [MetricSample] = []
        for (listener, totals) in listeners {
            for (status, count) in totals.proxyErrors {
                let code = status == ListenerTotals.otherProxyErrorStatus ? "other" : String(status)
                samples.append(MetricSample(labels: [("listener", listener), ("code", code)], value: Double(count)))
            }
        }
        return .counter("turnout_proxy_errors_total",
                        help: "Error responses the proxy generated itself, by listener and status code.",
                        samples: samples)
    }
}

/// Two labels' values: (group, target) or (listener, group).
private struct PairKey: Hashable {
    var first: String
    var second: String
}
