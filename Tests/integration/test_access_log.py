"""The access log on the real binary: a line per request in both formats, read back and parsed (keep-alive
requests, a ``Connection: close``, a malformed head answered 400, a refused target retried, a 502), reopened after
a logrotate-style rename (``POST /v1/logs/reopen`` and SIGUSR1), a FIFO nobody reads that blocks no request (lines
dropped and counted instead), and ``turnout check`` refusing a path it cannot write."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess

import pytest
import requests

from admin_client import AdminClient, ok_json
from harness import LOOPBACK, SOCKET_TIMEOUT, executable, free_port, wait_until
from raw_http import Conn

NO_CHECKS = {"enabled": False}
COMBINED = re.compile(
    r'^(?P<client>\S+) - - \[(?P<time>\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2} \+0000)\] "(?P<request>[^"]*)" '
    r'(?P<status>\d{3}) (?P<bytes_out>\d+) "(?P<referer>[^"]*)" "(?P<user_agent>[^"]*)" '
    r'listener=(?P<listener>\S+) rule=(?P<rule>\S+) group=(?P<group>\S+) target=(?P<target>\S+) '
    r'request_id=(?P<request_id>\S+) bytes_in=(?P<bytes_in>\d+) duration_ms=(?P<duration_ms>\d+\.\d{3}) '
    r'upstream_ms=(?P<upstream_ms>\d+\.\d{3}|-) retried=(?P<retried>[01])$')


def read_lines(path, count: int) -> list[str]:
    """The file's lines once it holds ``count`` (the writer writes every 50 ms). Each worker's lines are in the
    order it answered them; two workers' lines may come in either order."""
    assert wait_until(lambda: path.exists() and path.read_text().count("\n") >= count, timeout=10), \
        path.read_text() if path.exists() else "no file"
    return path.read_text().splitlines()


def combined(line: str) -> dict:
    match = COMBINED.match(line)
    assert match, line
    return match.groupdict()


@pytest.fixture
def logged(proxy, backends, tmp_path):
    """Production writes the combined format to access.log, test JSON to test.json; ``flaky`` is a group whose
    first target refuses connections (every request to it is retried on the second), ``dead`` one with only a
    refusing target (502)."""
    refusing = f"{LOOPBACK}:{free_port()}"
    turnout = proxy(
        listeners={"production": {"blue": 100}, "test": {"green": 100}, "flaky": {"flaky": 100}, "dead": {"dead": 100}},
        groups={
            "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS},
            "green": {"targets": [backends.green.address], "health_check": NO_CHECKS},
            "flaky": {"targets": [refusing, backends.blue.address], "algorithm": "round_robin",
                      "health_check": NO_CHECKS, "passive_ejection": {"consecutive_failures": 0}},
            "dead": {"targets": [refusing], "health_check": NO_CHECKS, "passive_ejection": {"consecutive_failures": 0}},
        },
        access_log={"path": str(tmp_path / "access.log"), "format": "combined"},
        listener_access_logs={"test": {"path": str(tmp_path / "test.json"), "format": "json"}},
        wait_for_admin=True,
    )
    return turnout, tmp_path


