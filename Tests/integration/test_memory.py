"""Memory after a burst: 10,000 requests (fewer under a hard descriptor limit below 21,000) in flight at once through the real ``turnout serve``, then
none. The buffers the burst borrowed are given back, so the resident set comes back near the idle
baseline instead of keeping the burst's peak for good."""

from __future__ import annotations

import re
import resource
import selectors
import socket
import threading
import time
from pathlib import Path

from harness import LOOPBACK, executable, wait_until

# 10,000 in flight at once, or as many as the hard descriptor limit allows: each needs a client
# and a backend socket in this process, and a client and an upstream socket in the proxy.
_, HARD_LIMIT = resource.getrlimit(resource.RLIMIT_NOFILE)
BURST = 10_000 if HARD_LIMIT == resource.RLIM_INFINITY else min(10_000, (HARD_LIMIT - 1_000) // 2)
DESCRIPTORS = 2 * BURST + 1_000
# Generous: what stays after the burst may be up to this multiple of the idle baseline (the
# workers keep a reserve of free buffers; malloc keeps some slack).
BASELINE_FACTOR = 1.5


def listen_overflows() -> str:
    """The kernel's counts of connections a full accept queue dropped, for a failure's message: a burst that
    never reaches the backend is either dropped there or held up in this process."""
    fields = Path("/proc/net/netstat").read_text().splitlines()
    names, values = fields[0].split(), fields[1].split()
    counts = dict(zip(names[1:], values[1:]))
    return f"ListenOverflows {counts.get('ListenOverflows')}, ListenDrops {counts.get('ListenDrops')}"


def resident_kib(pid: int) -> int:
    match = re.search(r"^VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    assert match, "no VmRSS"
    return int(match.group(1))


class HoldingBackend:
    """A single-threaded backend that reads requests and answers none until ``release()``; then it
    answers every one (``Connection: close``) and closes. It holds as many connections as it gets."""

    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    def __init__(self):
        self.listener = socket.create_server((LOOPBACK, 0), backlog=4096)
        self.listener.setblocking(False)
        self.address = f"{LOOPBACK}:{self.listener.getsockname()[1]}"
        self.requests = 0
        self._release = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def release(self) -> None:
        self._release.set()

    def hold(self) -> None:
        self._release.clear()

    def _serve(self) -> None:
        selector = selectors.DefaultSelector()
        selector.register(self.listener, selectors.EVENT_READ)
        waiting: list[socket.socket] = []
        heads: dict[socket.socket, bytes] = {}
        while not self._stop.is_set():
            for key, _ in selector.select(timeout=0.05):
                if key.fileobj is self.listener:
                    while True:
                        try:
                            connection, _ = self.listener.accept()
                        except BlockingIOError:
                            break
                        connection.setblocking(False)
                        heads[connection] = b""
                        selector.register(connection, selectors.EVENT_READ)
                    continue
                connection = key.fileobj
                try:
                    chunk = connection.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                if not chunk:
                    selector.unregister(connection)
                    connection.close()
                    heads.pop(connection, None)
                    continue
                heads[connection] += chunk
                if b"\r\n\r\n" in heads[connection]:
                    selector.unregister(connection)
                    del heads[connection]
                    waiting.append(connection)
                    self.requests += 1
            if self._release.is_set() and waiting:
                for connection in waiting:
                    try:
                        connection.send(self.RESPONSE)
                    except OSError:
                        pass
                    connection.close()
                waiting.clear()
        selector.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.listener.close()


class Burst:
    """``count`` client connections, each with one GET in flight, driven on one thread."""

    REQUEST = b"GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n"

    def __init__(self, port: int, count: int):
        self.selector = selectors.DefaultSelector()
        self.answered = 0
        self.failed = 0
        self.pending: dict[socket.socket, bytes] = {}
        for _ in range(count):
            client = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            client.setblocking(False)
            client.connect_ex((LOOPBACK, port))
            self.pending[client] = b""
            self.selector.register(client, selectors.EVENT_WRITE)

    def pump_until(self, done, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() > deadline:
                return False
            for key, events in self.selector.select(timeout=0.05):
                client = key.fileobj
                if events & selectors.EVENT_WRITE:
                    try:
                        client.send(self.REQUEST)
                        self.selector.modify(client, selectors.EVENT_READ)
                    except OSError:
                        self._finish(client, ok=False)
                    continue
                try:
                    chunk = client.recv(4096)
                except BlockingIOError:
                    continue
                except OSError:
                    chunk = b""
                self.pending[client] += chunk
                if not chunk:
                    self._finish(client, ok=self.pending[client].startswith(b"HTTP/1.1 200"))
        return True

    def _finish(self, client: socket.socket, ok: bool) -> None:
        self.selector.unregister(client)
        client.close()
        del self.pending[client]
        if ok:
            self.answered += 1
        else:
            self.failed += 1

    def close(self) -> None:
        for client in self.pending:
            client.close()
        self.selector.close()


def test_memory_comes_back_after_ten_thousand_simultaneous_requests(proxy_config, start_process):
    assert BURST >= 5_000, f"a hard descriptor limit of {HARD_LIMIT} leaves room for a burst of {BURST} only"
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, DESCRIPTORS), hard))
    backend = HoldingBackend()
    try:
        config, path = proxy_config(
            listeners={"production": {"app": 100}},
            groups={"app": {"targets": [backend.address], "health_check": {"enabled": False}}},
            limits={"max_connections": 4 * BURST},
            timeouts={"upstream_response": "60s", "client_header": "60s"},
        )
        process = start_process("turnout", [
            "prlimit", f"--nofile={DESCRIPTORS}", str(executable("turnout")), "serve", "--config", str(path)])
        process.wait_until_listening(config.listener_ports.values())
        port = config.listener_ports["production"]

        # Idle baseline: warm, a few requests served, nothing open.
        backend.release()
        warm = Burst(port, 50)
        assert warm.pump_until(lambda: not warm.pending, timeout=30), "warm-up did not finish"
        assert warm.answered == 50
        backend.hold()
        time.sleep(3)
        baseline = resident_kib(process.pid)

        burst = Burst(port, BURST)
        try:
            assert burst.pump_until(lambda: backend.requests >= 50 + BURST, timeout=120), (
                f"only {backend.requests - 50} of {BURST} requests reached the backend; clients: "
                f"{burst.answered} answered, {burst.failed} failed or refused, {len(burst.pending)} waiting; "
                f"{listen_overflows()}")
            peak = resident_kib(process.pid)
            backend.release()
            assert burst.pump_until(lambda: not burst.pending, timeout=120), f"{len(burst.pending)} left unanswered"
        finally:
            burst.close()
        assert burst.answered == BURST, f"{burst.failed} failed"

        limit = int(baseline * BASELINE_FACTOR)
        samples: list[int] = []

        def back_down() -> bool:
            samples.append(resident_kib(process.pid))
            return samples[-1] <= limit

        came_back = wait_until(back_down, timeout=20, interval=0.5)
        print(f"RSS: idle {baseline} KiB, {BURST} in flight {peak} KiB "
              f"({(peak - baseline) / BURST:.2f} KiB each), after {samples[-1]} KiB")
        assert peak - baseline > 20 * 1024, f"the burst cost only {peak - baseline} KiB: it proves nothing"
        assert came_back, (f"RSS stayed at {samples[-1]} KiB after the burst; idle baseline {baseline} KiB "
                           f"(limit {limit}); samples every 0.5 s: {samples}")
    finally:
        backend.close()
