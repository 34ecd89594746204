"""GET /metrics: Prometheus text exposition, parsed with prometheus_client, checked against what happened."""

from __future__ import annotations

import http.client
import math

import pytest
from prometheus_client.parser import text_string_to_metric_families

from admin_client import NO_CHECKS, TARGET_STATES, AdminClient, metric_samples, metric_sum, ok_json, served_by, statuses
from harness import LOOPBACK, SOCKET_TIMEOUT, free_port, wait_until


FAST_CHECKS = {"path": "/health", "interval": "200ms", "timeout": "100ms", "healthy_threshold": 2,
               "unhealthy_threshold": 2}
DURATION_BUCKETS = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, math.inf}


@pytest.fixture
def setup(proxy, backends):
    """production → blue (healthy), broken → a refused target (502), empty → no target (503),
    retry → a refused target and green (retried connects)."""
    refused = f"{LOOPBACK}:{free_port()}"
    refused_too = f"{LOOPBACK}:{free_port()}"
    turnout = proxy(
        listeners={
            "production": {"blue": 100},
            "test": {"green": 100},
            "broken": {"gone": 100},
            "empty": {"nothing": 100},
            "retry": {"mixed": 100},
        },
        groups={
            "blue": {"targets": [backends.blue.address], "health_check": FAST_CHECKS},
            "green": {"targets": [backends.green.address], "health_check": NO_CHECKS},
            "gone": {"targets": [refused], "health_check": NO_CHECKS},
            "nothing": {"targets": [], "health_check": NO_CHECKS},
            "mixed": {"targets": [refused_too, backends.green.address], "health_check": NO_CHECKS},
        },
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)
    admin.wait_for_target("blue", backends.blue.address,
                          lambda t: t is not None and t["state"] == "healthy", 5, "healthy")
    return turnout, admin, refused, refused_too


def scrape(admin: AdminClient) -> str:
    response = admin.get("/metrics")
    assert response.status_code == 200
    content_type = response.headers["Content-Type"].replace(" ", "").lower()
    assert content_type.startswith("text/plain;version=0.0.4"), content_type
    list(text_string_to_metric_families(response.text))  # the whole exposition parses
    return response.text


def settle(admin: AdminClient, sample: str, expected: float, **labels: str) -> float:
    """Wait (bounded) for a counter to reach ``expected`` — workers may count just after replying —
    then return its value from a fresh scrape, which must not have gone past it."""
    wait_until(lambda: metric_sum(scrape(admin), sample, **labels) >= expected, timeout=3, interval=0.05)
    return metric_sum(scrape(admin), sample, **labels)


def test_requests_are_counted_per_listener_group_target_and_class(setup, backends):
    turnout, admin, _, _ = setup
    before = metric_sum(scrape(admin), "turnout_requests_total", listener="production")
    assert before == 0
    requests_sent = 37
    assert served_by(turnout.port(), requests_sent) == ["blue"] * requests_sent

    counted = settle(admin, "turnout_requests_total", requests_sent,
                     listener="production", target_group="blue", code_class="2xx")
    assert counted == requests_sent
    exposition = scrape(admin)
    samples = [labels for labels, value in metric_samples(exposition, "turnout_requests_total")
               if labels.get("listener") == "production" and value > 0]
    assert samples == [{"listener": "production", "target_group": "blue", "target": backends.blue.address,
                        "code_class": "2xx"}]

    # 4xx from the backend are a class of their own.
    assert statuses(turnout.port(), 5, "/status?code=404") == [(404, "blue")] * 5
    assert settle(admin, "turnout_requests_total", 5, listener="production", code_class="4xx") == 5
    assert metric_sum(scrape(admin), "turnout_requests_total", listener="production", code_class="2xx") \
        == requests_sent

    # The duration histogram has the contract's buckets and one observation per request.
    exposition = scrape(admin)
    buckets = {float(labels["le"]) for labels, _ in metric_samples(exposition, "turnout_request_duration_seconds_bucket")
               if labels.get("target_group") == "blue"}
    assert buckets == DURATION_BUCKETS
    assert metric_sum(exposition, "turnout_request_duration_seconds_count", target_group="blue") \
        == requests_sent + 5


def test_proxy_errors_are_counted_by_code(setup):
    turnout, admin, refused, _ = setup
    assert statuses(turnout.port("broken"), 3) == [(502, None)] * 3
    assert statuses(turnout.port("empty"), 4) == [(503, None)] * 4
    assert settle(admin, "turnout_proxy_errors_total", 3, listener="broken", code="502") == 3
    assert settle(admin, "turnout_proxy_errors_total", 4, listener="empty", code="503") == 4
    exposition = scrape(admin)
    assert metric_sum(exposition, "turnout_proxy_errors_total", listener="broken", code="503") == 0
    assert metric_sum(exposition, "turnout_proxy_errors_total", listener="empty", code="502") == 0
    assert metric_sum(exposition, "turnout_proxy_errors_total", listener="production") == 0
    assert metric_sum(exposition, "turnout_upstream_connect_errors_total", target_group="gone",
                      target=refused) >= 3


def test_retried_connects_are_counted(setup):
    turnout, admin, _, refused_too = setup
    assert served_by(turnout.port("retry"), 8) == ["green"] * 8
    exposition = scrape(admin)
    retries = metric_sum(exposition, "turnout_upstream_retries_total", listener="retry")
    refused = metric_sum(exposition, "turnout_upstream_connect_errors_total", target_group="mixed",
                         target=refused_too)
    assert retries >= 1
    assert retries == refused
    assert metric_sum(exposition, "turnout_upstream_retries_total", listener="production") == 0


