"""Large bodies through the zero-copy path: bytes arrive unchanged in both directions,
with slow readers and slow writers on either side (back-pressure through the pipe)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

from admin_client import AdminClient, metric_sum
from harness import LOOPBACK, SOCKET_TIMEOUT, wait_until
from raw_http import pattern_bytes

HUNDRED_MB = 100 * 1000 * 1000
PATTERN = pattern_bytes(251 * 4096)
# Twice the pattern, so any slice of up to one pattern length can start at any phase of it.
DOUBLE_PATTERN = memoryview(PATTERN * 2)
MIB = 1 << 20
# The proxy's I/O buffer with the default limits: max(16 KiB, max_header_bytes 16384 + 4096). At most
# one buffer's worth of a body, or of each chunk, is read into user space before the rest is spliced.
BUFFER_CAPACITY = 20480
# Spans (a Content-Length body, the rest of a chunk) shorter than this are copied, not spliced.
SPLICE_THRESHOLD = 64 * 1024


def pattern_sha256(size: int) -> str:
    """SHA-256 of the demo backend's /bytes pattern (byte i = i % 251)."""
    digest = hashlib.sha256()
    full, rest = divmod(size, len(PATTERN))
    for _ in range(full):
        digest.update(PATTERN)
    digest.update(PATTERN[:rest])
    return digest.hexdigest()


