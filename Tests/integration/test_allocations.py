"""The data path makes no heap allocation per request once it is warm.

``turnout serve`` runs with ``malloc_counter.c`` preloaded (compiled here with gcc): every
malloc, calloc, realloc and aligned allocation is counted per thread in a file this test maps
and reads while the proxy runs. One worker, health checks off (so the control thread has
nothing to do), two demo backends behind a weighted split. After a warm-up, which fills the
buffer pool and the upstream pools, the counts must stay flat however many requests pass: a
measured window may allocate fewer than once per 100 requests, and fewer than 50 times in all.

While a measured window runs, every allocation is also traced (raw return addresses); when a
window allocates, the failure names the functions that did, symbolised from the live process.
"""

from __future__ import annotations

import hashlib
import mmap
import re
import shutil
import socket
import ssl
import struct
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness import build_preload_library, executable, wait_until
from raw_http import Conn, pattern_bytes
from raw_upstream import ScriptedUpstream, read_request_head

COUNTER_SOURCE = Path(__file__).with_name("malloc_counter.c")

# The counter file's layout (struct counter_file in malloc_counter.c).
COUNTER_MAGIC = 0x544E434F4C4C414D
HEADER = struct.Struct("<8Q")  # magic, slot_count, slots_used, trace_every, trace_limit, traced, sequence, padding
SLOT = struct.Struct("<4Q")  # tid, allocations, frees, bytes
SLOT_SIZE = 64
TRACE_EVERY_OFFSET = 24
TRACE_LIMIT_OFFSET = 32
TRACED_OFFSET = 40
SEQUENCE_OFFSET = 48

# Allocations a measured window may make: fewer than one per REQUESTS_PER_ALLOWED_ALLOCATION
# requests and fewer than ALLOWED_ALLOCATIONS_PER_WINDOW however many it carries. Room for a
# late first use (one more pooled upstream connection, a free list growing once), never for one
# allocation per request or per hundred.
REQUESTS_PER_ALLOWED_ALLOCATION = 100
ALLOWED_ALLOCATIONS_PER_WINDOW = 50
# How long the warm-up is followed by a pause, so the control thread's once-a-second turns have run.
CONTROL_TURNS_SECONDS = 2.5
# Trace lines kept per window when something does allocate.
TRACE_LIMIT = 400

CLIENT_CONNECTIONS = 4
WORKER_THREAD = re.compile(r"turnout-w\d+")

# Allocations known to happen per request today, by scenario. Strict xfail: when the fix lands
# the test passes, the xfail turns into a failure, and the entry here is to be deleted.
KNOWN_ALLOCATIONS: dict[str, str] = {}


@pytest.fixture(scope="module")
def malloc_counter_library(tmp_path_factory) -> Path:
    """``malloc_counter.c`` built as a preloadable shared library."""
    library = build_preload_library(COUNTER_SOURCE, tmp_path_factory.mktemp("malloc-counter"))
    if library is None:
        pytest.skip("no C compiler to build the malloc counter")
    return library


@dataclass
class Snapshot:
    """Allocation counts per thread (kernel thread id → count) and the threads' names."""

    allocations: dict[int, int]
    names: dict[int, str]

    @property
    def total(self) -> int:
        return sum(self.allocations.values())

    @property
    def worker(self) -> int:
        return sum(count for tid, count in self.allocations.items() if WORKER_THREAD.fullmatch(self.names[tid]))

    def growth_since(self, earlier: "Snapshot") -> dict[str, int]:
        """Allocations per thread (named ``name/tid``) made after ``earlier``, threads with none left out."""
        grown = {}
        for tid, count in self.allocations.items():
            delta = count - earlier.allocations.get(tid, 0)
            if delta:
                grown[f"{self.names[tid]}/{tid}"] = delta
        return grown


