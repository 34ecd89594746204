"""`turnout status|switch|weights|targets`: the command line client of the admin API, end to end.

Every test runs the real binary against a running proxy (or, for the transport tests, a loopback
socket server written here) and checks its output, its exit status and what changed in the proxy.
Exit statuses: 0 success, 1 API error (`error: <code>: <message>` on stderr), 3 admin API
unreachable, 64 usage error.
"""

from __future__ import annotations

import json
import os
import re
import socket
import struct
import subprocess
import threading
from collections import Counter

import pytest

from admin_client import NO_CHECKS, AdminClient, group_targets, served_by
from harness import LOOPBACK, SOCKET_TIMEOUT, executable, free_port, wait_until

CLI_TIMEOUT = 30.0


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``turnout ARGS`` with output captured; TURNOUT_* variables only as given in ``env``."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("TURNOUT_")}
    environment.update(env or {})
    return subprocess.run(
        [str(executable("turnout")), *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT,
        env=environment,
    )


def rows(text: str) -> list[list[str]]:
    """The output's non-empty lines, each split into its whitespace-separated cells."""
    return [line.split() for line in text.splitlines() if line.strip()]


def sections(text: str) -> list[list[str]]:
    """The output's blank-line-separated blocks, as lists of lines."""
    return [block.splitlines() for block in text.strip("\n").split("\n\n")]


def assert_aligned(table: list[str]) -> None:
    """Every cell of a text table starts where its header does (headers are separated by 2+ spaces)."""
    starts = [match.end() for match in re.finditer(r" {2,}", table[0])]
    for line in table[1:]:
        assert not line.endswith(" "), repr(line)
        for start in starts:
            assert start < len(line) and line[start - 1] == " " and line[start] != " ", (table, line, start)


def reason_cell(target: dict) -> str:
    """How a target's reason and description print: `Reason: description`, either alone, or `-`."""
    parts = [part for part in (target["reason"], target["description"]) if part]
    return ": ".join(parts) if parts else "-"


def target_rows(text_rows: list[list[str]], width: int) -> list[list[str]]:
    """Table rows with the cells from column ``width`` on (the free-text reason) joined into one."""
    return [row[:width] + [" ".join(row[width:])] for row in text_rows]


def assert_api_error(result: subprocess.CompletedProcess, code: str) -> None:
    """Exit 1 and exactly one stderr line `error: <code>: <non-empty message>`."""
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    prefix = f"error: {code}: "
    assert lines[0].startswith(prefix) and lines[0][len(prefix):].strip(), result.stderr


def cli(turnout, *args: str) -> subprocess.CompletedProcess:
    return run_cli(*args, "--admin", turnout.admin_url)


# --- status --------------------------------------------------------------------------------------

def test_status_prints_listeners_groups_and_targets(turnout, admin, backends):
    generation = admin.generation()
    result = cli(turnout, "status")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""

    blocks = sections(result.stdout)
    assert [len(block) for block in blocks] == [1, 3, 3, 3, 1, 1], result.stdout
    heading, listeners, groups, targets, sources, deployment = blocks

    assert heading == [f"generation {generation}"]
    assert rows("\n".join(listeners)) == [
        ["LISTENER", "BIND", "FORWARD"],
        ["production", f"{LOOPBACK}:{turnout.port('production')}", "blue=100"],
        ["test", f"{LOOPBACK}:{turnout.port('test')}", "green=100"],
    ]
    assert rows("\n".join(groups)) == [
        ["GROUP", "ALGORITHM", "ALL", "UNHEALTHY", "HEALTH", "CHECK", "TARGETS"],
        ["blue", "round_robin", "fail_open", "disabled", "1/1", "routable"],
        ["green", "round_robin", "fail_open", "disabled", "1/1", "routable"],
    ]
    [blue] = admin.targets("blue")
    [green] = admin.targets("green")
    assert (blue["reason"], green["reason"]) == ("Target.HealthCheckDisabled", "Target.HealthCheckDisabled")
    assert target_rows(rows("\n".join(targets)), 4) == [
        ["GROUP", "TARGET", "STATE", "ROUTABLE", "REASON"],
        ["blue", backends.blue.address, "initial", "yes", reason_cell(blue)],
        ["green", backends.green.address, "initial", "yes", reason_cell(green)],
    ]
    assert sources == ["every forward and target list is the configuration file's"]
    assert deployment == ["deployment: none"]
    for table in (listeners, groups, targets):
        assert_aligned(table)


def test_status_json_is_the_api_document(turnout, admin):
    # The document moves with the clock (each second its figures' windows cover one more, up to 60): the command
    # prints the API's answer of its moment, which is the one read before it or after it unless it took so long
    # that the document moved twice (then it is asked again); when the document did not move, it is that one.
    def printed_an_api_answer() -> bool:
        before = admin.status()
        result = cli(turnout, "status", "--json")
        after = admin.status()
        assert result.returncode == 0, result.stderr
        printed = json.loads(result.stdout)
        if printed in (before, after):
            return True
        assert before != after, (printed, before)
        return False

    assert wait_until(printed_an_api_answer, timeout=20)


def test_status_shows_weights_in_the_order_the_api_gives_them(turnout, admin):
    assert admin.set_forward("production", {"green": 10, "blue": 90}).status_code == 200
    result = cli(turnout, "status")
    assert result.returncode == 0, result.stderr
    forward = [row for row in rows(result.stdout) if row[0] == "production"]
    api_order = [f"{group}={weight}" for group, weight in admin.forwards()["production"].items()]
    assert forward == [["production", f"{LOOPBACK}:{turnout.port('production')}", *api_order]]
    assert sorted(api_order) == ["blue=90", "green=10"]


# --- switch --------------------------------------------------------------------------------------

def test_switch_with_swap_test_moves_both_listeners(turnout, admin):
    before = admin.generation()
    result = cli(turnout, "switch", "green", "--swap-test")
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [
        ["generation", str(before), "→", str(before + 1)],
        ["LISTENER", "FORWARD"],
        ["production", "green=100"],
        ["test", "blue=100"],
    ]
    assert admin.forwards() == {"production": {"green": 100}, "test": {"blue": 100}}
    assert set(served_by(turnout.port("production"), 6)) == {"green"}
    assert set(served_by(turnout.port("test"), 6)) == {"blue"}


def test_switch_one_listener(turnout, admin):
    before = admin.generation()
    result = cli(turnout, "switch", "blue", "--listener", "test")
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [
        ["generation", str(before), "→", str(before + 1)],
        ["LISTENER", "FORWARD"],
        ["test", "blue=100"],
    ]
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}


