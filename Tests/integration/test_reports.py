"""Switch reports on the real binary under keep-alive load, with slow requests in flight at the switch: what was
in flight at the cut-over, how long the old group took to drain, the errors during the move, each group's figures
before and after, and the links from the audit log and the event stream."""

from __future__ import annotations

import http.client
import threading
import time

import pytest

from admin_client import NO_CHECKS, AdminClient, assert_error, metric_sum, ok_json
from harness import LOOPBACK, SOCKET_TIMEOUT, wait_until
from keepalive_load import KeepAliveLoad
from sse_client import SSEStream

SLOW_MS = 3000
SLOW_REQUESTS = 3
CLIENTS = 4


@pytest.fixture
def setup(proxy, backends):
    groups = {
        "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS, "deregistration_delay": "5s"},
        "green": {"targets": [backends.green.address], "health_check": NO_CHECKS, "deregistration_delay": "5s"},
    }
    # The slow requests take SLOW_MS: the upstream's response timeout (3 s by default here) must leave them room.
    turnout = proxy(groups=groups, timeouts={"upstream_response": "10s"}, wait_for_admin=True)
    return turnout, AdminClient.of(turnout)


class SlowRequest:
    """A GET of ``/slow`` on its own connection, answered in a thread; records when it was sent and answered."""

    def __init__(self, port: int, milliseconds: int):
        self.connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)
        self.sent = time.monotonic()
        self.connection.request("GET", f"/slow?ms={milliseconds}")
        self.status: int | None = None
        self.served_by: str | None = None
        self.answered = 0.0
        self.thread = threading.Thread(target=self._answer, daemon=True)
        self.thread.start()

    def _answer(self) -> None:
        response = self.connection.getresponse()
        response.read()
        self.answered = time.monotonic()
        self.status, self.served_by = response.status, response.getheader("X-Served-By")

    def join(self) -> None:
        self.thread.join(timeout=SOCKET_TIMEOUT)
        self.connection.close()


def settled_report(admin: AdminClient, generation: int) -> dict:
    assert wait_until(lambda: ok_json(admin.get(f"/v1/reports/{generation}"))["settled"], timeout=10)
    return ok_json(admin.get(f"/v1/reports/{generation}"))


