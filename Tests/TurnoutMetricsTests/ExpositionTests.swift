import TurnoutMetrics
import XCTest

final class ExpositionTests: XCTestCase {
    func testRendersSummedBlocksInStableOrder() {
        let registry = MetricsRegistry(durationBuckets: [0.1, 1])
        // Registered in an order other than the rendered one, with two workers sharing a route.
        let testRoute = registry.routeCounters(listener: "test", group: "green", target: "127.0.0.1:3001")
        let blueOnWorker1 = registry.routeCounters(listener: "production", group: "blue", target: "127.0.0.1:3000")
        let blueOnWorker2 = registry.routeCounters(listener: "production", group: "blue", target: "127.0.0.1:3000")
        let testListener = registry.listenerCounters(listener: "test")
        let productionOnWorker1 = registry.listenerCounters(listener: "production")
        let productionOnWorker2 = registry.listenerCounters(listener: "production")

        blueOnWorker1.recordResponse(status: 200, durationNanoseconds: 50_000_000)
        blueOnWorker2.recordResponse(status: 204, durationNanoseconds: 100_000_000)
        blueOnWorker2.recordResponse(status: 503, durationNanoseconds: 2_000_000_000)
        blueOnWorker1.recordConnectError()
        for _ in 0..<3 { blueOnWorker1.recordStarted() }
        blueOnWorker2.recordStarted()
        blueOnWorker1.recordFinished()
        testRoute.recordStarted()
        testRoute.recordFinished()
        testRoute.recordResponse(status: 101, durationNanoseconds: 250_000_000)
        productionOnWorker1.connectionOpened()
        productionOnWorker1.connectionOpened()
        productionOnWorker1.connectionOpened()
        productionOnWorker1.connectionClosed()
        productionOnWorker2.connectionOpened()
        productionOnWorker1.recordProxyError(status: 502)
        productionOnWorker2.recordProxyError(status: 502)
        productionOnWorker1.recordProxyError(status: 431)
        productionOnWorker2.recordRetry()
        testListener.connectionOpened()
        testListener.connectionClosed()
        productionOnWorker1.recordSplicedResponseBytes(100_000)
        productionOnWorker2.recordSplicedResponseBytes(65_536)
        productionOnWorker2.recordSplicedRequestBytes(70_000)
        let apiOnWorker2 = registry.ruleCounters(listener: "production", rule: "api")
        let defaultOnWorker1 = registry.ruleCounters(listener: "production", rule: "default")
        let apiOnWorker1 = registry.ruleCounters(listener: "production", rule: "api")
        _ = registry.ruleCounters(listener: "test", rule: "default")
        apiOnWorker1.recordRequest()
        apiOnWorker2.recordRequest()
        apiOnWorker2.recordRequest()
        defaultOnWorker1.recordRequest()

        let healthChecks = Histogram(upperBounds: [0.5])
        healthChecks.observe(seconds: 0.2)
        healthChecks.observe(nanoseconds: 700_000_000)
        let extra: [MetricFamily] = [
            .gauge("turnout_target_health", help: "Target health state (1 for the current state).", samples: [
                MetricSample(labels: [("target_group", "blue"), ("target", "127.0.0.1:3000"), ("state", "unhealthy")], value: 0),
                MetricSample(labels: [("target_group", "blue"), ("target", "127.0.0.1:3000"), ("state", "healthy")], value: 1),
            ]),
            .histogram("turnout_health_check_duration_seconds", help: "Health check durations.",
                       series: [healthChecks.series(labels: [("target_group", "blue")])]),
            .gauge("turnout_routing_generation", help: "Routing generation.", samples: [MetricSample(value: 4)]),
        ]

        XCTAssertEqual(registry.render(extra: extra), """
            # HELP turnout_requests_total Responses forwarded from targets to clients, by listener, target group, target and status class.
            # TYPE turnout_requests_total counter
            turnout_requests_total{listener="production",target_group="blue",target="127.0.0.1:3000",code_class="2xx"} 2
            turnout_requests_total{listener="production",target_group="blue",target="127.0.0.1:3000",code_class="3xx"} 0
            turnout_requests_total{listener="production",target_group="blue",target="127.0.0.1:3000",code_class="4xx"} 0
            turnout_requests_total{listener="production",target_group="blue",target="127.0.0.1:3000",code_class="5xx"} 1
            turnout_requests_total{listener="test",target_group="green",target="127.0.0.1:3001",code_class="1xx"} 1
            turnout_requests_total{listener="test",target_group="green",target="127.0.0.1:3001",code_class="2xx"} 0
            turnout_requests_total{listener="test",target_group="green",target="127.0.0.1:3001",code_class="3xx"} 0
            turnout_requests_total{listener="test",target_group="green",target="127.0.0.1:3001",code_class="4xx"} 0
            turnout_requests_total{listener="test",target_group="green",target="127.0.0.1:3001",code_class="5xx"} 0
            # HELP turnout_request_duration_seconds Durations of forwarded requests, by target group.
            # TYPE turnout_request_duration_seconds histogram
            turnout_request_duration_seconds_bucket{target_group="blue",le="0.1"} 2
            turnout_request_duration_seconds_bucket{target_group="blue",le="1"} 2
            turnout_request_duration_seconds_bucket{target_group="blue",le="+Inf"} 3
            turnout_request_duration_seconds_sum{target_group="blue"} 2.15
            turnout_request_duration_seconds_count{target_group="blue"} 3
            turnout_request_duration_seconds_bucket{target_group="green",le="0.1"} 0
            turnout_request_duration_seconds_bucket{target_group="green",le="1"} 1
            turnout_request_duration_seconds_bucket{target_group="green",le="+Inf"} 1
            turnout_request_duration_seconds_sum{target_group="green"} 0.25
            turnout_request_duration_seconds_count{target_group="green"} 1
            # HELP turnout_requests_in_flight Requests routed to a target group and not finished, by listener and target group.
            # TYPE turnout_requests_in_flight gauge
            turnout_requests_in_flight{listener="production",target_group="blue"} 3
            turnout_requests_in_flight{listener="test",target_group="green"} 0
            # HELP turnout_upstream_connect_errors_total Failed connection attempts to targets.
            # TYPE turnout_upstream_connect_errors_total counter
            turnout_upstream_connect_errors_total{target_group="blue",target="127.0.0.1:3000"} 1
            turnout_upstream_connect_errors_total{target_group="green",target="127.0.0.1:3001"} 0
            # HELP turnout_upstream_retries_total Requests sent again to another target after a failed attempt, by listener.
            # TYPE turnout_upstream_retries_total counter
            turnout_upstream_retries_total{listener="production"} 1
            turnout_upstream_retries_total{listener="test"} 0
            # HELP turnout_proxy_errors_total Error responses the proxy generated itself, by listener and status code.
            # TYPE turnout_proxy_errors_total counter
            turnout_proxy_errors_total{listener="production",code="431"} 1
            turnout_proxy_errors_total{listener="production",code="502"} 2
            # HELP turnout_active_connections Client connections open, by listener.
            # TYPE turnout_active_connections gauge
            turnout_active_connections{listener="production"} 3
            turnout_active_connections{listener="test"} 0
            # HELP turnout_spliced_bytes_total Body bytes moved with splice(2), never copied through user space, by listener and direction.
            # TYPE turnout_spliced_bytes_total counter
            turnout_spliced_bytes_total{listener="production",direction="request"} 70000
            turnout_spliced_bytes_total{listener="production",direction="response"} 165536
            turnout_spliced_bytes_total{listener="test",direction="request"} 0
            turnout_spliced_bytes_total{listener="test",direction="response"} 0
            # HELP turnout_rule_requests_total Requests taken by each listener rule (rule="default": by the listener's forward), by listener and rule.
            # TYPE turnout_rule_requests_total counter
            turnout_rule_requests_total{listener="production",rule="api"} 3
            turnout_rule_requests_total{listener="production",rule="default"} 1
            turnout_rule_requests_total{listener="test",rule="default"} 0
            # HELP turnout_tls_handshakes_total TLS handshakes completed, by listener.
            # TYPE turnout_tls_handshakes_total counter
            # HELP turnout_tls_handshake_failures_total TLS handshakes that failed, by listener and reason (timeout, protocol_version, no_shared_cipher, unrecognized_name, not_tls, closed, certificate_verify, other).
            # TYPE turnout_tls_handshake_failures_total counter
            # HELP turnout_upstream_tls_handshakes_total TLS handshakes with targets completed, by target group and target.
            # TYPE turnout_upstream_tls_handshakes_total counter
            # HELP turnout_upstream_tls_handshake_failures_total TLS handshakes with targets that failed, by target group, target and reason (timeout, protocol_version, no_shared_cipher, unrecognized_name, not_tls, closed, certificate_verify, other).
            # TYPE turnout_upstream_tls_handshake_failures_total counter
            # HELP turnout_target_health Target health state (1 for the current state).
            # TYPE turnout_target_health gauge
            turnout_target_health{target_group="blue",target="127.0.0.1:3000",state="healthy"} 1
            turnout_target_health{target_group="blue",target="127.0.0.1:3000",state="unhealthy"} 0
            # HELP turnout_health_check_duration_seconds Health check durations.
            # TYPE turnout_health_check_duration_seconds histogram
            turnout_health_check_duration_seconds_bucket{target_group="blue",le="0.5"} 1
            turnout_health_check_duration_seconds_bucket{target_group="blue",le="+Inf"} 2
            turnout_health_check_duration_seconds_sum{target_group="blue"} 0.9
            turnout_health_check_duration_seconds_count{target_group="blue"} 2
            # HELP turnout_routing_generation Routing generation.
            # TYPE turnout_routing_generation gauge
            turnout_routing_generation 4

            """)
    }

