"""Processes, ports and configuration files for the integration suite.

Everything here is plain Python so the fixtures in conftest.py stay short: a
``ManagedProcess`` runs a real binary with its output captured in a log file, a
``Proxy`` wraps a running ``turnout serve`` together with the config it was
started from, and ``render_yaml`` writes that config.
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable, Iterable

REPO_ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"

# How long a freshly started binary may take to accept TCP connections.
READINESS_TIMEOUT = 10.0
# How long any single socket operation in the suite may block.
SOCKET_TIMEOUT = 10.0


def bin_dir() -> Path:
    """Directory holding the built executables (``$TURNOUT_BIN_DIR`` or ``.build/debug``)."""
    configured = os.environ.get("TURNOUT_BIN_DIR")
    if configured:
        path = Path(configured)
        return path if path.is_absolute() else REPO_ROOT / path
    return REPO_ROOT / ".build" / "debug"


def executable(name: str) -> Path:
    """Path of a built executable; fails with a build hint when it is missing."""
    path = bin_dir() / name
    if not path.is_file() or not os.access(path, os.X_OK):
        raise RuntimeError(
            f"executable {path} not found; build it first (`swift build --product {name}`) "
            f"or point TURNOUT_BIN_DIR at the directory that holds it"
        )
    return path


_handed_out_ports: set[int] = set()


def free_port() -> int:
    """A loopback TCP port nobody listens on right now, never the same one twice per run."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((LOOPBACK, 0))
            port = probe.getsockname()[1]
        if port not in _handed_out_ports:
            _handed_out_ports.add(port)
            return port
    raise RuntimeError("could not find a free loopback port")