class AllocationCounters:
    """The preloaded counter's shared file, read (and its tracing switched) from this process."""

    def __init__(self, counter_path: Path, trace_path: Path, pid: int):
        self.pid = pid
        self.trace_path = trace_path
        with open(counter_path, "r+b") as file:
            self.map = mmap.mmap(file.fileno(), 0)
        magic, slot_count, *_ = HEADER.unpack_from(self.map, 0)
        assert magic == COUNTER_MAGIC, "the counter file was not initialised by malloc_counter.c"
        self.slot_count = slot_count

    def close(self) -> None:
        self.map.close()

    def snapshot(self) -> Snapshot:
        slots_used = min(HEADER.unpack_from(self.map, 0)[2], self.slot_count)
        allocations: dict[int, int] = {}
        names: dict[int, str] = {}
        for index in range(slots_used):
            tid, count, _frees, _bytes = SLOT.unpack_from(self.map, HEADER.size + index * SLOT_SIZE)
            allocations[tid] = count
            names[tid] = self._thread_name(tid)
        return Snapshot(allocations, names)

    def _thread_name(self, tid: int) -> str:
        try:
            return Path(f"/proc/{self.pid}/task/{tid}/comm").read_text().strip()
        except OSError:
            return "exited"

    def trace_every_allocation(self) -> None:
        self.trace_path.write_bytes(b"")
        struct.pack_into("<Q", self.map, TRACE_LIMIT_OFFSET, TRACE_LIMIT)
        struct.pack_into("<Q", self.map, TRACED_OFFSET, 0)
        struct.pack_into("<Q", self.map, SEQUENCE_OFFSET, 0)
        struct.pack_into("<Q", self.map, TRACE_EVERY_OFFSET, 1)

    def stop_tracing(self) -> None:
        struct.pack_into("<Q", self.map, TRACE_EVERY_OFFSET, 0)

    def describe_traces(self, max_stacks: int = 8) -> str:
        """The traced allocations grouped by call stack, most frequent first, symbolised."""
        traces = [line.split() for line in self.trace_path.read_text().splitlines() if line]
        if not traces:
            return "(no allocation was traced)"
        stacks = Counter(tuple(int(address, 16) for address in fields[3:]) for fields in traces)
        kinds = Counter(f"{fields[1]}:{fields[2]}" for fields in traces)
        common = stacks.most_common(max_stacks)
        names = Symboliser(self.pid).names({address for stack, _ in common for address in stack})
        sections = [f"{len(traces)} traced allocation(s); kind:size → count {dict(kinds.most_common(10))}"]
        for stack, count in common:
            sections.append(f"{count}× from:\n    " + "\n    ".join(names[address] for address in stack))
        return "\n".join(sections)


class Symboliser:
    """Return addresses in a live process → function names, inlined frames included
    (one llvm-symbolizer run per object file, one swift-demangle run); raw offsets without them."""

    def __init__(self, pid: int):
        self.mappings: list[tuple[int, int, str]] = []
        self.load_base: dict[str, int] = {}
        for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
            fields = line.split()
            if len(fields) < 6 or not fields[5].startswith("/"):
                continue
            start, end = (int(value, 16) for value in fields[0].split("-"))
            base = start - int(fields[2], 16)
            self.mappings.append((start, end, fields[5]))
            self.load_base[fields[5]] = min(base, self.load_base.get(fields[5], base))

    def names(self, addresses: set[int]) -> dict[int, str]:
        by_object: dict[str, list[tuple[int, int]]] = {}
        described = {address: hex(address) for address in addresses}
        for address in addresses:
            path = next((m[2] for m in self.mappings if m[0] <= address < m[1]), None)
            if path is not None:
                # A return address points after the call; step back into it.
                by_object.setdefault(path, []).append((address, address - self.load_base[path] - 1))
        symbolizer, demangler = shutil.which("llvm-symbolizer"), shutil.which("swift-demangle")
        for path, located in by_object.items():
            functions = [hex(offset) for _, offset in located]
            if symbolizer is not None:
                output = subprocess.run(
                    [symbolizer, "--obj", path, "--inlining", "--functions=linkage", "--no-demangle"],
                    input="\n".join(functions) + "\n", capture_output=True, text=True, timeout=60,
                ).stdout
                # Per address: (function, file:line:column) pairs, innermost inlined frame first, then a blank line.
                blocks = output.split("\n\n")
                for index, block in enumerate(blocks[:len(located)]):
                    lines = block.splitlines()
                    frames = [f"{lines[i]} ({lines[i + 1].rsplit('/', 1)[-1]})" for i in range(0, len(lines) - 1, 2)]
                    if frames:
                        functions[index] = " ← ".join(frames)
            for (address, _), function in zip(located, functions):
                described[address] = f"{Path(path).name}: {function}"
        if demangler is not None and described:
            order = list(described)
            demangled = subprocess.run(
                [demangler, "--simplified"], input="\n".join(described[a] for a in order) + "\n",
                capture_output=True, text=True, timeout=60,
            ).stdout.splitlines()
            if len(demangled) == len(order):
                described = dict(zip(order, demangled))
        return described


