"""Fixtures that start the real binaries on loopback ports and tear everything down.

- ``demo_backend(name)`` starts ``turnout-demo-backend`` and waits until it accepts connections.
- ``backends`` is a blue and a green demo backend.
- ``raw_upstream(mode)`` is a Python listening socket that records what reaches it.
- ``proxy(...)`` writes a config and starts ``turnout serve``; defaults route production → blue and
  test → green over the ``backends``. ``wait_for_admin=True`` also waits for the admin API's ``/healthz``.
- ``restart_proxy(old)`` starts ``turnout serve`` again on the same config file, ports and state_dir.
- ``tmpfs(name, options)`` mounts a tmpfs of its own (a small or read-only file system for state_dir).

Every process a test started is SIGKILLed at teardown; when a test fails, each process's output
is attached to the failure report. A proxy that died on its own during a test fails that test.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from admin_client import NO_CHECKS, AdminClient, wait_for_admin_api
from harness import (
    LOOPBACK,
    ManagedProcess,
    Proxy,
    ProxyConfig,
    executable,
    free_port,
)
from raw_upstream import RawUpstream


@dataclass
class Backend:
    name: str
    port: int
    process: ManagedProcess

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"


@dataclass
class Backends:
    blue: Backend
    green: Backend


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for process in getattr(item, "turnout_processes", []):
            report.sections.append(
                (f"{process.name} output (pid {process.pid}, {' '.join(process.argv)})", process.log_tail())
            )


@pytest.fixture
def start_process(request, tmp_path):
    """Factory: start a binary with its output in ``tmp_path/<name>.log``; killed at teardown."""
    started: list[ManagedProcess] = []
    request.node.turnout_processes = started

    def start(name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, tmp_path / f"{name}.log")
        started.append(process)
        return process

    yield start

    died = [
        f"{process.name} exited on its own with code {process.popen.returncode}"
        for process in started
        if not process.is_running() and not process.exit_expected
    ]
    for process in started:
        process.kill()
    if died:
        pytest.fail("; ".join(died) + " (see the process output sections)", pytrace=False)


@pytest.fixture
def demo_backend(start_process):
    """Factory: ``demo_backend("blue")`` → a running demo backend answering as that name."""
    binary = str(executable("turnout-demo-backend"))

    def start(name: str) -> Backend:
        port = free_port()
        process = start_process(
            f"backend-{name}", [binary, "--port", str(port), "--name", name, "--host", LOOPBACK]
        )
        process.wait_until_listening([port])
        return Backend(name=name, port=port, process=process)

    return start


@pytest.fixture
def backends(demo_backend) -> Backends:
    return Backends(blue=demo_backend("blue"), green=demo_backend("green"))


@pytest.fixture
def raw_upstream():
    """Factory: ``raw_upstream("ok" | "garbage", response=...)`` → a RawUpstream closed at teardown."""
    opened: list[RawUpstream] = []

    def open_upstream(mode: str = "ok", **options) -> RawUpstream:
        upstream = RawUpstream(mode, **options)
        opened.append(upstream)
        return upstream

    yield open_upstream
    for upstream in opened:
        upstream.close()


def _normalise_groups(groups: dict) -> dict[str, dict]:
    """Allow ``{"blue": ["127.0.0.1:1"]}`` as shorthand for ``{"blue": {"targets": [...]}}``."""
    return {
        name: ({"targets": list(group)} if isinstance(group, (list, tuple)) else dict(group))
        for name, group in groups.items()
    }


@pytest.fixture
def proxy_config(request, tmp_path):
    """Factory: a ProxyConfig written to ``tmp_path/turnout.yaml``; returns (config, path)."""

    def make(
        *,
        listeners: dict[str, dict[str, int]] | None = None,
        groups: dict | None = None,
        timeouts: dict[str, str] | None = None,
        limits: dict[str, int] | None = None,
        workers: int = 2,
        state_dir: Path | None = None,
        token_file: Path | None = None,
        allowed_hosts: list[str] | None = None,
        log: dict[str, str] | None = None,
        rules: dict[str, list[dict]] | None = None,
        tls: dict[str, dict] | None = None,
        redirect_to_https: dict[str, int] | None = None,
        access_log: dict[str, str] | None = None,
        listener_access_logs: dict[str, dict | bool] | None = None,
        listener_settings: dict[str, dict] | None = None,
    ) -> tuple[ProxyConfig, Path]:
        if groups is None:
            pair: Backends = request.getfixturevalue("backends")
            groups = {
                "blue": {"targets": [pair.blue.address], "algorithm": "round_robin"},
                "green": {"targets": [pair.green.address]},
            }
        config = ProxyConfig(
            state_dir=state_dir if state_dir is not None else tmp_path / "state",
            listeners=listeners or {"production": {"blue": 100}, "test": {"green": 100}},
            groups=_normalise_groups(groups),
            timeouts=timeouts,
            limits=limits,
            workers=workers,
            token_file=token_file,
            allowed_hosts=allowed_hosts,
            log=log,
            rules=rules,
            tls=tls,
            redirect_to_https=redirect_to_https,
            access_log=access_log,
            listener_access_logs=listener_access_logs,
            listener_settings=listener_settings,
        )
        path = tmp_path / "turnout.yaml"
        config.write(path)
        return config, path

    return make


@pytest.fixture
def proxy(proxy_config, start_process):
    """Factory: start ``turnout serve`` and wait until every listener accepts connections.

    Keyword arguments: ``listeners`` ({name: {group: weight}}), ``groups`` ({name: [targets]} or
    {name: {targets, algorithm, health_check, on_all_unhealthy, passive_ejection, ...}}), ``timeouts``
    and ``limits`` (merged over the defaults), ``rules`` ({listener: [rule, ...]}), ``listener_settings`` ({listener: {key: value}}, e.g. stickiness), ``workers``, ``state_dir``, ``token_file``, ``allowed_hosts``, ``log``
    (the ``log`` section), ``tls`` ({listener: its ``tls`` section}),
    ``redirect_to_https`` ({listener: HTTPS port}), ``access_log`` (the top-level one) and ``listener_access_logs`` ({listener: its own}), ``serve_args`` (more options for ``serve``), and ``wait_for_admin`` (also wait until the
    admin API answers ``GET /healthz`` with 200).
    """
    binary = str(executable("turnout"))

    def start(*, wait_for_admin: bool = False, serve_args: tuple[str, ...] = (), **overrides) -> Proxy:
        config, path = proxy_config(**overrides)
        process = start_process("turnout", [binary, "serve", "--config", str(path), *serve_args])
        process.wait_until_listening(config.listener_ports.values())
        turnout = Proxy(process, config, path)
        if wait_for_admin:
            wait_for_admin_api(turnout)
        return turnout

    return start


@pytest.fixture
def restart_proxy(start_process):
    """Factory: ``restart_proxy(old)`` → a new ``turnout serve`` on ``old``'s config file (same ports and
    state_dir), ready on every listener and on the admin API. The old process must be gone already
    (the test kills it; this fixture marks its exit as expected)."""
    binary = str(executable("turnout"))
    restarts = 0

    def start(old: Proxy) -> Proxy:
        nonlocal restarts
        old.process.exit_expected = True
        assert not old.process.is_running(), "stop the old proxy before restarting it"
        restarts += 1
        process = start_process(f"turnout-restart-{restarts}", [binary, "serve", "--config", str(old.config_path)])
        process.wait_until_listening([*old.config.listener_ports.values(), old.config.admin_port])
        turnout = Proxy(process, old.config, old.config_path)
        wait_for_admin_api(turnout)
        return turnout

    return start


# Shared by the admin API and CLI tests: blue and green without active health checks, so every
# target is `initial` and routable from registration.
@pytest.fixture
def pair(backends):
    """Blue and green without active health checks: every target is routable from registration."""
    return {
        "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
        "green": {"targets": [backends.green.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
    }


@pytest.fixture
def turnout(proxy, pair):
    return proxy(groups=pair, wait_for_admin=True)


@pytest.fixture
def admin(turnout):
    client = AdminClient.of(turnout)
    yield client
    client.close()


@pytest.fixture
def tmpfs(tmp_path):
    """Factory: ``tmpfs(name, options)`` mounts a tmpfs at ``tmp_path/name`` (``mount -o options``) and unmounts it
    at teardown. Skips the test where mounting is impossible (it needs root with CAP_SYS_ADMIN)."""
    mounted: list[Path] = []

    def mount(name: str, options: str) -> Path:
        point = tmp_path / name
        point.mkdir()
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(point)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here (needs root with CAP_SYS_ADMIN): {result.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in reversed(mounted):
        subprocess.run(["umount", "-l", str(point)], check=False)
