"""The switch guarantee under keep-alive load: 200 acknowledged switches, no failure, no straggler.

Four client threads send GETs back to back over keep-alive connections to production while the test
switches production between blue and green through ``POST /v1/switch``. A request started after
switch k's acknowledgement (HTTP 200) and answered before switch k+1 was sent must be served by the
group switch k moved to; one served by the group it left is a straggler. A request that overlaps the
sending of the next switch may go either way and is not judged (a client thread can stall between
taking its start time and sending, while the next switch goes out). The rule is ``switch_analysis``'s,
which ``benchmarks/switch`` applies to Turnout and to other proxies.
"""

from __future__ import annotations

import statistics
import time

import requests

from admin_client import AdminClient, describe
from harness import wait_until
from keepalive_load import CLIENT_TIMEOUT, KeepAliveLoad
from switch_analysis import Switch, judge

CLIENTS = 4
SWITCHES = 200
# A short pause after each acknowledgement, so every window between two switches holds requests.
PAUSE_AFTER_ACK = 0.01
GROUPS = ("blue", "green")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_two_hundred_switches_under_load_leave_no_straggler(proxy):
    turnout = proxy(wait_for_admin=True)
    admin = AdminClient.of(turnout)
    generation = admin.generation()

    load = KeepAliveLoad(turnout.port(), CLIENTS)
    switches: list[Switch] = []
    try:
        assert wait_until(lambda: load.count() >= 100, timeout=10), "load did not get going"
        session = requests.Session()
        for index in range(SWITCHES):
            left, to = GROUPS[index % 2], GROUPS[(index + 1) % 2]  # blue to green, green to blue, ...
            sent = time.monotonic()
            response = session.post(f"{turnout.admin_url}/v1/switch", json={"to": to}, timeout=CLIENT_TIMEOUT)
            acknowledged = time.monotonic()
            assert response.status_code == 200, describe(response)
            body = response.json()
            assert body["generation"] == generation + 1, body
            assert body["listeners"] == {"production": {to: 100}}, body
            generation = body["generation"]
            switches.append(Switch(index, left, to, sent, acknowledged))
            time.sleep(PAUSE_AFTER_ACK)
        last_ack = switches[-1].acknowledged
        assert wait_until(lambda: load.count(started_after=last_ack) >= 50, timeout=10)
        session.close()
    finally:
        load.stop()

    outcomes = load.outcomes()
    verdict = judge(outcomes, switches, initial="blue")
    assert verdict.failures == [], (
        f"{len(verdict.failures)} of {len(outcomes)} requests failed, first: {verdict.failures[:5]}"
    )

    latencies = [switch.acknowledged - switch.sent for switch in switches]
    print(
        f"\n{len(switches)} switches; acknowledgement latency p50 {percentile(latencies, 0.5) * 1000:.2f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.2f} ms, max {max(latencies) * 1000:.2f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.2f} ms\n"
        f"{len(outcomes)} requests: {verdict.judged} judged, {verdict.in_flight} overlapping a switch in flight, "
        f"{len(verdict.stragglers)} stragglers; {len(verdict.windows_with_requests)} of {len(switches)} windows "
        "held requests"
    )
    assert verdict.stragglers == [], (
        f"{len(verdict.stragglers)} stragglers, first: "
        + "; ".join(f"switch {s.index} to {s.to}: a request started "
                    f"{o.started - switches[max(s.index, 0)].acknowledged:+.4f}s after its ack, answered "
                    f"{o.finished - o.started:.4f}s later, served by {o.served_by}"
                    for s, o in verdict.stragglers[:5])
    )
    # The check had something to judge in most windows (a window with no request proves nothing).
    assert len(verdict.windows_with_requests) >= SWITCHES // 2, len(verdict.windows_with_requests)
    assert admin.generation() == generation
    assert admin.forwards()["production"] == {GROUPS[SWITCHES % 2]: 100}
