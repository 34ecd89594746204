"""The load clients: wrk (closed loop), curl (one stream), open_loop (constant rate), handshakes (new or resumed
TLS handshakes) and a holder of idle keep-alive connections. Each returns plain numbers; latencies are in milliseconds."""

import re
import socket
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

UPLOAD_SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "upload.lua"


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    errors: int
    raw: str = field(repr=False, default="")


def _wrk_duration_ms(text):
    """A wrk latency figure (312.00us, 1.20ms, 1.01s, 1.00m) in milliseconds."""
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[match.group(2)]
    return float(match.group(1)) * scale


def wrk_command(url, connections, seconds, threads=1, headers=(), script=None):
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", "--latency"]
    for header in headers:
        command += ["-H", header]
    if script:
        command += ["-s", str(script)]
    return command + [url]


def run_wrk(command):
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    output = completed.stdout
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", output, re.M)
    p50 = re.search(r"^\s+50%\s+(\S+)", output, re.M)
    p99 = re.search(r"^\s+99%\s+(\S+)", output, re.M)
    if not (rps and p50 and p99):
        raise RuntimeError(f"cannot read wrk's output:\n{output}\n{completed.stderr}")
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses:\s+(\d+)", output))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return WrkResult(float(rps.group(1)), _wrk_duration_ms(p50.group(1)), _wrk_duration_ms(p99.group(1)),
                     errors, output)


@dataclass
class HandshakesResult:
    rate: float
    completed: int
    resumed: int
    errors: int


def handshakes_command(binary, port, connections, seconds, resumed):
    return [str(binary), str(port), str(connections), str(seconds), "resumed" if resumed else "new"]


def run_handshakes(command):
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    figures = dict(line.split(" ", 1) for line in completed.stdout.splitlines() if " " in line)
    try:
        return HandshakesResult(float(figures["rate"]), int(figures["completed"]), int(figures["resumed"]),
                                int(figures["errors"]))
    except (KeyError, ValueError):
        raise RuntimeError(f"cannot read handshakes' output:\n{completed.stdout}\n{completed.stderr}")


@dataclass
class StreamResult:
    seconds: float
    bytes: int
    ok: bool


def curl_stream_command(url):
    return ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_download} %{time_total}", url]


def run_curl_stream(url, expected_bytes):
    completed = subprocess.run(curl_stream_command(url), capture_output=True, text=True, timeout=300)
    fields = completed.stdout.split()
    if completed.returncode != 0 or len(fields) != 3:
        return StreamResult(0.0, 0, False)
    status, size, seconds = fields
    return StreamResult(float(seconds), int(size), status == "200" and int(size) == expected_bytes)


@dataclass
class OpenLoopResult:
    achieved_rate: float
    p50_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    errors: int


def open_loop_command(binary, port, rate, seconds, connections, path="/"):
    return [str(binary), "127.0.0.1", str(port), path, str(rate), str(seconds), str(connections)]


def run_open_loop(command):
    completed = subprocess.run(command, capture_output=True, text=True, check=True)
    values = dict(line.split() for line in completed.stdout.splitlines() if line.strip())
    return OpenLoopResult(float(values["achieved_rate"]), float(values["p50_us"]) / 1000,
                          float(values["p99_us"]) / 1000, float(values["p999_us"]) / 1000,
                          float(values["max_us"]) / 1000, int(values["errors"]))


class IdleConnections:
    """Client connections that each made one keep-alive request and then stay open, doing nothing."""

    def __init__(self, port):
        self.port = port
        self.sockets = []
        self.failures = 0
        self.request = f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()

    def _exchange(self, connection):
        """Sends one request and reads its whole response; False when the connection failed or closed."""
        try:
            connection.sendall(self.request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = connection.recv(4096)
                if not chunk:
                    return False
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            length = re.search(rb"(?im)^content-length:\s*(\d+)", head)
            if not head.startswith(b"HTTP/1.1 200") or not length:
                return False
            while len(body) < int(length.group(1)):
                chunk = connection.recv(4096)
                if not chunk:
                    return False
                body += chunk
            return True
        except OSError:
            return False

    def open(self, count):
        """Opens `count` connections one after another (so the proxies' upstream pools stay small)."""
        for _ in range(count):
            try:
                connection = socket.create_connection(("127.0.0.1", self.port), timeout=10)
            except OSError:
                self.failures += 1
                continue
            if self._exchange(connection):
                self.sockets.append(connection)
            else:
                self.failures += 1
                connection.close()

    def still_served(self):
        """Makes one more request on every held connection; returns how many failed (closed by the proxy)."""
        return sum(0 if self._exchange(connection) else 1 for connection in self.sockets)

    def close(self):
        for connection in self.sockets:
            connection.close()
        self.sockets = []
