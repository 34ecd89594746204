"""``GET /v1/events`` on the real binary, read by real Server-Sent Events clients (``requests`` with
``stream=True`` and ``curl -N``) while switches, target changes and health transitions happen under
keep-alive load: order, ids, generations, resuming with ``Last-Event-ID``, the token, the cap on clients
and a client that stops reading."""

from __future__ import annotations

import socket
import subprocess
import time

import pytest
import requests

from admin_client import NO_CHECKS, AdminClient, assert_error, metric_sum, ok_json
from harness import LOOPBACK, SOCKET_TIMEOUT, free_port, wait_until
from keepalive_load import KeepAliveLoad
from sse_client import SSEStream

FAST_CHECKS = {"path": "/health", "interval": "200ms", "timeout": "100ms", "healthy_threshold": 2,
               "unhealthy_threshold": 2}


@pytest.fixture
def setup(proxy, backends):
    groups = {
        "blue": {"targets": [backends.blue.address], "health_check": FAST_CHECKS, "deregistration_delay": "1s"},
        "green": {"targets": [backends.green.address], "health_check": FAST_CHECKS, "deregistration_delay": "1s"},
        # Its targets' drains outlast every test: each drain's end is a journal record of its own.
        "spare": {"targets": [], "health_check": NO_CHECKS, "deregistration_delay": "5m"},
    }
    turnout = proxy(groups=groups, wait_for_admin=True)
    admin = AdminClient.of(turnout)
    for backend in (backends.blue, backends.green):
        admin.wait_for_target(backend.name, backend.address, lambda t: t is not None and t["state"] == "healthy", 5)
    return turnout, admin


def events_url(turnout) -> str:
    return f"{turnout.admin_url}/v1/events"


def test_switches_and_health_transitions_stream_in_order_under_load(setup, backends):
    turnout, admin = setup
    load = KeepAliveLoad(turnout.port(), 4)
    try:
        assert wait_until(lambda: load.count() >= 200, timeout=10)
        with SSEStream(events_url(turnout)) as stream:
            assert stream.status == 200
            assert stream.headers["Content-Type"] == "text/event-stream"
            opened = stream.next()
            assert (opened.event, opened.id) == ("open", None)
            generation = admin.generation()
            assert opened.data["generation"] == generation

            for index in range(20):
                to = ("green", "blue")[index % 2]
                assert ok_json(admin.switch(to))["generation"] == generation + index + 1
            seen = stream.until(lambda e: e.event == "routing" and e.data["generation_after"] == generation + 20)
            routing = [event for event in seen if event.event == "routing"]
            assert [e.data["generation_after"] for e in routing] == list(range(generation + 1, generation + 21))
            assert all(e.data["generation"] == e.data["generation_after"] == e.data["generation_before"] + 1
                       for e in routing)
            assert routing[0].data["action"] == "switch" and routing[0].data["caller"] == LOOPBACK
            assert routing[0].data["diff"] == {"listeners": {"production": {"before": {"blue": 100},
                                                                            "after": {"green": 100}}}}
            assert routing[0].data["audit_id"] == admin.audit(limit=20)[0]["id"]

            requests.post(f"http://{LOOPBACK}:{backends.green.port}/control/health", data=b"fail",
                          timeout=SOCKET_TIMEOUT).raise_for_status()
            health = stream.until(lambda e: e.event == "health")[-1]
            assert {key: health.data[key] for key in ("group", "target", "from", "to", "reason")} == {
                "group": "green", "target": backends.green.address, "from": "healthy", "to": "unhealthy",
                "reason": "Target.ResponseCodeMismatch"}
            assert health.data["generation"] == generation + 20

            numbers = [e.number for e in stream._seen if e.id is not None]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers))), "ids go up by one, no gap"
    finally:
        load.stop()
    assert [o.error for o in load.outcomes() if o.failed] == [], "streaming events fails no request"


def test_a_client_that_comes_back_with_last_event_id_gets_what_it_missed(setup):
    turnout, admin = setup
    with SSEStream(events_url(turnout)) as stream:
        stream.next()
        admin.switch("green")
        last = stream.until(lambda e: e.event == "routing")[-1]
    missed = [ok_json(admin.switch(to))["generation"] for to in ("blue", "green", "blue")]
    with SSEStream(events_url(turnout), headers={"Last-Event-ID": last.id}) as stream:
        opened = stream.next()
        assert opened.event == "open" and opened.data["resumed_after"] == int(last.id)
        replayed = stream.until(lambda e: e.event == "routing" and e.data["generation_after"] == missed[-1])
        assert [e.data["generation_after"] for e in replayed if e.event == "routing"] == missed
        assert replayed[0].number == int(last.id) + 1

    with SSEStream(events_url(turnout), headers={"Last-Event-ID": "12"}) as stream:
        reset = stream.next()
        assert reset.event == "reset" and reset.data["last_event_id"] == "12"
        assert reset.number == reset.data["newest_id"] == replayed[-1].number
        assert reset.data["generation"] == admin.generation()


