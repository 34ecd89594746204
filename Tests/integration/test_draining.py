"""Deregistering a target drains it: open connections keep working for deregistration_delay, then close;
new requests go elsewhere from the acknowledgement on."""

from __future__ import annotations

import http.client
import socket
import time

from admin_client import AdminClient, ok_json, served_by, statuses
from harness import LOOPBACK, SOCKET_TIMEOUT
from raw_http import ConnectionClosed
from raw_upstream import RawUpstream
from websocket_client import OPCODE_CLOSE, OPCODE_TEXT, WebSocket

DELAY = 2.0
# How long before the delay ends the test stops relying on the connection (scheduling slack).
MARGIN = 0.4
# A close this much earlier than the delay still counts as "at the delay" (timer granularity).
EARLY_TOLERANCE = 0.25


def wait_until_closed(websocket: WebSocket, timeout: float) -> float:
    """Read until the proxy ends the tunnel (close frame, EOF or reset); return when. Fails after ``timeout``."""
    websocket.conn.sock.settimeout(max(0.1, timeout))
    try:
        opcode, _ = websocket.read_message()
        assert opcode == OPCODE_CLOSE, f"unexpected frame {opcode} instead of the end of the tunnel"
    except ConnectionClosed:
        pass
    except socket.timeout:
        raise AssertionError(f"the drained WebSocket was still open after {timeout:.1f}s more") from None
    return time.monotonic()


def test_deregistered_target_drains_open_websocket_then_disappears(proxy, demo_backend):
    a, b = demo_backend("blue-a"), demo_backend("blue-b")
    backends = {a.name: a, b.name: b}
    turnout = proxy(
        groups={"blue": {"targets": [a.address, b.address], "health_check": {"enabled": False},
                         "deregistration_delay": "2s"}},
        listeners={"production": {"blue": 100}},
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)

    websocket = WebSocket(turnout.port())
    keep_alive = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
    try:
        assert websocket.handshake.status == 101
        victim = backends[websocket.handshake.header("X-Served-By")]
        survivor = b if victim is a else a
        websocket.send(OPCODE_TEXT, b"before")
        assert websocket.read_message() == (OPCODE_TEXT, b"before")
        keep_alive.request("GET", "/")
        keep_alive.getresponse().read()

        sent = time.monotonic()
        body = ok_json(admin.delete(f"/v1/target-groups/blue/targets/{victim.address}"))
        acknowledged = time.monotonic()
        assert [t["target"] for t in body["targets"] if t["state"] != "draining"] == [survivor.address]

        # From the acknowledgement on, new requests (new or reused connections) go to the survivor.
        names = served_by(turnout.port(), 10) + [name for _, name in statuses(turnout.port(), 10)]
        for _ in range(10):
            keep_alive.request("GET", "/")
            response = keep_alive.getresponse()
            response.read()
            assert response.status == 200
            names.append(response.getheader("X-Served-By"))
        assert set(names) == {survivor.name}, names

        draining = admin.target("blue", victim.address)
        assert draining is not None, "a draining target stays listed until the delay is over"
        assert (draining["state"], draining["reason"]) == ("draining", "Target.DeregistrationInProgress")
        assert draining["routable"] is False
        assert admin.target("blue", survivor.address)["state"] != "draining"

        # The tunnel keeps working during the delay.
        echoes = 0
        while time.monotonic() < acknowledged + DELAY - MARGIN:
            payload = f"while draining {echoes}".encode()
            try:
                websocket.send(OPCODE_TEXT, payload)
                assert websocket.read_message() == (OPCODE_TEXT, payload)
            except (ConnectionClosed, OSError) as failure:
                raise AssertionError(f"tunnel ended {time.monotonic() - sent:.3f}s after the deregistration, "
                                     f"inside the {DELAY}s delay ({failure!r})") from None
            echoes += 1
            time.sleep(0.25)
        assert echoes >= 2, "too few echoes inside the delay to say the tunnel kept working"
        still = admin.target("blue", victim.address)
        assert still is not None and still["state"] == "draining", still

        # Then the proxy closes it, at about the delay.
        closed = wait_until_closed(websocket, acknowledged + DELAY + 3 - time.monotonic())
        assert closed >= sent + DELAY - EARLY_TOLERANCE, \
            f"closed {closed - sent:.3f}s after the deregistration, before the {DELAY}s delay"
        print(f"\ndrained WebSocket closed {closed - acknowledged:.3f}s after the DELETE's acknowledgement")

        admin.wait_for_target("blue", victim.address, lambda t: t is None, timeout=max(0.5, acknowledged + DELAY + 3
                                                                                      - time.monotonic()), what="gone")
        assert [t["target"] for t in admin.targets("blue")] == [survivor.address]
        assert set(served_by(turnout.port(), 6)) == {survivor.name}
    finally:
        websocket.close_socket()
        keep_alive.close()


