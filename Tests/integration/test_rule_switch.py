"""Switching one rule's forward: under keep-alive load on three routes of one listener (a rule switched back and
forth, another rule and the listener's own forward), the switched rule fails nothing and has no straggler (the
rule of ``switch_analysis``), and the other routes never see another group. The rule's forward is saved like a
listener's: a kill -9 and a restart keep it."""

from __future__ import annotations

import re
import subprocess
import time

import requests

from admin_client import NO_CHECKS, AdminClient, assert_error, describe
from harness import executable, wait_until
from keepalive_load import CLIENT_TIMEOUT, KeepAliveLoad
from switch_analysis import Switch, judge

SWITCHES = 60
PAUSE_AFTER_ACK = 0.01
API_GROUPS = ("api-blue", "api-green")
RULES = [
    {"name": "api", "match": {"host": "api.example"}, "forward": {"api-blue": 100}},
    {"name": "docs", "match": {"host": "docs.example"}, "forward": {"docs": 100}},
    {"name": "down", "match": {"path": "/admin/*"}, "fixed_response": {"status": 503, "body": "later"}},
]


def start(proxy, demo_backend):
    groups = {name: {"targets": [demo_backend(name).address], "health_check": NO_CHECKS, "deregistration_delay": "1s"}
              for name in ("blue", "docs", *API_GROUPS)}
    return proxy(listeners={"production": {"blue": 100}, "test": {"blue": 100}}, groups=groups,
                 rules={"production": RULES}, wait_for_admin=True)


def rule_forwards(admin: AdminClient) -> dict[str, dict]:
    production = next(listener for listener in admin.status()["listeners"] if listener["name"] == "production")
    return {rule["name"]: rule.get("forward") for rule in production["rules"]} | {"(default)": production["forward"]}


def test_switching_one_rule_under_load_leaves_the_other_routes_untouched(proxy, demo_backend):
    turnout = start(proxy, demo_backend)
    admin = AdminClient.of(turnout)
    generation = admin.generation()
    port = turnout.port()
    api = KeepAliveLoad(port, 2, host="api.example")
    docs = KeepAliveLoad(port, 1, host="docs.example")
    default = KeepAliveLoad(port, 1, host="www.example")
    switches: list[Switch] = []
    try:
        assert wait_until(lambda: min(api.count(), docs.count(), default.count()) >= 30, timeout=10), "load did not start"
        session = requests.Session()
        for index in range(SWITCHES):
            left, to = API_GROUPS[index % 2], API_GROUPS[(index + 1) % 2]
            sent = time.monotonic()
            response = session.post(f"{turnout.admin_url}/v1/switch",
                                    json={"to": to, "listener": "production", "rule": "api"}, timeout=CLIENT_TIMEOUT)
            acknowledged = time.monotonic()
            assert response.status_code == 200, describe(response)
            body = response.json()
            assert body["generation"] == generation + 1, body
            assert body["rules"] == {"production": {"api": {to: 100}}}, body
            assert "listeners" not in body, body
            generation = body["generation"]
            switches.append(Switch(index, left, to, sent, acknowledged))
            time.sleep(PAUSE_AFTER_ACK)
        last_ack = switches[-1].acknowledged
        assert wait_until(lambda: api.count(started_after=last_ack) >= 20, timeout=10)
        session.close()
    finally:
        for load in (api, docs, default):
            load.stop()

    verdict = judge(api.outcomes(), switches, initial="api-blue")
    assert verdict.failures == [], f"{len(verdict.failures)} failed, first: {verdict.failures[:5]}"
    assert verdict.stragglers == [], f"{len(verdict.stragglers)} stragglers, first: {verdict.stragglers[:5]}"
    assert len(verdict.windows_with_requests) >= SWITCHES // 2, len(verdict.windows_with_requests)
    for load, group in ((docs, "docs"), (default, "blue")):
        outcomes = load.outcomes()
        assert [o for o in outcomes if o.failed] == [], [o for o in outcomes if o.failed][:5]
        assert {o.served_by for o in outcomes} == {group}, {o.served_by for o in outcomes}
    assert rule_forwards(admin) == {"api": {API_GROUPS[SWITCHES % 2]: 100}, "docs": {"docs": 100}, "down": None,
                                    "(default)": {"blue": 100}}
    audit = admin.audit(limit=1)[0]
    assert audit["diff"] == {"rules": {"production": {"api": {"before": {API_GROUPS[(SWITCHES - 1) % 2]: 100},
                                                              "after": {API_GROUPS[SWITCHES % 2]: 100}}}}}, audit
    # The switch's report is the rule's move alone, counted by the rule's groups.
    assert audit["report"] == f"/v1/reports/{generation}", audit
    assert wait_until(lambda: admin.get(f"/v1/reports/{generation}").json()["settled"], timeout=10)
    report = admin.get(f"/v1/reports/{generation}").json()
    [move] = report["moves"]
    assert (move["listener"], move["rule"]) == ("production", "api"), move
    assert move["after"] == {API_GROUPS[SWITCHES % 2]: 100}, move
    assert move["drain"]["state"] == "drained", move
    assert report["totals"]["proxy_errors"] == 0 and report["totals"]["responses_5xx"] == 0, report["totals"]


