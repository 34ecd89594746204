"""`turnout deploy|deployments|promote|rollback|approve|pause|resume|stop`: deployments driven by the command line,
end to end on the real binary with the demo backends, durations in milliseconds through the spec.

`--watch` is checked both ways: without a terminal (a line per event, exit status by how the deployment ended:
0 Succeeded, 2 RolledBack, 1 Failed or Stopped) and on a real terminal, a tmux pane whose screen is read back
(the phase timeline, the split bar, step k of n, the groups' figures). Errors: `error: <code>: <message>` and exit
1; no proxy, exit 3.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import time

import pytest
import requests

from admin_client import NO_CHECKS, AdminClient, ok_json
from harness import SOCKET_TIMEOUT, executable, free_port, wait_until
from sse_client import SSEStream
from test_cli import CLI_TIMEOUT, assert_api_error, assert_aligned, rows, run_cli

FINAL = {"Succeeded", "RolledBack", "Failed", "Stopped"}
PHASES = ["BeforeInstall", "Install", "AfterInstall", "Readiness", "AllowTestTraffic", "AfterAllowTestTraffic",
          "BeforeAllowTraffic", "AllowTraffic", "AfterAllowTraffic", "TerminationWait", "Retire"]


@pytest.fixture
def setup(proxy, backends):
    groups = {
        "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
        "green": {"targets": [backends.green.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
    }
    turnout = proxy(groups=groups, listeners={"production": {"blue": 100}, "test": {"blue": 100}}, wait_for_admin=True)
    admin = AdminClient.of(turnout)
    yield turnout, admin
    admin.close()


def cli(turnout, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, "--admin", turnout.admin_url)


def watch_in_background(turnout, *args: str) -> subprocess.Popen:
    """``turnout ARGS --watch`` with its output in pipes (no terminal)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TURNOUT_")}
    return subprocess.Popen([str(executable("turnout")), *args, "--watch", "--admin", turnout.admin_url],
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=environment)


def finished(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=CLI_TIMEOUT)
    return process.returncode, stdout, stderr


def watched(turnout, *args: str) -> tuple[subprocess.CompletedProcess, list[dict]]:
    """``turnout ARGS`` and the deployment events the proxy published meanwhile, read on a stream of the test's own
    up to the deployment's end."""
    with SSEStream(f"{turnout.admin_url}/v1/events") as events:
        events.next()
        result = cli(turnout, *args)
        published = [e.data for e in events.until(lambda e: e.event == "deployment" and e.data["status"] in FINAL)
                     if e.event == "deployment"]
    return result, published


def write_spec(tmp_path, text: str, name: str = "deploy.yaml") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def the_deployment(admin: AdminClient) -> dict:
    [deployment] = ok_json(admin.get("/v1/deployments"))["deployments"]
    return deployment


def wait_for_status(admin: AdminClient, status: str, timeout: float = 20.0) -> dict:
    """The one deployment once it is in ``status``."""
    assert wait_until(lambda: ok_json(admin.get("/v1/deployments"))["deployments"]
                      and the_deployment(admin)["status"] == status, timeout=timeout), the_deployment(admin)
    return the_deployment(admin)


def event_lines(stdout: str, deployment: str) -> list[list[str]]:
    """The watch's lines, split at their two-space separators; every one is about ``deployment``."""
    lines = [line.split("  ") for line in stdout.splitlines()]
    assert lines and all(line[1] == deployment for line in lines), stdout
    return lines


# --- deploy --file --watch without a terminal ---------------------------------------------------------------------

def test_deploy_from_a_yaml_file_watched_without_a_terminal_prints_a_line_per_event_and_exits_0(setup, tmp_path):
    turnout, admin = setup
    spec = write_spec(tmp_path, """\
# a canary in three steps, durations in milliseconds
target_group: green
strategy:
  steps:
    - {weight: 10, pause: 300ms}
    - {weight: 50, pause: 300ms}
    - {weight: 100}
readiness: {min_healthy: 100%, timeout: 5s}
termination_wait: 200ms
""")
    result, published = watched(turnout, "deploy", "--file", spec, "--watch")
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert result.stderr == ""

    deployment = the_deployment(admin)
    assert deployment["status"] == "Succeeded"
    assert admin.forwards() == {"production": {"green": 100}, "test": {"green": 100}}
    # One line per event the proxy published: time, id, status, phase, step k/n, the replacement's weight, reason.
    lines = event_lines(result.stdout, deployment["id"])
    assert lines == [[event["time"][11:23], deployment["id"], event["status"], event["phase"],
                      f"step {event['step']}/{event['steps_total']}", f"green={event['replacement_weight']}%",
                      event["reason"]] for event in published]
    assert [line[5] for line in lines if line[3] == "AllowTraffic"] == ["green=10%", "green=50%"]
    assert lines[-1][2:6] == ["Succeeded", "Retire", "step 3/3", "green=100%"], lines[-1]


