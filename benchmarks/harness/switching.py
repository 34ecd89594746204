"""The scenarios of `benchmarks/switch` (four ways of switching a proxy's production traffic between the blue and
green backends) and the measured run of one: paced keep-alive load, the switches, the raw timeline."""

import json
import os
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path

from switch_analysis import Switch

from . import configs
from .admin import AdminConnection, now_ns
from .environment import log
from .processes import StartFailure, stop_daemons, wait_listening
from .proxies import nginx_command

GROUPS = ("blue", "green")
# About the length of the journal line a `POST /v1/switch {"to": ...}` appends with this benchmark's configuration
# (the report gives the run's own mean beside the measured appends).
JOURNAL_RECORD_BYTES = 426


@dataclass
class SwitchRun:
    """The settings of one run and what its scenarios share: work directory, services, ports, binaries."""

    work: Path
    services: object  # processes.ServiceSet
    ports: dict  # the backends' (blue, green), each scenario's and Turnout's admin port
    turnout_bin: Path
    client_bin: Path
    switches: int
    rate: float
    connections: int
    interval: float  # s between an acknowledgement and the next switch
    workers: int
    steady: float
    after: float
    state_dir: str = None
    haproxy_order: str = "new-first"
    warmup: float = 1.0


def served_by(port):
    """(status, X-Served-By) of one GET / over a fresh connection."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=3) as response:
            return response.status, response.headers.get("X-Served-By")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("X-Served-By")
    except OSError as error:
        return None, str(error)


def start_demo_backends(services, work, ports, backend_bin):
    """Starts the demo backend of each group (`--name blue`, `--name green`: the X-Served-By they answer with) on
    its port; returns their (label, command) pairs for the report."""
    commands = []
    for group in GROUPS:
        command = [backend_bin, "--port", ports[group], "--name", group]
        commands.append(("backend", shlex.join(str(part) for part in command)))
        try:
            services.start(f"backend-{group}", command, work).wait_listening(ports[group])
        except StartFailure as failure:
            raise StartFailure(f"the {group} backend {failure}") from None
    return commands


class Scenario:
    """One way of switching a proxy's production traffic from one backend group to the other."""

    name = ""
    title = ""
    how = ""  # the switch, for the report

    def __init__(self, run):
        self.run = run
        self.dir = run.work / self.name
        self.dir.mkdir()
        self.port = run.ports[self.name]
        self.service = None
        self.commands = []  # (label, command) for the report
        self.configs = []  # (label, path) for the report

    def backend_port(self, group):
        return self.run.ports[group]

    def start_service(self, command):
        self.commands.append(("proxy", command))
        self.service = self.run.services.start(self.name, command, self.run.work)
        self.service.wait_listening(self.port)

    def write(self, path, text):
        """Replaces the file at once: a reload never reads half a configuration."""
        temporary = path.with_suffix(".tmp")
        temporary.write_text(text)
        os.replace(temporary, path)

    def start(self):
        raise NotImplementedError

    def switch(self, to, previous):
        """Switches production to `to`; returns (sent_ns, acknowledged_ns, error or None)."""
        raise NotImplementedError

    def baselines(self):
        """What an acknowledgement costs besides the switch itself: (description, sorted times in ns) pairs,
        measured during the warm-up."""
        return []

    def stop(self):
        if self.service is not None:
            self.service.stop()


class TurnoutScenario(Scenario):
    name = "turnout"
    title = "Turnout"
    how = 'admin API `POST /v1/switch {"to": "<group>"}` on a kept-alive connection; ack = its 200 response'

    def start(self):
        self.admin_port = self.run.ports["admin"]
        self.admin = AdminConnection(self.admin_port)
        config = self.dir / "turnout.yaml"
        self.state_dir = Path(self.run.state_dir) if self.run.state_dir else self.dir / "state"
        self.state_dir.mkdir(parents=True, exist_ok=True)
        config.write_text(configs.turnout(self.state_dir, self.port, self.admin_port,
                                          {group: self.backend_port(group) for group in GROUPS}, self.run.workers))
        self.configs.append(("turnout.yaml", config))
        self.start_service([self.run.turnout_bin, "serve", "--config", config])
        self.service.wait_listening(self.admin_port)

    def baselines(self):
        """The admin API's round trip without a change (`GET /healthz` on the same connection), and the
        fdatasync'ed append that makes a switch durable, timed on the state directory's file system."""
        times = []
        for _ in range(50):
            sent, acknowledged, _, _ = self.admin.request("GET", "/healthz", None)
            times.append(acknowledged - sent)
            time.sleep(0.002)
        return [("admin round trip without a change (`GET /healthz`, same connection)", sorted(times)),
                self._journal_appends()]

    def _journal_appends(self):
        """Appends of a switch's journal record's size, each fdatasync'ed as `StateJournal.append` does, to a
        scratch file beside the journal (removed after)."""
        line = b"x" * (JOURNAL_RECORD_BYTES - 1) + b"\n"
        probe = self.state_dir / "fdatasync-probe"
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND | os.O_CLOEXEC, 0o600)
        times = []
        try:
            for _ in range(100):
                start = now_ns()
                os.write(fd, line)
                os.fdatasync(fd)
                times.append(now_ns() - start)
                time.sleep(0.002)
        finally:
            os.close(fd)
            probe.unlink()
        return (f"an append of {len(line)} bytes fdatasync'ed in the state directory (what a switch's journal "
                "record costs on this disk)", sorted(times))

    def journal_record_bytes(self):
        """The mean length of the journal's lines (None when it holds none: compacted, or no switch made)."""
        try:
            lines = (self.state_dir / "journal.log").read_bytes().splitlines(keepends=True)
        except OSError:
            return None
        return sum(map(len, lines)) / len(lines) if lines else None

    def switch(self, to, previous):
        sent, acknowledged, status, body = self.admin.request("POST", "/v1/switch", {"to": to})
        error = None if status == 200 else f"HTTP {status}: {body[:200].decode(errors='replace')}"
        return sent, acknowledged, error

    def stop(self):
        self.admin.close()
        super().stop()