class ClosingUpstream(ScriptedUpstream):
    """A backend without keep-alive: answers each request with ``Connection: close`` and closes,
    so every request through it needs a new upstream connection."""

    name = "closing upstream"
    RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

    def _answer(self, connection: socket.socket) -> None:
        if read_request_head(connection, b"") is not None:
            connection.sendall(self.RESPONSE)


class LargeChunkUpstream(ScriptedUpstream):
    """A keep-alive backend answering every request with ``LARGE_CHUNKS_BODY`` framed as chunks of
    ``LARGE_CHUNK_SIZES``, each large enough for the proxy to splice most of it."""

    name = "large-chunk upstream"

    def __init__(self):
        framed = bytearray(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
        offset = 0
        for size in LARGE_CHUNK_SIZES:
            framed += b"%x\r\n" % size + LARGE_CHUNKS_BODY[offset:offset + size] + b"\r\n"
            offset += size
        self.response = bytes(framed + b"0\r\n\r\n")
        super().__init__()

    def _answer(self, connection: socket.socket) -> None:
        received = b""
        while (received := read_request_head(connection, received)) is not None:
            connection.sendall(self.response)


@dataclass
class CountedProxy:
    ports: dict[str, int]
    counters: AllocationCounters
    # What the HTTPS listener's clients trust: its certificate, for app.example.
    tls: ssl.SSLContext
    #: The production listener's access log (every request it answers is a line there).
    access_log: Path


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    """A self-signed ECDSA P-256 certificate for app.example and its key."""
    directory = tmp_path_factory.mktemp("certificate")
    cert, key = directory / "app.pem", directory / "app.key"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-out", str(cert), "-days", "30", "-subj", "/CN=app.example",
                    "-addext", "subjectAltName=DNS:app.example"], check=True, capture_output=True)
    return cert, key