def test_a_spec_file_in_json_and_the_json_event_lines(setup, tmp_path):
    turnout, admin = setup
    # All at once without a wait: the deployment may end before the POST is answered; its events are all shown.
    spec = write_spec(tmp_path, json.dumps({"target_group": "green", "test_listener": None,
                                            "termination_wait": "0ms"}), "deploy.json")
    result, published = watched(turnout, "deploy", "--file", spec, "--watch", "--json")
    assert result.returncode == 0, (result.stdout, result.stderr)
    events = [json.loads(line) for line in result.stdout.splitlines()]
    assert events == published
    deployment = the_deployment(admin)
    assert {event["deployment"] for event in events} == {deployment["id"]}
    assert events[-1]["status"] == "Succeeded" and events[-1]["test_listener"] is None
    assert admin.forwards() == {"production": {"green": 100}, "test": {"blue": 100}}


# --- deploy --to, deployments, the actions ----------------------------------------------------------------------

def test_deploy_to_a_group_then_list_and_show_it(setup):
    turnout, admin = setup
    result = cli(turnout, "deploy", "--to", "green", "--strategy", "Canary10Percent5Minutes")
    assert result.returncode == 0, result.stderr
    deployment = the_deployment(admin)
    heading = result.stdout.splitlines()[0]
    assert heading == f"deployment {deployment['id']} on production: blue → green (Canary10Percent5Minutes)"

    bake = wait_for_status(admin, "InProgress")
    assert wait_until(lambda: the_deployment(admin)["step"] == 1, timeout=20), the_deployment(admin)
    listing = cli(turnout, "deployments")
    assert listing.returncode == 0, listing.stderr
    table = listing.stdout.splitlines()
    assert_aligned(table)
    assert rows(listing.stdout)[1][:8] == [bake["id"], "production", "blue", "→", "green", "InProgress",
                                           "AllowTraffic", "1/2"]
    assert rows(listing.stdout)[1][8] == "10%"

    one = cli(turnout, "deployments", bake["id"])
    assert one.returncode == 0, one.stderr
    lines = one.stdout.splitlines()
    assert lines[1].startswith("InProgress: ")
    assert "production  blue 90% [" + "=" * 36 + "#" * 4 + "] 10% green" in lines
    assert any(line.startswith("step 1 of 2, bake ends in ") for line in lines), lines
    timeline = [line.lstrip("> ").split()[0] for line in lines if line.lstrip("> ").split(" ")[0] in PHASES]
    assert timeline == [p["phase"] for p in ok_json(admin.get(f"/v1/deployments/{bake['id']}"))["phases"]]

    as_json = cli(turnout, "deployments", bake["id"], "--json")
    assert json.loads(as_json.stdout)["id"] == bake["id"]

    promoted = cli(turnout, "promote")
    assert promoted.returncode == 0, promoted.stderr
    assert json.loads(cli(turnout, "deployments", "--json").stdout)["deployments"][0]["promoted"] is True
    wait_for_status(admin, "Succeeded")
    assert admin.forwards()["production"] == {"green": 100}


def test_pause_resume_and_stop_by_default_id(setup, tmp_path):
    turnout, admin = setup
    spec = write_spec(tmp_path, "target_group: green\nstrategy: {canary: {percent: 20, wait: 1h}}\n")
    watcher = watch_in_background(turnout, "deploy", "--file", spec)
    bake = wait_for_status(admin, "InProgress")
    assert wait_until(lambda: the_deployment(admin)["stage"] == "bake", timeout=20)

    paused = cli(turnout, "pause")
    assert paused.returncode == 0, paused.stderr
    assert paused.stdout.splitlines()[1].startswith("Paused: ")
    assert any(line.startswith("step 1 of 2, paused, ") and line.endswith("left (turnout resume)")
               for line in paused.stdout.splitlines()), paused.stdout
    resumed = cli(turnout, "resume", bake["id"])
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines()[1].startswith("InProgress: ")

    stopped = cli(turnout, "stop")
    assert stopped.returncode == 0, stopped.stderr
    code, stdout, stderr = finished(watcher)
    assert code == 1, (stdout, stderr)
    assert event_lines(stdout, bake["id"])[-1][2] == "Stopped"
    assert admin.forwards()["production"] == {"blue": 80, "green": 20}  # routing as it stood


