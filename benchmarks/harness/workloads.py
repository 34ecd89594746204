"""The workloads: what each sends, through which proxies, with which proxy settings, and how one round of it is
measured against one proxy."""

import shlex
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Optional

from . import clients, configs
from .proxies import ProxySettings

THREE = ("turnout", "haproxy", "nginx")
# The small requests, where a line per request costs the most: Turnout again with its access log on.
WITH_ACCESS_LOG = ("turnout", "turnout-access-log", "haproxy", "nginx")
WITH_SPLICE = ("turnout", "haproxy", "haproxy-splice", "nginx")


@dataclass
class Options:
    """The run's settings (from the environment and the command line)."""

    duration: int = 10
    rounds: int = 3
    warmup: int = 2
    connections: int = 64
    latency_rate: int = 5000
    latency_connections: int = 32
    idle_connections: int = 10000
    idle_note: str = ""  # why idle_connections is lower than asked, if it is


@dataclass
class Measurement:
    """One round of one workload against one proxy. `value` is the workload's figure in its unit."""

    value: float
    p50_ms: Optional[float] = None
    p99_ms: Optional[float] = None
    p999_ms: Optional[float] = None
    errors: int = 0
    cpu_cores: Optional[float] = None  # proxy CPU time / wall time during the round
    note: str = ""


@dataclass
class Target:
    """One running proxy as a workload sees it."""

    proxy: str
    port: int
    service: object  # processes.Service
    open_loop: object  # path of the compiled open_loop client
    handshakes: object  # path of the compiled handshakes client


@dataclass
class Workload:
    key: str
    title: str
    kind: str  # "throughput" (higher is better), "latency" or "memory" (lower is better)
    unit: str
    proxies: tuple
    measure: Callable  # (Target, Options) -> Measurement
    warm_up: Callable  # (Target, Options) -> None
    commands: Callable  # (Options) -> list of command lines, with PORT for the proxy's port
    settings: Callable = lambda options: ProxySettings()
    checked_paths: tuple = ("/",)
    single_round: bool = False
    description: str = ""

    @property
    def higher_is_better(self):
        return self.kind == "throughput"


def _url(port, path, tls=False):
    return f"{'https' if tls else 'http'}://127.0.0.1:{port}{path}"


def _timed_cpu(target, action):
    """Runs `action`, returning its result, the wall time and the proxy's CPU cores used meanwhile."""
    cpu_before, start = target.service.cpu_seconds(), time.monotonic()
    result = action()
    elapsed = time.monotonic() - start
    return result, elapsed, (target.service.cpu_seconds() - cpu_before) / elapsed if elapsed > 0 else None


def _wrk_workload(path, connections, headers=(), script=None, per_request=1.0, tls=False):
    """measure / warm-up / commands for a wrk run (over HTTPS with `tls`); `per_request` turns req/s into the
    workload's unit."""

    def command(port, seconds, options):
        count = connections(options) if callable(connections) else connections
        return clients.wrk_command(_url(port, path, tls), count, seconds, headers=headers, script=script)

    def measure(target, options):
        result, _, cpu = _timed_cpu(target, lambda: clients.run_wrk(command(target.port, options.duration, options)))
        return Measurement(result.requests_per_second * per_request, result.p50_ms, result.p99_ms,
                           errors=result.errors, cpu_cores=cpu)

    def warm_up(target, options):
        clients.run_wrk(command(target.port, options.warmup, options))

    def commands(options):
        return [shlex.join(str(part) for part in command("PORT", options.duration, options))]

    return measure, warm_up, commands


def _small_get_keepalive(workers):
    measure, warm_up, commands = _wrk_workload("/", lambda options: options.connections)
    return dict(measure=measure, warm_up=warm_up, commands=commands,
                settings=lambda options: ProxySettings(workers=workers))


def _stream_measure(target, options):
    result, _, cpu = _timed_cpu(target, lambda: clients.run_curl_stream(_url(target.port, "/100m"),
                                                                        configs.HUNDRED_MIB))
    mib_per_second = result.bytes / configs.ONE_MIB / result.seconds if result.ok and result.seconds > 0 else 0.0
    return Measurement(mib_per_second, errors=0 if result.ok else 1, cpu_cores=cpu, note=f"{result.seconds:.3f} s")


def _stream_warm_up(target, options):
    clients.run_curl_stream(_url(target.port, "/100m"), configs.HUNDRED_MIB)


def _latency_command(target_port, options, binary="open_loop"):
    return clients.open_loop_command(binary, target_port, options.latency_rate, options.duration,
                                     options.latency_connections)