@pytest.fixture
def counted_proxy(malloc_counter_library, demo_backend, proxy_config, start_process, tmp_path, certificate):
    """``turnout serve`` with the counter preloaded: one worker, no health checks, an access log on every listener
    (JSON; the production listener's in the combined format). ``production`` →
    blue 50 / green 50, where blue round-robins over both demo backends and green picks the least
    outstanding; ``secure`` → the same over HTTPS; ``closing`` → a backend that closes its connection after
    every response; ``large_chunks`` → a backend answering with chunks of 100 kB and more; ``ruled`` → rules of
    every kind of condition before the one its requests meet (forward to green), a fixed response, and a route
    mirrored to green; ``hosts`` → 100 host rules (forward to green), the last one the one its requests meet."""
    blue, green = demo_backend("blue"), demo_backend("green")
    closing = ClosingUpstream()
    large_chunks = LargeChunkUpstream()
    no_checks = {"enabled": False}
    config, config_path = proxy_config(
        listeners={"production": {"blue": 50, "green": 50}, "secure": {"blue": 50, "green": 50},
                   "closing": {"closing": 100}, "large_chunks": {"large_chunks": 100}, "ruled": {"blue": 100},
                   "hosts": {"blue": 100}},
        rules={"ruled": RULES, "hosts": HOST_RULES},
        tls={"secure": {"certificates": [{"cert": str(certificate[0]), "key": str(certificate[1])}]}},
        groups={
            "blue": {"targets": [blue.address, green.address], "algorithm": "round_robin", "health_check": no_checks},
            "green": {"targets": [green.address], "algorithm": "least_outstanding_requests",
                      "health_check": no_checks},
            "closing": {"targets": [closing.address], "health_check": no_checks},
            "large_chunks": {"targets": [large_chunks.address], "health_check": no_checks},
        },
        workers=1,
        access_log={"path": str(tmp_path / "access.json"), "format": "json"},
        listener_access_logs={"production": {"path": str(tmp_path / "access.log"), "format": "combined"}},
    )
    counter_path, trace_path = tmp_path / "allocations.bin", tmp_path / "allocations.trace"
    process = start_process("turnout", [
        "/usr/bin/env",
        f"LD_PRELOAD={malloc_counter_library}",
        f"MALLOC_COUNTER_FILE={counter_path}",
        f"MALLOC_COUNTER_TRACE={trace_path}",
        str(executable("turnout")), "serve", "--config", str(config_path),
    ])
    process.wait_until_listening(config.listener_ports.values())
    counters = AllocationCounters(counter_path, trace_path, process.pid)
    tls = ssl.create_default_context(cafile=str(certificate[0]))
    yield CountedProxy(ports=dict(config.listener_ports), counters=counters, tls=tls,
                       access_log=tmp_path / "access.log")
    counters.close()
    closing.close()
    large_chunks.close()


# --- load ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Scenario:
    """A request sent over and over, the bodies its response may carry, and how many to send."""

    name: str
    request: bytes
    bodies: frozenset[bytes]
    pipeline_depth: int = 1
    connection_per_request: bool = False
    listener: str = "production"
    # Over TLS: the listener is an HTTPS one (``secure``).
    tls: bool = False
    warm_up: int = 1024
    window: int = 2400


HELLO = frozenset({b"Hello World! from blue\n", b"Hello World! from green\n"})
SMALL_BODY = b"name=turnout&value=42"
# Past the 64 KiB from which Content-Length bodies are spliced rather than copied.
LARGE_BODY = pattern_bytes(100_000)
# Chunks whose data is mostly spliced (what is left of a chunk after its buffered start is past
# 64 KiB), with a small one between them that is copied.
LARGE_CHUNK_SIZES = [100_000, 7, 150_000]
LARGE_CHUNKS_BODY = pattern_bytes(sum(LARGE_CHUNK_SIZES))


def chunked(body: bytes, sizes: list[int]) -> bytes:
    """``body`` framed as chunks of ``sizes``, then the last chunk."""
    framed, offset = b"", 0
    for size in sizes:
        framed += b"%x\r\n%s\r\n" % (size, body[offset:offset + size])
        offset += size
    return framed + b"0\r\n\r\n"


def upload_answer(body: bytes) -> bytes:
    return f"received {len(body)} bytes, sha256 {hashlib.sha256(body).hexdigest()}\n".encode()


