"""A Server-Sent Events client on ``requests`` (``stream=True``): a thread reads the stream as bytes arrive and
parses it as the HTML standard's EventSource does (``id``, ``event``, ``data``, ``retry`` fields; comment lines;
a blank line ends an event), so a test can wait for events while it does other things."""

from __future__ import annotations

import json
import queue
import socket
import threading
import time
from dataclasses import dataclass
from typing import Callable

import requests
import urllib3

from harness import SOCKET_TIMEOUT


@dataclass
class Event:
    """One event: its fields as sent, and its data parsed as JSON."""

    event: str
    id: str | None
    data: dict

    @property
    def number(self) -> int | None:
        return None if self.id is None else int(self.id)


class SSEStream:
    """``GET url`` read as an event stream until ``close()``; ``status`` and ``headers`` are the response's."""

    def __init__(self, url: str, headers: dict[str, str] | None = None):
        # Reads may wait longer than the 15 s between heartbeats.
        self.response = requests.get(url, headers={"Accept": "text/event-stream", **(headers or {})}, stream=True,
                                     timeout=(SOCKET_TIMEOUT, 60))
        self.status = self.response.status_code
        self.headers = self.response.headers
        self.comments: list[str] = []
        self.retry: int | None = None
        self.ended = threading.Event()
        self._events: queue.Queue[Event] = queue.Queue()
        self._seen: list[Event] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        if self.status == 200:
            self._reader.start()
        else:
            self.ended.set()

    def _read(self) -> None:
        buffer = b""
        fields: dict[str, str] = {}
        data_lines: list[str] = []
        try:
            # read1: whatever has arrived (up to 64 KiB), without waiting for more; b"" at the end.
            while chunk := self.response.raw.read1(65536):
                buffer += chunk
                while b"\n" in buffer:
                    raw, buffer = buffer.split(b"\n", 1)
                    line = raw.decode().rstrip("\r")
                    if line == "":
                        if data_lines:
                            self._events.put(Event(fields.get("event", "message"), fields.get("id"),
                                                   json.loads("\n".join(data_lines))))
                        fields, data_lines = {}, []
                    elif line.startswith(":"):
                        self.comments.append(line[1:].strip())
                    else:
                        name, _, value = line.partition(":")
                        value = value[1:] if value.startswith(" ") else value
                        if name == "data":
                            data_lines.append(value)
                        elif name == "retry":
                            self.retry = int(value)
                        else:
                            fields[name] = value
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError, ValueError):
            pass
        finally:
            self.ended.set()

    def next(self, timeout: float = 5.0) -> Event:
        """The next event; fails when none comes within ``timeout``."""
        try:
            event = self._events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no event within {timeout}s (ended: {self.ended.is_set()}); "
                                 f"seen: {[(e.event, e.id) for e in self._seen]}") from None
        self._seen.append(event)
        return event

    def until(self, predicate: Callable[[Event], bool], timeout: float = 10.0) -> list[Event]:
        """Every event up to and including the first that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        taken = []
        while True:
            event = self.next(max(0.01, deadline - time.monotonic()))
            taken.append(event)
            if predicate(event):
                return taken

    def close(self) -> None:
        # Closing the response does not wake the reader blocked in recv; shutting the socket down does (through
        # a duplicate of its descriptor: shutdown acts on the socket, whichever descriptor names it).
        if not self.ended.is_set():
            try:
                with socket.fromfd(self.response.raw.fileno(), socket.AF_INET, socket.SOCK_STREAM) as duplicate:
                    duplicate.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._reader.join(timeout=SOCKET_TIMEOUT)
        self.response.close()

    def __enter__(self) -> "SSEStream":
        return self

    def __exit__(self, *_) -> None:
        self.close()
