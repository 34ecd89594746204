"""Mirroring on the real binary: a route's share of requests is copied to its mirror group (counted on a real
backend, within binomial bounds), each copy marked as shadow traffic; the client's answers come from the primary
alone; a slow and a dead mirror group cost the client nothing, and the copies they lose are counted by reason;
`turnout check` names a bad mirror with its key and line."""

from __future__ import annotations

import http.client
import http.server
import math
import socket
import socketserver
import subprocess
import threading
import time

import pytest

from admin_client import NO_CHECKS, AdminClient, metric_samples, metric_sum
from harness import LOOPBACK, SOCKET_TIMEOUT, executable, free_port

REQUESTS = 1000
PERCENT = 10


class MirrorBackend:
    """A real HTTP/1.1 server (Python's `http.server`, a thread per connection) that records every request it gets
    (path, Host, the mirror mark, body) and answers 200 after `delay` seconds, closing when asked to; a proxy that
    gave the copy up and closed before the answer is no error."""

    def __init__(self, delay: float = 0.0):
        self.delay = delay
        self.requests: list[dict] = []
        self.lock = threading.Lock()
        backend = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with backend.lock:
                    backend.requests.append({"path": self.path, "method": self.command, "host": self.headers.get("Host"),
                                             "mark": self.headers.get("X-Turnout-Mirror"),
                                             "connection": self.headers.get("Connection"), "body": body,
                                             "request_id": self.headers.get("X-Request-Id")})
                if backend.delay:
                    time.sleep(backend.delay)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "6")
                    self.send_header("X-Served-By", "shadow")
                    self.end_headers()
                    self.wfile.write(b"shadow")
                except ConnectionError:
                    # The proxy gives a copy up (past the group's upstream_response) by closing its connection: an
                    # answer nobody waits for any more is normal here, not an error worth a traceback.
                    self.close_connection = True

            do_GET = do_POST = handle_one

            def log_message(self, *arguments):
                pass

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            request_queue_size = 256

        self.port = free_port()
        self.server = Server((LOOPBACK, self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def count(self) -> int:
        with self.lock:
            return len(self.requests)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def mirror_backend():
    started: list[MirrorBackend] = []

    def start(delay: float = 0.0) -> MirrorBackend:
        backend = MirrorBackend(delay)
        started.append(backend)
        return backend

    yield start
    for backend in started:
        backend.close()


def mirrored_proxy(proxy, demo_backend, shadow_address, mirror, rules=None, shadow_settings=None):
    groups = {"blue": {"targets": [demo_backend("blue").address], "health_check": NO_CHECKS},
              "shadow": {"targets": [shadow_address], "health_check": NO_CHECKS, **(shadow_settings or {})}}
    return proxy(listeners={"production": {"blue": 100}}, groups=groups, rules={"production": rules or []},
                 listener_settings={"production": {"mirror": mirror}}, wait_for_admin=True)


def timed_gets(port: int, count: int, host: str = "www.example.com") -> list[tuple[int, str, float]]:
    """`count` GETs on one keep-alive connection: (status, X-Served-By, seconds) each."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)
    results = []
    try:
        for index in range(count):
            started = time.monotonic()
            connection.request("GET", f"/?n={index}", headers={"Host": host})
            response = connection.getresponse()
            response.read()
            results.append((response.status, response.getheader("X-Served-By"), time.monotonic() - started))
    finally:
        connection.close()
    return results


def mirror_metrics(proxy) -> tuple[float, dict[str, float]]:
    admin = AdminClient.of(proxy)
    text = admin.metrics_text()
    admin.close()
    requests = metric_sum(text, "turnout_mirror_requests_total", listener="production", rule="default")
    dropped = {labels["reason"]: value for labels, value in metric_samples(text, "turnout_mirror_dropped_total")
               if labels["listener"] == "production" and labels["rule"] == "default"}
    return requests, dropped


def read_until_closed(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def wait_for(condition, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def test_a_share_of_the_route_is_copied_to_the_mirror_group_and_answers_come_from_the_primary(
        proxy, demo_backend, mirror_backend):
    shadow = mirror_backend()
    rules = [{"name": "api", "match": {"host": "api.example.com"}, "forward": {"blue": 100},
              "mirror": {"group": "shadow", "percent": 100, "max_body": 16}}]
    routed = mirrored_proxy(proxy, demo_backend, shadow.address, {"group": "shadow", "percent": PERCENT}, rules)
    results = timed_gets(routed.port(), REQUESTS)
    assert [(status, served) for status, served, _ in results] == [(200, "blue")] * REQUESTS

    # Every chosen copy is answered or dropped; a healthy mirror group drops none.
    assert wait_for(lambda: mirror_metrics(routed)[0] == shadow.count())
    chosen, dropped = mirror_metrics(routed)
    assert set(dropped.values()) == {0}, dropped
    # Each request is chosen independently with p = 0.1: the count is Binomial(1000, 0.1), mean 100, standard
    # deviation 9.5; five deviations either side fail a correct proxy about once in two million runs.
    mean, deviation = REQUESTS * PERCENT / 100, math.sqrt(REQUESTS * PERCENT / 100 * (1 - PERCENT / 100))
    assert mean - 5 * deviation <= chosen <= mean + 5 * deviation, chosen
    copies = list(shadow.requests)
    assert all(copy["mark"] == "1" and copy["connection"] == "close" and copy["host"] == "www.example.com"
               for copy in copies), copies[:3]
    # The copies are the requests themselves, each once.
    numbers = [int(copy["path"].split("=")[1]) for copy in copies]
    assert len(set(numbers)) == len(numbers) and all(0 <= n < REQUESTS for n in numbers)

    # The rule's own mirror (100 %): a body within max_body that came whole with its head goes with its copy; a
    # longer one, or one still on its way when the request is routed, is not copied (the request never waits).
    before = shadow.count()
    answers = []
    for body, pause in ((b"0123456789", 0), (b"x" * 100, 0), (b"9876543210", 0.3)):
        head = (f"POST /echo HTTP/1.1\r\nHost: api.example.com\r\nContent-Length: {len(body)}\r\n"
                "Connection: close\r\n\r\n").encode()
        with socket.create_connection((LOOPBACK, routed.port()), timeout=SOCKET_TIMEOUT) as client:
            if pause:
                client.sendall(head)
                time.sleep(pause)
                client.sendall(body)
            else:
                client.sendall(head + body)
            answer = read_until_closed(client)
            answers.append(answer)
        # /echo answers with the request as the primary received it: unmarked, body and all.
        assert answer.startswith(b"HTTP/1.1 200 ") and b"X-Served-By: blue" in answer, answer
        assert answer.endswith(b"\r\n\r\n" + body) and b"X-Turnout-Mirror" not in answer, answer
    assert wait_for(lambda: shadow.count() == before + 1)
    time.sleep(0.2)
    assert shadow.count() == before + 1
    assert shadow.requests[-1]["method"] == "POST" and shadow.requests[-1]["body"] == b"0123456789"
    # The copy carries the X-Request-Id the proxy made for the original, so the two can be matched.
    request_id = shadow.requests[-1]["request_id"]
    assert request_id and len(request_id) == 32 and f"X-Request-Id: {request_id}\r\n".encode() in answers[0], answers[0]
    admin = AdminClient.of(routed)
    text = admin.metrics_text()
    status = admin.status()
    admin.close()
    assert metric_sum(text, "turnout_mirror_requests_total", listener="production", rule="api") == 3
    assert metric_sum(text, "turnout_mirror_dropped_total", listener="production", rule="api", reason="body") == 2
    production = next(listener for listener in status["listeners"] if listener["name"] == "production")
    assert production["mirror"] == {"group": "shadow", "percent": PERCENT, "max_body": 65536}
    assert production["rules"][0]["mirror"] == {"group": "shadow", "percent": 100, "max_body": 16}


def test_a_slow_mirror_group_costs_the_client_nothing_and_its_copies_are_dropped_and_counted(
        proxy, demo_backend, mirror_backend):
    shadow = mirror_backend(delay=5.0)
    routed = mirrored_proxy(proxy, demo_backend, shadow.address, {"group": "shadow", "percent": 100},
                            shadow_settings={"timeouts": {"upstream_response": "1s"}})
    results = timed_gets(routed.port(), 300)
    assert [(status, served) for status, served, _ in results] == [(200, "blue")] * 300
    # Not a benchmark: a client waiting for a copy would wait the mirror's 5 s.
    assert max(seconds for _, _, seconds in results) < 2.0, max(seconds for _, _, seconds in results)
    # One connection is one worker's: at most 64 copies in flight, the rest dropped at once; those in flight are
    # given up after the group's upstream_response (1 s).
    assert wait_for(lambda: sum(mirror_metrics(routed)[1].values()) == 300), mirror_metrics(routed)
    chosen, dropped = mirror_metrics(routed)
    assert chosen == 300
    assert dropped["timeout"] >= 64 and dropped["in_flight"] > 0, dropped
    assert dropped["timeout"] + dropped["in_flight"] == 300, dropped
    # Given up, the copies' slots are free again: new copies are sent.
    before = shadow.count()
    timed_gets(routed.port(), 5)
    assert wait_for(lambda: shadow.count() >= before + 5)


def test_a_dead_mirror_group_costs_the_client_nothing_and_its_copies_are_counted(proxy, demo_backend):
    routed = mirrored_proxy(proxy, demo_backend, f"{LOOPBACK}:{free_port()}", {"group": "shadow", "percent": 100})
    results = timed_gets(routed.port(), 200)
    assert [(status, served) for status, served, _ in results] == [(200, "blue")] * 200
    assert max(seconds for _, _, seconds in results) < 2.0
    chosen, dropped = mirror_metrics(routed)
    assert chosen == 200 and dropped["connect"] == 200, dropped


@pytest.mark.parametrize("mirror, key, line, message", [
    ({"group": "purple"}, "mirror.group", 11, "unknown target group 'purple'"),
    ({"group": "blue", "percent": 101}, "mirror.percent", 12, "expected a percentage 0...100, got 101"),
    ({"group": "blue", "max_body": "64 KB"}, "mirror.max_body", 12, "expected a size in bytes"),
    ({"percent": 10}, "mirror", 11, "mirror needs a group"),
])
def test_check_names_a_bad_mirror(proxy_config, mirror, key, line, message):
    """The rendered file puts the listener's forward on lines 8-9 and the mirror's keys from line 11."""
    config, path = proxy_config(listeners={"production": {"blue": 100}}, groups={"blue": ["127.0.0.1:1"]},
                                listener_settings={"production": {"mirror": mirror}})
    result = subprocess.run([str(executable("turnout")), "check", "--config", str(path)], capture_output=True, text=True)
    assert result.returncode != 0
    assert f"listeners.production.{key} (line {line}): {message}" in result.stderr, (path.read_text(), result.stderr)


def test_check_refuses_a_mirror_on_a_rule_that_forwards_nothing(proxy_config):
    rules = [{"name": "down", "match": {"path": "/x"}, "fixed_response": {"status": 503},
              "mirror": {"group": "blue"}}]
    config, path = proxy_config(listeners={"production": {"blue": 100}}, groups={"blue": ["127.0.0.1:1"]},
                                rules={"production": rules})
    result = subprocess.run([str(executable("turnout")), "check", "--config", str(path)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "listeners.production.rules[0].mirror (line" in result.stderr, result.stderr
    assert "mirror applies to a forward action only" in result.stderr
