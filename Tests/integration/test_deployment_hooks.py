"""Deployments' hooks and commands on the real binary: real commands (shell scripts that read the deployment's
environment and curl its listeners) and a real loopback HTTP endpoint, the demo backends started by ``install``
and stopped by ``terminate``, the readiness gate, and a kill -9 while a hook runs (or ``terminate``). Durations
are milliseconds through the spec."""

from __future__ import annotations

import http.server
import json
import os
import signal
import threading
from pathlib import Path

import pytest
import requests

from admin_client import AdminClient, ok_json
from deployment_run import ENDED, created, deploy_under_load, deployment_events
from harness import LOOPBACK, SOCKET_TIMEOUT, executable, free_port, wait_until
from sse_client import SSEStream

FAST_CHECKS = {"path": "/health", "interval": "200ms", "timeout": "100ms", "healthy_threshold": 2,
               "unhealthy_threshold": 2}
CONTEXT_VARIABLES = ("TURNOUT_DEPLOYMENT_ID", "TURNOUT_PHASE", "TURNOUT_LISTENER", "TURNOUT_TEST_LISTENER",
                     "TURNOUT_PRODUCTION_URL", "TURNOUT_TEST_URL", "TURNOUT_TARGET_GROUP", "TURNOUT_LIVE_GROUP")