def test_rollback_mid_canary_makes_the_watch_exit_2(setup, tmp_path):
    turnout, admin = setup
    spec = write_spec(tmp_path, "target_group: green\nstrategy: {steps: [{weight: 10, approval: true}, {weight: 100}]}\n")
    watcher = watch_in_background(turnout, "deploy", "--file", spec)
    waiting = wait_for_status(admin, "WaitingForApproval")
    rolled = cli(turnout, "rollback")
    assert rolled.returncode == 0, rolled.stderr
    code, stdout, stderr = finished(watcher)
    assert code == 2, (stdout, stderr)
    assert event_lines(stdout, waiting["id"])[-1][2] == "RolledBack"
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}


# --- errors -------------------------------------------------------------------------------------------------------

def test_api_errors_show_their_code_and_exit_1(setup, tmp_path):
    turnout, admin = setup
    assert_api_error(cli(turnout, "deploy", "--to", "blue"), "bad_request")  # the live group
    assert_api_error(cli(turnout, "deploy", "--to", "green", "--strategy", "Canary99"), "bad_request")
    assert_api_error(cli(turnout, "deployments", "d-0"), "not_found")
    assert_api_error(cli(turnout, "approve", "d-0"), "not_found")
    assert_api_error(cli(turnout, "deploy", "--to", "green", "--watch", "--listener", "nope"), "bad_request")

    nothing = cli(turnout, "promote")
    assert nothing.returncode == 1
    assert nothing.stderr == "error: no deployment is in progress (`turnout deployments` lists the finished ones)\n"

    # One deployment per listener: one on each, then an action without an id names both.
    for listener in ("production", "test"):
        spec = write_spec(tmp_path, f"listener: {listener}\ntest_listener: null\ntarget_group: green\n"
                                    "strategy: {canary: {percent: 10, wait: 1h}}\n", f"{listener}.yaml")
        assert cli(turnout, "deploy", "--file", spec).returncode == 0
    assert_api_error(cli(turnout, "deploy", "--file", spec), "conflict")
    ids = [d["id"] for d in ok_json(admin.get("/v1/deployments"))["deployments"]]
    several = cli(turnout, "rollback")
    assert several.returncode == 1
    assert several.stderr.startswith("error: 2 deployments are in progress (") and all(i in several.stderr for i in ids)
    assert several.stderr.endswith("): give the id of one\n")
    assert_api_error(cli(turnout, "approve", ids[0]), "conflict")  # baking, not waiting for approval
    assert admin.forwards() == {"production": {"blue": 90, "green": 10}, "test": {"blue": 90, "green": 10}}


def test_a_bad_spec_file_is_refused_before_anything_is_sent(setup, tmp_path):
    turnout, admin = setup
    for text, message in [("target_group: [green\n", "deploy.yaml: "), ("- green\n", "expected a mapping"),
                          ("target_group: green\ntarget_group: blue\n", "deploy.yaml: ")]:
        result = cli(turnout, "deploy", "--file", write_spec(tmp_path, text))
        assert result.returncode == 64, result
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
    missing = cli(turnout, "deploy", "--file", str(tmp_path / "absent.yaml"))
    assert (missing.returncode, missing.stderr) == (64, f"error: cannot read {tmp_path / 'absent.yaml'}: "
                                                        "No such file or directory\n")
    huge = tmp_path / "huge.yaml"
    huge.write_bytes(b"target_group: green\n" + b"#" * (1 << 20) + b"\n")
    too_large = cli(turnout, "deploy", "--file", str(huge))
    assert (too_large.returncode, too_large.stderr) == (64, f"error: cannot read {huge}: larger than 1048576 bytes\n")
    usage = cli(turnout, "deploy", "--file", "x.yaml", "--to", "green")
    assert usage.returncode == 64 and "either --file or --to" in usage.stderr
    assert ok_json(admin.get("/v1/deployments"))["deployments"] == []


def test_no_proxy_exits_3():
    url = f"http://127.0.0.1:{free_port()}"
    for args in (["deploy", "--to", "green"], ["deploy", "--to", "green", "--watch"], ["deployments"],
                 ["deployments", "d-1"], ["promote"], ["stop", "d-1"]):
        result = run_cli(*args, "--admin", url)
        assert result.returncode == 3, (args, result)
        assert result.stderr.startswith(f"error: cannot reach the admin API at {url}"), result.stderr


# --- --watch on a terminal -----------------------------------------------------------------------------------------

def figure_row(screen: str, group: str) -> list[str]:
    """The cells of ``group``'s row in the view's figures table (GROUP ROLE REQ/S 5XX-RATE P99)."""
    lines = screen.splitlines()
    header = next((index for index, line in enumerate(lines) if line.startswith("GROUP")), None)
    if header is None:
        return ["", "", "0.0"]
    return next((line.split() for line in lines[header + 1:header + 3] if line.split()[:1] == [group]), ["", "", "0.0"])


