"""Weighted forwarding between target groups.

The tolerance (±15 of 1000) assumes the picker spreads weights deterministically per worker
(smooth weighted round-robin), which keeps each worker within a request or two of the exact
share whatever the connection-to-worker assignment. A random picker would need about ±4σ
(±40 at 90/10, ±63 at 50/50) to be reliable.
"""

from __future__ import annotations

import http.client
from collections import Counter

import pytest

from harness import LOOPBACK, SOCKET_TIMEOUT

REQUESTS = 1000
CONNECTIONS = 4
TOLERANCE = 15


def served_by_counts(port: int) -> Counter:
    connections = [http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT) for _ in range(CONNECTIONS)]
    counts: Counter = Counter()
    try:
        for index in range(REQUESTS):
            connection = connections[index % CONNECTIONS]
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            assert response.status == 200, index
            counts[response.getheader("X-Served-By")] += 1
    finally:
        for connection in connections:
            connection.close()
    return counts


@pytest.mark.parametrize(
    ("weights", "expected_blue"),
    [({"blue": 90, "green": 10}, 900), ({"blue": 50, "green": 50}, 500)],
    ids=["90-10", "50-50"],
)
def test_weighted_split(proxy, weights, expected_blue):
    turnout = proxy(listeners={"production": weights, "test": {"green": 100}})
    counts = served_by_counts(turnout.port())
    print(f"weights {weights}: served_by counts {dict(counts)}")
    assert set(counts) <= {"blue", "green"}, counts
    assert counts["blue"] + counts["green"] == REQUESTS
    assert abs(counts["blue"] - expected_blue) <= TOLERANCE, counts


def test_zero_weight_group_gets_nothing(proxy):
    turnout = proxy(listeners={"production": {"blue": 0, "green": 100}, "test": {"green": 100}})
    connection = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
    try:
        for _ in range(50):
            connection.request("GET", "/health")
            response = connection.getresponse()
            response.read()
            assert response.getheader("X-Served-By") == "green"
    finally:
        connection.close()
