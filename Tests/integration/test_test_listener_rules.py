"""The test listener follows its production listener's rules (by default for a listener named ``test``, or by
``rules_of``), each rule's forward its own: a deployment naming a rule points the test listener's copy of that rule
at the replacement, a switch of one listener's rule leaves the other's; ``rules_of: null`` turns it off and
``turnout check`` names a bad ``rules_of``."""

from __future__ import annotations

import http.client
import subprocess

import pytest

from admin_client import NO_CHECKS, AdminClient, ok_json
from deployment_run import created
from harness import LOOPBACK, SOCKET_TIMEOUT, executable, wait_until

RULES = [{"name": "app", "match": {"host": "app.example.com"}, "forward": {"app-blue": 100}},
         {"name": "down", "match": {"path": "/down"}, "fixed_response": {"status": 503, "body": "back soon"}}]
GROUPS = ("blue", "green", "app-blue", "app-green")


def served_by(port: int, host: str, path: str = "/") -> tuple[int, str | None]:
    connection = http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)
    connection.request("GET", path, headers={"Host": host})
    response = connection.getresponse()
    response.read()
    connection.close()
    return response.status, response.getheader("X-Served-By")


def rule_forwards(admin: AdminClient, listener: str) -> dict[str, dict | None]:
    found = next(item for item in admin.status()["listeners"] if item["name"] == listener)
    return {rule["name"]: rule.get("forward") for rule in found["rules"]} | {"(default)": found["forward"]}


@pytest.fixture
def ruled(proxy, demo_backend):
    groups = {name: {"targets": [demo_backend(name).address], "health_check": NO_CHECKS} for name in GROUPS}
    return lambda **settings: proxy(listeners={"production": {"blue": 100}, "test": {"green": 100}}, groups=groups,
                                    rules={"production": RULES}, wait_for_admin=True, **settings)


def test_the_test_listener_follows_production_rules_and_a_rule_deployment_moves_its_copy(ruled):
    turnout = ruled()
    test, production = turnout.port("test"), turnout.port("production")
    # The same rules, the same forwards as the file gives production; the test listener's own default.
    assert served_by(test, "app.example.com") == (200, "app-blue")
    assert served_by(test, "www.example.com", "/down")[0] == 503
    assert served_by(test, "www.example.com") == (200, "green")
    admin = AdminClient.of(turnout)
    # Each listener's rule is its own route: switching the test listener's leaves production's.
    assert admin.post("/v1/switch", {"to": "app-green", "listener": "test", "rule": "app"}).status_code == 200
    assert served_by(test, "app.example.com") == (200, "app-green")
    assert served_by(production, "app.example.com") == (200, "app-blue")
    assert admin.post("/v1/switch", {"to": "app-blue", "listener": "test", "rule": "app"}).status_code == 200

    # A deployment of the rule: the test side of that rule points at the replacement, the test listener's
    # default forward stays.
    deployment = created(admin.post("/v1/deployments", {"target_group": "app-green", "rule": "app",
                                                        "strategy": {"steps": [{"weight": 100}]}}))
    wait_until(lambda: ok_json(admin.get(f"/v1/deployments/{deployment}"))["status"] in ("Succeeded", "Failed",
                                                                                         "RolledBack", "Stopped"),
               timeout=20)
    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert record["status"] == "Succeeded", record
    assert rule_forwards(admin, "test") == {"app": {"app-green": 100}, "down": None, "(default)": {"green": 100}}
    assert rule_forwards(admin, "production") == {"app": {"app-green": 100}, "down": None, "(default)": {"blue": 100}}
    assert served_by(test, "app.example.com") == (200, "app-green")
    entries = [entry for entry in admin.audit() if entry["action"] == "deployment"]
    assert any("test" in entry["diff"].get("rules", {}) for entry in entries), entries
    admin.close()


def test_rules_of_null_keeps_the_test_listener_without_rules(ruled):
    turnout = ruled(listener_settings={"test": {"rules_of": None}})
    assert served_by(turnout.port("test"), "app.example.com") == (200, "green")
    listeners = {item["name"]: item for item in AdminClient.of(turnout).status()["listeners"]}
    assert listeners["test"]["rules"] == [] and "rules_of" not in listeners["test"]


@pytest.mark.parametrize("settings, message", [
    ({"staging": {"rules_of": "nowhere"}}, "listeners.staging.rules_of (line 20): rules_of names another listener, got 'nowhere'"),
    ({"staging": {"rules_of": "staging"}}, "listeners.staging.rules_of (line 20): rules_of names another listener"),
    ({"staging": {"rules_of": "production", "rules": RULES[:1]}},
     "listeners.staging.rules_of (line 20): a listener has rules or rules_of, not both"),
    ({"staging": {"rules_of": "test"}}, "listeners.staging.rules_of (line 20): listener 'test' follows another's rules"),
])
def test_check_names_a_bad_rules_of(proxy_config, settings, message):
    config, path = proxy_config(listeners={"production": {"blue": 100}, "test": {"blue": 100}, "staging": {"blue": 100}},
                                groups={"blue": ["127.0.0.1:1"], "app-blue": ["127.0.0.1:2"]},
                                rules={"production": RULES[:1]}, listener_settings=settings)
    result = subprocess.run([str(executable("turnout")), "check", "--config", str(path)], capture_output=True, text=True)
    assert result.returncode != 0
    assert message in result.stderr, (path.read_text(), result.stderr)
