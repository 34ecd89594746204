"""The switch guarantee under keep-alive load: 200 acknowledged switches, no failure, no straggler.

Four client threads send GETs back to back over keep-alive connections to production while the test
switches production between blue and green through ``POST /v1/switch``. A request started after
switch k's acknowledgement (HTTP 200) and answered before switch k+1 was sent must be served by the
group switch k moved to; one served by the group it left is a straggler. The routing decision lies
somewhere between a request's start and its answer, so a request that overlaps the sending of the
next switch may go either way and is not judged (a client thread can stall between taking its start
time and sending, while the next switch goes out).
"""

from __future__ import annotations

import bisect
import statistics
import time
from dataclasses import dataclass

import requests

from admin_client import AdminClient, describe
from harness import wait_until
from keepalive_load import CLIENT_TIMEOUT, KeepAliveLoad, Outcome

CLIENTS = 4
SWITCHES = 200
# A short pause after each acknowledgement, so every window between two switches holds requests.
PAUSE_AFTER_ACK = 0.01
GROUPS = ("blue", "green")


@dataclass
class Switch:
    sent: float
    acknowledged: float
    to: str
    generation: int


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
            to = GROUPS[(index + 1) % 2]  # green, blue, green, ...
            sent = time.monotonic()
            response = session.post(f"{turnout.admin_url}/v1/switch", json={"to": to}, timeout=CLIENT_TIMEOUT)
            acknowledged = time.monotonic()
            assert response.status_code == 200, describe(response)
            body = response.json()
            assert body["generation"] == generation + 1, body
            assert body["listeners"] == {"production": {to: 100}}, body
            generation = body["generation"]
            switches.append(Switch(sent, acknowledged, to, generation))
            time.sleep(PAUSE_AFTER_ACK)
        last_ack = switches[-1].acknowledged
        assert wait_until(lambda: load.count(started_after=last_ack) >= 50, timeout=10)
        session.close()
    finally:
        load.stop()

    outcomes = load.outcomes()
    failures = [o for o in outcomes if o.error is not None]
    assert failures == [], f"{len(failures)} of {len(outcomes)} requests failed, first: {failures[:5]}"

    # Judge each request by the last switch acknowledged before it started.
    acknowledgements = [switch.acknowledged for switch in switches]
    judged = in_flight = 0
    stragglers: list[tuple[Outcome, int]] = []
    windows_with_requests: set[int] = set()
    for outcome in outcomes:
        k = bisect.bisect_right(acknowledgements, outcome.started) - 1
        if k < 0:
            if outcome.finished < switches[0].sent:
                judged += 1
                if outcome.served_by != "blue":
                    stragglers.append((outcome, -1))
            else:
                in_flight += 1
            continue
        next_sent = switches[k + 1].sent if k + 1 < len(switches) else float("inf")
        if outcome.finished >= next_sent:
            in_flight += 1
            continue
        judged += 1
        windows_with_requests.add(k)
        if outcome.served_by != switches[k].to:
            stragglers.append((outcome, k))

    latencies = [switch.acknowledged - switch.sent for switch in switches]
    print(
        f"\n{len(switches)} switches; acknowledgement latency p50 {percentile(latencies, 0.5) * 1000:.2f} ms, "
        f"p99 {percentile(latencies, 0.99) * 1000:.2f} ms, max {max(latencies) * 1000:.2f} ms, "
        f"mean {statistics.mean(latencies) * 1000:.2f} ms\n"
        f"{len(outcomes)} requests: {judged} judged, {in_flight} overlapping a switch in flight, "
        f"{len(stragglers)} stragglers; {len(windows_with_requests)} of {len(switches)} windows held requests"
    )
    assert stragglers == [], (
        f"{len(stragglers)} stragglers, first: "
        + "; ".join(f"switch {k} to {switches[k].to if k >= 0 else 'blue'}: a request started "
                    f"{o.started - switches[max(k, 0)].acknowledged:+.4f}s after its ack, answered "
                    f"{o.finished - o.started:.4f}s later, served by {o.served_by}"
                    for o, k in stragglers[:5])
    )
    # The check had something to judge in most windows (a window with no request proves nothing).
    assert len(windows_with_requests) >= SWITCHES // 2, len(windows_with_requests)
    assert admin.generation() == generation
    assert admin.forwards()["production"] == {GROUPS[SWITCHES % 2]: 100}
