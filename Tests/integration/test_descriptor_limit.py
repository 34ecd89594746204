"""Out of descriptors: the real ``turnout serve`` under a low ``RLIMIT_NOFILE`` with far more clients
than descriptors.

EMFILE at ``accept`` must pause the listeners (not spin on a level-triggered listener), be logged
once per interval with a count, never count against a target (no passive ejection, no unhealthy
mark from a probe that could not even get a socket, a 503 rather than a 502 for a request whose
upstream connection could not be made), and pass by itself once the clients go away.
"""

from __future__ import annotations

import os
import re
import resource
import selectors
import socket
import time
from collections import Counter
from pathlib import Path

import requests

from admin_client import AdminClient, wait_for_admin_api
from harness import LOOPBACK, SOCKET_TIMEOUT, Proxy, executable, wait_until

DESCRIPTOR_LIMIT = 256
CLIENTS = 1000
WORKERS = 2
# How long the proxy is held out of descriptors while its CPU time is measured: more than two
# health-check intervals and the unhealthy threshold, so probes fail while it lasts.
WINDOW = 4.0
# Workers spinning on their listeners (the failure this guards against) burn up to a core each,
# and did so here; a proxy that waits uses next to nothing. The bound is generous either way.
MAX_CORES_WHILE_EXHAUSTED = 0.25
SHORTAGE_LINE = "out of local resources"


def raise_own_descriptor_limit(needed: int) -> None:
    """The test process holds ``needed`` sockets at once; lift its soft limit toward the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < needed:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else needed, hard))


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of the whole process (all threads), from /proc/<pid>/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    # After the command's closing parenthesis: state is field 3, utime 14 and stime 15 (1-based).
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Crowd:
    """``count`` non-blocking client connections on one thread, each sending one keep-alive GET and
    keeping its connection open after the answer: far more connections than the proxy has descriptors."""

    REQUEST = b"GET / HTTP/1.1\r\nHost: app.example\r\n\r\n"

    def __init__(self, port: int, count: int):
        self.selector = selectors.DefaultSelector()
        self.statuses: Counter[str] = Counter()
        self.sockets: list[socket.socket] = []
        self.received: dict[int, bytes] = {}
        for _ in range(count):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.setblocking(False)
            client.connect_ex((LOOPBACK, port))
            self.sockets.append(client)
            self.received[client.fileno()] = b""
            self.selector.register(client, selectors.EVENT_WRITE)

    def pump(self, seconds: float) -> None:
        """Sends requests and reads status lines for ``seconds``."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            for key, events in self.selector.select(timeout=min(left, 0.1)):
                client = key.fileobj
                if events & selectors.EVENT_WRITE:
                    try:
                        client.send(self.REQUEST)
                    except OSError:
                        self._done(client, "connect failed")
                        continue
                    self.selector.modify(client, selectors.EVENT_READ)
                    continue
                try:
                    chunk = client.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    self._done(client, "closed")
                    continue
                data = self.received[client.fileno()] + chunk
                self.received[client.fileno()] = data
                if b"\r\n" in data:
                    self._done(client, data.split(b" ", 2)[1].decode())

    def _done(self, client: socket.socket, outcome: str) -> None:
        self.statuses[outcome] += 1
        self.selector.unregister(client)

    def close(self) -> None:
        self.selector.close()
        for client in self.sockets:
            client.close()


