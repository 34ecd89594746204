"""Routing by listener and the request rewriting a backend sees."""

from __future__ import annotations

import re

import requests

from harness import LOOPBACK, SOCKET_TIMEOUT
from raw_http import Conn, exchange, header_values, parse_echoed_head

HOP_BY_HOP = ("x-foo", "keep-alive", "te", "proxy-connection", "upgrade", "trailer")


def get(port: int, path: str, **kwargs) -> requests.Response:
    return requests.get(f"http://{LOOPBACK}:{port}{path}", timeout=SOCKET_TIMEOUT, **kwargs)


def test_production_listener_goes_to_blue(proxy):
    turnout = proxy()
    response = get(turnout.port("production"), "/")
    assert response.status_code == 200
    assert response.headers["X-Served-By"] == "blue"
    assert response.content == b"Hello World! from blue\n"


def test_test_listener_goes_to_green(proxy):
    turnout = proxy()
    response = get(turnout.port("test"), "/")
    assert response.status_code == 200
    assert response.headers["X-Served-By"] == "green"
    assert response.content == b"Hello World! from green\n"


def test_forwarding_headers_are_added(proxy):
    turnout = proxy()
    port = turnout.port("production")
    response = exchange(port, b"GET /echo HTTP/1.1\r\nHost: app.example\r\n\r\n")
    assert response.status == 200
    request_line, headers = parse_echoed_head(response.body)
    assert request_line == "GET /echo HTTP/1.1"
    assert header_values(headers, "host") == ["app.example"]
    assert header_values(headers, "x-forwarded-for") == ["127.0.0.1"]
    assert header_values(headers, "x-forwarded-proto") == ["http"]
    assert header_values(headers, "x-forwarded-port") == [str(port)]
    via = header_values(headers, "via")
    assert len(via) == 1 and re.fullmatch(r"1\.1 \S+", via[0]), via
    request_ids = header_values(headers, "x-request-id")
    assert len(request_ids) == 1 and request_ids[0].strip() != ""
    # The backend's own view of the id agrees with the echoed head.
    assert response.header("X-Request-Id-Seen") == request_ids[0]


def test_absolute_form_target_replaces_the_host(proxy):
    """RFC 9112 §3.2.2: the upstream gets origin-form and the target's authority as Host, never the
    client's Host, so the client cannot reach another virtual host than the one it named."""
    turnout = proxy()
    response = exchange(
        turnout.port(), b"GET http://good.example:8080/echo?x=1 HTTP/1.1\r\nHost: evil.example\r\n\r\n")
    assert response.status == 200
    request_line, headers = parse_echoed_head(response.body)
    assert request_line == "GET /echo?x=1 HTTP/1.1"
    assert header_values(headers, "host") == ["good.example:8080"]


def test_http10_request_without_host_gets_the_targets_address(proxy, backends):
    """HTTP/1.0 needs no Host, HTTP/1.1 does: the request goes upstream as HTTP/1.1 with the target's
    host:port as Host, what the target would see from a client that addressed it directly."""
    turnout = proxy()
    response = exchange(turnout.port(), b"GET /echo HTTP/1.0\r\n\r\n")
    assert response.status == 200
    request_line, headers = parse_echoed_head(response.body)
    assert request_line == "GET /echo HTTP/1.1"
    assert header_values(headers, "host") == [backends.blue.address]
    assert header_values(headers, "via") == ["1.0 turnout"]


def test_request_ids_differ_between_requests(proxy):
    turnout = proxy()
    seen = {get(turnout.port(), "/health").headers["X-Request-Id-Seen"] for _ in range(5)}
    assert "-" not in seen
    assert len(seen) == 5


def test_existing_request_id_is_preserved(proxy):
    turnout = proxy()
    response = exchange(
        turnout.port(),
        b"GET /echo HTTP/1.1\r\nHost: app.example\r\nX-Request-Id: client-chosen-42\r\n\r\n",
    )
    assert response.status == 200
    _, headers = parse_echoed_head(response.body)
    assert header_values(headers, "x-request-id") == ["client-chosen-42"]
    assert response.header("X-Request-Id-Seen") == "client-chosen-42"


def test_hop_by_hop_headers_are_removed(proxy):
    turnout = proxy()
    response = exchange(
        turnout.port(),
        b"GET /echo HTTP/1.1\r\n"
        b"Host: app.example\r\n"
        b"Connection: X-Foo\r\n"
        b"X-Foo: 1\r\n"
        b"Keep-Alive: timeout=5\r\n"
        b"TE: trailers\r\n"
        b"Proxy-Connection: keep-alive\r\n"
        b"X-End-To-End: kept\r\n"
        b"\r\n",
    )
    assert response.status == 200
    _, headers = parse_echoed_head(response.body)
    names = {name.lower() for name, _ in headers}
    assert names.isdisjoint(HOP_BY_HOP), headers
    # The proxy may speak its own Connection header upstream, but not the client's option list.
    for value in header_values(headers, "connection"):
        assert "x-foo" not in value.lower(), headers
    assert header_values(headers, "x-end-to-end") == ["kept"]


def test_response_reaches_client_with_backend_headers(proxy):
    turnout = proxy()
    response = get(turnout.port(), "/status?code=404")
    assert response.status_code == 404
    assert response.headers["X-Served-By"] == "blue"


# Five times `Worker.acceptsPerTurn`: most of them wait in the listener's backlog for later turns.
MORE_THAN_A_TURN_ACCEPTS = 40


def test_more_connections_at_once_than_a_turn_accepts_are_all_answered(proxy):
    turnout = proxy(workers=1)
    connections = [Conn(turnout.port()) for _ in range(MORE_THAN_A_TURN_ACCEPTS)]
    for conn in connections:
        conn.send(b"GET / HTTP/1.1\r\nHost: app.example\r\nConnection: close\r\n\r\n")
    for conn in connections:
        response = conn.read_response()
        assert response.status == 200
        assert response.body == b"Hello World! from blue\n"
        conn.close()