def can_connect(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    """True when a TCP connection to host:port is accepted."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _die_with_parent() -> None:
    """Runs in the child before exec: SIGKILL it if the test runner dies, so no process outlives a run."""
    PR_SET_PDEATHSIG = 1
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class ManagedProcess:
    """A child process whose stdout and stderr go to one log file.

    The log goes to a file rather than a pipe so a chatty process can never block
    on a full pipe, and so tests can poll it for lines while it runs.
    """

    def __init__(self, name: str, argv: list[str], log_path: Path):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.exit_expected = False
        self._log_file = open(log_path, "wb")
        self.popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            cwd=log_path.parent,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def log(self) -> str:
        """Everything the process has written so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, max_chars: int = 20000) -> str:
        text = self.log()
        return text if len(text) <= max_chars else "…" + text[-max_chars:]

    def is_running(self) -> bool:
        return self.popen.poll() is None

    def wait_until_listening(self, ports: Iterable[int], timeout: float = READINESS_TIMEOUT) -> None:
        """Poll TCP connects until every port accepts; fail with the log if the process dies or is slow."""
        pending = list(ports)
        deadline = time.monotonic() + timeout
        while pending:
            if not self.is_running():
                raise RuntimeError(
                    f"{self.name} exited with code {self.popen.returncode} before listening on "
                    f"{pending}\ncommand: {' '.join(self.argv)}\n--- output ---\n{self.log_tail()}"
                )
            if can_connect(pending[0]):
                pending.pop(0)
                continue
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"{self.name} did not listen on {pending} within {timeout}s\n"
                    f"command: {' '.join(self.argv)}\n--- output ---\n{self.log_tail()}"
                )
            time.sleep(0.05)

    def wait_for_log(self, pattern: str, *, occurrences: int = 1, timeout: float = 10.0) -> re.Match:
        """Wait until ``pattern`` (a regex) has matched at least ``occurrences`` times; return the last match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while True:
            matches = list(regex.finditer(self.log()))
            if len(matches) >= occurrences:
                return matches[occurrences - 1]
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.name}: /{pattern}/ seen {len(matches)} time(s), wanted {occurrences}, "
                    f"within {timeout}s\n--- output ---\n{self.log_tail()}"
                )
            if not self.is_running():
                raise AssertionError(
                    f"{self.name} exited with code {self.popen.returncode} while waiting for /{pattern}/"
                    f"\n--- output ---\n{self.log_tail()}"
                )
            time.sleep(0.02)

    def count_log(self, pattern: str) -> int:
        return len(re.findall(pattern, self.log()))

    def send_signal(self, signum: int) -> None:
        self.popen.send_signal(signum)

    def kill(self) -> None:
        """SIGKILL and reap; teardown does not wait for a graceful drain."""
        if self.is_running():
            self.popen.send_signal(signal.SIGKILL)
        try:
            self.popen.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        self._log_file.close()


# --- configuration -----------------------------------------------------------------------------

def _yaml_scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, (int, float)):
        return str(value)
    return json.dumps(str(value))  # a JSON string is a valid double-quoted YAML scalar


def render_yaml(value, indent: int = 0) -> str:
    """Block-style YAML for nested dicts/lists of scalars, and lists of flat dicts (a listener's certificates),
    written as flow mappings: enough for a turnout config."""
    pad = "  " * indent
    lines: list[str] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, dict) and item:
                lines.append(f"{pad}{key}:")
                lines.append(render_yaml(item, indent + 1))
            elif isinstance(item, list) and item:
                lines.append(f"{pad}{key}:")
                lines.append(render_yaml(item, indent + 1))
            elif isinstance(item, dict):
                lines.append(f"{pad}{key}: {{}}")
            elif isinstance(item, list):
                lines.append(f"{pad}{key}: []")
            else:
                lines.append(f"{pad}{key}: {_yaml_scalar(item)}")
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, dict) and not any(isinstance(v, (dict, list)) for v in item.values()):
                pairs = ", ".join(f"{key}: {_yaml_scalar(v)}" for key, v in item.items())
                lines.append(f"{pad}- {{ {pairs} }}")
                continue
            if isinstance(item, (dict, list)):
                # A listener's rules: each one in flow style (JSON is YAML).
                lines.append(f"{pad}- {json.dumps(item)}")
            else:
                lines.append(f"{pad}- {_yaml_scalar(item)}")
    else:
        lines.append(pad + _yaml_scalar(value))
    return "\n".join(lines)


DEFAULT_TIMEOUTS = {
    "connect": "2s",
    "client_header": "2s",
    "client_idle": "10s",
    "upstream_response": "3s",
    "shutdown_grace": "5s",
}
DEFAULT_LIMITS = {"max_header_bytes": 16384, "max_headers": 100, "max_connections": 10000}


class ProxyConfig:
    """A turnout configuration with the ports already chosen; ``render()`` gives the YAML."""

    def __init__(
        self,
        *,
        state_dir: Path,
        listeners: dict[str, dict[str, int]],
        groups: dict[str, dict],
        timeouts: dict[str, str] | None = None,
        limits: dict[str, int] | None = None,
        workers: int = 2,
        token_file: Path | None = None,
        allowed_hosts: list[str] | None = None,
        log: dict[str, str] | None = None,
        rules: dict[str, list[dict]] | None = None,
        tls: dict[str, dict] | None = None,
        redirect_to_https: dict[str, int] | None = None,
        access_log: dict[str, str] | None = None,
        listener_access_logs: dict[str, dict | bool] | None = None,
        listener_settings: dict[str, dict] | None = None,
    ):
        self.state_dir = state_dir
        self.rules = {name: list(listed) for name, listed in (rules or {}).items()}
        # listener name → its ``tls`` section (HTTPS listeners)
        self.tls = dict(tls or {})
        # listener name → the HTTPS port it redirects every request to
        self.redirect_to_https = dict(redirect_to_https or {})
        self.listener_settings = {name: dict(settings) for name, settings in (listener_settings or {}).items()}
        self.log = log
        self.access_log = access_log
        self.listener_access_logs = listener_access_logs or {}
        self.workers = workers
        self.token_file = token_file
        self.allowed_hosts = allowed_hosts
        self.admin_port = free_port()
        self.listener_ports = {name: free_port() for name in listeners}
        self.listeners = {name: dict(forward) for name, forward in listeners.items()}
        self.groups = {name: dict(group) for name, group in groups.items()}
        self.timeouts = {**DEFAULT_TIMEOUTS, **(timeouts or {})}
        self.limits = {**DEFAULT_LIMITS, **(limits or {})}

    def as_dict(self) -> dict:
        admin = {"bind": f"{LOOPBACK}:{self.admin_port}"}
        if self.token_file is not None:
            admin["token_file"] = str(self.token_file)
        if self.allowed_hosts is not None:
            admin["allowed_hosts"] = list(self.allowed_hosts)
        return {
            "workers": self.workers,
            "state_dir": str(self.state_dir),
            "admin": admin,
            "listeners": {
                name: {
                    "bind": f"{LOOPBACK}:{self.listener_ports[name]}",
                    "forward": forward,
                    **({"rules": self.rules[name]} if self.rules.get(name) else {}),
                    **({"tls": self.tls[name]} if name in self.tls else {}),
                    **({"redirect_to_https": {"port": self.redirect_to_https[name]}}
                       if name in self.redirect_to_https else {}),
                    **({"access_log": self.listener_access_logs[name]} if name in self.listener_access_logs else {}),
                    **self.listener_settings.get(name, {}),
                }
                for name, forward in self.listeners.items()
            },
            "target_groups": self.groups,
            "timeouts": self.timeouts,
            "limits": self.limits,
            **({"log": dict(self.log)} if self.log is not None else {}),
            **({"access_log": dict(self.access_log)} if self.access_log is not None else {}),
        }

    def render(self) -> str:
        return render_yaml(self.as_dict()) + "\n"

    def write(self, path: Path) -> None:
        """Write atomically so a reload never reads half a file."""
        scratch = path.with_suffix(".tmp")
        scratch.write_text(self.render())
        os.replace(scratch, path)


def duration_seconds(text: str) -> float:
    """'250ms' / '2s' / '1m' → seconds."""
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m)", text)
    if not match:
        raise ValueError(f"unsupported duration {text!r}")
    number, unit = float(match.group(1)), match.group(2)
    return number * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]


class Proxy:
    """A running ``turnout serve`` and the config file it reads."""

    PUBLISHED = r"published routing table generation (\d+)"
    # Every SIGHUP ends in exactly one of these lines.
    RELOADED = r"reload applied \(.*|reload: nothing to change.*|reload refused, nothing changed: .*"

    def __init__(self, process: ManagedProcess, config: ProxyConfig, config_path: Path):
        self.process = process
        self.config = config
        self.config_path = config_path

    def port(self, listener: str = "production") -> int:
        return self.config.listener_ports[listener]

    @property
    def admin_port(self) -> int:
        return self.config.admin_port

    @property
    def admin_url(self) -> str:
        """Base URL of the admin API, without a trailing slash."""
        return f"http://{LOOPBACK}:{self.config.admin_port}"

    @property
    def state_file(self) -> Path:
        """Where the proxy keeps its durable state (``state_dir/state.json``)."""
        return self.config.state_dir / "state.json"

    def log(self) -> str:
        return self.process.log()

    def publish(self, *, listeners: dict[str, dict[str, int]] | None = None,
                groups: dict[str, dict] | None = None, timeout: float = 10.0) -> float:
        """Rewrite the config file, send SIGHUP and wait for the new generation's log line.

        Returns ``time.monotonic()`` taken right after the line was seen: every request
        started after that instant must be routed by the new table. (When the admin API
        exists, its HTTP 200 acknowledgement is the documented moment and replaces the
        log line here.)
        """
        if listeners:
            for name, forward in listeners.items():
                self.config.listeners[name] = dict(forward)
        if groups:
            for name, group in groups.items():
                self.config.groups[name] = dict(group)
        seen_before = self.process.count_log(self.PUBLISHED)
        self.config.write(self.config_path)
        self.process.send_signal(signal.SIGHUP)
        self.process.wait_for_log(self.PUBLISHED, occurrences=seen_before + 1, timeout=timeout)
        return time.monotonic()


    def reload(self, timeout: float = 10.0) -> str:
        """Write ``self.config`` to the config file, send SIGHUP and return the reload's outcome line
        (applied, nothing to change, or refused)."""
        seen_before = self.process.count_log(self.RELOADED)
        self.config.write(self.config_path)
        self.process.send_signal(signal.SIGHUP)
        return self.process.wait_for_log(self.RELOADED, occurrences=seen_before + 1, timeout=timeout).group(0)


def run_check(config_path: Path, timeout: float = 30.0) -> subprocess.CompletedProcess:
    """``turnout check --config FILE`` with output captured as text."""
    return subprocess.run(
        [str(executable("turnout")), "check", "--config", str(config_path)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def build_preload_library(source: Path, directory: Path) -> Path | None:
    """The C file ``source`` built as a shared library for ``LD_PRELOAD`` in ``directory``; None without a C compiler."""
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        return None
    library = directory / f"lib{source.stem}.so"
    subprocess.run(
        [compiler, "-shared", "-fPIC", "-O2", "-Wall", "-Werror", "-o", str(library), str(source)],
        check=True, capture_output=True, text=True, timeout=60,
    )
    return library


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
