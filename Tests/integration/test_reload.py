"""SIGHUP on the real binary: what the file changed is applied (forwards, targets, group settings, the admin
token and allowed hosts), what only a restart can change is refused naming the key, and a file that changes
nothing makes no generation.

Each reload ends in one log line (``Proxy.RELOADED``): ``reload applied (...)``, ``reload: nothing to
change ...`` or ``reload refused, nothing changed: ...``; the tests wait for it, then check the outcome through
the admin API.
"""

from __future__ import annotations

import pytest
import requests

from admin_client import NO_CHECKS, AdminClient, assert_error, ok_json, served_by
from harness import LOOPBACK


def journal_bytes(turnout) -> bytes:
    journal = turnout.config.state_dir / "journal.log"
    return journal.read_bytes() if journal.exists() else b""


def group_status(admin: AdminClient, name: str) -> dict:
    return next(group for group in admin.status()["target_groups"] if group["name"] == name)


# --- what a reload applies ---------------------------------------------------------------------------

def test_health_check_settings_apply(proxy, backends):
    checked = {"path": "/health", "interval": "500ms", "timeout": "250ms", "healthy_threshold": 2,
               "unhealthy_threshold": 2}
    turnout = proxy(groups={"blue": {"targets": [backends.blue.address], "health_check": checked},
                            "green": {"targets": [backends.green.address], "health_check": NO_CHECKS}},
                    wait_for_admin=True)
    admin = AdminClient.of(turnout)
    admin.wait_for_target("blue", backends.blue.address, lambda t: t["state"] == "healthy", timeout=5, what="healthy")
    before = admin.generation()

    turnout.config.groups["blue"]["health_check"] = {**checked, "path": "/status?code=503"}
    outcome = turnout.reload()
    assert outcome == (f"reload applied (target_groups.blue.health_check): published routing table generation "
                       f"{before + 1}"), outcome

    assert group_status(admin, "blue")["health_check"]["path"] == "/status?code=503"
    # Two failing probes at 500 ms (plus jitter and the probe timeout) make it unhealthy.
    target = admin.wait_for_target("blue", backends.blue.address, lambda t: t["state"] == "unhealthy", timeout=3.5,
                                   what="unhealthy")
    assert target["reason"] == "Target.ResponseCodeMismatch", target
    [entry] = admin.audit(limit=1)
    assert (entry["action"], entry["caller"]) == ("reload", "SIGHUP")
    assert (entry["generation_before"], entry["generation_after"]) == (before, before + 1)
    settings = entry["diff"]["target_group_settings"]["blue"]
    assert (settings["before"]["health_check"]["path"], settings["after"]["health_check"]["path"]) == \
        ("/health", "/status?code=503")
    assert set(entry["diff"]) == {"target_group_settings"}


def test_a_shorter_interval_takes_effect_at_once(proxy, backends):
    """The next probe is rescheduled within the new interval, not left where the old one put it."""
    slow = {"interval": "30s", "timeout": "2s", "healthy_threshold": 2}
    turnout = proxy(groups={"blue": {"targets": [backends.blue.address], "health_check": slow},
                            "green": {"targets": [backends.green.address], "health_check": NO_CHECKS}},
                    wait_for_admin=True)
    admin = AdminClient.of(turnout)
    turnout.config.groups["blue"]["health_check"] = {**slow, "interval": "300ms", "timeout": "200ms"}
    assert turnout.reload().startswith("reload applied (target_groups.blue.health_check)")
    # Two passing probes 300 ms apart; with the old schedule the second could not come before 30 s.
    admin.wait_for_target("blue", backends.blue.address, lambda t: t["state"] == "healthy", timeout=2.7,
                          what="healthy")