class HookEndpoint:
    """A loopback HTTP server for ``http`` hooks: each path answers POSTs from its script of (status, headers,
    body), the last answer repeated once the script runs out, and every POST is recorded with its JSON body."""

    def __init__(self, scripts: dict[str, list[tuple[int, dict[str, str], bytes]]]):
        endpoint = self
        self.lock = threading.Lock()
        self.received: list[tuple[str, dict]] = []
        self.scripts = {path: list(answers) for path, answers in scripts.items()}

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with endpoint.lock:
                    endpoint.received.append((self.path, json.loads(body)))
                    answers = endpoint.scripts.get(self.path, [(404, {}, b"no such hook\n")])
                    status, headers, text = answers.pop(0) if len(answers) > 1 else answers[0]
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def posts(self, path: str) -> list[dict]:
        with self.lock:
            return [body for at, body in self.received if at == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hook_endpoint():
    opened: list[HookEndpoint] = []

    def open_endpoint(scripts) -> HookEndpoint:
        opened.append(HookEndpoint(scripts))
        return opened[-1]

    yield open_endpoint
    for endpoint in opened:
        endpoint.close()


@pytest.fixture
def pid_files(tmp_path):
    """Where the tests' commands write the pids of what they start; each one still running (a ``sleep`` the
    proxy no longer watches, a demo backend an ``install`` started) is SIGKILLed at teardown."""
    directory = tmp_path / "pids"
    directory.mkdir()
    yield directory
    for path in directory.glob("*.pid"):
        try:
            pid = int(path.read_text().split()[0])
            command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except (ValueError, IndexError, FileNotFoundError):
            continue
        if command[0] == b"sleep" or command[0].endswith(b"/turnout-demo-backend"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def write_script(directory: Path, name: str, text: str) -> Path:
    script = directory / name
    script.write_text("#!/bin/sh\n" + text)
    return script


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.fixture
def setup(proxy, pair, backends):
    """Production and test on blue, green the replacement; no health checks, every target routable."""
    turnout = proxy(groups=pair, listeners={"production": {"blue": 100}, "test": {"blue": 100}}, wait_for_admin=True)
    return turnout, AdminClient.of(turnout), backends


def run_to_the_end(turnout, admin: AdminClient, spec: dict, timeout: float = 20.0) -> dict:
    """Starts a deployment of ``spec``, follows it on the event stream until it ends and returns its record."""
    with SSEStream(f"{turnout.admin_url}/v1/events") as events:
        events.next()
        deployment = created(admin.post("/v1/deployments", spec))
        deployment_events(events, deployment, ENDED, timeout)
    return ok_json(admin.get(f"/v1/deployments/{deployment}"))


def phase(record: dict, name: str) -> dict:
    [found] = [p for p in record["phases"] if p["phase"] == name]
    return found


def test_exec_hooks_see_their_deployment_and_test_traffic_reaches_the_replacement(setup, tmp_path):
    turnout, admin, _ = setup
    seen = tmp_path / "seen"
    seen.mkdir()
    # The hook checks, through the proxy, what each listener reaches at its phase.
    validate = write_script(tmp_path, "validate.sh", """
out="$1/$TURNOUT_PHASE"
env > "$out.env"
for i in 1 2 3 4 5; do
  curl -sS --max-time 5 "$TURNOUT_TEST_URL/" >> "$out.test" || exit 10
  curl -sS --max-time 5 "$TURNOUT_PRODUCTION_URL/" >> "$out.production" || exit 11
done
if grep -qv "from $TURNOUT_TARGET_GROUP" "$out.test"; then echo "test traffic missed $TURNOUT_TARGET_GROUP"; exit 1; fi
echo "validated $TURNOUT_TARGET_GROUP through $TURNOUT_TEST_URL"
""")
    hook = {"exec": {"command": f"sh {validate} {seen}", "timeout": "10s"}}
    spec = {"target_group": "green", "hooks": {"AfterAllowTestTraffic": hook, "AfterAllowTraffic": hook},
            "termination_wait": "100ms"}
    record = run_to_the_end(turnout, admin, spec)

    assert record["status"] == "Succeeded", record
    environment = dict(line.split("=", 1) for line in (seen / "AfterAllowTestTraffic.env").read_text().splitlines()
                       if "=" in line)
    assert {name: environment.get(name) for name in CONTEXT_VARIABLES} == {
        "TURNOUT_DEPLOYMENT_ID": record["id"], "TURNOUT_PHASE": "AfterAllowTestTraffic",
        "TURNOUT_LISTENER": "production", "TURNOUT_TEST_LISTENER": "test",
        "TURNOUT_PRODUCTION_URL": f"http://{LOOPBACK}:{turnout.port('production')}",
        "TURNOUT_TEST_URL": f"http://{LOOPBACK}:{turnout.port('test')}",
        "TURNOUT_TARGET_GROUP": "green", "TURNOUT_LIVE_GROUP": "blue",
    }
    assert environment["PATH"] == os.environ["PATH"], "the proxy's own environment is passed on"
    # During AfterAllowTestTraffic the test listener reached green and production was still blue; after
    # AllowTraffic production reached green too.
    assert (seen / "AfterAllowTestTraffic.test").read_text() == "Hello World! from green\n" * 5
    assert (seen / "AfterAllowTestTraffic.production").read_text() == "Hello World! from blue\n" * 5
    assert (seen / "AfterAllowTraffic.production").read_text() == "Hello World! from green\n" * 5
    after_test = phase(record, "AfterAllowTestTraffic")
    assert (after_test["outcome"], after_test["output_tail"]) == \
        ("succeeded", f"validated green through http://{LOOPBACK}:{turnout.port('test')}\n")
    assert phase(record, "AfterAllowTraffic")["outcome"] == "succeeded"


def test_a_failing_exec_hook_rolls_back_under_load_naming_the_hook_its_status_and_output(setup, tmp_path):
    turnout, admin, _ = setup
    smoke = write_script(tmp_path, "smoke.sh", """
echo "test url: ${TURNOUT_TEST_URL-unset}"
curl -sS --max-time 5 "$TURNOUT_PRODUCTION_URL/"
echo "smoke: 2 of 5 checks failed" >&2
exit 3
""")
    spec = {"target_group": "green", "test_listener": None,
            "hooks": {"AfterAllowTraffic": {"exec": f"sh {smoke}", "timeout": "10s"}}}
    deployment, seen, load = deploy_under_load(turnout, admin, spec)
    rolled_back = seen[-1][0]

    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert (record["status"], record["reason"]) == ("RolledBack", "hook AfterAllowTraffic failed: exit status 3"), record
    failed = phase(record, "AfterAllowTraffic")
    assert (failed["outcome"], failed["detail"]) == ("failed", "hook AfterAllowTraffic failed: exit status 3")
    # Standard output and error in the order written; no test listener, so its variable is unset; production
    # reached green while the hook ran.
    assert failed["output_tail"] == "test url: unset\nHello World! from green\nsmoke: 2 of 5 checks failed\n"
    assert [s["weight"] for s in record["steps"]] == [100]
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}
    # Production went all to green and back to blue under keep-alive load, and no request failed.
    outcomes = load.outcomes()
    assert [o for o in outcomes if o.failed] == []
    stragglers = [o for o in outcomes if o.started > rolled_back and o.served_by != "blue"]
    assert stragglers == [], f"{len(stragglers)} requests reached green after the rollback, first: {stragglers[:5]}"


def test_http_hooks_202_then_200_passes_and_a_500_rolls_back_with_the_answer(setup, hook_endpoint):
    turnout, admin, _ = setup
    endpoint = hook_endpoint({
        "/validate": [(202, {"Retry-After": "1"}, b"still validating\n"), (200, {}, b"validated\n")],
        "/smoke": [(500, {}, b"smoke: checkout answered 502\n")],
    })
    spec = {"target_group": "green", "hooks": {
        "AfterAllowTestTraffic": {"http": {"url": f"{endpoint.url}/validate", "timeout": "10s"}},
        "BeforeAllowTraffic": {"http": f"{endpoint.url}/smoke", "timeout": "10s"},
    }}
    record = run_to_the_end(turnout, admin, spec)

    assert (record["status"], record["reason"]) == ("RolledBack", "hook BeforeAllowTraffic failed: HTTP 500"), record
    validated = phase(record, "AfterAllowTestTraffic")
    assert (validated["outcome"], validated["output_tail"]) == ("succeeded", "validated\n")
    smoke = phase(record, "BeforeAllowTraffic")
    assert (smoke["outcome"], smoke["detail"], smoke["output_tail"]) == \
        ("failed", "hook BeforeAllowTraffic failed: HTTP 500", "smoke: checkout answered 502\n")
    # Asked again after the 202, with the same context each time.
    context = {
        "deployment_id": record["id"], "phase": "AfterAllowTestTraffic", "listener": "production",
        "test_listener": "test", "production_url": f"http://{LOOPBACK}:{turnout.port('production')}",
        "test_url": f"http://{LOOPBACK}:{turnout.port('test')}", "target_group": "green", "live_group": "blue",
    }
    assert endpoint.posts("/validate") == [context, context]
    assert endpoint.posts("/smoke") == [{**context, "phase": "BeforeAllowTraffic"}]
    # Production never moved; the test listener is back on blue.
    assert record["steps"] == []
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}