def test_replacing_targets_with_zero_delay_ends_the_tunnel_at_once(proxy, demo_backend):
    a, b = demo_backend("blue-a"), demo_backend("blue-b")
    turnout = proxy(
        groups={"blue": {"targets": [a.address, b.address], "health_check": {"enabled": False},
                         "deregistration_delay": "0s"}},
        listeners={"production": {"blue": 100}},
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)
    websocket = WebSocket(turnout.port())
    try:
        assert websocket.handshake.status == 101
        victim = a if websocket.handshake.header("X-Served-By") == "blue-a" else b
        survivor = b if victim is a else a
        ok_json(admin.put("/v1/target-groups/blue/targets", {"targets": [survivor.address]}))
        wait_until_closed(websocket, 3.0)
        assert set(served_by(turnout.port(), 6)) == {survivor.name}
        admin.wait_for_target("blue", victim.address, lambda t: t is None, timeout=3, what="gone")
    finally:
        websocket.close_socket()


def test_target_dropped_from_the_file_on_reload_drains(proxy, demo_backend):
    """SIGHUP with a target removed from the file: it drains like a deregistered one (listed as
    draining, its open tunnel kept) and new requests go to the target that stays."""
    a, b = demo_backend("blue-a"), demo_backend("blue-b")
    group = {"targets": [a.address, b.address], "health_check": {"enabled": False}, "deregistration_delay": "3s"}
    turnout = proxy(groups={"blue": group}, listeners={"production": {"blue": 100}}, wait_for_admin=True)
    admin = AdminClient.of(turnout)
    websocket = WebSocket(turnout.port())
    try:
        assert websocket.handshake.status == 101
        victim = a if websocket.handshake.header("X-Served-By") == a.name else b
        survivor = b if victim is a else a
        turnout.publish(groups={"blue": dict(group, targets=[survivor.address])})

        draining = admin.target("blue", victim.address)
        assert draining is not None and draining["state"] == "draining", draining
        assert set(served_by(turnout.port(), 6)) == {survivor.name}
        websocket.send(OPCODE_TEXT, b"still here")
        assert websocket.read_message() == (OPCODE_TEXT, b"still here")
        assert admin.audit()[-1]["action"] == "reload"
    finally:
        websocket.close_socket()


def test_a_switch_back_within_the_delay_reuses_the_pooled_connection(proxy):
    """The group switched away from keeps its idle pooled connections for its deregistration delay
    (a switch back or a rollback finds them warm), and they close once the delay is over."""
    blue, green = RawUpstream(), RawUpstream()
    try:
        group = {"health_check": {"enabled": False}, "deregistration_delay": f"{DELAY}s"}
        turnout = proxy(
            groups={"blue": {"targets": [blue.address], **group}, "green": {"targets": [green.address], **group}},
            listeners={"production": {"blue": 100}},
            workers=1,
            wait_for_admin=True,
        )
        admin = AdminClient.of(turnout)
        served_by(turnout.port(), 3)
        assert (blue.accepted, green.accepted) == (1, 0)

        ok_json(admin.switch("green"))
        served_by(turnout.port(), 3)
        assert (blue.accepted, green.accepted) == (1, 1)
        time.sleep(0.5)  # several ticks: nothing closes the pooled blue connection early
        assert blue.closed_by_peer == 0, "the pooled connection to blue closed at the switch"

        ok_json(admin.switch("blue"))
        served_by(turnout.port(), 3)
        assert blue.accepted == 1, "the switch back opened a new connection instead of reusing the pooled one"
        assert green.closed_by_peer == 0

        ok_json(admin.switch("green"))
        switched = time.monotonic()
        served_by(turnout.port(), 1)
        deadline = switched + DELAY + 2.0
        while blue.closed_by_peer == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        closed_after = time.monotonic() - switched
        assert blue.closed_by_peer == 1, f"the idle connection to blue was still open {DELAY + 2.0:.1f}s after the switch"
        assert closed_after >= DELAY - EARLY_TOLERANCE, f"closed {closed_after:.2f}s after the switch, before the delay"
        assert blue.accepted == 1 and green.accepted == 1
    finally:
        blue.close()
        green.close()