def test_switch_to_where_traffic_already_goes_says_unchanged(turnout, admin):
    before, audit = admin.generation(), admin.audit()
    result = cli(turnout, "switch", "blue")
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [
        ["generation", str(before), "(unchanged)"],
        ["LISTENER", "FORWARD"],
        ["production", "blue=100"],
    ]
    assert (admin.generation(), admin.audit()) == (before, audit)


def test_switch_dry_run_changes_nothing(turnout, admin):
    before = admin.status()
    result = cli(turnout, "switch", "green", "--swap-test", "--dry-run")
    assert result.returncode == 0, result.stderr
    lines = rows(result.stdout)
    assert lines[0][:4] == ["dry", "run", "at", "generation"] and lines[0][4] == f"{before['generation']}:"
    assert lines[1:] == [["LISTENER", "FORWARD"], ["production", "green=100"], ["test", "blue=100"]]
    after = admin.status()
    assert (after["generation"], after["listeners"]) == (before["generation"], before["listeners"])


def test_switch_with_a_stale_generation_is_refused(turnout, admin):
    current = admin.generation()
    result = cli(turnout, "switch", "green", "--if-match", str(current + 5))
    assert_api_error(result, "stale_generation")
    assert result.stdout == ""
    assert admin.forwards()["production"] == {"blue": 100}

    result = cli(turnout, "switch", "green", "--if-match", str(current))
    assert result.returncode == 0, result.stderr
    assert admin.forwards()["production"] == {"green": 100}


def test_switch_of_an_unknown_listener_is_not_found(turnout, admin):
    before = admin.generation()
    result = cli(turnout, "switch", "green", "--listener", "canary")
    assert_api_error(result, "not_found")
    assert admin.generation() == before


