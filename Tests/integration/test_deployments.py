"""Deployments on the real binary with the demo backends, durations in milliseconds through the spec: a
canary under keep-alive load (every step one acknowledged change, no failed request, no straggler after the
last step, the final split exact), an automatic rollback when the replacement starts answering 500 (the 5xx rate)
or turns slow (its p99 against the live group's), a manual rollback mid-canary, and the API's refusals. The test follows each deployment on ``GET /v1/events``."""

from __future__ import annotations

import time

import pytest
import requests
import yaml

from admin_client import AdminClient, assert_error, ok_json
from deployment_run import CLIENTS, created, deploy_under_load
from harness import REPO_ROOT, SOCKET_TIMEOUT, wait_until
from keepalive_load import KeepAliveLoad


@pytest.fixture
def setup(proxy, pair, backends):
    turnout = proxy(groups=pair, listeners={"production": {"blue": 100}, "test": {"blue": 100}}, wait_for_admin=True)
    return turnout, AdminClient.of(turnout), backends


def test_a_canary_under_keepalive_load_fails_no_request_and_ends_exactly_on_the_replacement(setup):
    turnout, admin, _ = setup
    spec = {
        "target_group": "green",
        "strategy": {"steps": [{"weight": 10, "pause": "500ms"}, {"weight": 50, "pause": "500ms"}, {"weight": 100}]},
        "termination_wait": "300ms",
    }
    deployment, seen, load = deploy_under_load(turnout, admin, spec)

    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert record["status"] == "Succeeded", record
    assert [step["weight"] for step in record["steps"]] == [10, 50, 100]
    assert admin.forwards()["production"] == {"green": 100}
    assert admin.forwards()["test"] == {"green": 100}
    # The phases in CodeDeploy's order, each ended.
    assert [p["phase"] for p in record["phases"]] == [
        "BeforeInstall", "Install", "AfterInstall", "Readiness", "AllowTestTraffic", "AfterAllowTestTraffic",
        "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic", "TerminationWait", "Retire"]
    assert all(p["ended"] is not None for p in record["phases"])
    # Every routing change is an audit entry of the deployment, with its generation.
    entries = [e for e in admin.audit() if e["action"] == "deployment"]
    assert sorted(e["generation_after"] for e in entries) == record["generations"]
    assert {e["caller"] for e in entries} == {f"deployment {deployment}"}

    outcomes = load.outcomes()
    failed = [o for o in outcomes if o.failed]
    assert failed == [], f"{len(failed)} of {len(outcomes)} requests failed, first: {failed[:5]}"
    # The events arrive after each change is acknowledged: a request started after the last step's event went to
    # green, and both groups served while the split held.
    steps = {data["step"]: at for at, data in seen if data["status"] == "InProgress"}
    last_step = min(at for at, data in seen if data["step"] == 3)
    stragglers = [o for o in outcomes if o.started > last_step and o.served_by != "green"]
    assert stragglers == [], f"{len(stragglers)} requests reached blue after the last step, first: {stragglers[:5]}"
    during_canary = [o.served_by for o in outcomes if steps[1] < o.started and o.finished < steps.get(2, steps[1])]
    assert {"blue", "green"} <= set(during_canary), "the 10 % step did not split production"

    report = ok_json(admin.get(f"/v1/deployments/{deployment}/report"))
    assert report["summary"]["status"] == "Succeeded"
    assert len(report["steps"]) == 4  # test traffic, then three production steps
    assert (report["totals"]["responses_5xx"], report["totals"]["proxy_errors"]) == (0, 0)