class NginxScenario(Scenario):
    name = "nginx"
    title = "nginx reload"
    how = "rewrite the upstream's server to the other backend, then `nginx -s reload`; ack = the command returned"

    def _write_config(self, group):
        self.write(self.config, configs.proxy_nginx(self.dir, self.port, self.backend_port(group), self.run.workers))

    def start(self):
        (self.dir / "logs").mkdir()
        self.config = self.dir / "nginx.conf"
        self._write_config("blue")
        self.configs.append(("nginx.conf (blue)", self.config))
        self.base = nginx_command(self.dir, self.config)
        self.start_service(self.base)
        self.commands.append(("switch", self.base + ["-s", "reload"]))

    def switch(self, to, previous):
        sent = now_ns()
        self._write_config(to)
        result = subprocess.run(self.base + ["-s", "reload"], capture_output=True, text=True)
        acknowledged = now_ns()
        error = None if result.returncode == 0 else f"exit {result.returncode}: {result.stderr.strip()[:200]}"
        return sent, acknowledged, error


class HAProxyScenario(Scenario):
    """Shared by both HAProxy scenarios: the configuration with its stats socket."""

    def __init__(self, run):
        super().__init__(run)
        self.socket = self.dir / "haproxy.sock"
        self.config = self.dir / "haproxy.cfg"

    def _write_config(self, servers):
        self.write(self.config, configs.haproxy(self.port, servers, self.run.workers, 4000,
                                                stats_socket=self.socket))

    def _cli(self, command):
        """One command on the stats socket (non-interactive: HAProxy answers and closes)."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.settimeout(10)
            s.connect(str(self.socket))
            s.sendall(command.encode() + b"\n")
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        return data.decode(errors="replace").strip()


class HAProxyAPIScenario(HAProxyScenario):
    name = "haproxy-api"
    title = "HAProxy runtime API"
    how = ("two stats-socket commands, `set server be/<new> weight 100` then `set server be/<old> weight 0` "
           "(not atomic); ack = both answered")

    def start(self):
        # Both servers start at weight 100 so that either can be raised again; production starts on blue.
        self._write_config([(group, self.backend_port(group), 100) for group in GROUPS])
        self.configs.append(("haproxy.cfg", self.config))
        self.start_service(["haproxy", "-db", "-f", self.config])
        commands = ["set server be/<new> weight 100", "set server be/<old> weight 0"]
        if self.run.haproxy_order == "old-first":
            commands.reverse()
            self.how = ("two stats-socket commands, `set server be/<old> weight 0` then `set server be/<new> "
                        "weight 100` (not atomic); ack = both answered")
        self.commands.append(("switch", commands))
        deadline = time.monotonic() + 5
        while not self.socket.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        answer = self._cli("set server be/green weight 0")
        if answer:
            raise StartFailure(f"haproxy stats socket: {answer}")

    def switch(self, to, previous):
        # By default the new group first: the other order leaves a moment with no server weighted.
        sent = now_ns()
        if self.run.haproxy_order == "new-first":
            first = self._cli(f"set server be/{to} weight 100")
            second = self._cli(f"set server be/{previous} weight 0")
        else:
            first = self._cli(f"set server be/{previous} weight 0")
            second = self._cli(f"set server be/{to} weight 100")
        acknowledged = now_ns()
        error = "; ".join(a for a in (first, second) if a) or None
        return sent, acknowledged, error


class HAProxyReloadScenario(HAProxyScenario):
    name = "haproxy-reload"
    title = "HAProxy reload (-sf)"
    how = ("rewrite the server's address, then start a new daemon `haproxy -D -x <sock> -sf <old pid>` "
           "(listeners handed over); ack = that command returned")

    def _write_server(self, group):
        self._write_config([("app", self.backend_port(group), None)])

    def _read_pid(self):
        return int(self.pidfile.read_text().split()[0])

    def start(self):
        self.pidfile = self.dir / "haproxy.pid"
        self._write_server("blue")
        self.configs.append(("haproxy.cfg (blue)", self.config))
        self.base = ["haproxy", "-f", str(self.config), "-D", "-p", str(self.pidfile)]
        self.commands.append(("proxy", self.base))
        self.commands.append(("switch", self.base + ["-x", str(self.socket), "-sf", "<old pid>"]))
        self.log_path = self.run.work / f"{self.name}.log"
        self.logfile = open(self.log_path, "ab")
        result = subprocess.run(self.base, stdout=self.logfile, stderr=self.logfile, stdin=subprocess.DEVNULL)
        if result.returncode != 0 or not self.pidfile.exists() or not wait_listening(self.port):
            raise StartFailure(f"haproxy -D exited {result.returncode} or did not listen\n"
                               + "".join(self.log_path.read_text(errors="replace").splitlines(True)[-15:]))
        self.pid = self._read_pid()

    def switch(self, to, previous):
        sent = now_ns()
        self._write_server(to)
        result = subprocess.run(self.base + ["-x", str(self.socket), "-sf", str(self.pid)],
                                stdout=self.logfile, stderr=self.logfile, stdin=subprocess.DEVNULL)
        acknowledged = now_ns()
        if result.returncode != 0:
            return sent, acknowledged, f"exit {result.returncode}"
        self.pid = self._read_pid()
        return sent, acknowledged, None

    def stop(self):
        # The daemons left their session; each names this scenario's configuration on its command line.
        stop_daemons(str(self.config))
        self.logfile.close()


SCENARIOS = {cls.name: cls for cls in (TurnoutScenario, NginxScenario, HAProxyAPIScenario, HAProxyReloadScenario)}


class Request:
    """One line of the load generator's output (tools/switchload.c); times in CLOCK_MONOTONIC ns."""

    __slots__ = ("conn", "scheduled", "started", "finished", "status", "served_by", "reused", "error")

    def __init__(self, line):
        conn, scheduled, started, finished, status, served_by, reused, error = line.split()
        self.conn, self.scheduled, self.started, self.finished = int(conn), int(scheduled), int(started), int(finished)
        self.status, self.served_by, self.reused, self.error = int(status), served_by, reused == "1", error

    @property
    def failed(self):
        return self.error != "-" or not 200 <= self.status < 300

    @property
    def what(self):
        return self.error if self.error != "-" else f"HTTP {self.status}"