def test_json_on_an_api_error_prints_the_error_document(turnout, admin):
    result = cli(turnout, "weights", "production", "purple=100", "--json")
    assert result.returncode == 1, result.stderr
    document = json.loads(result.stdout)
    assert document["error"]["code"] == "invalid"
    assert result.stderr.strip() == f"error: invalid: {document['error']['message']}"


# --- weights -------------------------------------------------------------------------------------

def test_weights_sets_a_canary(turnout, admin):
    before = admin.generation()
    result = cli(turnout, "weights", "production", "blue=90", "green=10")
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout) == [
        ["generation", str(before), "→", str(before + 1)],
        ["LISTENER", "FORWARD"],
        ["production", "blue=90", "green=10"],
    ]
    assert admin.forwards()["production"] == {"blue": 90, "green": 10}
    assert admin.forwards()["test"] == {"green": 100}


def test_weights_json_prints_the_api_answer(turnout, admin):
    before = admin.generation()
    result = cli(turnout, "weights", "production", "green=100", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "generation": before + 1, "previous_generation": before, "listeners": {"production": {"green": 100}},
    }


def test_weights_dry_run_and_if_match(turnout, admin):
    before = admin.generation()
    result = cli(turnout, "weights", "production", "blue=50", "green=50", "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "dry_run": True, "generation": before, "listeners": {"production": {"blue": 50, "green": 50}},
    }
    assert admin.generation() == before

    stale = cli(turnout, "weights", "production", "blue=50", "green=50", "--if-match", str(before + 1))
    assert_api_error(stale, "stale_generation")
    assert admin.forwards()["production"] == {"blue": 100}


@pytest.mark.parametrize("weights", [["blue=1000"], ["blue=0", "green=0"], ["purple=10"]])
def test_invalid_weights_are_api_errors(turnout, admin, weights):
    result = cli(turnout, "weights", "production", *weights)
    assert_api_error(result, "invalid")
    assert admin.forwards()["production"] == {"blue": 100}


def test_weights_given_in_part_leave_the_rest_to_the_other_group(turnout, admin):
    """`weights production green=10` on production at blue=100 is a 10 % canary (the rest stays with blue),
    not all of production's traffic to green."""
    before = admin.generation()
    result = cli(turnout, "weights", "production", "green=10")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert rows(result.stdout) == [
        ["generation", str(before), "→", str(before + 1)],
        ["LISTENER", "FORWARD"],
        ["production", "blue=90", "green=10"],
    ]
    assert admin.forwards() == {"production": {"blue": 90, "green": 10}, "test": {"green": 100}}
    served = Counter(served_by(turnout.port("production"), 100))
    assert set(served) == {"blue", "green"} and 5 <= served["green"] <= 15, served

    # The other group is the one left out that has traffic now: blue at 90 gives way to green at 30.
    assert cli(turnout, "weights", "production", "green=30").returncode == 0
    assert admin.forwards()["production"] == {"blue": 70, "green": 30}
    # Both named: as given.
    assert cli(turnout, "weights", "production", "blue=60", "green=40").returncode == 0
    assert admin.forwards()["production"] == {"blue": 60, "green": 40}
    # A group at 0 stays listed; the rest goes back to blue.
    assert cli(turnout, "weights", "production", "green=0").returncode == 0
    assert admin.forwards()["production"] == {"blue": 100, "green": 0}
    # After a switch to green, blue=10 takes 10 % from green.
    assert cli(turnout, "switch", "green").returncode == 0
    assert cli(turnout, "weights", "production", "blue=10").returncode == 0
    assert admin.forwards()["production"] == {"blue": 10, "green": 90}


def test_weights_given_in_part_with_no_other_group_say_what_to_type(turnout, admin):
    before = admin.generation()
    result = cli(turnout, "weights", "production", "blue=10")
    assert result.returncode == 64, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "error: blue=10 adds up to 10, not 100, and 'production' sends traffic to no other group that could take "
        "the other 90. Give every group's percentage, e.g. `turnout weights production blue=10 green=90`"]
    assert (admin.generation(), admin.forwards()["production"]) == (before, {"blue": 100})

    # The command it shows works as typed.
    suggested = result.stderr.split("`")[1].split()
    assert suggested[:2] == ["turnout", "weights"]
    assert cli(turnout, *suggested[1:]).returncode == 0
    assert admin.forwards()["production"] == {"blue": 10, "green": 90}