@pytest.mark.parametrize(("control", "alarm_name", "threshold", "failures"), [
    (b"fail", "max_5xx_rate", 0.1, {("green", "status 500")}),
    (b"slow 200", "max_p99_ratio", 5, set()),
], ids=["answering-500", "turning-slow"])
def test_the_replacement_breaking_rolls_back_by_itself(setup, control, alarm_name, threshold, failures):
    turnout, admin, backends = setup
    assert requests.post(f"http://{backends.green.address}/control/root", data=control, timeout=SOCKET_TIMEOUT).ok
    spec = {
        "target_group": "green", "test_listener": None,
        "strategy": {"canary": {"percent": 50, "wait": "60s"}},
        "alarms": {alarm_name: threshold, "window": "2s", "min_requests": 5},
    }
    deployment, seen, load = deploy_under_load(turnout, admin, spec)
    rolled_back = seen[-1][0]

    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert record["status"] == "RolledBack", record
    [alarm] = record["alarms"]
    assert alarm["alarm"] == alarm_name and alarm["threshold"] == threshold and alarm["value"] > threshold, alarm
    assert record["reason"].startswith(f"alarm: {alarm_name} "), record["reason"]
    assert admin.forwards()["production"] == {"blue": 100}
    outcomes = load.outcomes()
    # Only green's own 500s failed (a slow green failed nothing); green served before the rollback, and after
    # the rollback's event every request went to blue and succeeded.
    assert {(o.served_by, o.error) for o in outcomes if o.failed} == failures
    assert "green" in {o.served_by for o in outcomes if o.finished < rolled_back}
    after = [o for o in outcomes if o.started > rolled_back]
    assert after and all(o.served_by == "blue" and not o.failed for o in after)


def test_a_passively_ejected_replacement_rolls_back_though_its_requests_stay_under_min_requests(proxy, backends):
    """Green answers 500 on ``/``, passes its health checks, and is ejected after 5 failures in a row: it then gets
    only what ``fail_open`` sends it between its ejections and its next passing probe, far under ``min_requests``.
    The ejection waives ``min_requests`` for the window, so the 5xx rate judges it, and the reason names it."""
    checks = {"path": "/health", "interval": "200ms", "timeout": "100ms", "healthy_threshold": 2,
              "unhealthy_threshold": 2}
    groups = {
        "blue": {"targets": [backends.blue.address], "health_check": checks, "deregistration_delay": "1s"},
        "green": {"targets": [backends.green.address], "health_check": checks, "deregistration_delay": "1s",
                  "passive_ejection": {"consecutive_failures": 5, "count_5xx": True}},
    }
    turnout = proxy(groups=groups, listeners={"production": {"blue": 100}}, wait_for_admin=True)
    admin = AdminClient.of(turnout)
    assert wait_until(lambda: admin.target("blue", backends.blue.address)["state"] == "healthy", timeout=10)
    assert requests.post(f"http://{backends.green.address}/control/root", data=b"fail", timeout=SOCKET_TIMEOUT).ok
    spec = {
        "target_group": "green", "test_listener": None,
        "strategy": {"canary": {"percent": 50, "wait": "4s"}},
        "alarms": {"max_5xx_rate": 0.5, "window": "5s", "min_requests": 100000},
    }
    deployment, _, load = deploy_under_load(turnout, admin, spec)

    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert record["status"] == "RolledBack", record
    [alarm] = record["alarms"]
    assert (alarm["alarm"], alarm["threshold"], alarm["value"]) == ("max_5xx_rate", 0.5, 1), alarm
    assert record["reason"] == f"alarm: max_5xx_rate 1 > 0.5 ({backends.green.address} was passively ejected)", record
    assert admin.forwards()["production"] == {"blue": 100}
    assert {o.served_by for o in load.outcomes() if o.failed} == {"green"}


def test_rollback_mid_canary_and_the_apis_refusals(setup):
    turnout, admin, _ = setup
    bad = admin.post("/v1/deployments", {"target_group": "blue"})
    assert assert_error(bad, 400, "bad_request")["message"] == \
        "deployment spec: 'target_group': 'blue' is the live group of 'production': name the replacement"
    unknown = admin.post("/v1/deployments", {"target_group": "green", "strategy": {"canary": {"percent": 10, "wiat": "1s"}}})
    assert assert_error(unknown, 400, "bad_request")["message"] == \
        "deployment spec: 'strategy.canary.wiat': unknown key (did you mean 'wait'?)"

    load = KeepAliveLoad(turnout.port(), CLIENTS)
    try:
        assert wait_until(lambda: load.count() >= 200, timeout=10)
        spec = {"target_group": "green", "strategy": "Canary10Percent15Minutes"}
        deployment = created(admin.post("/v1/deployments", spec))
        busy = admin.post("/v1/deployments", {"target_group": "green"})
        assert deployment in assert_error(busy, 409, "conflict")["message"]
        assert admin.forwards()["production"] == {"blue": 90, "green": 10}
        paused = ok_json(admin.post(f"/v1/deployments/{deployment}/pause"))
        assert paused["status"] == "Paused" and paused["deadline"] is None and paused["paused_remaining_ms"] > 800_000
        assert_error(admin.post(f"/v1/deployments/{deployment}/approve"), 409, "conflict")
        rolled = ok_json(admin.post(f"/v1/deployments/{deployment}/rollback"))
        acknowledged = time.monotonic()
        assert rolled["status"] == "RolledBack" and rolled["reason"] == "rolled back by request"
        assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}
        assert wait_until(lambda: load.count(started_after=acknowledged) >= 100, timeout=10)
    finally:
        load.stop()
    outcomes = load.outcomes()
    assert [o for o in outcomes if o.failed] == []
    assert [o for o in outcomes if o.started > acknowledged and o.served_by != "blue"] == []
    listed = ok_json(admin.get("/v1/deployments"))["deployments"]
    assert [d["id"] for d in listed] == [deployment]


