"""The process log as JSON lines (`serve --log-format json`, the file's `log.format: json`), read line by line with
Python's json as a log shipper reads it; the text format stays the default; a bad format is refused naming the key
or the option."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess

from admin_client import NO_CHECKS, AdminClient
from harness import LOOPBACK, can_connect, executable, free_port, run_check, wait_until
from raw_http import exchange
from test_health import BECOMES_UNHEALTHY, FAST_CHECKS, set_health

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
LEVELS = {"trace", "debug", "info", "notice", "warning", "error", "critical"}
FIXED = ["timestamp", "level", "logger", "source", "message"]


def json_lines(log: str) -> list[dict]:
    """Every line of the process's output as a JSON object with the fixed fields, in order, first."""
    assert log.endswith("\n"), log[-500:]
    objects = []
    for number, line in enumerate(log.splitlines(), 1):
        try:
            value = json.loads(line)
        except json.JSONDecodeError as error:
            raise AssertionError(f"line {number} is not JSON ({error}): {line!r}") from None
        assert isinstance(value, dict), line
        assert list(value)[:5] == FIXED, line
        assert TIMESTAMP.fullmatch(value["timestamp"]), line
        assert value["level"] in LEVELS, line
        objects.append(value)
    return objects


def messages(objects: list[dict]) -> list[str]:
    return [entry["message"] for entry in objects]


def one(objects: list[dict], pattern: str) -> dict:
    found = [entry for entry in objects if re.search(pattern, entry["message"])]
    assert len(found) == 1, (pattern, messages(objects))
    return found[0]


def test_json_lines_from_start_to_stop_through_a_health_change_and_a_switch(proxy, demo_backend):
    blue, green = demo_backend("blue"), demo_backend("green")
    turnout = proxy(
        groups={
            "blue": {"targets": [blue.address], "health_check": FAST_CHECKS},
            "green": {"targets": [green.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
        },
        serve_args=("--log-format", "json"),
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)
    set_health(blue, "fail")
    admin.wait_for_target("blue", blue.address, lambda target: target is not None and target["state"] == "unhealthy",
                          BECOMES_UNHEALTHY, "unhealthy")
    assert admin.switch("green").status_code == 200
    # A malformed request: a worker's line, with the worker's metadata and the status typed.
    assert exchange(turnout.port(), b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n").status == 400
    assert wait_until(lambda: "rejected request" in turnout.log(), timeout=10)
    admin.close()
    turnout.process.send_signal(signal.SIGTERM)
    turnout.process.exit_expected = True
    assert wait_until(lambda: not turnout.process.is_running(), timeout=15)
    assert turnout.process.popen.returncode == 0

    objects = json_lines(turnout.log())
    start = one(objects, r"^turnout \S+ serving with 2 workers; routing table generation 1$")
    assert (start["level"], start["logger"], start["source"]) == ("notice", "turnout", "turnout")
    assert one(objects, rf"^listener production on {LOOPBACK}:{turnout.port()}$")["level"] == "notice"
    assert one(objects, rf"^admin API on {LOOPBACK}:{turnout.admin_port}$")["level"] == "notice"

    unhealthy = one(objects, rf"^target {re.escape(blue.address)} in blue: \w+ → unhealthy \(Target\.ResponseCodeMismatch")
    assert (unhealthy["level"], unhealthy["logger"], unhealthy["source"]) == ("warning", "turnout.health", "TurnoutControl")

    switch = one(objects, r"^switch by .*: generation 1 → 2 ")
    assert switch["level"] == "notice"
    # The diff in the message is JSON text inside a JSON string: escaped, and read back whole.
    diff = json.loads(switch["message"].split(" → 2 ", 1)[1])
    assert diff["listeners"]["production"] == {"before": {"blue": 100}, "after": {"green": 100}}, diff

    rejected = one(objects, r"^rejected request: ")
    assert rejected["level"] == "info" and rejected["source"] == "TurnoutProxy", rejected
    assert rejected["status"] == 400 and rejected["worker"] in (0, 1), rejected  # integers, not strings
    assert isinstance(rejected["client"], str), rejected

    assert [entry["worker"] for entry in objects if entry["message"] == "draining"] in ([0, 1], [1, 0])
    assert messages(objects)[-1] == "stopped"


def test_the_file_chooses_json_and_the_options_override_it_for_one_run(proxy):
    from_file = proxy(log={"format": "json"})
    from_file.process.wait_for_log(r"serving with")
    assert one(json_lines(from_file.log()), r"serving with")["level"] == "notice"
    from_file.process.kill()
    from_file.process.exit_expected = True

    overridden = proxy(log={"format": "json", "level": "info"}, serve_args=("--log-format", "text", "--log-level", "error"),
                       wait_for_admin=True)
    # A reload the file's new log section makes refused: an error, in the text format the option chose.
    overridden.config.log = {"format": "text", "level": "info"}
    line = overridden.reload()
    assert line.startswith("reload refused, nothing changed: ") and "log.format (json → text)" in line, line
    lines = overridden.log().splitlines()
    # The start's notices are below the level the option chose: the refusal is the only line.
    assert len(lines) == 1 and re.fullmatch(r"\S+ error turnout: \[TurnoutControl\] reload refused, .*", lines[0]), lines


def test_text_stays_the_default_format(proxy):
    turnout = proxy()
    line = turnout.process.wait_for_log(r"(?m)^.* serving with .*$").group(0)
    # swift-log's stream handler: local time with its offset, level, label, metadata (none here), [module], message.
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d{4} notice turnout: \[turnout\] turnout \S+ serving with "
                        r"2 workers; routing table generation 1", line), line
    assert not any(line.startswith("{") for line in turnout.log().splitlines())


def test_a_reload_that_changes_the_log_section_is_refused_naming_it(proxy):
    turnout = proxy(serve_args=("--log-format", "json"), wait_for_admin=True)
    turnout.config.log = {"format": "json", "level": "debug"}
    turnout.reload()
    refused = one(json_lines(turnout.log()), r"^reload refused")
    assert "log.format (text → json)" in refused["message"] and "log.level (info → debug)" in refused["message"], refused


def test_a_start_failure_is_a_json_line_too(proxy_config, start_process):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]})
    with socket.socket() as taken:
        taken.bind((LOOPBACK, config.listener_ports["production"]))
        taken.listen()
        process = start_process("turnout", [str(executable("turnout")), "serve", "--config", str(path),
                                            "--log-format", "json"])
        process.exit_expected = True
        assert wait_until(lambda: not process.is_running(), timeout=10), "serve kept running"
    assert process.popen.returncode == 1
    last = json_lines(process.log())[-1]
    assert last["level"] == "critical", last
    assert last["message"].startswith(f"listeners.production.bind: cannot listen on {LOOPBACK}:"), last


def test_check_refuses_a_bad_log_format_naming_the_key(proxy_config):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]},
                                log={"format": "logfmt"})
    line = path.read_text().splitlines().index('  format: "logfmt"') + 1
    result = run_check(path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.strip() == f"error: {path}: log.format (line {line}): expected one of text, json, got 'logfmt'"


def test_serve_refuses_a_bad_log_format_option_naming_it_before_binding(proxy_config):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]})
    for option, value in (("--log-format", "logfmt"), ("--log-level", "verbose")):
        result = subprocess.run([str(executable("turnout")), "serve", "--config", str(path), option, value],
                                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        assert result.returncode == 64, result.stderr
        assert result.stderr.startswith(f"Error: The value '{value}' is invalid for '{option} <"), result.stderr
        assert not can_connect(config.listener_ports["production"])
        assert not can_connect(config.admin_port)