def test_weights_given_in_part_on_a_listener_with_three_groups(proxy, pair, demo_backend):
    canary = demo_backend("canary")
    groups = {**pair, "canary": {"targets": [canary.address], "health_check": NO_CHECKS}}
    turnout = proxy(groups=groups, wait_for_admin=True,
                    listeners={"production": {"blue": 80, "green": 10, "canary": 10}, "test": {"green": 100}})
    admin = AdminClient.of(turnout)
    before = admin.generation()

    # Two groups left out have traffic: which one takes the rest is not said.
    result = cli(turnout, "weights", "production", "green=20")
    assert result.returncode == 64, (result.stdout, result.stderr)
    assert result.stderr.splitlines() == [
        "error: green=20 adds up to 20, not 100, and 'production' also sends traffic to blue (80) and canary (10): "
        "which of them takes the other 80 is not said. Give every group's percentage, e.g. "
        "`turnout weights production green=20 blue=71 canary=9`"]
    assert admin.generation() == before
    assert admin.forwards()["production"] == {"blue": 80, "green": 10, "canary": 10}

    # One left out: it takes the rest.
    result = cli(turnout, "weights", "production", "green=20", "canary=5")
    assert result.returncode == 0, result.stderr
    assert admin.forwards()["production"] == {"blue": 75, "green": 20, "canary": 5}
    # All named: as given.
    assert cli(turnout, "weights", "production", "blue=50", "green=30", "canary=20").returncode == 0
    assert admin.forwards()["production"] == {"blue": 50, "green": 30, "canary": 20}
    assert set(served_by(turnout.port("production"), 20)) == {"blue", "green", "canary"}


def test_weights_adding_up_to_more_than_100_are_refused_with_the_split(turnout, admin):
    result = cli(turnout, "weights", "production", "blue=90", "green=20")
    assert_api_error(result, "invalid")
    assert result.stderr.strip() == (
        "error: invalid: weights are percentages and must add up to 100, not 110 "
        "(in proportion, these would send 81.8 % to blue and 18.2 % to green)")
    assert admin.forwards()["production"] == {"blue": 100}


def test_weights_of_an_unknown_listener_is_not_found(turnout):
    assert_api_error(cli(turnout, "weights", "canary", "blue=10"), "not_found")


@pytest.mark.parametrize(
    "arguments",
    [["production"], ["production", "blue"], ["production", "blue=x"], ["production", "=5"],
     ["production", "blue=-1"], ["production", "blue=1", "blue=2"]],
)
def test_malformed_weights_are_usage_errors(turnout, admin, arguments):
    before = admin.generation()
    result = cli(turnout, "weights", *arguments)
    assert result.returncode == 64, (result.stdout, result.stderr)
    assert result.stderr.strip() != ""
    assert admin.generation() == before


# --- targets -------------------------------------------------------------------------------------

def test_targets_list(turnout, admin, backends):
    result = cli(turnout, "targets", "list", "blue")
    assert result.returncode == 0, result.stderr
    [blue] = admin.targets("blue")
    assert target_rows(rows(result.stdout), 3) == [
        ["TARGET", "STATE", "ROUTABLE", "REASON"],
        [backends.blue.address, "initial", "yes", reason_cell(blue)],
    ]
    assert_aligned(result.stdout.splitlines())


def test_targets_add_then_remove(turnout, admin, backends, demo_backend):
    extra = demo_backend("blue-2")
    before = admin.generation()
    added = cli(turnout, "targets", "add", "blue", extra.address)
    assert added.returncode == 0, added.stderr
    registered = admin.targets("blue")
    assert [target["target"] for target in registered] == [backends.blue.address, extra.address]
    assert rows(added.stdout)[0] == ["generation", str(before), "→", f"{before + 1}:", "target", "group", "blue"]
    assert target_rows(rows(added.stdout)[1:], 3) == [
        ["TARGET", "STATE", "ROUTABLE", "REASON"],
        [backends.blue.address, "initial", "yes", reason_cell(registered[0])],
        [extra.address, "initial", "yes", reason_cell(registered[1])],
    ]

    again = cli(turnout, "targets", "add", "blue", extra.address)
    assert_api_error(again, "conflict")

    removed = cli(turnout, "targets", "remove", "blue", extra.address)
    assert removed.returncode == 0, removed.stderr
    lines = rows(removed.stdout)
    assert lines[0] == ["generation", str(before + 1), "→", f"{before + 2}:", "target", "group", "blue"]
    assert lines[1] == ["TARGET", "STATE", "ROUTABLE", "REASON"]
    assert [backends.blue.address, "initial", "yes"] in [line[:3] for line in lines[2:]]
    remaining = {target["target"]: target["state"] for target in admin.targets("blue")}
    assert remaining.get(extra.address) in (None, "draining"), remaining
    assert remaining[backends.blue.address] == "initial"