GET = Scenario("keep-alive GET", b"GET / HTTP/1.1\r\nHost: app.example\r\n\r\n", HELLO)
# The ruled listener's rules: the request below fails each condition of the first ones (wildcard host,
# path, header, method, query, source) and meets every condition of ``api``.
RULES = [
    {"name": "docs", "match": {"host": "*.docs.example.com"}, "forward": {"blue": 100}},
    {"name": "admin", "match": {"path": "/admin/*"}, "redirect": {"path": "/{path}", "status": 301}},
    {"name": "beta", "match": {"header": {"X-Env": "gamma"}}, "forward": {"blue": 100}},
    {"name": "deletes", "match": {"method": ["DELETE", "PUT"]}, "forward": {"blue": 100}},
    {"name": "v3", "match": {"query": {"version": "3*"}}, "forward": {"blue": 100}},
    {"name": "office", "match": {"source": "10.0.0.0/8"}, "forward": {"blue": 100}},
    {"name": "api", "match": {"host": "API.example.com", "path": ["/api/*", "/"], "header": {"x-env": "beta*"},
                              "query": {"version": "2"}, "method": "GET", "source": "127.0.0.0/8"},
     "forward": {"green": 100}},
    {"name": "fixed", "match": {"path": "/fixed"}, "fixed_response": {"status": 200, "body": "fixed"}},
    {"name": "sticky", "match": {"header": {"X-Sticky": "1"}}, "forward": {"blue": 50, "green": 50},
     "stickiness": {"cookie": "turnout-group", "duration": "1h"},
     "force_group": {"header": "X-Turnout-Group", "cookie": "turnout-force"}},
    {"name": "mirrored", "match": {"header": {"X-Mirror": "1"}}, "forward": {"blue": 100},
     "mirror": {"group": "green", "percent": 100}},
]
# The hosts listener's rules: exact hosts (the host index), a `*.` suffix (indexed too) and another wildcard (left to
# the scan) among them.
HOST_PATTERNS = {50: "*.docs.example", 51: "h5?.docs.example"}
HOST_RULES = [{"name": f"r{index}", "match": {"host": HOST_PATTERNS.get(index, f"h{index}.example")},
               "forward": {"green": 100}} for index in range(100)]
