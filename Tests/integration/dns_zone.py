"""What a name resolves to, under the test's control, for the tests of targets by name.

``NameServer`` answers DNS queries (dnslib) on UDP port 53 of a loopback address of its own, from a zone the
test changes while the proxy runs: a name's IPv4 addresses, or NXDOMAIN once the test removes it. The proxy
runs in a mount namespace of its own (``unshare --mount``) where a ``resolv.conf`` naming that server is
bind-mounted over ``/etc/resolv.conf``: its ``getaddrinfo`` asks our server, nothing on the machine changes,
and no other process sees it. ``/etc/hosts`` is read first as usual; the tests' names are not in it.
"""

from __future__ import annotations

import errno
import random
import shutil
import subprocess
import threading
from pathlib import Path

from dnslib import QTYPE, RCODE, RR, A
from dnslib.server import BaseResolver, DNSLogger, DNSServer

TTL = 1


class Zone(BaseResolver):
    """name → IPv4 addresses; any other name is NXDOMAIN. Safe to change while the server answers."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: dict[str, list[str]] = {}
        self.queries: list[str] = []

    def set(self, name: str, addresses: list[str]) -> None:
        with self._lock:
            self._records[name.rstrip(".").lower()] = list(addresses)

    def remove(self, name: str) -> None:
        with self._lock:
            self._records.pop(name.rstrip(".").lower(), None)

    def resolve(self, request, handler):  # dnslib's resolver interface
        reply = request.reply()
        name = str(request.q.qname).rstrip(".").lower()
        with self._lock:
            self.queries.append(name)
            addresses = self._records.get(name)
        if addresses is None:
            reply.header.rcode = RCODE.NXDOMAIN
        elif request.q.qtype in (QTYPE.A, QTYPE.ANY):
            for address in addresses:
                reply.add_answer(RR(request.q.qname, QTYPE.A, rdata=A(address), ttl=TTL))
        # AAAA and other types of a known name: no record, no error (NODATA).
        return reply


class NameServer:
    """A ``Zone`` served on ``address``:53 (a random 127.x.y.z), with the ``resolv.conf`` that names it."""

    def __init__(self, directory: Path):
        self.zone = Zone()
        quiet = DNSLogger(log="-request,-reply,-truncated,-error,-recv,-send,-data", prefix=False)
        for _ in range(50):
            address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.53"
            try:
                self._server = DNSServer(self.zone, address=address, port=53, logger=quiet)
                break
            except OSError as failure:
                if failure.errno != errno.EADDRINUSE:
                    raise
        else:
            raise RuntimeError("no free loopback address for the test name server")
        self.address = address
        self._server.start_thread()
        self.resolv_conf = directory / "resolv.conf"
        # A removed name is answered NXDOMAIN at once, so no test waits for a timeout; the retries are for a
        # loaded machine, where this Python server can take longer than glibc's one-second try to answer.
        self.resolv_conf.write_text(f"nameserver {address}\noptions timeout:2 attempts:3\n")

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run in a mount namespace of its own whose ``/etc/resolv.conf`` names this server."""
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                'mount --bind "$0" /etc/resolv.conf && exec "$@"', str(self.resolv_conf), *argv]

    def stop(self) -> None:
        self._server.stop()


def can_unshare_mounts() -> str | None:
    """None when this process may run a command in a mount namespace of its own; why not otherwise."""
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    result = subprocess.run(["unshare", "--mount", "--propagation", "private", "true"], capture_output=True, text=True)
    return None if result.returncode == 0 else f"unshare --mount failed (needs root): {result.stderr.strip()}"