class TmuxPane:
    """A command in a detached tmux session of 120 x 40; ``screen()`` is what the pane shows."""

    def __init__(self, command: str):
        self.name = f"turnout-{os.getpid()}-{time.monotonic_ns()}"
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "120", "-y", "40", command], check=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True,
                              check=True).stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        assert wait_until(lambda: text in self.screen(), timeout=timeout, interval=0.1), self.screen()
        return self.screen()

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_a_canary_driven_by_the_cli_with_the_live_view_on_a_terminal(setup, tmp_path):
    turnout, admin = setup
    spec = write_spec(tmp_path, """\
target_group: green
strategy: {steps: [{weight: 10, approval: true}, {weight: 100}]}
termination_wait: 200ms
""")
    command = " ".join(shlex.quote(part) for part in [str(executable("turnout")), "deploy", "--file", spec, "--watch",
                                                      "--admin", turnout.admin_url])
    pane = TmuxPane(f"env -u TURNOUT_ADMIN -u TURNOUT_TOKEN_FILE {command}; echo watch-exit=$?; sleep 600")
    try:
        pane.wait_for("waiting for approval")
        # Traffic while the split holds: each group's figures show it (the view reads them once a second).
        served = [requests.get(f"http://127.0.0.1:{turnout.port()}/", timeout=SOCKET_TIMEOUT).status_code
                  for _ in range(100)]
        assert served == [200] * 100
        assert wait_until(lambda: all(figure_row(pane.screen(), group)[2] != "0.0" for group in ("blue", "green")),
                          timeout=10, interval=0.2), pane.screen()
        screen = pane.screen()
        deployment = the_deployment(admin)
        lines = screen.splitlines()
        assert lines[0].startswith(f"deployment {deployment['id']} on production: blue → green"), lines[0]
        assert lines[1].startswith("WaitingForApproval: ")
        # The timeline: every phase so far with its outcome, the current one marked.
        timeline = [line for line in lines if line.lstrip("> ").split(" ")[0] in PHASES]
        assert lines[3].split() == ["PHASE", "OUTCOME", "STARTED", "ENDED", "DETAIL"] and lines[3].startswith("  PHASE")
        assert [line.lstrip("> ").split()[0] for line in timeline] == PHASES[:8]
        phases = ok_json(admin.get(f"/v1/deployments/{deployment['id']}"))["phases"]
        assert [line.lstrip("> ").split()[1] for line in timeline] == [phase["outcome"] for phase in phases]
        assert {phase["outcome"] for phase in phases[:7]} == {"succeeded", "skipped"}
        assert timeline[7].startswith("> AllowTraffic") and timeline[7].split()[2] == "running"
        # The split as a bar, and where the strategy is.
        assert "production  blue 90% [" + "=" * 36 + "#" * 4 + "] 10% green" in lines
        assert "step 1 of 2, waiting for approval (turnout approve)" in lines
        # Each group's recent figures.
        header = next(index for index, line in enumerate(lines) if line.startswith("GROUP"))
        assert lines[header].split() == ["GROUP", "ROLE", "REQ/S", "5XX", "RATE", "P99"]
        assert [lines[header + 1].split()[:2], lines[header + 2].split()[:2]] == [["blue", "live"],
                                                                                  ["green", "replacement"]]
        figures = ok_json(admin.get("/v1/status"))["figures"]["target_groups"]
        for group in ("blue", "green"):
            row = figure_row(screen, group)
            assert float(row[2]) > 0 and row[3] == "0.00%" and row[4].endswith("ms"), row
            assert figures[group]["10s"]["requests"] > 0

        approved = cli(turnout, "approve")
        assert approved.returncode == 0, approved.stderr
        screen = pane.wait_for("watch-exit=")
        assert "watch-exit=0" in screen, screen
        lines = screen.splitlines()
        assert lines[1].startswith("Succeeded: ")
        assert "production  blue 0% [" + "#" * 40 + "] 100% green" in lines
        timeline = [line for line in lines if line.lstrip("> ").split(" ")[0] in PHASES]
        assert [line.split()[0] for line in timeline] == PHASES
        phases = ok_json(admin.get(f"/v1/deployments/{deployment['id']}"))["phases"]
        assert [line.split()[1] for line in timeline] == [phase["outcome"] for phase in phases]
        assert phases[7]["outcome"] == "succeeded" and phases[-1]["outcome"] in {"succeeded", "skipped"}
        assert admin.forwards()["production"] == {"green": 100}
    finally:
        pane.close()