def _latency_measure(target, options):
    result, _, cpu = _timed_cpu(target, lambda: clients.run_open_loop(
        _latency_command(target.port, options, target.open_loop)))
    return Measurement(result.p99_ms, result.p50_ms, result.p99_ms, result.p999_ms, errors=result.errors,
                       cpu_cores=cpu, note=f"{result.achieved_rate:,.0f} req/s, max {result.max_ms:.2f} ms")


def _small_get_warm_up(target, options):
    clients.run_wrk(clients.wrk_command(_url(target.port, "/"), options.connections, options.warmup))


def _idle_measure(target, options):
    time.sleep(1.0)  # let the warm-up's connections close and the proxy settle
    before = target.service.rss_kib()
    idle = clients.IdleConnections(target.port)
    try:
        idle.open(options.idle_connections)
        time.sleep(1.0)
        after = target.service.rss_kib()
        dropped = idle.still_served()
        held = len(idle.sockets)
    finally:
        idle.close()
    per_connection = (after - before) / held if held else 0.0
    return Measurement(per_connection, errors=idle.failures + dropped,
                       note=f"RSS {before / 1024:.1f} -> {after / 1024:.1f} MiB for {held:,} connections")


def _idle_commands(options):
    return [f"{options.idle_connections:,} x (connect, GET / keep-alive, read the answer, keep the socket open), "
            "one after another; VmRSS of the proxy's processes summed from /proc/PID/status before and after; "
            "then one more GET / on every held connection to prove none was dropped"]


def _upload():
    measure, warm_up, commands = _wrk_workload("/upload", 16, script=clients.UPLOAD_SCRIPT)
    return dict(measure=measure, warm_up=warm_up, commands=commands, checked_paths=("/", "/upload"))


def _download():
    measure, warm_up, commands = _wrk_workload("/1m", 16)
    return dict(measure=measure, warm_up=warm_up, commands=commands, checked_paths=("/", "/1m"))


def _host_rules(count):
    """Small keep-alive GETs for the last of `count` host rules, 1 worker."""
    measure, warm_up, commands = _wrk_workload("/", lambda options: options.connections,
                                               headers=(f"Host: {configs.host_rule_name(count - 1)}",))
    return dict(measure=measure, warm_up=warm_up, commands=commands,
                settings=lambda options: ProxySettings(workers=1, host_rules=count))


def _close():
    measure, warm_up, commands = _wrk_workload("/", lambda options: options.connections,
                                               headers=("Connection: close",))
    return dict(measure=measure, warm_up=warm_up, commands=commands)


def _https(path, connections, workers=1, headers=()):
    measure, warm_up, commands = _wrk_workload(path, connections, headers=headers, tls=True)
    return dict(measure=measure, warm_up=warm_up, commands=commands, checked_paths=("/", path),
                settings=lambda options: ProxySettings(workers=workers, tls=True))


# Connections the handshakes client keeps going at once.
HANDSHAKE_CONNECTIONS = 32


def _handshakes(resumed, workers=1):
    """Connections per second from the `handshakes` client: a TLS 1.3 handshake (full, or resumed by ticket) and
    one small GET with `Connection: close` each, `HANDSHAKE_CONNECTIONS` at a time."""

    def command(binary, port, seconds):
        return clients.handshakes_command(binary, port, HANDSHAKE_CONNECTIONS, seconds, resumed)

    def measure(target, options):
        result, _, cpu = _timed_cpu(target, lambda: clients.run_handshakes(
            command(target.handshakes, target.port, options.duration)))
        return Measurement(result.rate, errors=result.errors, cpu_cores=cpu,
                           note=f"{result.resumed:,} of {result.completed:,} resumed")

    def warm_up(target, options):
        clients.run_handshakes(command(target.handshakes, target.port, options.warmup))

    def commands(options):
        return [" ".join(command("handshakes", "PORT", options.duration))
                + "   # PORT CONNECTIONS SECONDS new|resumed"]

    return dict(measure=measure, warm_up=warm_up, commands=commands,
                settings=lambda options: ProxySettings(workers=workers, tls=True))