TLS_GET = Scenario("keep-alive GET over TLS", GET.request, HELLO, listener="secure", tls=True)
SCENARIOS = [
    Scenario(
        "POST with a small Content-Length body",
        b"POST /upload HTTP/1.1\r\nHost: app.example\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(SMALL_BODY), SMALL_BODY),
        frozenset({upload_answer(SMALL_BODY)}),
    ),
    Scenario(
        "POST with a chunked body",
        b"POST /upload HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5\r\nname=\r\n10\r\nturnout&value=42\r\n0\r\n\r\n",
        frozenset({upload_answer(SMALL_BODY)}),
    ),
    Scenario(
        "chunked response",
        b"GET /bytes?n=1000&chunked=1 HTTP/1.1\r\nHost: app.example\r\n\r\n",
        frozenset({pattern_bytes(1000)}),
    ),
    Scenario(
        "a 100 kB Content-Length response",
        b"GET /bytes?n=%d HTTP/1.1\r\nHost: app.example\r\n\r\n" % len(LARGE_BODY),
        frozenset({LARGE_BODY}),
    ),
    Scenario(
        "POST with a 100 kB Content-Length body",
        b"POST /upload HTTP/1.1\r\nHost: app.example\r\nContent-Length: %d\r\n\r\n%s" % (len(LARGE_BODY), LARGE_BODY),
        frozenset({upload_answer(LARGE_BODY)}),
    ),
    Scenario(
        "POST with a chunked body in 100 kB chunks",
        b"POST /upload HTTP/1.1\r\nHost: app.example\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(LARGE_CHUNKS_BODY, LARGE_CHUNK_SIZES),
        frozenset({upload_answer(LARGE_CHUNKS_BODY)}),
        window=1200,
    ),
    Scenario(
        "chunked response in 100 kB chunks",
        b"GET /chunks HTTP/1.1\r\nHost: app.example\r\n\r\n",
        frozenset({LARGE_CHUNKS_BODY}),
        listener="large_chunks", window=1200,
    ),
    Scenario("pipelined GETs, 8 per write", GET.request, HELLO, pipeline_depth=8),
    # Fewer requests where each one costs a connection (and a socket in TIME_WAIT).
    Scenario("a new connection per request", GET.request, HELLO, connection_per_request=True,
             warm_up=512, window=1200),
    Scenario("an upstream that closes after every response", GET.request, frozenset({b"ok"}), listener="closing",
             warm_up=512, window=1200),
    Scenario("keep-alive GET taken by the seventh rule",
             b"GET /?a=1&version=2 HTTP/1.1\r\nHost: api.example.com:8080\r\nX-Env: beta-1\r\n\r\n",
             frozenset({b"Hello World! from green\n"}), listener="ruled"),
    Scenario("keep-alive GET taken by the last of 100 host rules",
             b"GET / HTTP/1.1\r\nHost: H99.Example:8080\r\n\r\n",
             frozenset({b"Hello World! from green\n"}), listener="hosts"),
    Scenario("keep-alive GET on a sticky split, its cookie naming green",
             b"GET / HTTP/1.1\r\nHost: app.example\r\nX-Sticky: 1\r\nCookie: a=b; turnout-group=green\r\n\r\n",
             frozenset({b"Hello World! from green\n"}), listener="ruled"),
    Scenario("keep-alive GET on a sticky split without a cookie (pinned by Set-Cookie)",
             b"GET / HTTP/1.1\r\nHost: app.example\r\nX-Sticky: 1\r\n\r\n", HELLO, listener="ruled"),
    Scenario("keep-alive GET forcing green by its cookie",
             b"GET / HTTP/1.1\r\nHost: app.example\r\nX-Sticky: 1\r\nCookie: turnout-force=green\r\n\r\n",
             frozenset({b"Hello World! from green\n"}), listener="ruled"),
    # Each request also copied to green on a connection of its own (a socket in TIME_WAIT on green's side), some
    # dropped when the worker has its most copies in flight: neither the copy nor its drop allocates.
    Scenario("keep-alive GET mirrored to another group, a body with it",
             b"POST /upload HTTP/1.1\r\nHost: app.example\r\nX-Mirror: 1\r\nContent-Length: %d\r\n\r\n%s"
             % (len(SMALL_BODY), SMALL_BODY),
             frozenset({upload_answer(SMALL_BODY)}), listener="ruled", warm_up=512, window=1200),
    Scenario("keep-alive GET a rule answers itself", b"GET /fixed HTTP/1.1\r\nHost: app.example\r\n\r\n",
             frozenset({b"fixed"}), listener="ruled"),
    Scenario("a 100 kB Content-Length response over TLS",
             b"GET /bytes?n=%d HTTP/1.1\r\nHost: app.example\r\n\r\n" % len(LARGE_BODY),
             frozenset({LARGE_BODY}), listener="secure", tls=True, window=1200),
    Scenario("POST with a 100 kB Content-Length body over TLS",
             b"POST /upload HTTP/1.1\r\nHost: app.example\r\nContent-Length: %d\r\n\r\n%s" % (len(LARGE_BODY), LARGE_BODY),
             frozenset({upload_answer(LARGE_BODY)}), listener="secure", tls=True, window=1200),
    Scenario("pipelined GETs over TLS, 8 per write", GET.request, HELLO, listener="secure", tls=True,
             pipeline_depth=8),
]


