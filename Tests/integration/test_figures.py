"""The recent per-second figures on the real binary under real load: the status's last 10 s and 60 s of each
listener and group, and ``GET /v1/figures`` second by second, checked against what the clients saw."""

from __future__ import annotations

import http.client
import threading
import time

import pytest

from admin_client import NO_CHECKS, AdminClient, assert_error, ok_json, statuses
from harness import LOOPBACK, SOCKET_TIMEOUT, wait_until
from keepalive_load import KeepAliveLoad

CLIENTS = 4


@pytest.fixture
def setup(proxy, backends):
    groups = {
        "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS},
        "green": {"targets": [backends.green.address], "health_check": NO_CHECKS},
    }
    turnout = proxy(groups=groups, wait_for_admin=True)
    return turnout, AdminClient.of(turnout)


def figures(admin: AdminClient, kind: str, name: str) -> dict:
    """The status's figures of one listener (``kind`` "listeners") or group ("target_groups")."""
    return admin.status()["figures"][kind][name]


def series(admin: AdminClient, **query) -> dict:
    return ok_json(admin.get("/v1/figures", params={key: str(value) for key, value in query.items()}))


def test_the_figures_count_every_request_the_keep_alive_clients_made(setup):
    turnout, admin = setup
    load = KeepAliveLoad(turnout.port(), CLIENTS)
    try:
        assert wait_until(lambda: load.count() >= 2000, timeout=30), "load did not get going"
        assert wait_until(lambda: figures(admin, "target_groups", "blue")["10s"]["requests"] > 0, timeout=3)
        live = figures(admin, "listeners", "production")["10s"]
        assert live["request_rate"] > 0 and live["p50_ms"] is not None and live["error_rate_5xx"] == 0
    finally:
        load.stop()
    outcomes = load.outcomes()
    assert [o.error for o in outcomes if o.failed] == []
    sent = len(outcomes)

    # Once a sample after the last response is taken, the figures since the start hold every request, exactly.
    assert wait_until(lambda: series(admin, group="blue")["window"]["requests"] == sent, timeout=5), \
        (sent, series(admin, group="blue")["window"])
    blue = series(admin, group="blue")
    assert sum(blue["requests"]) == sent
    assert len(blue["requests"]) == len(blue["p99_ms"]) == len(blue["in_flight"]) == blue["seconds"] > 0
    assert blue["window"]["responses_5xx"] == blue["window"]["proxy_errors"] == blue["window"]["connect_errors"] == 0
    assert series(admin, listener="production")["window"]["requests"] == sent
    assert series(admin, listener="production", group="blue")["window"]["requests"] == sent
    assert series(admin, group="green")["window"]["requests"] == 0
    assert figures(admin, "target_groups", "blue")["60s"]["requests"] <= sent


def test_errors_latency_and_requests_in_flight_show_per_group(setup):
    turnout, admin = setup
    assert statuses(turnout.port("test"), 6, path="/status?code=503") == [(503, "green")] * 6
    assert statuses(turnout.port("test"), 14, path="/slow?ms=60") == [(200, "green")] * 14

    slow = []
    threads = []
    for _ in range(3):
        connection = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
        slow.append(connection)
        connection.request("GET", "/slow?ms=2500")
        threads.append(threading.Thread(target=lambda c=connection: c.getresponse().read()))
        threads[-1].start()
    try:
        assert wait_until(lambda: figures(admin, "target_groups", "blue")["10s"]["in_flight"] == 3, timeout=3), \
            figures(admin, "target_groups", "blue")
        assert figures(admin, "listeners", "production")["10s"]["in_flight"] == 3
    finally:
        for thread in threads:
            thread.join(timeout=SOCKET_TIMEOUT)
        for connection in slow:
            connection.close()
    assert wait_until(lambda: figures(admin, "target_groups", "blue")["10s"]["in_flight"] == 0, timeout=3)

    green = figures(admin, "target_groups", "green")["60s"]
    assert (green["requests"], green["responses_5xx"], green["error_rate_5xx"]) == (20, 6, 0.3)
    # Fourteen of twenty responses waited 60 ms upstream: the median lies in a bucket at or above 50 ms.
    assert green["p50_ms"] >= 50 and green["p99_ms"] >= green["p50_ms"]
    assert figures(admin, "listeners", "test")["60s"]["requests"] == 20


def test_a_bad_figures_query_is_refused(setup):
    _, admin = setup
    assert_error(admin.get("/v1/figures"), 400, "bad_request")
    assert_error(admin.get("/v1/figures", params={"group": "blue", "seconds": "0"}), 400, "bad_request")
    assert_error(admin.get("/v1/figures", params={"group": "purple"}), 404, "not_found")
