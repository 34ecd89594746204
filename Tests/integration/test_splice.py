"""Large bodies through the zero-copy path: bytes arrive unchanged in both directions,
with slow readers and slow writers on either side (back-pressure through the pipe)."""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time

from harness import LOOPBACK, SOCKET_TIMEOUT
from raw_http import pattern_bytes

HUNDRED_MB = 100 * 1000 * 1000
PATTERN = pattern_bytes(251 * 4096)


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
    turnout = proxy(workers=1)
    head, length, digest = download(turnout.port(), f"/bytes?n={HUNDRED_MB}", slow=False)
    assert head.startswith(b"HTTP/1.1 200")
    assert length == HUNDRED_MB
    assert digest == pattern_sha256(HUNDRED_MB)


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
    turnout = proxy(workers=1)
    head = upload(turnout.port(), HUNDRED_MB, slow=False)
    assert head.startswith(b"HTTP/1.1 200")
    assert header(head, "X-Echo-Body-Length") == str(HUNDRED_MB)
    assert header(head, "X-Echo-Body-Sha256") == pattern_sha256(HUNDRED_MB)


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