def test_a_line_per_request_in_the_combined_format(logged, backends):
    turnout, directory = logged
    port = turnout.port()
    with Conn(port) as conn:  # two requests on one keep-alive connection, then one that closes it
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: probe/1\r\nReferer: http://r/\r\n\r\n")
        assert conn.read_response().status == 200
        conn.send(b"POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
        second_status = conn.read_response(request_method="POST").status
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nX-Request-Id: mine-3\r\n\r\n")
        third = conn.read_response()
        assert third.status == 200 and conn.is_closed_by_peer()
    with Conn(port) as conn:  # a malformed head: 400 from the parser, nothing forwarded
        conn.send(b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n")
        assert conn.read_response().status == 400
    lines = [combined(line) for line in read_lines(directory / "access.log", 4)]
    [malformed] = [line for line in lines if line["status"] == "400"]
    first, second, closing = [line for line in lines if line["status"] != "400"]  # one connection: its order

    assert (first["request"], first["status"], first["user_agent"], first["referer"]) == \
        ("GET / HTTP/1.1", "200", "probe/1", "http://r/")
    assert (first["client"], first["listener"], first["rule"], first["group"], first["target"]) == \
        (LOOPBACK, "production", "-", "blue", backends.blue.address)
    assert re.fullmatch(r"[0-9a-f]{32}", first["request_id"]) and first["retried"] == "0"
    assert int(first["bytes_in"]) == len(b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: probe/1\r\nReferer: http://r/\r\n\r\n")
    assert float(first["upstream_ms"]) <= float(first["duration_ms"])
    assert (second["request"], second["status"]) == ("POST /second HTTP/1.1", str(second_status))
    assert int(second["bytes_in"]) == len(b"POST /second HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello")
    assert (closing["request"], closing["request_id"]) == ("GET / HTTP/1.1", "mine-3")
    assert int(closing["bytes_out"]) == len(b"".join(
        f"{name}: {value}\r\n".encode() for name, value in third.headers)) + len(third.status_line) + 4 + len(third.body)
    assert (malformed["request"], malformed["status"], malformed["group"], malformed["target"], malformed["upstream_ms"]) == \
        ("-", "400", "-", "-", "-")


def test_retried_and_failed_requests_and_the_json_format(logged, backends):
    turnout, directory = logged
    session = requests.Session()  # one connection, one worker and its round robin: the first request starts on the
    for _ in range(2):            # refusing target and is retried, the second skips it (it refused a moment ago)
        assert session.get(f"http://{LOOPBACK}:{turnout.port('flaky')}/", timeout=SOCKET_TIMEOUT).status_code == 200
    assert requests.get(f"http://{LOOPBACK}:{turnout.port('dead')}/", timeout=SOCKET_TIMEOUT).status_code == 502
    lines = [combined(line) for line in read_lines(directory / "access.log", 3)]
    flaky_a, flaky_b = [line for line in lines if line["listener"] == "flaky"]
    [dead] = [line for line in lines if line["listener"] == "dead"]
    assert sorted([flaky_a["retried"], flaky_b["retried"]]) == ["0", "1"]
    assert {flaky_a["target"], flaky_b["target"]} == {backends.blue.address}, "the line names the target that answered"
    # One attempt: the group has no other target to retry on (the refusing one is skipped for a second).
    assert (dead["status"], dead["retried"], dead["group"], dead["upstream_ms"]) == ("502", "0", "dead", "-")

    response = requests.get(f"http://{LOOPBACK}:{turnout.port('test')}/json?x=1", headers={"User-Agent": 'q"uote'},
                            timeout=SOCKET_TIMEOUT)
    [line] = read_lines(directory / "test.json", 1)
    entry = json.loads(line)
    assert entry["time"].endswith("Z") and entry["client"] == LOOPBACK
    assert (entry["listener"], entry["rule"], entry["method"], entry["path"], entry["protocol"]) == \
        ("test", None, "GET", "/json?x=1", "HTTP/1.1")
    assert (entry["status"], entry["group"], entry["target"]) == (response.status_code, "green", backends.green.address)
    assert entry["user_agent"] == 'q"uote' and entry["referer"] is None and entry["retried"] is False
    assert entry["request_id"] and entry["bytes_in"] > 0 and entry["bytes_out"] > len(response.content)
    assert 0 <= entry["upstream_ms"] <= entry["duration_ms"]


def test_reopened_after_a_rename_by_the_api_and_by_sigusr1(logged):
    turnout, directory = logged
    log, admin = directory / "access.log", AdminClient.of(turnout)
    url = f"http://{LOOPBACK}:{turnout.port()}/"
    session = requests.Session()  # one connection, one worker: the lines keep their order
    session.get(url + "before", timeout=SOCKET_TIMEOUT)
    read_lines(log, 1)
    os.rename(log, directory / "access.log.1")  # logrotate's rename
    session.get(url + "renamed", timeout=SOCKET_TIMEOUT)  # still written to the renamed file
    read_lines(directory / "access.log.1", 2)
    assert ok_json(admin.post("/v1/logs/reopen", {}))["reopened"] == [str(log), str(directory / "test.json")]
    session.get(url + "reopened", timeout=SOCKET_TIMEOUT)
    assert [combined(line)["request"] for line in read_lines(log, 1)] == ["GET /reopened HTTP/1.1"]
    assert [combined(line)["request"] for line in read_lines(directory / "access.log.1", 2)] == \
        ["GET /before HTTP/1.1", "GET /renamed HTTP/1.1"]

    os.rename(log, directory / "access.log.2")
    os.kill(turnout.process.pid, signal.SIGUSR1)
    assert wait_until(lambda: log.exists(), timeout=10), "SIGUSR1 did not reopen the file"
    session.get(url + "signalled", timeout=SOCKET_TIMEOUT)
    assert [combined(line)["request"] for line in read_lines(log, 1)] == ["GET /signalled HTTP/1.1"]


def test_a_fifo_nobody_reads_blocks_no_request_and_its_lines_are_dropped_and_counted(proxy, backends, tmp_path):
    fifo = tmp_path / "access.fifo"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)  # opened, never read: the pipe fills at 64 KiB
    try:
        turnout = proxy(groups={"blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS}},
                        listeners={"production": {"blue": 100}}, workers=1, wait_for_admin=True,
                        access_log={"path": str(fifo), "format": "json"})
        session = requests.Session()
        url = f"http://{LOOPBACK}:{turnout.port()}/"
        # Far more lines than the pipe and the worker's 1 MiB ring hold together.
        statuses = [session.get(url, timeout=SOCKET_TIMEOUT).status_code for _ in range(6000)]
        assert statuses == [200] * 6000
        metrics = AdminClient.of(turnout).metrics_text()
        dropped = re.search(r'turnout_access_log_dropped_lines_total\{path="[^"]+"\} (\d+)', metrics)
        assert dropped and int(dropped.group(1)) > 0, metrics
        assert wait_until(lambda: "lines dropped, the writer is behind" in turnout.log(), timeout=10)
    finally:
        os.close(reader)


@pytest.mark.parametrize(("section", "key", "problem"), [
    ({"access_log": {"path": "/nonexistent-dir/access.log"}}, "access_log.path",
     "no directory /nonexistent-dir for /nonexistent-dir/access.log"),
    ({"access_log": {"path": "/tmp"}}, "access_log.path", "/tmp is a directory"),
])
def test_check_refuses_an_access_log_it_cannot_write(proxy_config, section, key, problem):
    config, path = proxy_config(groups={"blue": {"targets": [f"{LOOPBACK}:3000"]}}, listeners={"production": {"blue": 100}},
                                access_log=section["access_log"])
    for command in ("check", "serve"):
        result = subprocess.run([str(executable("turnout")), command, "--config", str(path)], capture_output=True,
                                text=True, timeout=30)
        assert result.returncode == 2 and f"error: {key}: {problem}" in result.stderr, (command, result.stderr)


def test_the_rule_that_took_a_request_is_named(proxy, backends, tmp_path):
    """A request a listener rule forwards names the rule; one the listener's own forward takes names none."""
    turnout = proxy(
        listeners={"production": {"blue": 100}},
        rules={"production": [{"name": "api", "match": {"path": "/health"}, "forward": {"green": 100}}]},
        groups={"blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS},
                "green": {"targets": [backends.green.address], "health_check": NO_CHECKS}},
        access_log={"path": str(tmp_path / "access.json"), "format": "json"},
        wait_for_admin=True,
    )
    session = requests.Session()
    assert session.get(f"http://{LOOPBACK}:{turnout.port()}/health", timeout=SOCKET_TIMEOUT).status_code == 200
    assert session.get(f"http://{LOOPBACK}:{turnout.port()}/", timeout=SOCKET_TIMEOUT).status_code == 200
    entries = [json.loads(line) for line in read_lines(tmp_path / "access.json", 2)]
    assert [(e["path"], e["rule"], e["group"]) for e in entries] == [("/health", "api", "green"), ("/", None, "blue")]