WORKLOADS = [
    Workload("get-keepalive", "small GET, keep-alive, 1 worker", "throughput", "req/s", WITH_ACCESS_LOG,
             description="GET / (23-byte body), 64 keep-alive connections",
             **_small_get_keepalive(1)),
    Workload("get-keepalive-w2", "small GET, keep-alive, 2 workers", "throughput", "req/s", WITH_ACCESS_LOG,
             description="as above with 2 proxy workers (HAProxy nbthread 2, nginx worker_processes 2)",
             **_small_get_keepalive(2)),
    Workload("get-keepalive-rules", "small GET, keep-alive, 100 host rules", "throughput", "req/s", ("turnout", "haproxy"),
             description="as the 1-worker row, the Host matching the last of 100 host rules (Turnout listener rules, "
                         "HAProxy use_backend); compare with that row for the rules' cost",
             **_host_rules(100)),
    Workload("get-close", "small GET, Connection: close", "throughput", "req/s", WITH_ACCESS_LOG,
             description="GET / with `Connection: close`: a new client connection per request", **_close()),
    Workload("download-1m", "1 MiB responses", "throughput", "MiB/s", WITH_SPLICE,
             description="GET /1m, 16 keep-alive connections; MiB/s = responses/s", **_download()),
    Workload("stream-100m", "one 100 MiB stream", "throughput", "MiB/s", WITH_SPLICE,
             description="one curl download of /100m; MiB/s from curl's total time",
             measure=_stream_measure, warm_up=_stream_warm_up,
             commands=lambda options: [shlex.join(clients.curl_stream_command(_url("PORT", "/100m")))],
             checked_paths=("/", "/100m")),
    Workload("upload-1m", "1 MiB POST uploads", "throughput", "MiB/s", THREE,
             description="POST /upload with a 1 MiB body, 16 keep-alive connections; MiB/s = uploads/s",
             **_upload()),
    Workload("latency", "latency at a fixed rate", "latency", "ms p99", WITH_ACCESS_LOG,
             description="GET / at a constant rate, open loop, latency from each request's due time",
             measure=_latency_measure, warm_up=_small_get_warm_up,
             commands=lambda options: [" ".join(_latency_command("PORT", options, "open_loop"))
                                       + "   # HOST PORT PATH RATE SECONDS CONNECTIONS"]),
    Workload("https-get-keepalive", "HTTPS small GET, keep-alive, 1 worker", "throughput", "req/s", THREE,
             description="GET / over TLS (ECDSA P-256, the same suites everywhere), 64 keep-alive connections",
             **_https("/", lambda options: options.connections)),
    Workload("https-get-keepalive-w2", "HTTPS small GET, keep-alive, 2 workers", "throughput", "req/s", THREE,
             description="as above with 2 proxy workers",
             **_https("/", lambda options: options.connections, workers=2)),
    Workload("https-get-close", "HTTPS small GET, a connection per request", "throughput", "req/s", THREE,
             description="GET / over TLS with `Connection: close`: a new connection per request, whose handshake "
                         "wrk resumes with the session of the connection before (a ticket)",
             **_https("/", lambda options: options.connections, headers=("Connection: close",))),
    Workload("https-get-close-w2", "HTTPS small GET, a connection per request, 2 workers", "throughput", "req/s", THREE,
             description="as above with 2 proxy workers",
             **_https("/", lambda options: options.connections, workers=2, headers=("Connection: close",))),
    Workload("https-handshake-new", "HTTPS new TLS 1.3 handshakes", "throughput", "conn/s", THREE,
             description=f"the handshakes client, {HANDSHAKE_CONNECTIONS} connections: a full handshake and a "
                         "GET per connection",
             **_handshakes(resumed=False)),
    Workload("https-handshake-new-w2", "HTTPS new TLS 1.3 handshakes, 2 workers", "throughput", "conn/s", THREE,
             description="as above with 2 proxy workers", **_handshakes(resumed=False, workers=2)),
    Workload("https-handshake-resumed", "HTTPS resumed TLS 1.3 handshakes", "throughput", "conn/s", THREE,
             description=f"the handshakes client, {HANDSHAKE_CONNECTIONS} connections: a handshake resumed by "
                         "ticket (the one its connection before got) and a GET per connection",
             **_handshakes(resumed=True)),
    Workload("https-handshake-resumed-w2", "HTTPS resumed TLS 1.3 handshakes, 2 workers", "throughput", "conn/s",
             THREE, description="as above with 2 proxy workers", **_handshakes(resumed=True, workers=2)),
    Workload("https-download-1m", "HTTPS 1 MiB responses", "throughput", "MiB/s", THREE,
             description="GET /1m over TLS, 16 keep-alive connections; MiB/s = responses/s",
             **_https("/1m", 16)),
    Workload("https-download-1m-w2", "HTTPS 1 MiB responses, 2 workers", "throughput", "MiB/s", THREE,
             description="as above with 2 proxy workers", **_https("/1m", 16, workers=2)),
    Workload("idle-10k", "idle keep-alive connections", "memory", "KiB/conn", THREE,
             description="memory per idle client connection (RSS growth / connections held)",
             measure=_idle_measure, warm_up=_small_get_warm_up, commands=_idle_commands,
             settings=lambda options: ProxySettings(haproxy_maxconn=max(4000, options.idle_connections + 100)),
             single_round=True),
]
WORKLOADS_BY_KEY = {workload.key: workload for workload in WORKLOADS}


def median(values):
    values = [value for value in values if value is not None]
    return statistics.median(values) if values else None
