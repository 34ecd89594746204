"""A hand-driven upstream: a plain Python listening socket that records every byte it receives.

It stands in for a backend when a test must prove what did (or did not) reach the
upstream side, or when the upstream must misbehave in a way a real server won't.
"""

from __future__ import annotations

import re
import socket
import threading

from harness import LOOPBACK, SOCKET_TIMEOUT, free_port

OK_RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Served-By: raw\r\n\r\nok"
GARBAGE_RESPONSE = b"NOT HTTP\r\n\r\n"


class RawUpstream:
    """Accepts connections on a loopback port and answers each complete request per ``mode``.

    Modes:
      - ``"ok"``: a fixed 200 with body ``ok`` (keep-alive), or the bytes of ``response`` when given;
      - ``"garbage"``: ``NOT HTTP\\r\\n\\r\\n`` and close.
    A request counts as complete once its head and its Content-Length or chunked body arrived;
    a request whose body never completes is recorded but never answered.
    """

    def __init__(self, mode: str = "ok", response: bytes = OK_RESPONSE):
        assert mode in ("ok", "garbage")
        self.mode = mode
        self.response = response
        self.port = free_port()
        self.address = f"{LOOPBACK}:{self.port}"
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind((LOOPBACK, self.port))
        self._listener.listen(64)
        self._listener.settimeout(0.2)
        self._lock = threading.Lock()
        self._received: list[bytes] = []
        self.accepted = 0
        # Connections the other side (the proxy) closed: recv returned end of file, or a send
        # found the connection reset.
        self.closed_by_peer = 0
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._connections: list[socket.socket] = []
        acceptor = threading.Thread(target=self._accept_loop, name=f"raw-upstream-{self.port}", daemon=True)
        acceptor.start()
        self._threads.append(acceptor)

    @property
    def received(self) -> bytes:
        """Every byte received on every connection so far, concatenated in arrival order per connection."""
        with self._lock:
            return b"".join(self._received)

    def _accept_loop(self) -> None:
        while not self._stopping.is_set():
            try:
                connection, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                index = len(self._received)
                self._received.append(b"")
                self._connections.append(connection)
            worker = threading.Thread(target=self._serve, args=(connection, index), daemon=True)
            worker.start()
            self._threads.append(worker)

    def _serve(self, connection: socket.socket, index: int) -> None:
        connection.settimeout(0.2)
        pending = b""
        try:
            while not self._stopping.is_set():
                try:
                    chunk = connection.recv(65536)
                except socket.timeout:
                    continue
                if not chunk:
                    with self._lock:
                        self.closed_by_peer += 1
                    return
                with self._lock:
                    self._received[index] += chunk
                pending += chunk
                while True:
                    consumed = _complete_request_length(pending)
                    if consumed is None:
                        break
                    pending = pending[consumed:]
                    if self.mode == "ok":
                        connection.sendall(self.response)
                    elif self.mode == "garbage":
                        connection.sendall(GARBAGE_RESPONSE)
                        return
        except (BrokenPipeError, ConnectionResetError):
            with self._lock:
                self.closed_by_peer += 1
        except OSError:
            return
        finally:
            connection.close()

    def close(self) -> None:
        self._stopping.set()
        self._listener.close()
        for thread in self._threads:
            thread.join(timeout=2)


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r\ntransfer-encoding:[^\r\n]*chunked", re.IGNORECASE)


def _complete_request_length(data: bytes) -> int | None:
    """Bytes taken by the first complete request in ``data``, or None when it is not complete yet."""
    end_of_head = data.find(b"\r\n\r\n")
    if end_of_head < 0:
        return None
    head = data[: end_of_head + 2]
    body_start = end_of_head + 4
    if _CHUNKED.search(head):
        # Walk the chunks; a size line that is not hex never completes (the request is answered never).
        position = body_start
        while True:
            line_end = data.find(b"\r\n", position)
            if line_end < 0:
                return None
            try:
                size = int(data[position:line_end].split(b";")[0], 16)
            except ValueError:
                return None
            position = line_end + 2
            if size == 0:
                trailer_end = data.find(b"\r\n\r\n", position - 2)
                return None if trailer_end < 0 else trailer_end + 4
            position += size + 2
            if position > len(data):
                return None
    match = _CONTENT_LENGTH.search(head)
    length = int(match.group(1)) if match else 0
    if len(data) < body_start + length:
        return None
    return body_start + length


class ScriptedUpstream:
    """A backend on its own listener: each accepted connection is handed to ``_answer`` on a thread."""

    name = "scripted-upstream"

    def __init__(self):
        self.listener = socket.create_server((LOOPBACK, 0), backlog=128)
        self.address = f"{LOOPBACK}:{self.listener.getsockname()[1]}"
        self.thread = threading.Thread(target=self._serve, name=self.name, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.listener.accept()
            except OSError:
                return  # closed at teardown
            threading.Thread(target=self._guarded, args=(connection,), daemon=True).start()

    def _guarded(self, connection: socket.socket) -> None:
        with connection:
            connection.settimeout(SOCKET_TIMEOUT)
            try:
                self._answer(connection)
            except OSError:
                pass

    def _answer(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def stop_accepting(self) -> None:
        """Closes the listener: new connections are refused from now on."""
        # shutdown() wakes the blocked accept(); close() alone would not.
        try:
            self.listener.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.listener.close()

    def close(self) -> None:
        self.stop_accepting()
        self.thread.join(timeout=5)
        assert not self.thread.is_alive(), f"the {self.name}'s thread did not stop"


def read_request_head(connection: socket.socket, received: bytes) -> bytes | None:
    """Reads until a request head is complete; returns what follows it, or None at end of file."""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            return None
        received += chunk
    return received[received.index(b"\r\n\r\n") + 4:]