class Load:
    """Requests over a few keep-alive connections, sent to all before reading any answer."""

    def __init__(self, port: int, scenario: Scenario, connections: int = CLIENT_CONNECTIONS,
                 tls: ssl.SSLContext | None = None):
        self.port = port
        self.scenario = scenario
        self.tls = tls if scenario.tls else None
        self.connections = [] if scenario.connection_per_request else [self._connect() for _ in range(connections)]

    def _connect(self) -> Conn:
        return Conn(self.port, tls=self.tls, server_name="app.example" if self.tls else None)

    def close(self) -> None:
        for connection in self.connections:
            connection.close()

    def run(self, requests: int) -> None:
        if self.scenario.connection_per_request:
            for _ in range(requests):
                with self._connect() as connection:
                    connection.send(self.scenario.request)
                    self._expect_response(connection)
            return
        depth = self.scenario.pipeline_depth
        per_round = depth * len(self.connections)
        assert requests % per_round == 0, f"{requests} requests do not split into rounds of {per_round}"
        batch = self.scenario.request * depth
        for _ in range(requests // per_round):
            for connection in self.connections:
                connection.send(batch)
            for connection in self.connections:
                for _ in range(depth):
                    self._expect_response(connection)

    def _expect_response(self, connection: Conn) -> None:
        response = connection.read_response()
        assert response.status == 200, response.status_line
        assert response.body in self.scenario.bodies, response.body[:200]


def measure(proxy: CountedProxy, scenario: Scenario, *, warm_up: int, window: int, windows: int = 2) -> list[Snapshot]:
    """Warm up, then run ``windows`` measured windows; returns the snapshot before each and after the last."""
    load = Load(proxy.ports[scenario.listener], scenario, tls=proxy.tls)
    try:
        load.run(warm_up)
        # The control thread samples the figures once a second; a quick warm-up can end before its
        # first turns have run (and instantiated what they use once), so let a few pass first.
        time.sleep(CONTROL_TURNS_SECONDS)
        snapshots = [proxy.counters.snapshot()]
        proxy.counters.trace_every_allocation()
        try:
            for _ in range(windows):
                load.run(window)
                snapshots.append(proxy.counters.snapshot())
        finally:
            proxy.counters.stop_tracing()
        return snapshots
    finally:
        load.close()


def allowed_allocations(window: int) -> int:
    """How many allocations a window of ``window`` requests must stay under."""
    return min(ALLOWED_ALLOCATIONS_PER_WINDOW, window // REQUESTS_PER_ALLOWED_ALLOCATION)


def assert_flat(proxy: CountedProxy, scenario: Scenario, snapshots: list[Snapshot], window: int,
                *, explain: bool = True) -> None:
    """Fails when a window allocated ``allowed_allocations(window)`` times or more; with ``explain``
    the failure lists the traced call stacks (symbolising takes a few seconds)."""
    first = snapshots[0]
    worker_threads = [tid for tid, name in first.names.items() if WORKER_THREAD.fullmatch(name)]
    assert len(worker_threads) == 1, f"expected one worker thread among {first.names}"
    # The instrument sees the worker: it allocated while starting (buffers, tables, pools).
    assert first.allocations[worker_threads[0]] > 0, "the counter saw no allocation on the worker thread"
    summary = ", ".join(
        f"window {index}: total {after.total - before.total} (worker {after.worker - before.worker}) "
        f"{after.growth_since(before) or ''}"
        for index, (before, after) in enumerate(zip(snapshots, snapshots[1:]), start=1)
    )
    print(f"{scenario.name}: {window} requests per window; {summary}")
    grown = [after.total - before.total for before, after in zip(snapshots, snapshots[1:])]
    if max(grown) >= allowed_allocations(window):
        stacks = proxy.counters.describe_traces() if explain else "(known allocation; stacks not symbolised)"
        pytest.fail(
            f"{scenario.name}: allocations grew with requests ({window} requests per window, fewer than "
            f"{allowed_allocations(window)} allowed; {summary})\n{stacks}",
            pytrace=False,
        )


def expect_known_allocations(request, scenario: Scenario) -> bool:
    """Marks the test xfail (strict) when ``scenario`` is known to allocate here; returns whether it did."""
    reason = KNOWN_ALLOCATIONS.get(scenario.name)
    if reason is not None:
        request.applymarker(pytest.mark.xfail(strict=True, reason=reason))
    return reason is not None


# --- tests --------------------------------------------------------------------------------------

def test_keep_alive_requests_allocate_nothing_in_steady_state(counted_proxy, request):
    """2,000 requests to warm up, then two windows of 10,000: the whole process's allocation
    count (worker and control thread) grows by fewer than 50 in each."""
    known = expect_known_allocations(request, GET)
    snapshots = measure(counted_proxy, GET, warm_up=2000, window=10000)
    assert_flat(counted_proxy, GET, snapshots, window=10000, explain=not known)
    # The access log was on: a line per request (the writer writes every 50 ms).
    assert wait_until(lambda: counted_proxy.access_log.read_bytes().count(b"\n") >= 22000, timeout=10), \
        counted_proxy.access_log.read_bytes().count(b"\n")


def test_keep_alive_requests_over_tls_allocate_nothing_in_steady_state(counted_proxy, request):
    """The same over an HTTPS listener: once the handshakes are done, reads and writes through the TLS sessions
    allocate nothing either (the test's client is slower at TLS: windows of 4,800)."""
    known = expect_known_allocations(request, TLS_GET)
    snapshots = measure(counted_proxy, TLS_GET, warm_up=2000, window=4800)
    assert_flat(counted_proxy, TLS_GET, snapshots, window=4800, explain=not known)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda scenario: scenario.name)
def test_bodies_pipelining_and_new_connections_allocate_nothing_in_steady_state(counted_proxy, scenario, request):
    known = expect_known_allocations(request, scenario)
    snapshots = measure(counted_proxy, scenario, warm_up=scenario.warm_up, window=scenario.window)
    assert_flat(counted_proxy, scenario, snapshots, window=scenario.window, explain=not known)


def test_idle_seconds_between_loads_keep_what_steady_state_needs(counted_proxy, request):
    """The pools free what stays unused for a second (so memory comes back after a burst) but keep a
    reserve: after three idle seconds, in which three trims find every buffer idle, the same load
    (12 connections: some 50 buffers, client and upstream, which freed would take a hundred and more
    allocations to make again) allocates nothing."""
    known = expect_known_allocations(request, GET)
    load = Load(counted_proxy.ports["production"], GET, connections=12)
    try:
        load.run(2400)
        time.sleep(3.5)
        snapshots = [counted_proxy.counters.snapshot()]
        counted_proxy.counters.trace_every_allocation()
        try:
            for _ in range(2):
                load.run(3600)
                snapshots.append(counted_proxy.counters.snapshot())
        finally:
            counted_proxy.counters.stop_tracing()
    finally:
        load.close()
    assert_flat(counted_proxy, GET, snapshots, window=3600, explain=not known)


def test_the_counter_sees_allocations_on_the_worker(counted_proxy):
    """The instrument is not blind: a rejected request is logged, and logging allocates on the
    worker, so 20 of them show at least 20 allocations there, traced back to the worker's code."""
    # The trace keeps the first TRACE_LIMIT allocations of the process: let the control thread's first
    # turns (which instantiate what they use once) pass, so that the worker's are among them.
    time.sleep(CONTROL_TURNS_SECONDS)
    before = counted_proxy.counters.snapshot()
    counted_proxy.counters.trace_every_allocation()
    try:
        for _ in range(20):
            with Conn(counted_proxy.ports["production"]) as connection:
                connection.send(b"GET / HTTP/1.1\r\nHost: app.example\r\nContent-Length: twelve\r\n\r\n")
                assert connection.read_response().status == 400
    finally:
        counted_proxy.counters.stop_tracing()
    after = counted_proxy.counters.snapshot()
    assert after.worker - before.worker >= 20, after.growth_since(before)
    traces = counted_proxy.counters.describe_traces()
    assert "traced allocation(s)" in traces, traces
    if shutil.which("llvm-symbolizer") and shutil.which("swift-demangle"):
        assert "Worker." in traces, traces