    func testHandshakesAreCountedForHTTPSListenersOnlyAndFailuresByReason() {
        let registry = MetricsRegistry()
        let secure = registry.listenerCounters(listener: "secure")
        _ = registry.listenerCounters(listener: "plain")
        secure.recordHandshake()
        secure.recordHandshake()
        secure.recordHandshakeFailure(.timeout)
        secure.recordHandshakeFailure(.notTLS)
        secure.recordHandshakeFailure(.timeout)
        let lines = registry.render().split(separator: "\n").filter { $0.hasPrefix("turnout_tls_") }
        XCTAssertEqual(lines, [
            #"turnout_tls_handshakes_total{listener="secure"} 2"#,
            #"turnout_tls_handshake_failures_total{listener="secure",reason="not_tls"} 1"#,
            #"turnout_tls_handshake_failures_total{listener="secure",reason="timeout"} 2"#,
        ])
    }

    func testUpstreamHandshakesAreCountedByGroupAndTargetOverListenersAndFailuresByReason() {
        let registry = MetricsRegistry()
        let production = registry.routeCounters(listener: "production", group: "secure", target: "10.0.0.1:443")
        let test = registry.routeCounters(listener: "test", group: "secure", target: "10.0.0.1:443")
        let other = registry.routeCounters(listener: "production", group: "secure", target: "10.0.0.2:443")
        _ = registry.routeCounters(listener: "production", group: "plain", target: "10.0.0.3:80")
        production.recordTLSHandshake()
        test.recordTLSHandshake()
        test.recordTLSHandshakeFailure(.certificateVerify)
        other.recordTLSHandshakeFailure(.timeout)
        other.recordTLSHandshakeFailure(.certificateVerify)
        let lines = registry.render().split(separator: "\n").filter { $0.hasPrefix("turnout_upstream_tls_") }
        XCTAssertEqual(lines, [
            #"turnout_upstream_tls_handshakes_total{target_group="secure",target="10.0.0.1:443"} 2"#,
            #"turnout_upstream_tls_handshakes_total{target_group="secure",target="10.0.0.2:443"} 0"#,
            #"turnout_upstream_tls_handshake_failures_total{target_group="secure",target="10.0.0.1:443",reason="certificate_verify"} 1"#,
            #"turnout_upstream_tls_handshake_failures_total{target_group="secure",target="10.0.0.2:443",reason="certificate_verify"} 1"#,
            #"turnout_upstream_tls_handshake_failures_total{target_group="secure",target="10.0.0.2:443",reason="timeout"} 1"#,
        ])
    }