def test_targets_remove_several_is_one_change_each(turnout, admin, demo_backend):
    first, second = demo_backend("blue-2"), demo_backend("blue-3")
    assert cli(turnout, "targets", "add", "blue", first.address, second.address).returncode == 0
    before = admin.generation()
    result = cli(turnout, "targets", "remove", "blue", first.address, second.address)
    assert result.returncode == 0, result.stderr
    headings = [row for row in rows(result.stdout) if row[0] == "generation"]
    assert headings == [
        ["generation", str(before), "→", f"{before + 1}:", "target", "group", "blue"],
        ["generation", str(before + 1), "→", f"{before + 2}:", "target", "group", "blue"],
    ]


def test_targets_errors(turnout):
    assert_api_error(cli(turnout, "targets", "list", "purple"), "not_found")
    assert_api_error(cli(turnout, "targets", "remove", "blue", f"{LOOPBACK}:9"), "not_found")
    assert_api_error(cli(turnout, "targets", "add", "blue", "not-an-address"), "invalid")
    usage = cli(turnout, "targets", "add", "blue")
    assert usage.returncode == 64, (usage.stdout, usage.stderr)


def test_targets_list_json(turnout, admin):
    result = cli(turnout, "targets", "list", "green", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {"group": "green", "targets": group_targets(admin.status(), "green"), "names": []}


# --- reload ----------------------------------------------------------------------------------------

def test_reload_says_what_it_applied_or_that_nothing_changed(turnout, admin):
    before = admin.generation()
    unchanged = cli(turnout, "reload")
    assert (unchanged.returncode, unchanged.stdout) == (0, f"reload: nothing to change; generation {before} kept\n")

    turnout.config.listeners["production"] = {"blue": 90, "green": 10}
    turnout.config.write(turnout.config_path)
    applied = cli(turnout, "reload")
    assert (applied.returncode, applied.stdout) == \
        (0, f"reload applied (listeners.production.forward): generation {before} → {before + 1}\n"), applied.stderr
    assert admin.forwards()["production"] == {"blue": 90, "green": 10}

    as_json = cli(turnout, "reload", "--json")
    assert json.loads(as_json.stdout)["outcome"] == "nothing_to_change"


def test_reload_refused_names_the_keys_and_exits_1(turnout, admin):
    turnout.config.workers = 1
    turnout.config.write(turnout.config_path)
    result = cli(turnout, "reload")
    assert_api_error(result, "reload_refused")
    assert result.stderr.endswith("workers (2 → 1): this changes only at a restart\n"), result.stderr
    assert admin.generation() == 1


# --- connection, environment, token ----------------------------------------------------------------

UNREACHABLE_HINT = ("hint: is the proxy running? Start it with `make run` (the demo) or `turnout serve --config <file>`. "
                    "If it runs with another admin address (admin.bind), point at it with --admin http://HOST:PORT or "
                    "TURNOUT_ADMIN; ")


def test_unreachable_admin_api_exits_3_and_says_what_to_do():
    port = free_port()
    url = f"http://{LOOPBACK}:{port}"
    for arguments in (["status"], ["switch", "green"], ["weights", "production", "green=10"],
                      ["targets", "list", "blue"]):
        result = run_cli(*arguments, "--admin", url)
        assert result.returncode == 3, (arguments, result.stdout, result.stderr)
        assert result.stdout == ""
        assert result.stderr.splitlines() == [
            f"error: cannot reach the admin API at {url}: connect to {LOOPBACK}:{port}: Connection refused",
            f"{UNREACHABLE_HINT}{url} came from --admin.",
        ], arguments

    from_environment = run_cli("status", env={"TURNOUT_ADMIN": url})
    assert from_environment.returncode == 3, from_environment.stderr
    assert from_environment.stderr.splitlines()[1] == f"{UNREACHABLE_HINT}{url} came from TURNOUT_ADMIN."


def test_admin_url_from_the_environment(turnout):
    result = run_cli("status", env={"TURNOUT_ADMIN": turnout.admin_url})
    assert result.returncode == 0, result.stderr
    assert rows(result.stdout)[0][0] == "generation"


def test_admin_option_overrides_the_environment(turnout):
    unreachable = f"http://{LOOPBACK}:{free_port()}"
    result = run_cli("status", "--admin", turnout.admin_url, env={"TURNOUT_ADMIN": unreachable})
    assert result.returncode == 0, result.stderr


def test_unsupported_admin_url_is_a_usage_error():
    result = run_cli("status", "--admin", "https://127.0.0.1:9901")
    assert result.returncode == 64, (result.stdout, result.stderr)


def test_token_file(proxy, pair, tmp_path):
    token = "cli-token-0123456789abcdef"
    token_file = tmp_path / "admin-token"
    token_file.write_text(f"  {token}\n")
    token_file.chmod(0o600)
    turnout = proxy(groups=pair, token_file=token_file, wait_for_admin=True)

    anonymous = cli(turnout, "status")
    assert_api_error(anonymous, "unauthorized")

    wrong_file = tmp_path / "wrong-token"
    wrong_file.write_text("cli-token-0123456789abcdeX\n")
    assert_api_error(cli(turnout, "status", "--token-file", str(wrong_file)), "unauthorized")

    with_option = cli(turnout, "status", "--token-file", str(token_file))
    assert with_option.returncode == 0, with_option.stderr
    with_env = run_cli("switch", "green", env={"TURNOUT_ADMIN": turnout.admin_url,
                                               "TURNOUT_TOKEN_FILE": str(token_file)})
    assert with_env.returncode == 0, with_env.stderr
    assert AdminClient.of(turnout, token=token).forwards()["production"] == {"green": 100}

    missing = cli(turnout, "status", "--token-file", str(tmp_path / "missing"))
    assert missing.returncode == 64, (missing.stdout, missing.stderr)
    assert "missing" in missing.stderr


# --- the client's requests, seen by a loopback server ------------------------------------------------

class RecordingServer:
    """A loopback HTTP/1.1 server that records each request (head and body) and answers from a script:
    ``"reset"`` resets the connection after reading the request, a ``(status, body)`` pair answers it."""

    def __init__(self, script: list):
        self.script = list(script)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(8)
        self.listener.settimeout(SOCKET_TIMEOUT)
        self.url = f"http://{LOOPBACK}:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        for action in self.script:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            with connection:
                connection.settimeout(SOCKET_TIMEOUT)
                self.requests.append(self._read_request(connection))
                if action == "reset":
                    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    continue
                status, document = action
                body = json.dumps(document).encode()
                connection.sendall(
                    f"HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                    f"Connection: close\r\n\r\n".encode() + body)

    @staticmethod
    def _read_request(connection: socket.socket) -> tuple[str, dict[str, str], bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
        return lines[0], headers, body

    def close(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes a pending accept on Linux
        except OSError:
            pass
        self.listener.close()
        self.thread.join(timeout=SOCKET_TIMEOUT)


ROUTING_ANSWER = {"generation": 8, "previous_generation": 7, "listeners": {"production": {"green": 100}}}


def test_a_mutation_is_retried_once_with_the_same_idempotency_key_after_a_reset():
    server = RecordingServer(["reset", (200, ROUTING_ANSWER)])
    try:
        result = run_cli("switch", "green", "--swap-test", "--if-match", "7", "--admin", server.url)
    finally:
        server.close()
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert rows(result.stdout) == [
        ["generation", "7", "→", "8"], ["LISTENER", "FORWARD"], ["production", "green=100"]]
    assert len(server.requests) == 2
    (first_line, first_headers, first_body), (second_line, second_headers, second_body) = server.requests
    assert first_line == second_line == "POST /v1/switch HTTP/1.1"
    assert json.loads(first_body) == {"to": "green", "swap_test": True}
    assert first_body == second_body
    key = first_headers["idempotency-key"]
    assert 1 <= len(key) <= 200
    assert second_headers["idempotency-key"] == key
    assert first_headers["if-match"] == "7"
    assert first_headers["content-type"] == "application/json"


def test_weights_given_in_part_are_completed_from_the_status_and_sent_if_match():
    """The forward in force comes from GET /v1/status; the completed weights go with If-Match: the generation
    they were completed from, so a change in between is refused (409), not overwritten. With --json only the
    change's answer is printed."""
    status = {"generation": 7, "listeners": [{"name": "production", "bind": "127.0.0.1:8080", "port": 8080,
                                              "forward": {"blue": 100}}],
              "target_groups": [{"name": "blue"}, {"name": "green"}], "deployment": None}
    answer = {"generation": 8, "previous_generation": 7, "listeners": {"production": {"blue": 90, "green": 10}}}
    server = RecordingServer([(200, status), (200, answer)])
    try:
        result = run_cli("weights", "production", "green=10", "--json", "--admin", server.url)
    finally:
        server.close()
    assert result.returncode == 0, (result.stdout, result.stderr)
    assert json.loads(result.stdout) == answer
    (status_line, status_headers, _), (put_line, put_headers, put_body) = server.requests
    assert status_line == "GET /v1/status HTTP/1.1"
    assert "if-match" not in status_headers
    assert put_line == "PUT /v1/listeners/production/forward HTTP/1.1"
    assert json.loads(put_body) == {"blue": 90, "green": 10}
    assert put_headers["if-match"] == "7"


def test_a_mutation_is_not_retried_twice():
    server = RecordingServer(["reset", "reset", (200, ROUTING_ANSWER)])
    try:
        result = run_cli("weights", "production", "green=100", "--admin", server.url)
    finally:
        server.close()
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stderr.startswith(f"error: cannot reach the admin API at {server.url}: "), result.stderr
    assert len(server.requests) == 2


def test_each_invocation_uses_a_new_idempotency_key_and_reads_send_none():
    answer = {"generation": 3, "previous_generation": 2, "group": "blue", "targets": []}
    server = RecordingServer([(200, answer), (200, answer), (200, {"group": "blue", "targets": []})])
    try:
        for arguments in (["targets", "add", "blue", f"{LOOPBACK}:3002"],
                          ["targets", "remove", "blue", "[::1]:3002"],
                          ["targets", "list", "blue"]):
            result = run_cli(*arguments, "--admin", server.url)
            assert result.returncode == 0, (arguments, result.stdout, result.stderr)
    finally:
        server.close()
    (add_line, add_headers, add_body), (remove_line, remove_headers, _), (list_line, list_headers, _) = \
        server.requests
    assert add_line == "POST /v1/target-groups/blue/targets HTTP/1.1"
    assert json.loads(add_body) == {"targets": [f"{LOOPBACK}:3002"]}
    assert remove_line == "DELETE /v1/target-groups/blue/targets/%5B::1%5D:3002 HTTP/1.1"
    assert list_line == "GET /v1/target-groups/blue/targets HTTP/1.1"
    assert add_headers["idempotency-key"] != remove_headers["idempotency-key"]
    assert "idempotency-key" not in list_headers
    assert "authorization" not in list_headers


def test_the_token_goes_in_a_bearer_authorization_header(tmp_path):
    token_file = tmp_path / "token"
    token_file.write_text("\n  abc.DEF-123  \n\n")
    server = RecordingServer([(200, {"generation": 1, "listeners": [], "target_groups": [], "deployment": None})])
    try:
        result = run_cli("status", "--admin", server.url, env={"TURNOUT_TOKEN_FILE": str(token_file)})
    finally:
        server.close()
    assert result.returncode == 0, result.stderr
    [(line, headers, _)] = server.requests
    assert line == "GET /v1/status HTTP/1.1"
    assert headers["authorization"] == "Bearer abc.DEF-123"


def test_an_error_status_without_the_error_document_is_still_reported():
    server = RecordingServer([(502, ["not", "an", "error", "object"])])
    try:
        result = run_cli("status", "--admin", server.url)
    finally:
        server.close()
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert result.stderr.startswith("error: http_502: "), result.stderr