def test_group_settings_apply_and_the_status_shows_them(turnout, backends):
    admin = AdminClient.of(turnout)
    before = admin.generation()
    turnout.config.groups["blue"].update(
        deregistration_delay="7s", algorithm="least_outstanding_requests", on_all_unhealthy="fail_closed",
        passive_ejection={"consecutive_failures": 9, "count_5xx": False})
    outcome = turnout.reload()
    assert outcome == ("reload applied (target_groups.blue.algorithm, target_groups.blue.deregistration_delay, "
                       "target_groups.blue.on_all_unhealthy, target_groups.blue.passive_ejection): "
                       f"published routing table generation {before + 1}"), outcome
    blue = group_status(admin, "blue")
    assert (blue["deregistration_delay"], blue["algorithm"], blue["on_all_unhealthy"]) == \
        ("7s", "least_outstanding_requests", "fail_closed")
    assert blue["passive_ejection"] == {"consecutive_failures": 9, "count_5xx": False}
    assert set(served_by(turnout.port(), 4)) == {"blue"}


def test_the_upstream_response_timeout_applies_to_the_next_request(proxy, backends):
    """Top-level and per-group `upstream_response` travel in the routing table, so a reload applies them."""
    turnout = proxy(groups={"blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS},
                            "green": {"targets": [backends.green.address], "health_check": NO_CHECKS}},
                    timeouts={"upstream_response": "500ms"}, wait_for_admin=True)
    before = AdminClient.of(turnout).generation()
    slow = f"http://{LOOPBACK}:{turnout.port()}/slow?ms=1500"
    assert requests.get(slow, timeout=10).status_code == 504

    turnout.config.timeouts["upstream_response"] = "5s"
    outcome = turnout.reload()
    assert outcome == f"reload applied (timeouts.upstream_response): published routing table generation {before + 1}"
    assert requests.get(slow, timeout=10).status_code == 200

    turnout.config.groups["blue"]["timeouts"] = {"upstream_response": "500ms"}
    outcome = turnout.reload()
    assert outcome == ("reload applied (target_groups.blue.timeouts): published routing table generation "
                       f"{before + 2}"), outcome
    assert requests.get(slow, timeout=10).status_code == 504


def test_forwards_and_targets_apply_in_one_generation(proxy, backends, demo_backend):
    extra = demo_backend("blue-2")
    turnout = proxy(groups={"blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS},
                            "green": {"targets": [backends.green.address], "health_check": NO_CHECKS}},
                    wait_for_admin=True)
    admin = AdminClient.of(turnout)
    before = admin.generation()
    turnout.config.listeners["test"] = {"blue": 100}
    turnout.config.groups["blue"]["targets"] = [backends.blue.address, extra.address]
    outcome = turnout.reload()
    assert outcome == ("reload applied (listeners.test.forward, target_groups.blue.targets): "
                       f"published routing table generation {before + 1}"), outcome
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}
    assert set(served_by(turnout.port("test"), 6)) == {"blue", "blue-2"}
    [entry] = admin.audit(limit=1)
    assert entry["diff"] == {
        "listeners": {"test": {"before": {"green": 100}, "after": {"blue": 100}}},
        "target_groups": {"blue": {"before": [backends.blue.address], "after": [backends.blue.address, extra.address]}},
    }


def test_the_token_file_is_applied_and_read_again_on_every_reload(turnout, tmp_path):
    anonymous = AdminClient.of(turnout)
    generation = anonymous.generation()
    token_file = tmp_path / "admin-token"
    token_file.write_text("first-token-0123456789\n")

    turnout.config.token_file = token_file
    assert turnout.reload() == f"reload applied (admin.token_file); routing table generation {generation} kept"
    assert_error(anonymous.get("/v1/status"), 401, "unauthorized")
    assert AdminClient.of(turnout, token="first-token-0123456789").generation() == generation

    # The same file with a new token: rotated by a reload.
    token_file.write_text("second-token-0123456789\n")
    assert turnout.reload() == ("reload applied (admin.token_file (a new token)); "
                                f"routing table generation {generation} kept")
    assert_error(AdminClient.of(turnout, token="first-token-0123456789").get("/v1/status"), 401, "unauthorized")
    second = AdminClient.of(turnout, token="second-token-0123456789")
    assert second.generation() == generation

    # An unreadable token file refuses the whole reload: the token in force stays.
    token_file.unlink()
    turnout.config.listeners["production"] = {"green": 100}
    outcome = turnout.reload()
    assert outcome.startswith(f"reload refused, nothing changed: admin.token_file: cannot read the token file {token_file}: No such file or directory"), outcome
    assert second.forwards()["production"] == {"blue": 100}

    # Without a token file the API is open again (a loopback bind).
    turnout.config.token_file = None
    assert turnout.reload() == ("reload applied (admin.token_file, listeners.production.forward): "
                                f"published routing table generation {generation + 1}")
    assert anonymous.forwards()["production"] == {"green": 100}