def test_a_rules_forward_survives_kill_9_and_is_refused_when_it_cannot_be(proxy, demo_backend, restart_proxy):
    turnout = start(proxy, demo_backend)
    admin = AdminClient.of(turnout)
    switched = admin.post("/v1/switch", {"to": "api-green", "rule": "api"})
    assert switched.status_code == 200, describe(switched)
    again = admin.post("/v1/switch", {"to": "api-green", "rule": "api"})
    assert (again.status_code, again.json().get("unchanged")) == (200, True), describe(again)
    assert_error(admin.post("/v1/switch", {"to": "api-green", "rule": "nope"}), 422, "invalid")
    assert_error(admin.post("/v1/switch", {"to": "api-green", "rule": "down"}), 422, "invalid")
    assert_error(admin.post("/v1/switch", {"to": "api-green", "rule": "api", "swap_test": True}), 422, "invalid")

    turnout.process.kill()  # SIGKILL right after the acknowledgements
    restarted = restart_proxy(turnout)
    assert rule_forwards(AdminClient.of(restarted))["api"] == {"api-green": 100}
    response = requests.get(f"http://127.0.0.1:{restarted.port()}/", headers={"Host": "api.example"}, timeout=CLIENT_TIMEOUT)
    assert response.headers["X-Served-By"] == "api-green"


def rows(text: str) -> list[list[str]]:
    """A table's lines split into cells (columns are two or more spaces apart; an empty cell disappears)."""
    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


def test_the_cli_switches_and_weighs_one_rule(proxy, demo_backend):
    turnout = start(proxy, demo_backend)
    admin = AdminClient.of(turnout)

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(executable("turnout")), *args, "--admin", turnout.admin_url], capture_output=True,
                              text=True, timeout=30, stdin=subprocess.DEVNULL)

    weighed = cli("weights", "production", "api-green=10", "--rule", "api")
    assert weighed.returncode == 0, weighed.stderr
    assert ["production rule api", "api-blue=90 api-green=10"] in rows(weighed.stdout), weighed.stdout
    assert rule_forwards(admin) == {"api": {"api-blue": 90, "api-green": 10}, "docs": {"docs": 100}, "down": None,
                                    "(default)": {"blue": 100}}
    switched = cli("switch", "api-green", "--rule", "api")
    assert switched.returncode == 0, switched.stderr
    assert rule_forwards(admin)["api"] == {"api-green": 100}
    status = cli("status")
    assert ["rule api", "api-green=100"] in rows(status.stdout), status.stdout
    assert ["rule down", "fixed response 503"] in rows(status.stdout), status.stdout

    refused = cli("weights", "production", "docs=100", "--rule", "down")
    assert refused.returncode != 0 and "rule 'down' answers by itself" in refused.stderr, refused
    assert_error(admin.put("/v1/listeners/production/rules/nope/forward", {"api-green": 100}), 404, "not_found")


def test_put_routing_sets_listeners_and_rules_in_one_generation(proxy, demo_backend):
    turnout = start(proxy, demo_backend)
    admin = AdminClient.of(turnout)
    generation = admin.generation()
    body = {"listeners": {"production": {"docs": 100}}, "rules": {"production": {"api": {"api-blue": 50, "api-green": 50}}}}
    dry = admin.put("/v1/routing?dry_run=true", body)
    assert dry.status_code == 200, describe(dry)
    assert dry.json() == {"dry_run": True, "generation": generation, "listeners": {"production": {"docs": 100}},
                          "rules": {"production": {"api": {"api-blue": 50, "api-green": 50}}}}
    assert admin.generation() == generation
    assert_error(admin.put("/v1/routing", body, headers={"If-Match": str(generation - 1)}), 409, "stale_generation")
    applied = admin.put("/v1/routing", body, headers={"If-Match": str(generation)})
    assert applied.status_code == 200, describe(applied)
    assert applied.json()["generation"] == generation + 1
    assert rule_forwards(admin) == {"api": {"api-blue": 50, "api-green": 50}, "docs": {"docs": 100}, "down": None,
                                    "(default)": {"docs": 100}}
    error = assert_error(admin.put("/v1/routing", {"rules": {"production": {"api": {"api-blue": 60}}}}), 422, "invalid")
    assert error["message"].startswith("rules.production.api: weights are percentages and must add up to 100, not 60"), error


def test_a_deployment_shifts_one_rules_forward(proxy, demo_backend):
    turnout = start(proxy, demo_backend)
    admin = AdminClient.of(turnout)
    assert_error(admin.post("/v1/deployments", {"rule": "down", "target_group": "api-green"}), 400, "bad_request")
    assert_error(admin.post("/v1/deployments", {"rule": "api", "target_group": "api-blue"}), 400, "bad_request")
    response = admin.post("/v1/deployments", {"rule": "api", "target_group": "api-green",
                                              "strategy": {"canary": {"percent": 20, "wait": "300ms"}}})
    assert response.status_code == 201, describe(response)
    identifier = response.json()["id"]
    # The test listener follows production's rules, so it has its own copy of `api` to try the replacement on.
    assert response.json()["rule"] == "api" and response.json()["test_listener"] == "test", response.json()

    def status() -> str:
        return admin.get(f"/v1/deployments/{identifier}").json()["status"]

    assert wait_until(lambda: status() == "Succeeded", timeout=20), admin.get(f"/v1/deployments/{identifier}").json()
    assert rule_forwards(admin) == {"api": {"api-green": 100}, "docs": {"docs": 100}, "down": None,
                                    "(default)": {"blue": 100}}
    diffs = [entry["diff"] for entry in admin.audit() if entry["action"] == "deployment"]
    assert [diff["rules"]["production"]["api"]["after"] for diff in diffs if "production" in diff.get("rules", {})][-2:] == \
        [{"api-blue": 80, "api-green": 20}, {"api-green": 100}], diffs
    assert [diff["rules"]["test"]["api"]["after"] for diff in diffs if "test" in diff.get("rules", {})] == \
        [{"api-green": 100}], diffs
    test = next(listener for listener in admin.status()["listeners"] if listener["name"] == "test")
    assert {rule["name"]: rule.get("forward") for rule in test["rules"]}["api"] == {"api-green": 100}
    assert all("listeners" not in diff for diff in diffs), diffs
