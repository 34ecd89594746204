"""The connection an instance keeps to etcd for the calls it waits for (a change's transaction, a read of the
prefix): one, reused from call to call, and opened again without a failed change when etcd's side closed it.

A TCP relay on loopback sits between the instance and a real etcd member: it forwards the bytes both ways and notes
which gateway requests went over each connection it accepted, so the test counts connections as etcd would see
them; it also closes a connection as the member would (between calls, or as a request arrives), and can forward a
transaction but lose etcd's answer, so that the instance cannot tell whether it was applied.
"""

from __future__ import annotations

import re
import socket
import struct
import threading

import pytest

from harness import LOOPBACK, wait_until
# The fleet's fixtures: a real etcd on loopback and instances sharing its prefix.
from test_fleet import (  # noqa: F401
    ETCD, admin_call, etcd, etcd_cluster, etcd_pki, fleet_member, generation, serves)

pytestmark = pytest.mark.skipif(ETCD is None, reason="etcd is not installed (make test-deps installs etcd-server)")

REQUEST_LINE = re.compile(rb"POST (/v3/[a-z/]+) HTTP/1\.1\r\n")
# The calls an instance waits for; its heartbeats, lease and watch are requests of their own connections.
UNARY = ("/v3/kv/txn", "/v3/kv/range")


class RelayedConnection:
    def __init__(self, client: socket.socket, upstream: socket.socket):
        self.client = client
        self.upstream = upstream
        self.sent = bytearray()  # everything the instance sent on it
        self.closed = False
        # Set on the connection that carried the transaction ``EtcdRelay.next_transaction`` chose a fate for.
        self.fate: str | None = None

    @property
    def requests(self) -> list[str]:
        return [match.decode() for match in REQUEST_LINE.findall(bytes(self.sent))]

    @property
    def unary(self) -> bool:
        return any(path in UNARY for path in self.requests)

    def close(self, reset: bool = False) -> None:
        """Closes both sides: a FIN to the instance, or with ``reset`` a RST."""
        if self.closed:
            return
        self.closed = True
        if reset:
            self.client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        for side in (self.client, self.upstream):
            try:
                if not reset:
                    side.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            side.close()


class EtcdRelay:
    """Forwards every connection accepted on ``port`` to etcd's client port ``upstream``."""

    def __init__(self, upstream: int):
        self.upstream = upstream
        self.listener = socket.create_server((LOOPBACK, 0))
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.connections: list[RelayedConnection] = []
        # What happens to the next transaction: None (forwarded), "cut" (closed on, not forwarded), "lose the answer"
        # (forwarded, etcd's answer dropped and the connection closed).
        self.next_transaction: str | None = None
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    def unary_connections(self) -> list[RelayedConnection]:
        with self.lock:
            return [connection for connection in self.connections if connection.unary]

    def close_all(self) -> None:
        """Closes every connection so far (the watch's, the heartbeats', the waited-for calls'), as a member that
        restarts does; over TLS, where the requests cannot be told apart."""
        with self.lock:
            connections = list(self.connections)
        for connection in connections:
            connection.close()

    def close_unary(self, reset: bool = False) -> None:
        """Closes the connections the waited-for calls went over, as a restarted member's end would."""
        for connection in self.unary_connections():
            connection.close(reset)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection((LOOPBACK, self.upstream))
            connection = RelayedConnection(client, upstream)
            with self.lock:
                self.connections.append(connection)
            threading.Thread(target=self._requests, args=(connection,), daemon=True).start()
            threading.Thread(target=self._answers, args=(connection,), daemon=True).start()

    def _requests(self, connection: RelayedConnection) -> None:
        while True:
            try:
                data = connection.client.recv(65536)
            except OSError:
                data = b""
            if not data:
                return connection.close()
            with self.lock:
                connection.sent += data
                fate = self.next_transaction if b"POST /v3/kv/txn " in data else None
                if fate:
                    self.next_transaction = None
                    connection.fate = fate
            if fate == "cut":
                return connection.close()
            try:
                connection.upstream.sendall(data)
            except OSError:
                return connection.close()

    def _answers(self, connection: RelayedConnection) -> None:
        while True:
            try:
                data = connection.upstream.recv(65536)
            except OSError:
                data = b""
            if not data or connection.fate == "lose the answer":
                return connection.close()
            try:
                connection.client.sendall(data)
            except OSError:
                return connection.close()

    def stop(self) -> None:
        self.listener.close()
        with self.lock:
            for connection in self.connections:
                connection.close()