def test_allowed_hosts_apply(turnout):
    admin = AdminClient.of(turnout)
    host = {"Host": f"turnout:{turnout.admin_port}"}
    assert_error(admin.get("/v1/status", headers=host), 403, "host_not_allowed")
    turnout.config.allowed_hosts = ["turnout"]
    assert turnout.reload().startswith("reload applied (admin.allowed_hosts); routing table generation")
    assert ok_json(admin.get("/v1/status", headers=host))["generation"] == admin.generation()


# --- what only a restart applies ---------------------------------------------------------------------

def _edit_listener_bind(config):
    config.listener_ports["production"] += 1


def _edit_admin_bind(config):
    config.admin_port += 1


def _add_listener(config):
    config.listeners["canary"] = {"green": 100}
    config.listener_ports["canary"] = config.listener_ports["test"] + 1


def _add_group(config):
    config.groups["spare"] = {"targets": [f"{LOOPBACK}:9"], "health_check": NO_CHECKS}


@pytest.mark.parametrize("edit, refusal", [
    (_edit_listener_bind, "listeners.production.bind ({old}:{production} → {old}:{production_next})"),
    (_edit_admin_bind, "admin.bind ({old}:{admin} → {old}:{admin_next})"),
    (lambda config: setattr(config, "workers", 3), "workers (2 → 3)"),
    (lambda config: setattr(config, "state_dir", config.state_dir.parent / "elsewhere"),
     "state_dir ({state_dir} → {state_dir_parent}/elsewhere)"),
    (_add_listener, "listeners.canary (added)"),
    (_add_group, "target_groups.spare (added)"),
    (lambda config: config.timeouts.update(client_idle="20s"), "timeouts.client_idle ({client_idle} → 20s)"),
    (lambda config: config.limits.update(max_headers=50), "limits.max_headers (100 → 50)"),
], ids=["listener-bind", "admin-bind", "workers", "state-dir", "listener-added", "group-added", "timeout", "limit"])
def test_a_key_only_a_restart_applies_refuses_the_whole_reload(turnout, edit, refusal):
    admin = AdminClient.of(turnout)
    generation, audit, journal = admin.generation(), admin.audit(), journal_bytes(turnout)
    expected = refusal.format(
        old=LOOPBACK, production=turnout.port(), production_next=turnout.port() + 1, admin=turnout.admin_port,
        admin_next=turnout.admin_port + 1, state_dir=turnout.config.state_dir,
        state_dir_parent=turnout.config.state_dir.parent, client_idle=turnout.config.timeouts.get("client_idle", "1m"))
    admin_port = turnout.admin_port

    # The edit comes with a forward change, which is not applied either.
    turnout.config.listeners["production"] = {"green": 100}
    edit(turnout.config)
    outcome = turnout.reload()
    assert outcome == f"reload refused, nothing changed: {expected}: this changes only at a restart", outcome

    admin = AdminClient(f"http://{LOOPBACK}:{admin_port}")
    assert admin.generation() == generation
    assert admin.forwards()["production"] == {"blue": 100}
    assert admin.audit() == audit
    assert journal_bytes(turnout) == journal


def test_a_refusal_names_every_key(turnout):
    turnout.config.workers = 1
    turnout.config.timeouts["connect"] = "1s"
    outcome = turnout.reload()
    assert outcome == ("reload refused, nothing changed: workers (2 → 1), timeouts.connect (2s → 1s): "
                       "these change only at a restart"), outcome


# --- a reload that changes nothing ---------------------------------------------------------------------

def test_a_file_that_changes_nothing_makes_no_generation(turnout):
    admin = AdminClient.of(turnout)
    generation, audit, journal = admin.generation(), admin.audit(), journal_bytes(turnout)
    for _ in range(2):
        outcome = turnout.reload()
        assert outcome == f"reload: nothing to change; routing table generation {generation} kept", outcome
    assert admin.generation() == generation
    assert admin.audit() == audit
    assert journal_bytes(turnout) == journal
    # A client's If-Match read before the reloads is still good.
    body = ok_json(admin.switch("green", headers={"If-Match": str(generation)}))
    assert body["generation"] == generation + 1


