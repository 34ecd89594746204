"""Request and response bodies: chunked both ways, large both ways, HEAD, Expect: 100-continue."""

from __future__ import annotations

import hashlib
import http.client

import pytest

from admin_client import NO_CHECKS
from harness import LOOPBACK, SOCKET_TIMEOUT, wait_until
from raw_http import Conn, pattern_bytes, sha256_hex

TEN_MB = 10 * 1024 * 1024


def open_connection(port: int) -> http.client.HTTPConnection:
    return http.client.HTTPConnection(LOOPBACK, port, timeout=SOCKET_TIMEOUT)


def test_chunked_upload(proxy):
    turnout = proxy()
    chunks = [b"a" * 1, b"bc" * 500, pattern_bytes(70000), b"", b"z" * 3]
    expected = b"".join(chunks)
    connection = open_connection(turnout.port())
    try:
        connection.request("POST", "/upload", body=iter(chunks), encode_chunked=True,
                           headers={"Transfer-Encoding": "chunked"})
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("X-Served-By") == "blue"
        assert response.getheader("X-Echo-Body-Length") == str(len(expected))
        assert response.getheader("X-Echo-Body-Sha256") == sha256_hex(expected)
    finally:
        connection.close()


@pytest.mark.parametrize("size", [0, 1, 250, 251, 65536, 1_000_003])
def test_chunked_download(proxy, size):
    turnout = proxy()
    connection = open_connection(turnout.port())
    try:
        connection.request("GET", f"/bytes?n={size}&chunked=1")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Transfer-Encoding") == "chunked"
        assert response.read() == pattern_bytes(size)
        # The connection stays usable: the chunked framing ended where it should.
        connection.request("GET", "/")
        follow_up = connection.getresponse()
        assert follow_up.read() == b"Hello World! from blue\n"
    finally:
        connection.close()


def test_ten_megabyte_download(proxy):
    turnout = proxy()
    connection = open_connection(turnout.port())
    try:
        connection.request("GET", f"/bytes?n={TEN_MB}")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") == str(TEN_MB)
        digest = hashlib.sha256()
        received = 0
        while chunk := response.read(1 << 20):
            digest.update(chunk)
            received += len(chunk)
        assert received == TEN_MB
        assert digest.hexdigest() == sha256_hex(pattern_bytes(TEN_MB))
    finally:
        connection.close()


