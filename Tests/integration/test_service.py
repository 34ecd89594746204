"""`turnout serve` under a service manager: the sd_notify protocol, with this test acting as systemd.

The test binds a unix datagram socket, starts the real binary with ``NOTIFY_SOCKET`` naming it, and reads what a
``Type=notify`` unit's manager would read: ``READY=1`` once every listener is bound and the routing table is
published (so the moment it arrives, connections are accepted and routed without any retry), ``RELOADING=1`` with
``MONOTONIC_USEC`` then ``READY=1`` around each reload (SIGHUP or ``POST /v1/reload``), and ``STOPPING=1`` when
SIGTERM starts the drain.
"""

from __future__ import annotations

import http.client
import signal
import socket
import time

import pytest

from admin_client import AdminClient, ok_json
from harness import LOOPBACK, SOCKET_TIMEOUT

CLOCK_MONOTONIC_USEC = lambda: time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000  # noqa: E731


class FakeSystemd:
    """The manager's side of NOTIFY_SOCKET: a bound datagram socket and the notifications read from it."""

    def __init__(self, path: str):
        self.path = path
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.socket.bind(path)
        self.socket.settimeout(SOCKET_TIMEOUT)

    def receive(self) -> dict[str, str]:
        """The next notification as its assignments (KEY → VALUE)."""
        datagram = self.socket.recv(4096).decode()
        return dict(line.split("=", 1) for line in datagram.split("\n"))

    def nothing_pending(self) -> bool:
        self.socket.setblocking(False)
        try:
            self.socket.recv(4096)
            return False
        except BlockingIOError:
            return True
        finally:
            self.socket.settimeout(SOCKET_TIMEOUT)

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def systemd(tmp_path, monkeypatch):
    manager = FakeSystemd(str(tmp_path / "notify.sock"))
    # The proxy inherits the test's environment.
    monkeypatch.setenv("NOTIFY_SOCKET", manager.path)
    yield manager
    manager.close()


def get_once(port: int) -> tuple[int, str | None]:
    """One GET / on a new connection, with no retry: (status, X-Served-By)."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("X-Served-By")
    finally:
        connection.close()


def test_ready_reloading_and_stopping_reach_the_service_manager(systemd, proxy, pair):
    turnout = proxy(groups=pair)  # waits for the listeners itself; READY=1 came before that or soon after

    ready = systemd.receive()
    assert ready["READY"] == "1", ready
    assert ready["STATUS"] == "serving 2 listeners; routing table generation 1", ready
    # Ready means bound and published: the first connection to each listener is served by its group.
    assert get_once(turnout.port("production")) == (200, "blue")
    assert get_once(turnout.port("test")) == (200, "green")
    assert ok_json(AdminClient.of(turnout).get("/v1/status"))["generation"] == 1
    assert systemd.nothing_pending(), "READY=1 is sent once"

    # SIGHUP: RELOADING=1 with the monotonic time it started, then READY=1 with the outcome.
    turnout.config.listeners["production"] = {"blue": 90, "green": 10}
    before = CLOCK_MONOTONIC_USEC()
    outcome = turnout.reload()
    reloading = systemd.receive()
    assert reloading["RELOADING"] == "1", reloading
    assert before <= int(reloading["MONOTONIC_USEC"]) <= CLOCK_MONOTONIC_USEC(), reloading
    reloaded = systemd.receive()
    assert reloaded == {"READY": "1", "STATUS": outcome}, (reloaded, outcome)
    assert outcome == "reload applied (listeners.production.forward): published routing table generation 2"

    # The same through the admin API.
    answer = ok_json(AdminClient.of(turnout).post("/v1/reload"))
    assert answer["outcome"] == "nothing_to_change", answer
    assert systemd.receive()["RELOADING"] == "1"
    assert systemd.receive() == {"READY": "1", "STATUS": "reload: nothing to change; routing table generation 2 kept"}

    # SIGTERM: STOPPING=1 as the drain starts.
    turnout.process.exit_expected = True
    turnout.process.send_signal(signal.SIGTERM)
    stopping = systemd.receive()
    assert stopping["STOPPING"] == "1", stopping
    assert stopping["STATUS"].startswith("draining"), stopping
    turnout.process.popen.wait(timeout=10)
    assert turnout.process.popen.returncode == 0


def test_without_notify_socket_nothing_is_attempted(proxy, pair, monkeypatch):
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    turnout = proxy(groups=pair, wait_for_admin=True)
    assert get_once(turnout.port()) == (200, "blue")
    assert "service manager" not in turnout.log()


def test_a_manager_that_went_away_is_logged_and_the_proxy_serves_on(proxy, pair, tmp_path, monkeypatch):
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "nobody-listens.sock"))
    turnout = proxy(groups=pair, wait_for_admin=True)
    turnout.process.wait_for_log(r"could not notify the service manager at .*nobody-listens\.sock: sendto")
    assert get_once(turnout.port()) == (200, "blue")