def test_a_reload_keeps_admin_api_changes_the_file_did_not_touch(turnout):
    """The file is applied where it changed: a switch made through the API survives a reload that does not
    touch that listener, as it survives a restart."""
    admin = AdminClient.of(turnout)
    ok_json(admin.switch("green"))
    generation = admin.generation()
    assert turnout.reload() == f"reload: nothing to change; routing table generation {generation} kept"
    assert admin.forwards() == {"production": {"green": 100}, "test": {"green": 100}}

    turnout.config.listeners["test"] = {"blue": 100}
    assert turnout.reload() == ("reload applied (listeners.test.forward): "
                                f"published routing table generation {generation + 1}")
    assert admin.forwards() == {"production": {"green": 100}, "test": {"blue": 100}}

    # A file edited to what the API already set changes nothing in force.
    turnout.config.listeners["production"] = {"green": 100}
    assert turnout.reload() == ("reload: nothing to change (listeners.production.forward already in force); "
                                f"routing table generation {generation + 1} kept")


# --- POST /v1/reload: the same reload, through the admin API ------------------------------------------------

def test_post_reload_answers_with_what_was_applied_and_is_audited(turnout):
    admin = AdminClient.of(turnout)
    generation = admin.generation()
    turnout.config.listeners["production"] = {"blue": 90, "green": 10}
    turnout.config.write(turnout.config_path)

    answer = ok_json(admin.post("/v1/reload"))
    assert answer == {"outcome": "applied", "applied": ["listeners.production.forward"],
                      "generation": generation + 1, "previous_generation": generation}
    assert admin.forwards()["production"] == {"blue": 90, "green": 10}
    [entry] = admin.audit(limit=1)
    assert (entry["action"], entry["caller"], entry["request"]) == ("reload", LOOPBACK, {"file": str(turnout.config_path)})
    assert entry["diff"] == {"listeners": {"production": {"before": {"blue": 100}, "after": {"blue": 90, "green": 10}}}}
    # One log line per reload, whoever asked.
    turnout.process.wait_for_log(r"reload applied \(listeners\.production\.forward\): published routing table "
                                 rf"generation {generation + 1}")

    # A file that changes nothing: 200, unchanged, no generation.
    answer = ok_json(admin.post("/v1/reload", {}))
    assert answer == {"outcome": "nothing_to_change", "applied": [], "already_in_force": [], "unchanged": True,
                      "generation": generation + 1, "previous_generation": generation + 1}
    assert len(admin.audit()) == 1


def test_post_reload_refuses_naming_the_keys_and_changes_nothing(turnout):
    admin = AdminClient.of(turnout)
    generation, journal = admin.generation(), journal_bytes(turnout)
    turnout.config.listeners["production"] = {"green": 100}
    turnout.config.workers = 1
    turnout.config.timeouts["connect"] = "1s"
    turnout.config.write(turnout.config_path)

    error = assert_error(admin.post("/v1/reload"), 422, "reload_refused")
    assert error["keys"] == ["workers", "timeouts.connect"], error
    assert error["message"] == ("reload refused, nothing changed: workers (2 → 1), timeouts.connect (2s → 1s): "
                                "these change only at a restart"), error
    assert admin.generation() == generation and admin.forwards()["production"] == {"blue": 100}
    assert journal_bytes(turnout) == journal

    # An invalid file is refused naming its key and line.
    turnout.config_path.write_text(turnout.config_path.read_text().replace("workers: 1", "workers: many"))
    error = assert_error(admin.post("/v1/reload"), 422, "reload_refused")
    assert error["keys"] == ["workers"], error
    assert error["message"].startswith("reload refused, nothing changed: workers (line 1): "), error


def test_post_reload_takes_no_body_and_only_post(turnout):
    admin = AdminClient.of(turnout)
    assert_error(admin.post("/v1/reload", {"file": "/etc/passwd"}), 400, "bad_request")
    response = admin.get("/v1/reload")
    assert_error(response, 405, "method_not_allowed")
    assert response.headers["Allow"] == "POST"