@dataclass
class Timeline:
    """What one scenario's run recorded."""

    baselines: list  # Scenario.baselines()
    measure_from: int  # the end of the warm-up
    stop: int  # when the client was told to stop
    switches: list = field(default_factory=list)  # switch_analysis.Switch, in the order sent
    requests: list = field(default_factory=list)  # Request


def measure(run, scenario):
    """Starts the scenario's proxy, runs the load and the switches, and returns the raw timeline."""
    scenario.start()
    status, group = served_by(scenario.port)
    if status != 200 or group != "blue":
        raise StartFailure(f"GET / through {scenario.name} answered {status}, X-Served-By {group!r}; "
                           "expected 200 from blue")
    output = run.work / f"{scenario.name}-requests.txt"
    budget = run.warmup + run.steady + run.switches * run.interval * 4 + run.after + 60
    client_command = [run.client_bin, "127.0.0.1", scenario.port, run.connections, f"{run.rate:g}", f"{budget:.0f}",
                      output]
    scenario.commands.append(("client", client_command))
    client = run.services.start(f"{scenario.name}-client", client_command, run.work, pipe_stdout=True)
    t0 = int(client.process.stdout.readline().split()[1])
    baselines = scenario.baselines()  # during the warm-up, which is not measured
    time.sleep(max(0.0, t0 / 1e9 + run.warmup + run.steady - now_ns() / 1e9))

    switches = []
    current = "blue"
    for k in range(run.switches):
        if switches:
            # Every switch gets the same quiet window after its acknowledgement, however slow the ack.
            delay = (switches[-1].acknowledged + int(run.interval * 1e9) - now_ns()) / 1e9
            if delay > 0:
                time.sleep(delay)
        to = "green" if current == "blue" else "blue"
        sent, acknowledged, error = scenario.switch(to, current)
        switches.append(Switch(k, current, to, sent, acknowledged, error))
        if error is None:
            current = to
        else:
            log(f"{scenario.name}: switch {k} to {to} failed: {error}")
    time.sleep(run.after)
    stop_sent = now_ns()
    client.stop(timeout=30)  # SIGTERM: in-flight requests finish or time out, then the client writes them
    scenario.stop()
    (run.work / f"{scenario.name}-switches.json").write_text(json.dumps([asdict(s) for s in switches], indent=1))
    with open(output) as lines:
        requests = [Request(line) for line in lines if line.strip()]
    return Timeline(baselines, t0 + int(run.warmup * 1e9), stop_sent, switches, requests)
