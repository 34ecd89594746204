"""Listener rules on the real binary: each kind of condition and the order rules are tried in, fixed
responses, redirects, the rule each request is counted under, and `turnout check` naming a bad rule."""

from __future__ import annotations

import http.client
import subprocess

import pytest

from admin_client import NO_CHECKS, AdminClient, metric_sum
from harness import LOOPBACK, SOCKET_TIMEOUT, executable, wait_until
from raw_http import Conn

# Each rule forwards to a demo backend of its own name, so X-Served-By says which rule took a request.
RULES = [
    {"name": "api", "match": {"host": "api.example.com", "path": "/v1/*"}, "forward": {"api": 100}},
    {"name": "docs", "match": {"host": "*.docs.example.com"}, "forward": {"docs": 100}},
    {"name": "beta", "match": {"header": {"X-Env": ["beta", "canary-*"]}}, "forward": {"beta": 100}},
    {"name": "deletes", "match": {"method": "DELETE"}, "forward": {"deletes": 100}},
    {"name": "v2", "match": {"query": {"version": "2*"}}, "forward": {"v2": 100}},
    {"name": "office", "match": {"source": "127.0.0.2/32"}, "forward": {"office": 100}},
    {"name": "maintenance", "match": {"path": "/admin/*"},
     "fixed_response": {"status": 503, "content_type": "text/plain", "body": "back soon"}},
    {"name": "old-paths", "match": {"path": "/old/*"}, "redirect": {"path": "/new/{path}", "status": 301}},
    {"name": "moved", "match": {"host": "old.example.com"},
     "redirect": {"host": "new.example.com", "port": 8443, "query": "from=old", "status": 308}},
]
RULE_GROUPS = ["api", "docs", "beta", "deletes", "v2", "office"]


@pytest.fixture
def ruled(proxy, demo_backend):
    """production: the rules above, then blue; test: a copy of production's rules (the default), then blue."""
    blue = demo_backend("blue")
    groups = {"blue": {"targets": [blue.address], "health_check": NO_CHECKS}}
    for name in RULE_GROUPS:
        groups[name] = {"targets": [demo_backend(name).address], "health_check": NO_CHECKS}
    return proxy(listeners={"production": {"blue": 100}, "test": {"blue": 100}}, groups=groups,
                 rules={"production": RULES}, wait_for_admin=True)


def request(port: int, method: str, path: str, headers: dict[str, str] | None = None,
            source: str = LOOPBACK) -> http.client.HTTPResponse:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT, source_address=(source, 0))
    connection.request(method, path, headers=headers or {})
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def served_by(port: int, method: str, path: str, host: str = "app.example", **headers: str) -> str | None:
    """Which demo backend answered (its 404 or 405 for what it does not serve names it too)."""
    response = request(port, method, path, {"Host": host, **headers})
    assert response.status in (200, 404, 405), (method, path, host, response.status, response.body)
    return response.getheader("X-Served-By")


def test_each_kind_of_condition_takes_its_requests_in_order(ruled):
    port = ruled.port("production")
    cases = [
        # Host and path must both hold; the host's case and port are ignored.
        ("GET", "/v1/users", "api.example.com", {}, "api"),
        ("GET", "/v1/users", "API.Example.COM:8080", {}, "api"),
        ("GET", "/v2/users", "api.example.com", {}, "blue"),
        ("GET", "/v1/users", "www.example.com", {}, "blue"),
        # A wildcard host needs something before its dot.
        ("GET", "/", "en.docs.example.com", {}, "docs"),
        ("GET", "/", "docs.example.com", {}, "blue"),
        # Header values: case ignored, wildcards, any of the values.
        ("GET", "/", "app.example", {"X-Env": "BETA"}, "beta"),
        ("GET", "/", "app.example", {"X-Env": "canary-3"}, "beta"),
        ("GET", "/", "app.example", {"X-Env": "gamma"}, "blue"),
        ("DELETE", "/things/1", "app.example", {}, "deletes"),
        ("GET", "/things?a=1&version=2.4", "app.example", {}, "v2"),
        ("GET", "/things?version=3", "app.example", {}, "blue"),
        # Order: the first rule that matches takes the request.
        ("DELETE", "/v1/x", "api.example.com", {"X-Env": "beta"}, "api"),
        ("DELETE", "/", "app.example", {"X-Env": "beta"}, "beta"),
    ]
    for method, path, host, headers, expected in cases:
        assert served_by(port, method, path, host, **headers) == expected, (method, path, host, headers)
    # Source: a client bound to 127.0.0.2 is in the office block, one on 127.0.0.1 is not.
    from_office = request(port, "GET", "/", {"Host": "app.example"}, source="127.0.0.2")
    assert (from_office.status, from_office.getheader("X-Served-By")) == (200, "office")
    # The test listener follows production's rules by default, its own forward for the rest.
    assert served_by(ruled.port("test"), "GET", "/v1/users", "api.example.com") == "api"
    assert served_by(ruled.port("test"), "GET", "/v1/users", "www.example.com") == "blue"