@pytest.fixture
def relay(etcd):
    relay = EtcdRelay(etcd.members[0]["client"])
    yield relay
    relay.stop()


def switch(member, to: str) -> dict:
    reply = admin_call(member, "POST", "/v1/switch", json_body={"to": to})
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_the_waited_for_calls_share_one_connection_to_etcd(fleet_member, relay):
    a = fleet_member("a", endpoints=[relay.endpoint])
    for number in range(10):
        switch(a, "green" if number % 2 == 0 else "blue")
    assert serves(a, "blue")

    unary = relay.unary_connections()
    assert len(unary) == 1, [connection.requests for connection in unary]
    # The read of the prefix at start, then the ten changes' transactions, one after the other on it.
    assert unary[0].requests.count("/v3/kv/txn") == 10, unary[0].requests


@pytest.mark.parametrize("reset", [False, True], ids=["closed", "reset"])
def test_a_connection_etcd_closed_between_calls_costs_no_failed_change(fleet_member, relay, reset):
    a, b = fleet_member("a", endpoints=[relay.endpoint]), fleet_member("b")
    switch(a, "green")

    relay.close_unary(reset=reset)
    switched = switch(a, "blue")  # on a new connection, found closed before sending
    assert serves(a, "blue")
    assert len(relay.unary_connections()) == 2
    assert admin_call(a, "GET", "/healthz").status_code == 200
    assert generation(a) == switched["generation"]
    assert wait_until(lambda: serves(b, "blue"), timeout=10), b.process.log_tail()


@pytest.mark.parametrize("fate", ["cut", "lose the answer"])
def test_a_transaction_closed_on_before_its_answer_is_sent_again_and_applied_once(fleet_member, relay, fate):
    """The connection closes after the whole transaction went out and before a byte of answer: the instance cannot
    tell whether etcd applied it, and sends it again on a new connection. "cut": it never reached etcd, and the
    second copy is applied. "lose the answer": etcd applied it; the second copy loses its compare (``head`` moved)
    and the failure's read of the record's key finds this instance's own record. Either way the change is
    acknowledged and applied once."""
    a = fleet_member("a", endpoints=[relay.endpoint])
    before = switch(a, "green")["generation"]

    relay.next_transaction = fate
    after = switch(a, "blue")["generation"]
    assert after == before + 1
    assert serves(a, "blue")
    assert admin_call(a, "GET", "/healthz").status_code == 200
    assert len(relay.unary_connections()) == 2
    entries = admin_call(a, "GET", "/v1/audit").json()["entries"]
    assert [entry["generation_after"] for entry in entries if entry["action"] == "switch"] == [before, after]


@pytest.mark.parametrize("etcd", [{"size": 1, "tls": True}], indirect=True)
def test_over_tls_a_connection_etcd_closed_between_calls_costs_no_failed_change(fleet_member, etcd, relay):
    a = fleet_member("a", endpoints=[f"https://{relay.endpoint}"])
    switch(a, "green")
    switch(a, "blue")

    relay.close_all()
    switched = switch(a, "green")  # a new connection and a new handshake, nothing refused
    assert serves(a, "green")
    assert generation(a) == switched["generation"]
    assert wait_until(lambda: admin_call(a, "GET", "/healthz").status_code == 200, timeout=10), a.process.log_tail()