def test_weights_and_generation_follow_the_routing(setup):
    turnout, admin, _, _ = setup
    exposition = scrape(admin)
    assert metric_sum(exposition, "turnout_listener_weight", listener="production", target_group="blue") == 100
    assert metric_sum(exposition, "turnout_listener_weight", listener="test", target_group="green") == 100
    assert metric_sum(exposition, "turnout_routing_generation") == admin.generation()

    ok_json(admin.set_forward("production", {"blue": 30, "green": 70}))
    exposition = scrape(admin)
    assert metric_sum(exposition, "turnout_listener_weight", listener="production", target_group="blue") == 30
    assert metric_sum(exposition, "turnout_listener_weight", listener="production", target_group="green") == 70
    [(_, generation)] = metric_samples(exposition, "turnout_routing_generation")
    assert generation == admin.generation()

    ok_json(admin.switch("green"))
    exposition = scrape(admin)
    assert metric_sum(exposition, "turnout_listener_weight", listener="production", target_group="green") == 100
    assert metric_sum(exposition, "turnout_listener_weight", listener="production", target_group="blue") == 0
    assert metric_sum(exposition, "turnout_routing_generation") == admin.generation()


def test_target_health_has_one_sample_per_state(setup, backends):
    turnout, admin, _, _ = setup
    status = admin.status()
    exposition = scrape(admin)
    for group in status["target_groups"]:
        for target in group["targets"]:
            samples = {labels["state"]: value for labels, value in metric_samples(exposition, "turnout_target_health")
                       if labels.get("target_group") == group["name"] and labels.get("target") == target["target"]}
            assert set(samples) == set(TARGET_STATES), (group["name"], target, samples)
            assert samples[target["state"]] == 1, (group["name"], target, samples)
            assert sum(samples.values()) == 1, (group["name"], target, samples)
    blue = {labels["state"]: value for labels, value in metric_samples(exposition, "turnout_target_health")
            if labels.get("target") == backends.blue.address and labels.get("target_group") == "blue"}
    assert blue["healthy"] == 1
    assert metric_sum(exposition, "turnout_health_check_duration_seconds_count", target_group="blue") >= 2


def test_active_connections_gauge(setup):
    turnout, admin, _, _ = setup
    connections = []
    try:
        for _ in range(3):
            connection = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
            connection.request("GET", "/")
            connection.getresponse().read()
            connections.append(connection)
        assert wait_until(lambda: metric_sum(scrape(admin), "turnout_active_connections", listener="production") == 3,
                          timeout=3, interval=0.05), scrape(admin)
    finally:
        for connection in connections:
            connection.close()
    assert wait_until(lambda: metric_sum(scrape(admin), "turnout_active_connections", listener="production") == 0,
                      timeout=3, interval=0.05), scrape(admin)


def test_requests_in_flight_count_every_attempt_until_it_ends_however_it_ends(proxy, backends):
    """The in-flight gauge (started minus finished per listener and group) shows requests while they run and
    comes back to 0 after every way an attempt can end: a response, a refused connect retried elsewhere, a
    timeout answered 504, and a client that goes away mid-request."""
    refused = f"{LOOPBACK}:{free_port()}"
    turnout = proxy(
        listeners={"production": {"blue": 100}, "test": {"green": 100}, "retry": {"mixed": 100},
                   "hasty": {"impatient": 100}},
        groups={
            "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS},
            "green": {"targets": [backends.green.address], "health_check": NO_CHECKS},
            "mixed": {"targets": [refused, backends.green.address], "health_check": NO_CHECKS},
            "impatient": {"targets": [backends.blue.address], "health_check": NO_CHECKS,
                          "timeouts": {"upstream_response": "200ms"}},
        },
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)

    def in_flight(listener: str, group: str) -> float:
        return metric_sum(scrape(admin), "turnout_requests_in_flight", listener=listener, target_group=group)

    slow = [http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT) for _ in range(3)]
    for connection in slow:
        connection.request("GET", "/slow?ms=1500")
    assert wait_until(lambda: in_flight("production", "blue") == 3, timeout=3, interval=0.02), scrape(admin)
    for connection in slow:
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        connection.close()

    assert served_by(turnout.port("retry"), 6) == ["green"] * 6
    assert statuses(turnout.port("hasty"), 2, path="/slow?ms=1000") == [(504, None)] * 2
    abandoned = http.client.HTTPConnection(LOOPBACK, turnout.port("test"), timeout=SOCKET_TIMEOUT)
    abandoned.request("GET", "/slow?ms=300")
    assert wait_until(lambda: in_flight("test", "green") == 1, timeout=3, interval=0.02), scrape(admin)
    abandoned.close()

    pairs = [("production", "blue"), ("retry", "mixed"), ("hasty", "impatient"), ("test", "green")]
    assert wait_until(lambda: all(in_flight(*pair) == 0 for pair in pairs), timeout=3, interval=0.05), scrape(admin)
    exposition = scrape(admin)
    assert metric_sum(exposition, "turnout_upstream_connect_errors_total", target_group="mixed", target=refused) >= 1
    assert metric_sum(exposition, "turnout_proxy_errors_total", listener="hasty", code="504") == 2