    func testEmptyRegistryRendersEveryDataPlaneFamilyHeaderOnce() {
        let rendered = MetricsRegistry().render()
        XCTAssertEqual(rendered, """
            # HELP turnout_requests_total Responses forwarded from targets to clients, by listener, target group, target and status class.
            # TYPE turnout_requests_total counter
            # HELP turnout_request_duration_seconds Durations of forwarded requests, by target group.
            # TYPE turnout_request_duration_seconds histogram
            # HELP turnout_requests_in_flight Requests routed to a target group and not finished, by listener and target group.
            # TYPE turnout_requests_in_flight gauge
            # HELP turnout_upstream_connect_errors_total Failed connection attempts to targets.
            # TYPE turnout_upstream_connect_errors_total counter
            # HELP turnout_upstream_retries_total Requests sent again to another target after a failed attempt, by listener.
            # TYPE turnout_upstream_retries_total counter
            # HELP turnout_proxy_errors_total Error responses the proxy generated itself, by listener and status code.
            # TYPE turnout_proxy_errors_total counter
            # HELP turnout_active_connections Client connections open, by listener.
            # TYPE turnout_active_connections gauge
            # HELP turnout_spliced_bytes_total Body bytes moved with splice(2), never copied through user space, by listener and direction.
            # TYPE turnout_spliced_bytes_total counter
            # HELP turnout_rule_requests_total Requests taken by each listener rule (rule="default": by the listener's forward), by listener and rule.
            # TYPE turnout_rule_requests_total counter
            # HELP turnout_tls_handshakes_total TLS handshakes completed, by listener.
            # TYPE turnout_tls_handshakes_total counter
            # HELP turnout_tls_handshake_failures_total TLS handshakes that failed, by listener and reason (timeout, protocol_version, no_shared_cipher, unrecognized_name, not_tls, closed, certificate_verify, other).
            # TYPE turnout_tls_handshake_failures_total counter
            # HELP turnout_upstream_tls_handshakes_total TLS handshakes with targets completed, by target group and target.
            # TYPE turnout_upstream_tls_handshakes_total counter
            # HELP turnout_upstream_tls_handshake_failures_total TLS handshakes with targets that failed, by target group, target and reason (timeout, protocol_version, no_shared_cipher, unrecognized_name, not_tls, closed, certificate_verify, other).
            # TYPE turnout_upstream_tls_handshake_failures_total counter

            """)
    }

    func testRenderIntoAppendsToWhatIsThere() {
        var out = "prefix\n"
        MetricsRegistry().render(into: &out, extra: [])
        XCTAssertTrue(out.hasPrefix("prefix\n# HELP turnout_requests_total "))
    }

    func testDefaultDurationBucketsRenderAsTheContractSpellsThem() {
        let registry = MetricsRegistry()
        registry.routeCounters(listener: "l", group: "g", target: "t").recordResponse(status: 200, durationNanoseconds: 1)
        let bounds = registry.render().split(separator: "\n")
            .filter { $0.hasPrefix("turnout_request_duration_seconds_bucket") }
            .map { line in line.split(separator: "le=\"")[1].split(separator: "\"")[0] }
        XCTAssertEqual(bounds, ["0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5",
                                "1", "2.5", "5", "10", "+Inf"])
    }
}
