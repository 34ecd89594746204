"""HTTP/1.1 over a bare socket: exact bytes out, parsed responses in.

http.client and requests normalise what they send and forgive what they receive;
the framing tests need neither, so they use these helpers.
"""

from __future__ import annotations

import hashlib
import socket
import ssl
from dataclasses import dataclass, field

from harness import LOOPBACK, SOCKET_TIMEOUT


@dataclass
class Response:
    """One parsed HTTP response."""

    status_line: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @property
    def status(self) -> int:
        return int(self.status_line.split(" ", 2)[1])

    def header(self, name: str) -> str | None:
        """The value of a header (first occurrence), case-insensitive; None when absent."""
        values = self.header_values(name)
        return values[0] if values else None

    def header_values(self, name: str) -> list[str]:
        wanted = name.lower()
        return [value for key, value in self.headers if key.lower() == wanted]


class ConnectionClosed(Exception):
    """The peer closed (FIN or RST) before a complete response arrived."""


class Conn:
    """A client socket with a receive buffer, so pipelined responses and leftovers are kept."""

    def __init__(self, port: int, host: str = LOOPBACK, timeout: float = SOCKET_TIMEOUT,
                 tls: "ssl.SSLContext | None" = None, server_name: str | None = None):
        """``tls``: speak TLS over the connection, sending ``server_name`` (SNI) when given."""
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            self.start_tls(tls, server_name)
        self.sock.settimeout(timeout)
        # A bytearray grows in place: appending to bytes copied the whole buffer on every read (16 KiB a TLS record),
        # so reading an 8 MiB body took seconds of CPU, long enough under load for the proxy to see the transfer stall.
        self.buffer = bytearray()

    def start_tls(self, context: "ssl.SSLContext", server_name: str | None = None) -> None:
        """Make the TLS handshake over the connection (still unused), sending ``server_name`` (SNI) when given."""
        self.sock = context.wrap_socket(self.sock, server_hostname=server_name)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> "Conn":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError as error:
            raise ConnectionClosed("connection reset") from error
        if not chunk:
            raise ConnectionClosed("connection closed")
        self.buffer += chunk

    def _take(self, count: int) -> bytes:
        data = bytes(self.buffer[:count])
        del self.buffer[:count]
        return data

    def read_until(self, marker: bytes) -> bytes:
        while marker not in self.buffer:
            self._fill()
        return self._take(self.buffer.index(marker) + len(marker))

    def read_exactly(self, count: int) -> bytes:
        while len(self.buffer) < count:
            self._fill()
        return self._take(count)

    def read_to_eof(self) -> bytes:
        while True:
            try:
                self._fill()
            except ConnectionClosed:
                return self._take(len(self.buffer))

    def read_head(self) -> Response:
        head = self.read_until(b"\r\n\r\n").decode("latin-1")
        lines = head[:-4].split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers.append((name.strip(), value.strip()))
        return Response(status_line=lines[0], headers=headers)

    def read_response(self, *, request_method: str = "GET") -> Response:
        """Read one final response (1xx interim responses are skipped) including its body."""
        while True:
            response = self.read_head()
            if not 100 <= response.status < 200 or response.status == 101:
                break
        response.body = self._read_body(response, request_method)
        return response

    def _read_body(self, response: Response, request_method: str) -> bytes:
        if request_method == "HEAD" or response.status in (101, 204, 304):
            return b""
        transfer_encoding = (response.header("Transfer-Encoding") or "").lower()
        if "chunked" in transfer_encoding:
            return self._read_chunked()
        length = response.header("Content-Length")
        if length is not None:
            return self.read_exactly(int(length))
        return self.read_to_eof()

    def _read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size_line = self.read_until(b"\r\n")[:-2]
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                while self.read_until(b"\r\n") != b"\r\n":  # trailers
                    pass
                return bytes(body)
            body += self.read_exactly(size)
            if self.read_exactly(2) != b"\r\n":
                raise AssertionError("chunk not followed by CRLF")

    def is_closed_by_peer(self, timeout: float = 3.0) -> bool:
        """True when the peer has closed: the next read gives EOF or a reset within ``timeout``."""
        if self.buffer:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False
        finally:
            self.sock.settimeout(SOCKET_TIMEOUT)
        if data:
            self.buffer += data
            return False
        return True


def exchange(port: int, request: bytes, *, request_method: str = "GET") -> Response:
    """Open a connection, send ``request`` as-is, read one response, close."""
    with Conn(port) as conn:
        conn.send(request)
        return conn.read_response(request_method=request_method)


def parse_echoed_head(body: bytes) -> tuple[str, list[tuple[str, str]]]:
    """Split the demo backend's /echo body into the request line and header fields it received."""
    head, separator, _ = body.partition(b"\r\n\r\n")
    assert separator, f"echo body has no end of head: {body[:200]!r}"
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        assert colon, f"echoed header line without a colon: {line!r}"
        headers.append((name, value.strip()))
    return lines[0], headers


def header_values(headers: list[tuple[str, str]], name: str) -> list[str]:
    wanted = name.lower()
    return [value for key, value in headers if key.lower() == wanted]


def pattern_bytes(count: int) -> bytes:
    """The demo backend's /bytes body: byte i is i % 251."""
    block = bytes(range(251))
    repeats, rest = divmod(count, 251)
    return block * repeats + block[:rest]


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