def test_fixed_responses_and_redirects_answer_without_a_target(ruled):
    port = ruled.port("production")
    down = request(port, "GET", "/admin/settings", {"Host": "app.example"})
    assert (down.status, down.getheader("Content-Type"), down.body) == (503, "text/plain", b"back soon")
    assert down.getheader("Connection") is None
    head = request(port, "HEAD", "/admin/settings", {"Host": "app.example"})
    assert (head.status, head.getheader("Content-Length"), head.body) == (503, "9", b"")

    old = request(port, "GET", "/old/a/b?x=1", {"Host": "www.example.com:8080"})
    assert (old.status, old.getheader("Location"), old.body) == (301, "/new/a/b?x=1", b"")
    moved = request(port, "GET", "/p/q?x=1", {"Host": "old.example.com"})
    assert (moved.status, moved.getheader("Location")) == (308, "http://new.example.com:8443/p/q?from=old")

    # Keep-alive: answers and forwarded responses follow one another on one connection, pipelined or not.
    with Conn(port) as connection:
        connection.send(b"GET /admin/x HTTP/1.1\r\nHost: app.example\r\n\r\n"
                        b"GET /old/y HTTP/1.1\r\nHost: app.example\r\n\r\n")
        assert (connection.read_response().status, connection.read_response().status) == (503, 301)
        connection.send(b"GET / HTTP/1.1\r\nHost: app.example\r\n\r\n")
        assert connection.read_response().body == b"Hello World! from blue\n"
        connection.send(b"GET /old/z HTTP/1.1\r\nHost: app.example\r\n\r\n")
        assert connection.read_response().header("Location") == "/new/z"

    # A request with a body gets the answer with Connection: close; the body is read and discarded, so the
    # client reads the whole answer.
    with Conn(port) as connection:
        connection.send(b"POST /admin/x HTTP/1.1\r\nHost: app.example\r\nContent-Length: 5\r\n\r\nhello")
        answer = connection.read_response()
        assert (answer.status, answer.body) == (503, b"back soon")
        assert answer.header("Connection") == "close"


def test_requests_are_counted_by_the_rule_that_took_them(ruled):
    port = ruled.port("production")
    admin = AdminClient.of(ruled)
    for _ in range(3):
        served_by(port, "GET", "/v1/x", "api.example.com")
    for _ in range(2):
        request(port, "GET", "/old/x", {"Host": "app.example"})
    served_by(port, "GET", "/", "app.example")

    def counted() -> dict[str, float]:
        text = admin.metrics_text()
        return {rule: metric_sum(text, "turnout_rule_requests_total", listener="production", rule=rule)
                for rule in ("api", "old-paths", "default", "docs")}

    expected = {"api": 3, "old-paths": 2, "default": 1, "docs": 0}
    wait_until(lambda: counted() == expected, 5)
    assert counted() == expected


def test_check_names_a_bad_rule_by_key_and_line(proxy_config, tmp_path):
    config, path = proxy_config(rules={"production": [
        {"name": "all", "match": {"path": "/*"}, "forward": {"green": 100}},
        {"name": "later", "match": {"host": "a.example.com"}, "forward": {"blue": 100}},
    ]})
    result = subprocess.run([str(executable("turnout")), "check", "--config", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result
    lines = path.read_text().splitlines()
    line = next(number for number, text in enumerate(lines, start=1) if '"later"' in text)
    assert (f"listeners.production.rules[1] (line {line}): rule 'later' is never reached: rule 'all' "
            f"before it matches every request") in result.stderr, result.stderr

    config, path = proxy_config(rules={"production": [
        {"name": "api", "match": {"host": "api.example.com"}, "forward": {"purple": 100}},
    ]})
    result = subprocess.run([str(executable("turnout")), "check", "--config", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2, result
    assert "listeners.production.rules[0].forward.purple" in result.stderr, result.stderr
    assert "unknown target group 'purple'" in result.stderr, result.stderr


def test_status_shows_each_rule_with_its_split(ruled):
    listeners = {listener["name"]: listener for listener in AdminClient.of(ruled).status()["listeners"]}
    rules = listeners["production"]["rules"]
    assert [rule["name"] for rule in rules] == [rule["name"] for rule in RULES]
    assert rules[0] == {"name": "api", "match": {"host": ["api.example.com"], "path": ["/v1/*"]},
                        "forward": {"api": 100}}
    assert rules[2]["match"] == {"header": {"X-Env": ["beta", "canary-*"]}}
    assert rules[5]["match"] == {"source": ["127.0.0.2/32"]}
    assert rules[6] == {"name": "maintenance", "match": {"path": ["/admin/*"]},
                        "fixed_response": {"status": 503, "content_type": "text/plain", "body": "back soon"}}
    assert rules[8]["redirect"] == {"host": "new.example.com", "port": 8443, "query": "from=old", "status": 308}
    assert listeners["production"]["forward"] == {"blue": 100}
    assert listeners["test"]["rules"] == rules and listeners["test"]["rules_of"] == "production"
    assert "rules_of" not in listeners["production"]
