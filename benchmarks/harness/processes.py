"""The processes a benchmark starts (backend and proxies): start, readiness, resource use, and stopping them all."""

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


class StartFailure(Exception):
    """A service did not start listening, or does not proxy; the message says why, with the end of its output."""


def port_is_free(port):
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(preferred):
    """Maps each name to its preferred port, or to the next free one above it when that one is taken."""
    chosen = {}
    for name, port in preferred.items():
        while not port_is_free(port) or port in chosen.values():
            port += 1
        chosen[name] = port
    return chosen


def wait_listening(port, timeout=10.0, alive=lambda: True):
    """Whether 127.0.0.1:`port` accepted a connection within `timeout` (False at once when `alive()` turns false)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


class Service:
    """One process started in its own session, with its output in `<work>/<name>.log` (only its standard error
    when `pipe_stdout`: then `process.stdout` is for the caller to read)."""

    def __init__(self, name, command, work, pipe_stdout=False):
        self.name = name
        self.command = [str(part) for part in command]
        self.log_path = Path(work) / f"{name}.log"
        self.stopped = False
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE if pipe_stdout else log,
                                            stderr=log if pipe_stdout else subprocess.STDOUT,
                                            stdin=subprocess.DEVNULL, start_new_session=True)

    @property
    def pid(self):
        return self.process.pid

    def alive(self):
        return self.process.poll() is None

    def failure(self, what):
        """A StartFailure saying `what`, with the command, the exit status and the end of the output."""
        lines = [f"{self.name} {what}", f"  command: {' '.join(self.command)}"]
        if not self.alive():
            lines.append(f"  exited with status {self.process.returncode}")
        tail = self.log_path.read_text(errors="replace").splitlines()[-15:]
        lines += ["  last lines of its output:"] + [f"    {line}" for line in tail]
        return StartFailure("\n".join(lines))

    def wait_listening(self, port, timeout=10.0):
        if not wait_listening(port, timeout, self.alive):
            raise self.failure("exited before listening" if not self.alive() else
                               f"did not listen on 127.0.0.1:{port} within {timeout:.0f} s")

    def process_tree(self):
        """The pid and its descendants (nginx's workers are children of its master)."""
        pids, pending = [], [self.pid]
        while pending:
            pid = pending.pop()
            pids.append(pid)
            try:
                for task in os.listdir(f"/proc/{pid}/task"):
                    children = Path(f"/proc/{pid}/task/{task}/children").read_text().split()
                    pending.extend(int(child) for child in children)
            except OSError:
                continue
        return pids

    def rss_kib(self):
        """Resident memory of the whole process tree (VmRSS summed), in KiB."""
        total = 0
        for pid in self.process_tree():
            try:
                for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
            except OSError:
                continue
        return total

    def cpu_seconds(self):
        """User + system CPU time used so far by the whole process tree."""
        ticks = 0
        for pid in self.process_tree():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
        return ticks / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout=10.0):
        """SIGTERM to the service's process group, then SIGKILL if it is still there after `timeout`. Once."""
        if self.stopped:
            return
        self.stopped = True
        if self.alive():
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.pid, signal.SIGKILL)  # leftovers of the group (e.g. nginx workers)
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.wait()
        if self.process.stdout:
            self.process.stdout.close()


class ServiceSet:
    """Services started together and stopped together, in reverse order, also on errors (a context manager)."""

    def __init__(self):
        self.services = []

    def start(self, name, command, work, pipe_stdout=False):
        service = Service(name, command, work, pipe_stdout)
        self.services.append(service)
        return service

    def stop_all(self):
        while self.services:
            self.services.pop().stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop_all()
        return False


def _command_line(pid):
    """The command line of a live (not zombie) process, or None."""
    try:
        if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            return None
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return None


def stop_daemons(marker, timeout=5.0):
    """Stops the processes that left their session (`haproxy -D`), known by `marker` in their command line: a path
    in the run's own work directory. SIGTERM, then SIGKILL for those still there after `timeout`."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        ours = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and int(pid) != os.getpid()
                and marker.encode() in (_command_line(pid) or b"")]
        for pid in ours:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while ours and time.monotonic() < deadline:
            ours = [pid for pid in ours if marker.encode() in (_command_line(pid) or b"")]
            time.sleep(0.05)
        if not ours:
            return