def test_hooks_that_time_out_roll_back_and_a_command_is_killed(setup, tmp_path, hook_endpoint, pid_files):
    turnout, admin, _ = setup
    endpoint = hook_endpoint({"/validate": [(202, {"Retry-After": "1"}, b"still validating\n")]})
    spec = {"target_group": "green",
            "hooks": {"AfterAllowTestTraffic": {"http": f"{endpoint.url}/validate", "timeout": "1500ms"}}}
    record = run_to_the_end(turnout, admin, spec)
    assert (record["status"], record["reason"]) == \
        ("RolledBack", "hook AfterAllowTestTraffic timed out after 1500ms"), record
    assert phase(record, "AfterAllowTestTraffic")["output_tail"] == "still validating\n"
    assert len(endpoint.posts("/validate")) >= 2, "the 202 was asked again before the timeout"

    pid_file = pid_files / "hang.pid"
    hang = write_script(tmp_path, "hang.sh", f"""
echo "started"
echo $$ > {pid_file}
exec sleep 60
""")
    spec = {"target_group": "green", "hooks": {"BeforeAllowTraffic": {"exec": f"sh {hang}", "timeout": "500ms"}}}
    record = run_to_the_end(turnout, admin, spec)
    assert (record["status"], record["reason"]) == \
        ("RolledBack", "hook BeforeAllowTraffic timed out after 500ms"), record
    assert phase(record, "BeforeAllowTraffic")["output_tail"] == "started\n"
    pid = int(pid_file.read_text())
    assert wait_until(lambda: not is_running(pid), timeout=10), "the timed-out command is still running"
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}