def test_ten_megabyte_upload(proxy):
    turnout = proxy()
    body = hashlib.sha256(b"seed").digest() * (TEN_MB // 32)
    connection = open_connection(turnout.port())
    try:
        connection.request("POST", "/upload", body=body)
        response = connection.getresponse()
        response.read()
        assert response.status == 200
        assert response.getheader("X-Echo-Body-Length") == str(TEN_MB)
        assert response.getheader("X-Echo-Body-Sha256") == sha256_hex(body)
    finally:
        connection.close()


def test_head_has_headers_and_no_body(proxy):
    turnout = proxy()
    with Conn(turnout.port()) as conn:
        conn.send(b"HEAD /bytes?n=5000 HTTP/1.1\r\nHost: a\r\n\r\n")
        response = conn.read_response(request_method="HEAD")
        assert response.status == 200
        assert response.header("Content-Length") == "5000"
        assert response.header("X-Served-By") == "blue"
        # Had any body bytes followed the HEAD response they would precede this response.
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        follow_up = conn.read_response()
        assert follow_up.status_line.startswith("HTTP/1.1 200")
        assert follow_up.body == b"Hello World! from blue\n"


def test_expect_100_continue(proxy):
    turnout = proxy()
    body = b"sent only after 100 Continue"
    with Conn(turnout.port()) as conn:
        conn.send(
            b"POST /upload HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
        )
        interim = conn.read_head()
        assert interim.status == 100, interim.status_line
        assert interim.status_line.startswith("HTTP/1.1 100")
        conn.send(body)
        final = conn.read_response()
        assert final.status == 200
        assert final.header("X-Served-By") == "blue"
        assert final.header("X-Echo-Body-Length") == str(len(body))
        assert final.header("X-Echo-Body-Sha256") == sha256_hex(body)


def test_post_body_reaches_echo_intact(proxy):
    turnout = proxy()
    body = b"name=value&other=" + pattern_bytes(3000)
    connection = open_connection(turnout.port())
    try:
        connection.request("POST", "/echo", body=body, headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        echoed = response.read()
        assert response.status == 200
        assert response.getheader("X-Echo-Method") == "POST"
        assert response.getheader("X-Echo-Body-Length") == str(len(body))
        assert echoed.endswith(b"\r\n\r\n" + body)
    finally:
        connection.close()


def test_no_content_loses_its_content_length_and_not_modified_keeps_it(proxy, raw_upstream):
    """RFC 9110 §8.6: a 204 must not carry Content-Length, so the proxy drops it; a 304's
    Content-Length describes the representation (§15.4.5) and is passed on. Neither has a body,
    and the connections on both sides stay usable."""
    no_content = raw_upstream(response=b"HTTP/1.1 204 No Content\r\nContent-Length: 5\r\nX-A: 1\r\n\r\n")
    not_modified = raw_upstream(response=b'HTTP/1.1 304 Not Modified\r\nETag: "v1"\r\nContent-Length: 12\r\n\r\n')
    # No health checks: a probe would be a connection of its own to the upstreams counted below.
    turnout = proxy(groups={"blue": {"targets": [no_content.address], "health_check": NO_CHECKS},
                            "green": {"targets": [not_modified.address], "health_check": NO_CHECKS}})
    with Conn(turnout.port("production")) as conn:
        for _ in range(2):
            conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
            response = conn.read_response()
            assert response.status == 204
            assert response.header("Content-Length") is None, response.headers
            assert response.header("X-A") == "1"
    with Conn(turnout.port("test")) as conn:
        for _ in range(2):
            conn.send(b'GET / HTTP/1.1\r\nHost: a\r\nIf-None-Match: "v1"\r\n\r\n')
            response = conn.read_response()
            assert response.status == 304
            assert response.header("Content-Length") == "12"
    assert no_content.accepted == 1 and not_modified.accepted == 1


def test_interim_responses_lose_hop_by_hop_fields(proxy, raw_upstream):
    upstream = raw_upstream(response=(
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\nConnection: X-Hop\r\nX-Hop: 1\r\n"
        b"Content-Length: 3\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"))
    turnout = proxy(groups={"blue": [upstream.address], "green": [upstream.address]})
    with Conn(turnout.port()) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        assert conn.read_head().status_line == "HTTP/1.1 100 Continue"
        hints = conn.read_head()
        assert hints.status_line == "HTTP/1.1 103 Early Hints"
        assert [name.lower() for name, _ in hints.headers] == ["link", "via"]
        final = conn.read_response()
        assert final.status == 200 and final.body == b"ok"


def test_an_upstream_that_sends_interim_responses_without_end_gets_a_502(proxy, raw_upstream):
    """20,000 `100 Continue` heads before the final response: the client sees the first ten, then a
    502 and a closed connection; the upstream connection is closed too."""
    upstream = raw_upstream(response=b"HTTP/1.1 100 Continue\r\n\r\n" * 20_000 + b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
    no_checks = {"enabled": False}
    turnout = proxy(groups={"blue": {"targets": [upstream.address], "health_check": no_checks},
                            "green": {"targets": [upstream.address], "health_check": no_checks}})
    with Conn(turnout.port()) as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        interim = 0
        while (head := conn.read_head()).status == 100:
            interim += 1
        assert interim == 10
        assert head.status == 502 and head.header("Connection") == "close"
        assert conn.read_exactly(int(head.header("Content-Length"))) == b"502 Bad Gateway\n"
        assert conn.is_closed_by_peer()
    assert wait_until(lambda: upstream.closed_by_peer == 1, timeout=SOCKET_TIMEOUT)
