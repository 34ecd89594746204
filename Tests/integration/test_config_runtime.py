"""The configuration file against runtime changes, on the real binary: which forwards and target lists the
status shows as the file's and which as runtime changes (since when, by what), the warning `serve` logs at
start when saved changes differ from the file, and `POST /v1/reset` / `turnout reset --to-config`, the
audited way back to the file.

The rule under test: a runtime change is saved and outlives restarts, even when the file says otherwise; a
reset puts back the file's values in one generation, and is as durable as any other change.
"""

from __future__ import annotations

import os
import signal

from admin_client import AdminClient, assert_error, ok_json, served_by
from test_cli import cli, rows, sections

FILE = {"from": "config"}


def sources(admin: AdminClient) -> tuple[dict, dict, list]:
    """(listener → forward_source, group → targets_source, differs_from_config) from the status."""
    status = admin.status()
    return ({listener["name"]: listener["forward_source"] for listener in status["listeners"]},
            {group["name"]: group["targets_source"] for group in status["target_groups"]},
            status["differs_from_config"])


def test_the_status_tells_runtime_changes_from_the_file_and_since_when(turnout, admin):
    assert sources(admin) == ({"production": FILE, "test": FILE}, {"blue": FILE, "green": FILE}, [])

    ok_json(admin.set_forward("production", {"blue": 70, "green": 30}))
    [change] = admin.audit(limit=1)
    listeners, groups, differs = sources(admin)
    assert listeners == {
        "production": {"from": "runtime", "in_force": {"blue": 70, "green": 30}, "config": {"blue": 100},
                       "since": change["time"], "action": "weights",
                       "caller": change["caller"], "generation": change["generation_after"]},
        "test": FILE,
    }
    assert (groups, differs) == ({"blue": FILE, "green": FILE}, ["listeners.production.forward"])

    # The CLI's status says the same, in a table of its own.
    result = cli(turnout, "status")
    assert result.returncode == 0, result.stderr
    [table] = [block for block in sections(result.stdout) if block[0].startswith("FROM RUNTIME")]
    assert rows("\n".join(table[:-1])) == [
        ["FROM", "RUNTIME", "IN", "FORCE", "SINCE", "BY", "THE", "FILE", "SAYS"],
        ["listeners.production.forward", "blue=70", "green=30", change["time"], "weights", f"({change['caller']})",
         "blue=100"],
    ]
    assert table[-1] == ("(runtime changes are saved and kept across restarts; `turnout reset --to-config` puts "
                         "back the file's)")

    # Back to the file's weights by hand: the value is the file's again, whatever route it took.
    ok_json(admin.set_forward("production", {"blue": 100}))
    assert sources(admin) == ({"production": FILE, "test": FILE}, {"blue": FILE, "green": FILE}, [])


def test_saved_changes_outlive_a_restart_with_a_warning_and_reset_puts_back_the_file(
        turnout, admin, restart_proxy, demo_backend, backends):
    extra = demo_backend("blue-2")
    ok_json(admin.switch("green"))
    ok_json(admin.post("/v1/target-groups/blue/targets", {"targets": [extra.address]}))
    turnout.process.kill()

    restarted = restart_proxy(turnout)
    admin = AdminClient.of(restarted)
    restarted.process.wait_for_log(
        "saved runtime changes differ from .* and stay in force: "
        r"listeners\.production\.forward is green=100 \(the file: blue=100\); "
        rf"target_groups\.blue\.targets is \[{backends.blue.address}, {extra.address}\] "
        rf"\(the file: \[{backends.blue.address}\]\); `turnout reset --to-config` puts back the file's")
    assert admin.forwards()["production"] == {"green": 100}
    listeners, groups, differs = sources(admin)
    assert differs == ["listeners.production.forward", "target_groups.blue.targets"]
    # The audit log is saved too, so the status still says when and by what.
    assert (listeners["production"]["action"], groups["blue"]["action"]) == ("switch", "targets.register"), \
        (listeners, groups)

    generation = admin.generation()
    result = cli(restarted, "reset", "--to-config")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"generation {generation} → {generation + 1}: put back the configuration file's "
        "listeners.production.forward, target_groups.blue.targets")
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"green": 100}}
    assert sources(admin) == ({"production": FILE, "test": FILE}, {"blue": FILE, "green": FILE}, [])
    assert set(served_by(restarted.port(), 6)) == {"blue"}
    # The target the file does not list drains like a deregistered one.
    assert admin.target("blue", extra.address)["state"] == "draining"

    [entry] = admin.audit(limit=1)
    assert (entry["action"], entry["request"]) == ("reset", {"to": "config"})
    assert (entry["generation_before"], entry["generation_after"]) == (generation, generation + 1)
    assert entry["diff"] == {
        "listeners": {"production": {"before": {"green": 100}, "after": {"blue": 100}}},
        "target_groups": {"blue": {"before": [backends.blue.address, extra.address],
                                   "after": [backends.blue.address]}},
    }

    # Acknowledged, so durable: after kill -9 the file's values start, with no warning.
    again = cli(restarted, "reset", "--to-config")
    assert (again.returncode, again.stdout) == (
        0, f"generation {generation + 1} (unchanged): the routing is the configuration file's already\n")
    restarted.process.kill()
    third = restart_proxy(restarted)
    third.process.wait_for_log("restored state from")
    assert AdminClient.of(third).forwards() == {"production": {"blue": 100}, "test": {"green": 100}}
    assert "saved runtime changes differ" not in third.log()


def test_reset_refusals_dry_run_and_if_match(turnout, admin):
    assert_error(admin.post("/v1/reset", {"to": "saved"}), 422, "invalid")
    assert_error(admin.post("/v1/reset", {}), 400, "bad_request")
    assert_error(admin.post("/v1/reset", {"to": "config", "also": 1}), 400, "bad_request")
    ok_json(admin.switch("green"))
    generation = admin.generation()

    dry = ok_json(admin.post("/v1/reset", {"to": "config"}, params={"dry_run": "true"}))
    assert dry == {"dry_run": True, "generation": generation, "reset": ["listeners.production.forward"],
                   "listeners": {"production": {"blue": 100}, "test": {"green": 100}},
                   "target_groups": {"blue": [admin.targets("blue")[0]["target"]],
                                     "green": [admin.targets("green")[0]["target"]]}}
    assert admin.forwards()["production"] == {"green": 100}

    assert_error(admin.post("/v1/reset", {"to": "config"}, headers={"If-Match": str(generation - 1)}), 409, "stale_generation")
    answer = ok_json(admin.post("/v1/reset", {"to": "config"}, headers={"If-Match": str(generation)}))
    assert (answer["previous_generation"], answer["generation"]) == (generation, generation + 1)
    assert admin.forwards()["production"] == {"blue": 100}

    missing = cli(turnout, "reset")
    assert missing.returncode != 0 and "--to-config" in missing.stderr, missing
