"""Turnout's admin API as the benchmarks use it: one-off JSON requests, a kept-alive connection whose requests are
timed from the send to the whole response, and a reader of `GET /v1/events`."""

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from http.client import HTTPConnection, HTTPException

from .processes import StartFailure


def now_ns():
    """CLOCK_MONOTONIC, the clock the load generator stamps requests with."""
    return time.monotonic_ns()


def http(method, url, body=None, timeout=10):
    """(status, parsed JSON or text) of one request."""
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={} if body is None or isinstance(body, bytes)
                                     else {"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text


class AdminConnection:
    """One kept-alive connection to an admin API (opened again after the server closed it). `request` times each
    exchange from the send to the last byte of the response: its Content-Length, or the connection's end for a
    streamed one (a held `?wait=fleet` answer), which takes a new connection for the next request."""

    def __init__(self, port):
        self.port = port
        self.socket = None
        self.buffer = b""

    def _receive(self):
        chunk = self.socket.recv(65536)
        if not chunk:
            raise OSError("admin connection closed before the whole response")
        self.buffer += chunk

    def _take_until(self, marker):
        while marker not in self.buffer:
            self._receive()
        taken, _, self.buffer = self.buffer.partition(marker)
        return taken

    def _take(self, count):
        while len(self.buffer) < count:
            self._receive()
        taken, self.buffer = self.buffer[:count], self.buffer[count:]
        return taken

    def request(self, method, path, body=None):
        """(sent_ns, answered_ns, status, body bytes) of one request."""
        payload = b"" if body is None else json.dumps(body).encode()
        kind = "" if body is None else "Content-Type: application/json\r\n"
        request = (f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\n{kind}"
                   f"Content-Length: {len(payload)}\r\n\r\n").encode() + payload
        if self.socket is None:
            self.socket = socket.create_connection(("127.0.0.1", self.port), timeout=70)
            self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self.buffer = b""
        sent = now_ns()
        self.socket.sendall(request)
        lines = self._take_until(b"\r\n\r\n").decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body_bytes = self._take(int(headers["content-length"]))
        else:
            while chunk := self.socket.recv(65536):
                self.buffer += chunk
            body_bytes, self.buffer = self.buffer, b""
        answered = now_ns()
        if "content-length" not in headers or "close" in headers.get("connection", "").lower():
            self.close()
        return sent, answered, status, body_bytes

    def close(self):
        if self.socket is not None:
            self.socket.close()
            self.socket = None


class EventReader:
    """`GET /v1/events` read by a thread: each event's data with when the client read it (monotonic ns). The
    routing event of a change is published once the change is in force, so its read time is an upper bound of
    the moment requests began to be routed by it."""

    def __init__(self, port):
        self.events = []
        self.connection = HTTPConnection("127.0.0.1", port, timeout=600)
        self.connection.connect()
        self.socket = self.connection.sock  # the response keeps it, the connection lets go of it
        self.connection.request("GET", "/v1/events", headers={"Accept": "text/event-stream"})
        self.response = self.connection.getresponse()
        if self.response.status != 200:
            raise StartFailure(f"GET /v1/events answered {self.response.status}")
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        kind, data = None, []
        try:
            for raw in self.response:
                line = raw.decode().rstrip("\r\n")
                if line.startswith("event:"):
                    kind = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif not line:
                    if kind and data:
                        self.events.append((now_ns(), kind, json.loads("\n".join(data))))
                    kind, data = None, []
        except (OSError, ValueError, HTTPException):
            pass

    def routing_read_at(self, generation):
        """When the routing event of the change to `generation` was read; None when it was not."""
        return next((at for at, kind, data in self.events
                     if kind == "routing" and data.get("generation_after") == generation), None)

    def close(self):
        try:
            self.socket.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.thread.join(timeout=5)
        self.connection.close()
