"""Group stickiness and forced groups on the real binary: during a 90/10 split each client keeps the group its
first response named in a cookie while new clients split 90/10, a switch moves every client at once (a cookie
naming a group without weight is ignored); a header or cookie naming one of a route's groups reaches it whatever
the weights, an unknown name does not."""

from __future__ import annotations

import http.client
import subprocess

import pytest

from admin_client import NO_CHECKS, AdminClient
from harness import LOOPBACK, SOCKET_TIMEOUT, executable

STICKY = {"cookie": "turnout-group", "duration": "1h"}
FORCE = {"header": "X-Turnout-Group", "cookie": "turnout-force"}
# The `app` rule is sticky and split 90/10; the listener's own forward (blue only) can be forced to green.
RULES = [{"name": "app", "match": {"host": "app.example.com"}, "forward": {"app-blue": 90, "app-green": 10},
          "stickiness": STICKY}]


@pytest.fixture
def routed(proxy, demo_backend):
    groups = {name: {"targets": [demo_backend(name).address], "health_check": NO_CHECKS}
              for name in ("blue", "green", "app-blue", "app-green", "other")}
    return proxy(listeners={"production": {"blue": 100, "green": 0}, "test": {"other": 100}}, groups=groups,
                 rules={"production": RULES},
                 listener_settings={"production": {"force_group": FORCE}}, wait_for_admin=True)


def get(port: int, host: str, headers: dict[str, str] | None = None) -> tuple[str, str | None]:
    """One request on a new connection: which backend answered, and the Set-Cookie it came with."""
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)
    connection.request("GET", "/", headers={"Host": host, **(headers or {})})
    response = connection.getresponse()
    response.read()
    connection.close()
    assert response.status == 200
    return response.getheader("X-Served-By"), response.getheader("Set-Cookie")


def test_sticky_clients_keep_their_group_during_a_split_and_all_move_on_a_switch(routed):
    port = routed.port("production")
    clients = []
    for _ in range(200):
        group, cookie = get(port, "app.example.com")
        assert cookie == f"turnout-group={group}; Max-Age=3600; Path=/; HttpOnly", cookie
        clients.append(group)
    # New clients split as the weights say (each worker's smooth picker gives 9 of every 10 to app-blue).
    assert 170 <= clients.count("app-blue") <= 190, clients.count("app-blue")
    assert clients.count("app-blue") + clients.count("app-green") == 200
    # Each client stays on its group, and is not told again.
    for group in clients[:20] + [g for g in clients if g == "app-green"][:10]:
        for _ in range(10):
            assert get(port, "app.example.com", {"Cookie": f"a=1; turnout-group={group}; b=2"}) == (group, None)
    # A cookie naming no group of the route is ignored: the weights pick, and the response pins again.
    group, cookie = get(port, "app.example.com", {"Cookie": "turnout-group=other"})
    assert cookie == f"turnout-group={group}; Max-Age=3600; Path=/; HttpOnly"
    # The listener's own forward is not sticky.
    assert get(port, "www.example.com", {"Cookie": "turnout-group=app-green"}) == ("blue", None)

    admin = AdminClient.of(routed)
    production = next(listener for listener in admin.status()["listeners"] if listener["name"] == "production")
    assert production["force_group"] == FORCE and "stickiness" not in production
    assert production["rules"][0]["stickiness"] == STICKY and "force_group" not in production["rules"][0]
    assert admin.post("/v1/switch", {"to": "app-green", "rule": "app"}).status_code == 200
    admin.close()
    # Every client moves at once, whatever its cookie names; nothing is split, so no cookie is set.
    for group in ("app-blue", "app-green", "other", None):
        headers = {"Cookie": f"turnout-group={group}"} if group else {}
        for _ in range(10):
            assert get(port, "app.example.com", headers) == ("app-green", None)


def test_a_request_naming_a_group_of_its_route_reaches_it_whatever_the_weights(routed):
    port = routed.port("production")
    for _ in range(10):
        # green has weight 0 on the listener's forward.
        assert get(port, "www.example.com", {"X-Turnout-Group": "green"})[0] == "green"
        assert get(port, "www.example.com", {"Cookie": "x=y; turnout-force=green"})[0] == "green"
        assert get(port, "www.example.com", {"x-turnout-group": "blue"})[0] == "blue"
        # Names the route does not hold (a group of another listener, none at all), and the case of a name.
        assert get(port, "www.example.com", {"X-Turnout-Group": "other"})[0] == "blue"
        assert get(port, "www.example.com", {"X-Turnout-Group": "purple"})[0] == "blue"
        assert get(port, "www.example.com", {"X-Turnout-Group": "GREEN"})[0] == "blue"
        assert get(port, "www.example.com", {"Cookie": "turnout-forced=green"})[0] == "blue"
        assert get(port, "www.example.com")[0] == "blue"
        # Off unless configured: the sticky rule and the test listener have no forced group.
        assert get(port, "app.example.com", {"X-Turnout-Group": "blue"})[0] in ("app-blue", "app-green")
        assert get(routed.port("test"), "www.example.com", {"X-Turnout-Group": "blue"})[0] == "other"


@pytest.mark.parametrize("listener, key, line, message", [
    ({"stickiness": {"cookie": "bad name", "duration": "1h"}}, "stickiness.cookie", 11, "expected a cookie name"),
    ({"stickiness": {"cookie": "turnout-group"}}, "stickiness", 11, "stickiness needs a duration"),
    ({"stickiness": {"cookie": "g", "duration": "10ms"}}, "stickiness.duration", 12, "a stickiness duration is at least 1s"),
    ({"force_group": {"query": "g"}}, "force_group.query", 11, "unknown key 'query'"),
    ({"force_group": {"header": "X Group"}}, "force_group.header", 11, "expected a field name"),
])
def test_check_names_a_bad_stickiness_or_forced_group(proxy_config, listener, key, line, message):
    """The rendered file puts the listener's forward on lines 8-9 and the setting's first key on line 11."""
    config, path = proxy_config(listeners={"production": {"blue": 100}}, groups={"blue": ["127.0.0.1:1"]},
                                listener_settings={"production": listener})
    result = subprocess.run([str(executable("turnout")), "check", "--config", str(path)], capture_output=True, text=True)
    assert result.returncode != 0
    assert f"listeners.production.{key} (line {line}): {message}" in result.stderr, (path.read_text(), result.stderr)


def test_check_refuses_stickiness_on_a_rule_that_forwards_nothing(proxy_config):
    rules = [{"name": "down", "match": {"path": "/x"}, "fixed_response": {"status": 503}, "stickiness": STICKY}]
    config, path = proxy_config(listeners={"production": {"blue": 100}}, groups={"blue": ["127.0.0.1:1"]},
                                rules={"production": rules})
    result = subprocess.run([str(executable("turnout")), "check", "--config", str(path)], capture_output=True, text=True)
    assert result.returncode != 0
    assert "listeners.production.rules[0].stickiness (line" in result.stderr, result.stderr
    assert "stickiness and force_group apply to a forward action only" in result.stderr