def test_a_retried_post_with_its_idempotency_key_gets_the_first_answer(setup):
    turnout, admin, _ = setup
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 10, "wait": "60s"}}}
    key = {"Idempotency-Key": "release-2026-11-27"}
    first = admin.post("/v1/deployments", spec, headers=key)
    deployment = created(first)
    again = admin.post("/v1/deployments", spec, headers=key)
    assert again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert [d["id"] for d in ok_json(admin.get("/v1/deployments"))["deployments"]] == [deployment]
    other = admin.post("/v1/deployments", {**spec, "strategy": "AllAtOnce"}, headers=key)
    assert "release-2026-11-27" in assert_error(other, 422, "idempotency_key_reused")["message"]
    assert ok_json(admin.post(f"/v1/deployments/{deployment}/stop"))["status"] == "Stopped"


def test_a_rollback_deregisters_the_targets_the_deployment_registered(setup, demo_backend):
    turnout, admin, backends = setup
    spare = demo_backend("spare")
    spec = {"target_group": "green", "targets": [backends.green.address, spare.address], "test_listener": None,
            "strategy": {"canary": {"percent": 50, "wait": "60s"}}}
    deployment = created(admin.post("/v1/deployments", spec))
    assert [t["target"] for t in admin.targets("green")] == [backends.green.address, spare.address]
    assert ok_json(admin.post(f"/v1/deployments/{deployment}/rollback"))["status"] == "RolledBack"
    # Green's own target stays; the one the deployment registered drains for green's 1 s, then is gone.
    assert {t["target"]: t["state"] for t in admin.targets("green")}[spare.address] == "draining"
    entry = [e for e in admin.audit() if e["action"] == "deployment"][-1]
    assert entry["diff"]["target_groups"]["green"]["after"] == [backends.green.address], entry
    assert wait_until(lambda: [t["target"] for t in admin.targets("green")] == [backends.green.address], timeout=10)


def test_a_deployment_killed_mid_bake_resumes_after_the_restart(setup, restart_proxy):
    turnout, admin, _ = setup
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 20, "wait": "3s"}}}
    deployment = created(admin.post("/v1/deployments", spec))
    before = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert before["stage"] == "bake"
    turnout.process.kill()  # SIGKILL mid-bake
    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    # The bake may end between two reads (the restart can take most of its 3 s): the split read first was the
    # canary's if the record read after it is still in the bake.
    forward = admin.forwards()["production"]
    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert [r["outcome"] for r in record["restarts"]] == ["resumed"]
    assert record["deadline"] == before["deadline"], "the wait goes on from the stored time"
    if (record["status"], record["stage"]) == ("InProgress", "bake"):
        assert forward == {"blue": 80, "green": 20}
    assert wait_until(lambda: ok_json(admin.get(f"/v1/deployments/{deployment}"))["status"] == "Succeeded", timeout=10)
    assert admin.forwards()["production"] == {"green": 100}
    steps = ok_json(admin.get(f"/v1/deployments/{deployment}"))["steps"]
    assert [s["weight"] for s in steps] == [20, 100]


def test_the_example_spec_is_accepted_as_it_stands(setup):
    turnout, admin, _ = setup
    spec = yaml.safe_load((REPO_ROOT / "config" / "deployment.example.yaml").read_text())
    deployment = created(admin.post("/v1/deployments", spec))
    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert [(s["weight"], s["pause"], s["approval"]) for s in record["strategy"]["steps"]] == \
        [(10, "2m", False), (50, None, True), (100, None, False)]
    assert record["termination_wait"] == "10m"
    assert ok_json(admin.post(f"/v1/deployments/{deployment}/stop"))["status"] == "Stopped"