def read_head(sock: socket.socket) -> tuple[bytes, bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed before the response head"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head, rest


def header(head: bytes, name: str) -> str | None:
    for line in head.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode()
    return None


def pattern_slice(offset: int, size: int) -> memoryview:
    """Bytes ``offset..<offset + size`` of the pattern stream (byte i = i % 251), without copying."""
    assert size <= len(PATTERN), size
    start = offset % 251
    return DOUBLE_PATTERN[start:start + size]


def spliced_bytes(turnout, direction: str, listener: str = "production") -> float:
    """``turnout_spliced_bytes_total`` for ``listener`` and ``direction`` (request or response)."""
    admin = AdminClient.of(turnout)
    try:
        response = admin.get("/metrics")
        assert response.status_code == 200
        return metric_sum(response.text, "turnout_spliced_bytes_total", listener=listener, direction=direction)
    finally:
        admin.close()


def assert_spliced(turnout, direction: str, *, at_least: int, at_most: int) -> None:
    """The spliced byte counter reaches ``at_least`` (the worker counts right after the bytes went out,
    so wait a little) and never passes ``at_most``."""
    wait_until(lambda: spliced_bytes(turnout, direction) >= at_least, timeout=5)
    value = spliced_bytes(turnout, direction)
    assert at_least <= value <= at_most, f"{direction}: {value} spliced bytes, expected {at_least}..{at_most}"


def download(port: int, path: str, *, slow: bool, wait_first: float = 0) -> tuple[bytes, int, str]:
    """GETs `path`, returns (head, body length, body sha256); `slow` pauses while reading,
    `wait_first` waits before reading anything (the sender fills every buffer meanwhile)."""
    sock = socket.create_connection((LOOPBACK, port), timeout=SOCKET_TIMEOUT)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: test\r\n\r\n".encode())
        time.sleep(wait_first)
        head, body = read_head(sock)
        length = int(header(head, "Content-Length"))
        digest = hashlib.sha256(body)
        received = len(body)
        next_pause = 5_000_000
        while received < length:
            chunk = sock.recv(min(1 << 20, length - received))
            assert chunk, f"connection closed after {received} of {length} bytes"
            digest.update(chunk)
            received += len(chunk)
            if slow and received >= next_pause:
                time.sleep(0.05)  # the proxy's pipe and socket buffers fill up meanwhile
                next_pause += 5_000_000
        return head, received, digest.hexdigest()
    finally:
        sock.close()


def test_hundred_megabyte_download_arrives_unchanged(proxy):
    turnout = proxy(workers=1, wait_for_admin=True)
    head, length, digest = download(turnout.port(), f"/bytes?n={HUNDRED_MB}", slow=False)
    assert head.startswith(b"HTTP/1.1 200")
    assert length == HUNDRED_MB
    assert digest == pattern_sha256(HUNDRED_MB)
    # All but what was read along with the response head went socket → pipe → socket.
    assert_spliced(turnout, "response", at_least=HUNDRED_MB - BUFFER_CAPACITY, at_most=HUNDRED_MB)
    assert spliced_bytes(turnout, "request") == 0


def test_hundred_megabyte_download_with_a_slow_reader(proxy):
    turnout = proxy(workers=1)
    head, length, digest = download(turnout.port(), f"/bytes?n={HUNDRED_MB}", slow=True)
    assert length == HUNDRED_MB
    assert digest == pattern_sha256(HUNDRED_MB)


def upload(port: int, size: int, *, slow: bool) -> bytes:
    sock = socket.create_connection((LOOPBACK, port), timeout=SOCKET_TIMEOUT)
    try:
        sock.sendall(f"POST /upload HTTP/1.1\r\nHost: test\r\nContent-Length: {size}\r\n\r\n".encode())
        sent = 0
        next_pause = 5_000_000
        while sent < size:
            block = PATTERN[: min(len(PATTERN), size - sent)]
            sock.sendall(block)
            sent += len(block)
            if slow and sent >= next_pause:
                time.sleep(0.05)  # the proxy waits on an empty pipe meanwhile
                next_pause += 5_000_000
        head, _ = read_head(sock)
        return head
    finally:
        sock.close()


def test_hundred_megabyte_upload_arrives_unchanged(proxy):
    turnout = proxy(workers=1, wait_for_admin=True)
    head = upload(turnout.port(), HUNDRED_MB, slow=False)
    assert head.startswith(b"HTTP/1.1 200")
    assert header(head, "X-Echo-Body-Length") == str(HUNDRED_MB)
    assert header(head, "X-Echo-Body-Sha256") == pattern_sha256(HUNDRED_MB)
    assert_spliced(turnout, "request", at_least=HUNDRED_MB - BUFFER_CAPACITY, at_most=HUNDRED_MB)


def test_hundred_megabyte_upload_with_a_slow_writer(proxy):
    turnout = proxy(workers=1)
    head = upload(turnout.port(), HUNDRED_MB, slow=True)
    assert header(head, "X-Echo-Body-Length") == str(HUNDRED_MB)
    assert header(head, "X-Echo-Body-Sha256") == pattern_sha256(HUNDRED_MB)


class ScriptedUpstream:
    """A loopback upstream whose subclass answers each connection in `_answer` (own thread)."""

    def __init__(self):
        self.listener = socket.socket()
        self.listener.bind((LOOPBACK, 0))
        self.listener.listen(8)
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    @property
    def groups(self) -> dict:
        """Proxy groups that send everything here."""
        return {"blue": [f"{LOOPBACK}:{self.port}"], "green": [f"{LOOPBACK}:{self.port}"]}

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        raise NotImplementedError

    @staticmethod
    def read_request(connection: socket.socket) -> bytes | None:
        """The request head, or None when the peer closed first."""
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                return None
            data += chunk
        return data

    def close(self) -> None:
        self.listener.close()


class BurstyUpstream(ScriptedUpstream):
    """An upstream that sends a large response in 1 MB bursts with pauses (a slow writer), with
    Content-Length or, with `until_close`, framed by closing the connection."""

    def __init__(self, size: int, until_close: bool):
        self.size = size
        self.until_close = until_close
        super().__init__()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            request = self.read_request(connection)
            if request is None:
                return
            if b"/health" in request.split(b"\r\n", 1)[0]:
                connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            framing = b"Connection: close\r\n" if self.until_close else f"Content-Length: {self.size}\r\n".encode()
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.sendall(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n")
            sent = 0
            while sent < self.size:
                burst = min(1_000_000, self.size - sent)
                offset = sent % 251
                connection.sendall((PATTERN[offset:] + PATTERN)[:burst])
                sent += burst
                time.sleep(0.02)
            if not self.until_close:
                connection.recv(1)  # keep the connection open: the proxy must not wait for a close


def test_slow_upstream_writer_content_length(proxy):
    upstream = BurstyUpstream(20_000_000, until_close=False)
    try:
        turnout = proxy(workers=1, groups=upstream.groups)
        head, length, digest = download(turnout.port(), "/big", slow=False)
        assert length == 20_000_000
        assert digest == pattern_sha256(20_000_000)
    finally:
        upstream.close()


def test_response_until_close_is_complete(proxy):
    upstream = BurstyUpstream(5_000_000, until_close=True)
    try:
        turnout = proxy(workers=1, groups=upstream.groups)
        sock = socket.create_connection((LOOPBACK, turnout.port()), timeout=SOCKET_TIMEOUT)
        with sock:
            sock.sendall(b"GET /big HTTP/1.1\r\nHost: test\r\n\r\n")
            head, body = read_head(sock)
            assert header(head, "Connection") == "close"
            digest = hashlib.sha256(body)
            received = len(body)
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                digest.update(chunk)
                received += len(chunk)
        assert received == 5_000_000
        assert digest.hexdigest() == pattern_sha256(5_000_000)
    finally:
        upstream.close()


class SendfileUpstream(ScriptedUpstream):
    """An upstream that answers with a file sent by sendfile(2), as nginx does: the body
    reaches the proxy as socket buffers made of many page fragments."""

    def __init__(self, path: str, size: int):
        self.path = path
        self.size = size
        super().__init__()

    def _answer(self, connection: socket.socket) -> None:
        with connection, open(self.path, "rb") as body:
            while self.read_request(connection) is not None:
                connection.sendall(f"HTTP/1.1 200 OK\r\nContent-Length: {self.size}\r\n\r\n".encode())
                offset = 0
                while offset < self.size:
                    offset += os.sendfile(connection.fileno(), body.fileno(), offset, self.size - offset)


def test_sendfile_bodies_arrive_whole(proxy, tmp_path):
    """A body sent with sendfile arrives at the proxy in buffers of many page fragments: a
    splice into the pipe then comes back short (the pipe runs out of slots before bytes)
    while bytes are still queued, so the proxy must keep reading until the socket says
    EAGAIN — stopping at a short splice waits forever for an edge that never comes."""
    size = 1 << 20
    path = tmp_path / "body"
    path.write_bytes((PATTERN * (size // len(PATTERN) + 1))[:size])
    upstream = SendfileUpstream(str(path), size)
    try:
        turnout = proxy(workers=1, groups=upstream.groups)
        for _ in range(10):
            _, length, digest = download(turnout.port(), "/body", slow=False)
            assert length == size
            assert digest == pattern_sha256(size)
    finally:
        upstream.close()


# --- chunked bodies: the chunk data is spliced, the framing is rewritten in user space ----------------

def chunk_layout(cycle: list[int], total: int) -> list[int]:
    """Chunk sizes repeating ``cycle``, the last one cut so that they add up to ``total``."""
    sizes: list[int] = []
    left = total
    while left > 0:
        for size in cycle:
            size = min(size, left)
            sizes.append(size)
            left -= size
            if left == 0:
                break
    return sizes


def spliceable_lower_bound(sizes: list[int]) -> int:
    """Bytes certainly spliced for chunks of ``sizes``: of a chunk, at most one buffer's worth is read
    into user space with its size line, and a rest of at least the threshold is spliced."""
    return sum(size - BUFFER_CAPACITY for size in sizes if size - BUFFER_CAPACITY >= SPLICE_THRESHOLD)


LARGE_CHUNKS = chunk_layout([MIB], HUNDRED_MB)
# Tiny chunks between large ones, and sizes just around the splice threshold.
MIXED_CHUNKS = chunk_layout([1, 10, 5, MIB + 3, 7, 200_000, 2, 70_000, SPLICE_THRESHOLD - 1, 9, 300_000, 4, 3],
                            HUNDRED_MB)
TRAILERS = b"X-Checksum: none\r\nX-Other: 1\r\n"


def chunk_size_line(index: int, size: int, extensions: bool) -> bytes:
    extension = b";n=%d;name=\"quoted value\"" % index if extensions and index % 2 else b""
    return b"%x%s\r\n" % (size, extension)


def send_chunked_pattern(sock: socket.socket, sizes: list[int], *, extensions: bool = False, trailers: bytes = b"",
                         pause_every: int | None = None) -> None:
    """Sends the pattern stream framed as chunks of ``sizes``; with ``pause_every``, pauses 50 ms after
    about that many bytes, also in the middle of a chunk's data (a slow writer)."""
    offset = 0
    next_pause = pause_every
    for index, size in enumerate(sizes):
        sock.sendall(chunk_size_line(index, size, extensions))
        done = 0
        while done < size:
            piece = min(256 * 1024, size - done)
            sock.sendall(pattern_slice(offset + done, piece))
            done += piece
            if next_pause is not None and offset + done >= next_pause:
                time.sleep(0.05)
                next_pause += pause_every
        offset += size
        sock.sendall(b"\r\n")
    sock.sendall(b"0\r\n" + trailers + b"\r\n")


class ChunkedResponse:
    """A response read off a socket: head, then a chunked body or, without one, the body until close."""

    def __init__(self, sock: socket.socket):
        self.reader = sock.makefile("rb", buffering=MIB)
        lines = []
        while True:
            line = self.reader.readline(65536)
            assert line.endswith(b"\r\n"), f"connection closed in the response head: {line!r}"
            if line == b"\r\n":
                break
            lines.append(line[:-2])
        self.head = b"\r\n".join(lines)
        self.length = 0
        self.digest = hashlib.sha256()
        self.size_lines: list[bytes] = []

    def _read_data(self, size: int, *, slow: bool, until_close: bool = False) -> None:
        left = size
        while left > 0:
            piece = self.reader.read(min(left, MIB)) if not until_close else self.reader.read1(MIB)
            if not piece:
                if until_close:
                    return
                raise ConnectionError(f"connection closed after {self.length} body bytes")
            before = self.length
            self.digest.update(piece)
            self.length += len(piece)
            left -= len(piece)
            if slow and self.length // 5_000_000 != before // 5_000_000:
                time.sleep(0.05)  # the proxy's pipe and socket buffers fill up meanwhile

    def read_chunked(self, *, slow: bool = False) -> None:
        """Reads the chunked body, keeping its size lines; the trailer section must be empty."""
        while True:
            line = self.reader.readline(4096)
            if not line.endswith(b"\r\n"):
                raise ConnectionError(f"connection closed in a size line after {self.length} body bytes: {line!r}")
            self.size_lines.append(line)
            size = int(line, 16)
            if size == 0:
                break
            self._read_data(size, slow=slow)
            if self.reader.read(2) != b"\r\n":
                raise ConnectionError(f"chunk data not followed by CRLF after {self.length} body bytes")
        assert self.reader.read(2) == b"\r\n", "the proxy forwards no trailers"

    def read_until_close(self, *, slow: bool = False) -> None:
        self._read_data(1 << 62, slow=slow, until_close=True)


class ChunkedUpstream(ScriptedUpstream):
    """An upstream answering every request (keep-alive) with the pattern stream framed as chunks of
    ``sizes``, with extensions and trailers on request; ``pause_every`` makes it a slow writer, and
    ``close_after`` closes the connection once that many body bytes are sent, in the middle of a chunk."""

    def __init__(self, sizes: list[int], *, extensions: bool = False, trailers: bytes = b"",
                 pause_every: int | None = None, close_after: int | None = None):
        self.sizes = sizes
        self.extensions = extensions
        self.trailers = trailers
        self.pause_every = pause_every
        self.close_after = close_after
        super().__init__()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            while (request := self.read_request(connection)) is not None:
                if b"/health" in request.split(b"\r\n", 1)[0]:
                    connection.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                    return
                connection.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n")
                if self.close_after is not None:
                    connection.sendall(chunk_size_line(0, self.sizes[0], False))
                    for offset in range(0, self.close_after, 256 * 1024):
                        connection.sendall(pattern_slice(offset, min(256 * 1024, self.close_after - offset)))
                    time.sleep(0.2)  # let the proxy splice what was sent before the close
                    return
                send_chunked_pattern(connection, self.sizes, extensions=self.extensions, trailers=self.trailers,
                                     pause_every=self.pause_every)


def chunked_download(turnout, *, version: str = "1.1", slow: bool = False) -> ChunkedResponse:
    sock = socket.create_connection((LOOPBACK, turnout.port()), timeout=SOCKET_TIMEOUT)
    with sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
        sock.sendall(f"GET /chunks HTTP/{version}\r\nHost: test\r\n\r\n".encode())
        response = ChunkedResponse(sock)
        assert response.head.startswith(f"HTTP/1.1 200".encode()), response.head
        if version == "1.1":
            assert header(response.head + b"\r\n", "Transfer-Encoding") == "chunked"
            response.read_chunked(slow=slow)
        else:
            response.read_until_close(slow=slow)
        return response


def run_chunked_download(proxy, sizes: list[int], *, version: str = "1.1", slow: bool = False,
                         **upstream_options) -> ChunkedResponse:
    """Downloads the pattern framed as ``sizes`` through the proxy; checks the body and the splice counter."""
    upstream = ChunkedUpstream(sizes, **upstream_options)
    try:
        turnout = proxy(workers=1, groups=upstream.groups, wait_for_admin=True)
        response = chunked_download(turnout, version=version, slow=slow)
        total = sum(sizes)
        assert response.length == total
        assert response.digest.hexdigest() == pattern_sha256(total)
        assert_spliced(turnout, "response", at_least=spliceable_lower_bound(sizes), at_most=total)
        return response
    finally:
        upstream.close()


def test_hundred_megabyte_chunked_download_in_large_chunks(proxy):
    response = run_chunked_download(proxy, LARGE_CHUNKS)
    # Re-framed with the sizes the upstream sent: a spliced chunk keeps its size.
    assert response.size_lines == [b"%x\r\n" % size for size in LARGE_CHUNKS] + [b"0\r\n"]


def test_hundred_megabyte_chunked_download_mixing_tiny_and_large_chunks_with_extensions_and_trailers(proxy):
    response = run_chunked_download(proxy, MIXED_CHUNKS, extensions=True, trailers=TRAILERS)
    # Extensions and trailers are dropped; every chunk keeps its size.
    assert response.size_lines == [b"%x\r\n" % size for size in MIXED_CHUNKS] + [b"0\r\n"]


def test_hundred_megabyte_chunked_download_with_a_slow_reader(proxy):
    run_chunked_download(proxy, MIXED_CHUNKS, slow=True)


def test_hundred_megabyte_chunked_download_from_a_slow_writer(proxy):
    """The upstream pauses in the middle of chunks: the relay waits on an empty socket mid-chunk."""
    run_chunked_download(proxy, LARGE_CHUNKS, pause_every=5_000_000)


def test_hundred_megabyte_chunked_response_to_an_http10_client_is_unframed_until_close(proxy):
    response = run_chunked_download(proxy, MIXED_CHUNKS, version="1.0", extensions=True, trailers=TRAILERS)
    head = response.head + b"\r\n"
    assert header(head, "Transfer-Encoding") is None
    assert header(head, "Content-Length") is None
    assert header(head, "Connection") == "close"


def test_upstream_closing_in_a_spliced_chunk_aborts_the_response(proxy):
    """4 MiB announced, 1 MiB sent, then the upstream closes: the client's body breaks off (reset or
    end of file inside the chunk), never a terminated body that looks whole."""
    sent = MIB
    upstream = ChunkedUpstream([4 * MIB], close_after=sent)
    try:
        turnout = proxy(workers=1, groups=upstream.groups, wait_for_admin=True)
        sock = socket.create_connection((LOOPBACK, turnout.port()), timeout=SOCKET_TIMEOUT)
        with sock:
            sock.sendall(b"GET /chunks HTTP/1.1\r\nHost: test\r\n\r\n")
            response = ChunkedResponse(sock)
            assert response.head.startswith(b"HTTP/1.1 200")
            try:
                response.read_chunked()
                raise AssertionError("a cut-off chunked response arrived terminated")
            except (ConnectionError, OSError) as error:
                aborted = error
        assert response.size_lines == [b"400000\r\n"], response.size_lines
        assert response.length <= sent, aborted
        # The bytes the upstream did send went through the pipe before the abort.
        assert_spliced(turnout, "response", at_least=sent - BUFFER_CAPACITY, at_most=sent)
        turnout.process.wait_for_log("upstream closed mid-response")
    finally:
        upstream.close()


def chunked_upload(port: int, sizes: list[int], *, extensions: bool = False, trailers: bytes = b"",
                   pause_every: int | None = None) -> bytes:
    sock = socket.create_connection((LOOPBACK, port), timeout=SOCKET_TIMEOUT)
    try:
        sock.sendall(b"POST /upload HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\r\n")
        send_chunked_pattern(sock, sizes, extensions=extensions, trailers=trailers, pause_every=pause_every)
        head, _ = read_head(sock)
        return head
    finally:
        sock.close()


def run_chunked_upload(proxy, sizes: list[int], **options) -> None:
    """Uploads the pattern framed as ``sizes`` to the demo backend, which answers the decoded body's
    length and SHA-256; checks them and the splice counter."""
    turnout = proxy(workers=1, wait_for_admin=True)
    head = chunked_upload(turnout.port(), sizes, **options)
    total = sum(sizes)
    assert head.startswith(b"HTTP/1.1 200"), head
    assert header(head, "X-Echo-Body-Length") == str(total)
    assert header(head, "X-Echo-Body-Sha256") == pattern_sha256(total)
    assert_spliced(turnout, "request", at_least=spliceable_lower_bound(sizes), at_most=total)


def test_hundred_megabyte_chunked_upload_in_large_chunks(proxy):
    run_chunked_upload(proxy, LARGE_CHUNKS)


def test_hundred_megabyte_chunked_upload_mixing_tiny_and_large_chunks_with_extensions_and_trailers(proxy):
    run_chunked_upload(proxy, MIXED_CHUNKS, extensions=True, trailers=TRAILERS)


def test_hundred_megabyte_chunked_upload_from_a_slow_writer(proxy):
    run_chunked_upload(proxy, MIXED_CHUNKS, pause_every=5_000_000)


def test_small_bodies_are_copied_not_spliced(proxy):
    """A small chunked response, a small chunked upload and a small Content-Length body: nothing spliced."""
    turnout = proxy(workers=1, wait_for_admin=True)
    port = turnout.port()
    _, length, digest = download(port, "/bytes?n=1000", slow=False)
    assert (length, digest) == (1000, pattern_sha256(1000))
    head = upload(port, 1000, slow=False)
    assert header(head, "X-Echo-Body-Sha256") == pattern_sha256(1000)
    head = chunked_upload(port, [1000, 3000, 10])
    assert header(head, "X-Echo-Body-Sha256") == pattern_sha256(4010)
    sock = socket.create_connection((LOOPBACK, port), timeout=SOCKET_TIMEOUT)
    with sock:
        sock.sendall(b"GET /bytes?n=50000&chunked=1 HTTP/1.1\r\nHost: test\r\n\r\n")
        response = ChunkedResponse(sock)
        response.read_chunked()
    assert response.length == 50000
    assert response.digest.hexdigest() == pattern_sha256(50000)
    assert spliced_bytes(turnout, "response") == 0
    assert spliced_bytes(turnout, "request") == 0