def test_out_of_descriptors_the_proxy_waits_blames_no_target_and_recovers(
        proxy_config, start_process, demo_backend):
    raise_own_descriptor_limit(CLIENTS + 200)
    blue, green = demo_backend("blue"), demo_backend("green")
    checks = {"interval": "1s", "timeout": "500ms", "healthy_threshold": 2, "unhealthy_threshold": 2}
    config, path = proxy_config(
        listeners={"production": {"app": 100}},
        groups={"app": {"targets": [blue.address, green.address], "health_check": checks}},
        timeouts={"client_idle": "60s", "client_header": "60s"},
        workers=WORKERS,
    )
    process = start_process("turnout", [
        "prlimit", f"--nofile={DESCRIPTOR_LIMIT}", str(executable("turnout")), "serve", "--config", str(path)])
    process.wait_until_listening(config.listener_ports.values())
    turnout = Proxy(process, config, path)
    wait_for_admin_api(turnout)
    admin = AdminClient.of(turnout)
    try:
        for address in (blue.address, green.address):
            admin.wait_for_target("app", address, lambda target: target is not None and target["state"] == "healthy",
                                  timeout=SOCKET_TIMEOUT, what="healthy")

        crowd = Crowd(turnout.port(), CLIENTS)
        try:
            crowd.pump(2.0)  # the proxy takes what it can and runs out
            before = cpu_seconds(process.pid)
            started = time.monotonic()
            crowd.pump(WINDOW)
            cores = (cpu_seconds(process.pid) - before) / (time.monotonic() - started)
            print(f"proxy CPU while out of descriptors: {cores:.3f} cores; client outcomes: {dict(crowd.statuses)}")
            assert cores < MAX_CORES_WHILE_EXHAUSTED, f"{cores:.2f} cores used while out of descriptors"
            assert "502" not in crowd.statuses, crowd.statuses
            assert SHORTAGE_LINE in process.log(), "the proxy never ran out of descriptors: the test proves nothing"
        finally:
            crowd.close()

        # Once the crowd is gone the proxy accepts and serves again, by itself.
        def serves() -> bool:
            try:
                return requests.get(f"http://{LOOPBACK}:{turnout.port()}/", timeout=2.0).status_code == 200
            except requests.RequestException:
                return False

        assert wait_until(serves, timeout=SOCKET_TIMEOUT), "no request succeeded after the clients left"
        for address in (blue.address, green.address):
            target = admin.target("app", address)
            assert target is not None and target["state"] == "healthy", target
    finally:
        admin.close()

    log = process.log()
    assert "unhealthy" not in log and "ejected" not in log, "a target was blamed for the proxy's own shortage"
    # Once per interval and worker while it lasts, once more at the end: a handful of lines, where
    # a spinning accept wrote millions.
    shortage_lines = log.count(SHORTAGE_LINE)
    assert shortage_lines <= WORKERS * 4, f"{shortage_lines} shortage lines"
    assert len(log.splitlines()) < 200, f"{len(log.splitlines())} log lines"
    assert re.search(r"failures=\d+", log), "the shortage line carries no count"


def worker_threads(pid: int) -> list[str]:
    return sorted(name for task in Path(f"/proc/{pid}/task").iterdir()
                  if (name := (task / "comm").read_text().strip()).startswith("turnout-w"))


def test_a_worker_that_cannot_start_fails_the_whole_start(proxy_config, start_process):
    """Under descriptor limits from far too low to just enough, ``serve`` either exits non-zero with
    an error naming what failed, or serves with every worker running: never serves with a worker
    missing, whose listening sockets would take a share of the connections and accept none."""
    config, path = proxy_config(groups={"blue": {"targets": [f"{LOOPBACK}:1"], "health_check": {"enabled": False}}},
                                listeners={"production": {"blue": 100}}, workers=WORKERS)
    errors: dict[int, str] = {}
    for limit in range(8, 48):
        process = start_process(f"turnout-nofile-{limit}", [
            "prlimit", f"--nofile={limit}", str(executable("turnout")), "serve", "--config", str(path)])
        serving = wait_until(lambda: not process.is_running() or "serving with" in process.log(), timeout=SOCKET_TIMEOUT)
        assert serving, f"limit {limit}: neither serving nor exited\n{process.log_tail()}"
        if not process.is_running():
            process.exit_expected = True
            assert process.popen.returncode != 0, f"limit {limit}: exited with 0\n{process.log_tail()}"
            error = re.search(r"^error: .*$", process.log(), re.MULTILINE)
            assert error, f"limit {limit}: no error line\n{process.log_tail()}"
            errors[limit] = error.group(0)
            continue
        assert worker_threads(process.pid) == [f"turnout-w{index}" for index in range(WORKERS)], (
            f"limit {limit}: serving with workers {worker_threads(process.pid)}\n{process.log_tail()}")
        assert "failed to start" not in process.log()
        break
    else:
        raise AssertionError(f"the proxy did not start under any limit up to 47: {errors}")
    assert any("worker" in error and "Too many open files" in error for error in errors.values()), errors
    print(f"serving from {limit} descriptors; below: {errors}")