@pytest.fixture
def gated(proxy, pair, backends):
    """Production and test on blue (no checks); green health-checked and empty, filled by the deployment."""
    groups = {"blue": pair["blue"], "green": {"targets": [], "health_check": FAST_CHECKS, "deregistration_delay": "1s"}}
    turnout = proxy(groups=groups, listeners={"production": {"blue": 100}, "test": {"blue": 100}}, wait_for_admin=True)
    return turnout, AdminClient.of(turnout), backends


def test_install_starts_the_replacement_the_gate_waits_for_it_and_terminate_stops_the_old_one(gated, tmp_path,
                                                                                              pid_files):
    turnout, admin, backends = gated
    port = free_port()
    replacement = f"{LOOPBACK}:{port}"
    backend = executable("turnout-demo-backend")
    (pid_files / "blue.pid").write_text(str(backends.blue.process.pid))
    backends.blue.process.exit_expected = True  # terminate stops it
    spec = {
        "target_group": "green", "targets": [replacement],
        "install": {"exec": f"{backend} --port {port} --name green-2 --host {LOOPBACK} > {tmp_path}/green-2.log 2>&1 &"
                            f" echo $! > {pid_files}/green-2.pid; echo installed",
                    "shell": True, "timeout": "10s"},
        "readiness": {"min_healthy": 1, "timeout": "10s"},
        "termination_wait": "300ms",
        "terminate": {"exec": f"kill -TERM $(cat {pid_files}/blue.pid) && echo terminated", "shell": True,
                      "timeout": "10s"},
    }
    with SSEStream(f"{turnout.admin_url}/v1/events") as events:
        events.next()
        deployment = created(admin.post("/v1/deployments", spec))
        seen = events.until(lambda e: e.event == "deployment" and e.data["deployment"] == deployment
                            and e.data["status"] in ENDED, timeout=30)
    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert record["status"] == "Succeeded", record

    # The spec's target went into green, the gate waited for its checks to pass, and only then did the test
    # listener move.
    assert [t["target"] for t in admin.targets("green")] == [replacement]
    healthy = [i for i, e in enumerate(seen) if e.event == "health" and e.data["target"] == replacement
               and e.data["to"] == "healthy"]
    moved = [i for i, e in enumerate(seen) if e.event == "routing" and "listeners" in e.data["diff"]]
    assert healthy and moved and healthy[0] < moved[0], [(e.event, e.data) for e in seen]
    assert phase(record, "Readiness")["detail"] == "1 of 1 targets healthy"
    assert phase(record, "Install")["output_tail"] == "installed\n"
    response = requests.get(f"http://{LOOPBACK}:{turnout.port()}/", timeout=SOCKET_TIMEOUT)
    assert response.text == "Hello World! from green-2\n"

    # Terminate ran after the termination wait and stopped blue.
    assert phase(record, "TerminationWait")["ended"] <= phase(record, "Retire")["started"]
    assert phase(record, "Retire")["output_tail"] == "terminated\n"
    assert wait_until(lambda: not backends.blue.process.is_running(), timeout=10)
    assert "demo backend blue stopping (signal 15)" in backends.blue.process.log()