def test_curl_follows_the_stream(setup, tmp_path):
    turnout, admin = setup
    output = tmp_path / "curl.out"
    with open(output, "wb") as sink:
        curl = subprocess.Popen(["curl", "-sN", events_url(turnout)], stdout=sink, stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: b"event: open" in output.read_bytes(), timeout=5), output.read_bytes()
        generation = ok_json(admin.switch("green"))["generation"]
        admin.post("/v1/target-groups/spare/targets", {"targets": [f"{LOOPBACK}:{free_port()}"]})
        assert wait_until(lambda: b"event: target.registered" in output.read_bytes(), timeout=5), output.read_bytes()
    finally:
        curl.terminate()
        curl.wait(timeout=5)
    text = output.read_text()
    assert text.startswith("retry: 1000\n\nevent: open\ndata: {")
    assert f'event: routing\ndata: {{"action":"switch"' in text
    assert f'"generation_after":{generation}' in text
    assert text.index("event: routing") < text.index("event: target.registered")


def test_the_token_applies_to_the_stream(proxy, backends, tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("stream-secret\n")
    turnout = proxy(token_file=token_file, wait_for_admin=True)
    assert_error(requests.get(events_url(turnout), timeout=SOCKET_TIMEOUT), 401, "unauthorized")
    with SSEStream(events_url(turnout), headers={"Authorization": "Bearer stream-secret"}) as stream:
        assert stream.status == 200 and stream.next().event == "open"


def open_raw_stream(turnout, receive_buffer: int | None = None) -> socket.socket:
    """A client that sends the request and reads nothing (its receive buffer as small as asked)."""
    client = socket.socket()
    if receive_buffer is not None:
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    client.connect((LOOPBACK, turnout.admin_port))
    client.sendall(f"GET /v1/events HTTP/1.1\r\nHost: {LOOPBACK}\r\n\r\n".encode())
    return client


def test_no_more_than_32_clients_stream_and_a_closed_one_frees_its_place(setup):
    turnout, admin = setup
    clients = [open_raw_stream(turnout) for _ in range(32)]
    try:
        assert wait_until(lambda: metric_sum(admin.metrics_text(), "turnout_event_stream_clients") == 32, timeout=5)
        assert_error(admin.get("/v1/events"), 503, "too_many_streams")
        assert metric_sum(admin.metrics_text(), "turnout_event_stream_refused_clients_total") == 1
        clients.pop().close()
        assert wait_until(lambda: metric_sum(admin.metrics_text(), "turnout_event_stream_clients") == 31, timeout=5)
        with SSEStream(events_url(turnout)) as stream:
            assert stream.status == 200 and stream.next().event == "open"
    finally:
        for client in clients:
            client.close()


def test_a_client_that_stops_reading_is_dropped_and_counted_while_the_others_get_everything(setup):
    """A client that reads nothing falls behind the 1,024 events kept and is disconnected; meanwhile the admin
    API answers and a reading client sees every event, in order."""
    turnout, admin = setup
    stalled = open_raw_stream(turnout, receive_buffer=4096)
    try:
        with SSEStream(events_url(turnout)) as reader:
            reader.next()
            rounds = 0
            while metric_sum(admin.metrics_text(), "turnout_event_stream_dropped_clients_total") == 0:
                rounds += 1
                assert rounds <= 10, "the client that reads nothing was never dropped"
                # 400 targets registered, then replaced by 400 others: 1,200 events and more per round.
                targets = [f"{LOOPBACK}:{20000 + rounds * 1000 + index}" for index in range(400)]
                ok_json(admin.put("/v1/target-groups/spare/targets", {"targets": targets}))
            last = ok_json(admin.put("/v1/target-groups/spare/targets", {"targets": []}))["generation"]
            seen = reader.until(lambda e: e.event == "routing" and e.data["generation_after"] == last, timeout=30)
            numbers = [e.number for e in seen]
            assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))
            assert sum(1 for e in seen if e.event == "target.registered") == 400 * rounds
        stalled.settimeout(SOCKET_TIMEOUT)
        received = b""
        while chunk := stalled.recv(65536):  # what the kernel held, then the end of the stream
            received += chunk
        assert received.startswith(b"HTTP/1.1 200 OK\r\n") and b"\r\n\r\nretry: 1000" in received
        assert metric_sum(admin.metrics_text(), "turnout_event_stream_dropped_clients_total") == 1
    finally:
        stalled.close()
