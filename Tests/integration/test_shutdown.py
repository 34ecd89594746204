"""Graceful drain on SIGTERM / SIGINT: in-flight requests finish, listeners close, exit 0."""

from __future__ import annotations

import http.client
import signal
import socket
import threading
import time

import pytest

from admin_client import AdminClient, metric_sum
from harness import LOOPBACK, SOCKET_TIMEOUT, duration_seconds, wait_until

SHUTDOWN_GRACE = "5s"
SLOW_MS = 2000


def listener_refuses(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return False
    except ConnectionRefusedError:
        return True
    except OSError:
        return False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_signal_drains_in_flight_requests_and_exits_zero(proxy, signum):
    turnout = proxy(timeouts={"shutdown_grace": SHUTDOWN_GRACE}, wait_for_admin=True)
    port = turnout.port()
    result: dict = {}
    admin = AdminClient.of(turnout)

    def slow_request() -> None:
        connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)
        try:
            connection.request("GET", f"/slow?ms={SLOW_MS}")
            response = connection.getresponse()
            result["status"] = response.status
            result["served_by"] = response.getheader("X-Served-By")
            result["body"] = response.read()
        except Exception as failure:  # reported by the assertions below
            result["error"] = f"{type(failure).__name__}: {failure}"
        finally:
            connection.close()

    client = threading.Thread(target=slow_request, daemon=True)
    client.start()
    # The signal is to find the request in flight (the slow endpoint holds it for SLOW_MS): waited for, since on a
    # loaded machine the thread may not even have connected after a fixed pause.
    assert wait_until(lambda: metric_sum(admin.metrics_text(), "turnout_requests_in_flight", listener="production") == 1,
                      timeout=SOCKET_TIMEOUT), result
    admin.close()
    turnout.process.exit_expected = True
    turnout.process.send_signal(signum)

    # While the in-flight request is still being served, new connections are refused.
    refused_while_running = False
    deadline = time.monotonic() + duration_seconds(SHUTDOWN_GRACE) + 2
    while time.monotonic() < deadline and turnout.process.is_running():
        if listener_refuses(port) and turnout.process.is_running():
            refused_while_running = True
            break
        time.sleep(0.05)

    client.join(timeout=SOCKET_TIMEOUT)
    assert not client.is_alive()
    assert "error" not in result, result.get("error")
    assert result["status"] == 200
    assert result["served_by"] == "blue"

    exit_code = turnout.process.popen.wait(timeout=duration_seconds(SHUTDOWN_GRACE) + 2)
    assert exit_code == 0
    assert refused_while_running, "listener kept accepting after the signal"
    assert listener_refuses(turnout.port("test"))


def test_grace_period_bounds_the_drain(proxy):
    """A request longer than shutdown_grace does not keep the process alive past the grace."""
    turnout = proxy(timeouts={"shutdown_grace": "1s", "upstream_response": "30s"})
    connection = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
    try:
        connection.request("GET", "/slow?ms=8000")
        time.sleep(0.3)
        turnout.process.exit_expected = True
        turnout.process.send_signal(signal.SIGTERM)
        exit_code = turnout.process.popen.wait(timeout=1 + 3)
        assert exit_code == 0
        with pytest.raises((http.client.HTTPException, ConnectionError)):
            connection.getresponse().read()
    finally:
        connection.close()