def test_a_replacement_never_healthy_times_the_gate_out_and_rolls_back(gated):
    turnout, admin, _ = gated
    nobody = f"{LOOPBACK}:{free_port()}"
    spec = {"target_group": "green", "targets": [nobody], "readiness": {"min_healthy": "100%", "timeout": "800ms"}}
    record = run_to_the_end(turnout, admin, spec)

    assert (record["status"], record["reason"]) == \
        ("RolledBack", "readiness timed out after 800ms: 0 of 1 targets healthy"), record
    gate = phase(record, "Readiness")
    assert (gate["outcome"], gate["detail"]) == ("failed", record["reason"])
    assert record["steps"] == [] and not record["test_on_replacement"]
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}


def test_a_proxy_killed_while_a_hook_runs_rolls_the_deployment_back_after_the_restart(setup, tmp_path, pid_files,
                                                                                     restart_proxy):
    turnout, admin, _ = setup
    pid_file = pid_files / "long.pid"
    long_hook = write_script(tmp_path, "long.sh", f"echo $$ > {pid_file}\nexec sleep 60\n")
    spec = {"target_group": "green", "hooks": {"BeforeAllowTraffic": {"exec": f"sh {long_hook}", "timeout": "60s"}}}
    deployment = created(admin.post("/v1/deployments", spec))
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=10), "the hook did not start"
    before = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert (before["status"], before["reason"]) == ("InProgress", "running hook BeforeAllowTraffic")
    assert admin.forwards()["test"] == {"green": 100}
    [test_traffic] = before["generations"]

    hook = int(pid_file.read_text())
    assert is_running(hook)
    turnout.process.kill()  # SIGKILL while the hook runs
    # The hook dies with the proxy (PR_SET_PDEATHSIG), rather than running on with nobody to watch it.
    assert wait_until(lambda: not is_running(hook), timeout=10), "the hook outlived the proxy"
    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert (record["status"], record["reason"]) == \
        ("RolledBack", "the proxy restarted while hook BeforeAllowTraffic was running"), record
    assert [r["outcome"] for r in record["restarts"]] == ["rolled back"]
    assert phase(record, "BeforeAllowTraffic")["outcome"] == "cancelled"
    # The test listener's move, acknowledged before the kill, is kept; the rollback is the next change.
    [kept, rollback] = record["generations"]
    assert kept == test_traffic
    entries = {e["generation_after"]: e for e in admin.audit() if e["action"] == "deployment"}
    assert sorted(entries) == [test_traffic, rollback]
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}
    assert requests.get(f"http://{LOOPBACK}:{again.port('test')}/", timeout=SOCKET_TIMEOUT).text == \
        "Hello World! from blue\n"


def test_a_proxy_killed_while_terminate_runs_fails_the_deployment_and_leaves_production_on_the_replacement(
        setup, tmp_path, pid_files, restart_proxy):
    turnout, admin, _ = setup
    pid_file = pid_files / "terminate.pid"
    terminate = write_script(tmp_path, "terminate.sh", f"echo $$ > {pid_file}\nexec sleep 60\n")
    spec = {"target_group": "green", "test_listener": None, "terminate": {"exec": f"sh {terminate}", "timeout": "60s"}}
    deployment = created(admin.post("/v1/deployments", spec))
    assert wait_until(lambda: pid_file.exists() and pid_file.read_text().strip(), timeout=10), "terminate did not start"
    assert ok_json(admin.get(f"/v1/deployments/{deployment}"))["reason"] == "running terminate"

    turnout.process.kill()  # SIGKILL while the old version is being retired: it may be half stopped
    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    record = ok_json(admin.get(f"/v1/deployments/{deployment}"))
    assert (record["status"], record["reason"]) == ("Failed", "the proxy restarted while terminate was running"), record
    assert [r["outcome"] for r in record["restarts"]] == ["failed"]
    assert phase(record, "Retire")["outcome"] == "failed"
    assert admin.forwards()["production"] == {"green": 100}
    assert len(record["generations"]) == 1, "no rollback onto the group being retired"