def test_a_switch_with_slow_requests_in_flight_reports_them_and_their_drain(setup):
    turnout, admin = setup
    # The slow requests go first, alone, so that the in-flight gauge shows them routed to blue before the load
    # starts; they are still running when the switch comes.
    slow = [SlowRequest(turnout.port(), SLOW_MS) for _ in range(SLOW_REQUESTS)]
    assert wait_until(lambda: metric_sum(admin.metrics_text(), "turnout_requests_in_flight", listener="production",
                                         target_group="blue") == SLOW_REQUESTS, timeout=3)
    load = KeepAliveLoad(turnout.port(), CLIENTS)
    try:
        assert wait_until(lambda: load.count() >= 300, timeout=10), "load did not get going"
        time.sleep(1.1)  # at least one whole second of figures under load before the switch
        with SSEStream(f"{turnout.admin_url}/v1/events") as events:
            events.next()
            switch_sent = time.monotonic()
            generation = ok_json(admin.switch("green"))["generation"]
            acknowledged = time.monotonic()
            assert acknowledged < min(r.sent for r in slow) + SLOW_MS / 1000, "the slow requests ended before the switch"
            for request in slow:
                request.join()
            settled = events.until(lambda e: e.event == "report.settled" and e.data["report_generation"] == generation)[-1]
            assert settled.data["report"] == f"/v1/reports/{generation}"
            routing = [e for e in events._seen if e.event == "routing"]
            assert routing[-1].data["report"] == f"/v1/reports/{generation}"
        time.sleep(1.1)  # a whole second of figures after the switch
    finally:
        load.stop()
        for request in slow:
            request.join()
    assert [o.error for o in load.outcomes() if o.failed] == []
    assert [(r.status, r.served_by) for r in slow] == [(200, "blue")] * SLOW_REQUESTS

    report = settled_report(admin, generation)
    assert (report["generation"], report["previous_generation"], report["action"]) == (generation, generation - 1, "switch")
    [move] = report["moves"]
    assert (move["listener"], move["before"], move["after"], move["departing"]) == \
        ("production", {"blue": 100}, {"green": 100}, ["blue"])
    # The slow requests, and at most one request per keep-alive client, were in flight to blue at the cut-over;
    # green may have taken the clients' next requests already (the snapshot follows the publish).
    assert SLOW_REQUESTS <= move["in_flight_at_cutover"]["blue"] <= SLOW_REQUESTS + CLIENTS
    assert move["in_flight_at_cutover"]["blue"] + move["in_flight_at_cutover"]["green"] <= SLOW_REQUESTS + CLIENTS

    drain = move["drain"]
    assert drain["state"] == "drained" and drain["in_flight_left"] == 0
    # The drain ended when the last slow request finished: after its response was due (800 ms after it was sent;
    # the cut-over came before the acknowledgement), and before its client read it (the cut-over came after the
    # switch was sent) plus one poll's spacing.
    last_sent = max(r.sent for r in slow)
    last_answered = max(r.answered for r in slow)
    assert drain["milliseconds"] >= (last_sent + SLOW_MS / 1000 - acknowledged) * 1000
    assert drain["milliseconds"] <= (last_answered - switch_sent) * 1000 + drain["resolution_ms"]
    assert drain["resolution_ms"] in (10, 50)

    errors = move["errors"]
    assert (errors["responses_5xx"], errors["proxy_errors"], errors["connect_errors"]) == (0, 0, 0)
    assert errors["milliseconds"] >= max(1000, drain["milliseconds"])
    assert errors["groups"]["blue"]["requests"] >= SLOW_REQUESTS
    assert errors["groups"]["green"]["requests"] > 0

    before = move["figures_before"]
    assert before["seconds"] >= 1
    assert before["groups"]["blue"]["requests"] > 0 and before["groups"]["blue"]["p99_ms"] is not None
    assert before["groups"]["green"]["requests"] == 0
    after = move["figures_after"]
    assert after["ended_by"] is None and after["seconds"] > 2
    assert after["groups"]["blue"]["requests"] == errors["groups"]["blue"]["requests"], \
        "nothing reached blue after it drained"
    assert after["groups"]["blue"]["p99_ms"] >= SLOW_MS * 0.5  # the slow answers lie in the bucket above 500 ms
    assert after["groups"]["green"]["requests"] > errors["groups"]["green"]["requests"]
    assert report["totals"]["departing_in_flight_at_cutover"] == move["in_flight_at_cutover"]["blue"]

    [entry] = [e for e in admin.audit() if e["generation_after"] == generation]
    assert entry["report"] == f"/v1/reports/{generation}"
    assert [r["generation"] for r in ok_json(admin.get("/v1/reports"))["reports"]] == [generation]


def test_the_next_change_ends_a_split_and_a_change_that_moves_nothing_has_no_report(setup):
    turnout, admin = setup
    canary = ok_json(admin.set_forward("production", {"blue": 90, "green": 10}))["generation"]
    assert ok_json(admin.get(f"/v1/reports/{canary}"))["moves"][0]["drain"]["state"] == "none"
    full = ok_json(admin.set_forward("production", {"green": 100}))["generation"]
    move = ok_json(admin.get(f"/v1/reports/{canary}"))["moves"][0]
    assert move["figures_after"]["ended_by"] == full
    same_split = ok_json(admin.set_forward("production", {"green": 100, "blue": 0}))["generation"]
    targets = ok_json(admin.post("/v1/target-groups/blue/targets", {"targets": [f"{LOOPBACK}:1"]}))["generation"]
    for generation in (same_split, targets):
        assert_error(admin.get(f"/v1/reports/{generation}"), 404, "not_found")
    assert [e["report"] for e in admin.audit()] == [f"/v1/reports/{canary}", f"/v1/reports/{full}", None, None]
