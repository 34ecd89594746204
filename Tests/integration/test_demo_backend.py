"""The demo backend's contract, checked directly (no proxy).

The proxy tests read their verdicts off the demo backend (X-Served-By, /echo, /bytes, ...);
these tests make sure those instruments say what the proxy tests assume they say.
"""

from __future__ import annotations

import http.client

import pytest
import requests

from harness import LOOPBACK, SOCKET_TIMEOUT
from raw_http import Conn, exchange, header_values, parse_echoed_head, pattern_bytes, sha256_hex
from websocket_client import OPCODE_BINARY, OPCODE_CLOSE, OPCODE_TEXT, WebSocket, expected_accept


def url(backend, path: str) -> str:
    return f"http://{LOOPBACK}:{backend.port}{path}"


def test_root_says_hello_with_its_name(demo_backend):
    blue = demo_backend("blue")
    response = requests.get(url(blue, "/"), timeout=SOCKET_TIMEOUT)
    assert response.status_code == 200
    assert response.content == b"Hello World! from blue\n"
    assert response.headers["X-Served-By"] == "blue"
    assert response.headers["Content-Length"] == str(len(b"Hello World! from blue\n"))
    assert response.headers["X-Request-Id-Seen"] == "-"


def test_request_id_seen_is_reported(demo_backend):
    green = demo_backend("green")
    response = requests.get(url(green, "/health"), headers={"X-Request-Id": "abc-123"}, timeout=SOCKET_TIMEOUT)
    assert response.status_code == 200
    assert response.headers["X-Served-By"] == "green"
    assert response.headers["X-Request-Id-Seen"] == "abc-123"


@pytest.mark.parametrize("chunked", [False, True])
def test_bytes_pattern(demo_backend, chunked):
    blue = demo_backend("blue")
    query = "/bytes?n=70000" + ("&chunked=1" if chunked else "")
    with Conn(blue.port) as conn:
        conn.send(f"GET {query} HTTP/1.1\r\nHost: b\r\n\r\n".encode())
        response = conn.read_response()
    assert response.status == 200
    assert response.body == pattern_bytes(70000)
    if chunked:
        assert response.header("Transfer-Encoding") == "chunked"
    else:
        assert response.header("Content-Length") == "70000"


def test_echo_returns_the_raw_head_and_body(demo_backend):
    blue = demo_backend("blue")
    request = b"POST /echo?x=1 HTTP/1.1\r\nHost: b\r\nX-Odd:  spaced \r\nContent-Length: 5\r\n\r\nhello"
    response = exchange(blue.port, request)
    assert response.status == 200
    assert response.body == request
    assert response.header("X-Echo-Method") == "POST"
    assert response.header("X-Echo-Body-Length") == "5"
    assert response.header("X-Echo-Body-Sha256") == sha256_hex(b"hello")
    request_line, headers = parse_echoed_head(response.body)
    assert request_line == "POST /echo?x=1 HTTP/1.1"
    assert header_values(headers, "x-odd") == ["spaced"]


def test_upload_reports_length_and_digest(demo_backend):
    blue = demo_backend("blue")
    body = bytes(range(256)) * 4096  # 1 MiB
    response = requests.post(url(blue, "/upload"), data=body, timeout=SOCKET_TIMEOUT)
    assert response.status_code == 200
    assert response.headers["X-Echo-Body-Length"] == str(len(body))
    assert response.headers["X-Echo-Body-Sha256"] == sha256_hex(body)


def test_status_and_slow(demo_backend):
    blue = demo_backend("blue")
    status = requests.get(url(blue, "/status?code=418"), timeout=SOCKET_TIMEOUT)
    assert status.status_code == 418
    assert status.content == b"status 418\n"
    slow = requests.get(url(blue, "/slow?ms=100"), timeout=SOCKET_TIMEOUT)
    assert slow.status_code == 200
    assert slow.headers["X-Served-By"] == "blue"
    assert slow.content == b"slow\n"


def test_expect_100_continue(demo_backend):
    blue = demo_backend("blue")
    with Conn(blue.port) as conn:
        conn.send(b"POST /upload HTTP/1.1\r\nHost: b\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n")
        assert conn.read_head().status_line == "HTTP/1.1 100 Continue"
        conn.send(b"abc")
        final = conn.read_response()
    assert final.status == 200
    assert final.header("X-Echo-Body-Length") == "3"
    assert final.header("X-Echo-Body-Sha256") == sha256_hex(b"abc")


def test_head_has_headers_and_no_body(demo_backend):
    blue = demo_backend("blue")
    connection = http.client.HTTPConnection(LOOPBACK, blue.port, timeout=SOCKET_TIMEOUT)
    try:
        connection.request("HEAD", "/")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") == str(len(b"Hello World! from blue\n"))
        assert response.read() == b""
        # A body sent after HEAD's head would corrupt the next response on this connection.
        connection.request("GET", "/")
        follow_up = connection.getresponse()
        assert follow_up.status == 200
        assert follow_up.read() == b"Hello World! from blue\n"
    finally:
        connection.close()


def test_abort_sends_part_of_the_body_then_resets(demo_backend):
    blue = demo_backend("blue")
    connection = http.client.HTTPConnection(LOOPBACK, blue.port, timeout=SOCKET_TIMEOUT)
    try:
        connection.request("GET", "/abort?after=1000")
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("Content-Length") == "1000000"
        with pytest.raises((http.client.IncompleteRead, ConnectionResetError)):
            response.read()
    finally:
        connection.close()


def test_health_can_be_failed_and_restored(demo_backend):
    blue = demo_backend("blue")
    assert requests.get(url(blue, "/health"), timeout=SOCKET_TIMEOUT).status_code == 200
    assert requests.post(url(blue, "/control/health"), data=b"fail", timeout=SOCKET_TIMEOUT).status_code == 200
    failing = requests.get(url(blue, "/health"), timeout=SOCKET_TIMEOUT)
    assert failing.status_code == 503
    assert failing.headers["X-Served-By"] == "blue"
    assert requests.post(url(blue, "/control/health"), data=b"ok", timeout=SOCKET_TIMEOUT).status_code == 200
    assert requests.get(url(blue, "/health"), timeout=SOCKET_TIMEOUT).status_code == 200


def test_root_can_be_made_to_answer_500_and_restored(demo_backend):
    blue = demo_backend("blue")
    assert requests.post(url(blue, "/control/root"), data=b"fail", timeout=SOCKET_TIMEOUT).text == "/ answers 500\n"
    failing = requests.get(url(blue, "/"), timeout=SOCKET_TIMEOUT)
    assert (failing.status_code, failing.text, failing.headers["X-Served-By"]) == \
        (500, "Internal Server Error from blue\n", "blue")
    assert requests.get(url(blue, "/health"), timeout=SOCKET_TIMEOUT).status_code == 200, "health is its own switch"
    assert requests.post(url(blue, "/control/root"), data=b"maybe", timeout=SOCKET_TIMEOUT).status_code == 400
    assert requests.post(url(blue, "/control/root"), data=b"ok", timeout=SOCKET_TIMEOUT).status_code == 200
    assert requests.get(url(blue, "/"), timeout=SOCKET_TIMEOUT).text == "Hello World! from blue\n"


def test_root_can_be_made_slow_and_restored(demo_backend):
    blue = demo_backend("blue")
    control = url(blue, "/control/root")
    assert requests.post(control, data=b"slow 5000", timeout=SOCKET_TIMEOUT).text == "/ answers 200 after 5000 ms\n"
    # The answer waits the five seconds: a client giving up after half of one gets nothing.
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(url(blue, "/"), timeout=(SOCKET_TIMEOUT, 0.5))
    assert requests.get(url(blue, "/health"), timeout=(SOCKET_TIMEOUT, 3)).status_code == 200, "only / is slow"
    assert requests.post(control, data=b"slow 1", timeout=SOCKET_TIMEOUT).status_code == 200
    slow = requests.get(url(blue, "/"), timeout=SOCKET_TIMEOUT)
    assert (slow.status_code, slow.text) == (200, "Hello World! from blue\n")
    for bad in (b"slow", b"slow -1", b"slow 600001", b"slow soon", b"slow 5 6"):
        refused = requests.post(control, data=bad, timeout=SOCKET_TIMEOUT)
        assert (refused.status_code, refused.text) == \
            (400, "expected body 'ok', 'fail' or 'slow N' with 0 <= N <= 600000\n"), bad
    # `fail` ends the slowness (each body sets the whole behaviour of /), `ok` the failure.
    assert requests.post(control, data=b"slow 5000", timeout=SOCKET_TIMEOUT).ok
    assert requests.post(control, data=b"fail", timeout=SOCKET_TIMEOUT).ok
    assert requests.get(url(blue, "/"), timeout=(SOCKET_TIMEOUT, 3)).status_code == 500
    assert requests.post(control, data=b"ok", timeout=SOCKET_TIMEOUT).text == "/ answers 200\n"
    assert requests.get(url(blue, "/"), timeout=(SOCKET_TIMEOUT, 3)).status_code == 200


def test_websocket_echo(demo_backend):
    blue = demo_backend("blue")
    socket = WebSocket(blue.port)
    try:
        assert socket.handshake.status == 101
        assert socket.handshake.header("Sec-WebSocket-Accept") == expected_accept(socket.key)
        socket.send(OPCODE_TEXT, b"hello")
        assert socket.read_message() == (OPCODE_TEXT, b"hello")
        big = pattern_bytes(200 * 1024)
        socket.send(OPCODE_BINARY, big)
        assert socket.read_message() == (OPCODE_BINARY, big)
        socket.send(OPCODE_CLOSE, b"\x03\xe8")
        opcode, payload = socket.read_message()
        assert opcode == OPCODE_CLOSE
        assert payload[:2] == b"\x03\xe8"
    finally:
        socket.close_socket()


def test_chunked_body_then_pipelined_request(demo_backend):
    blue = demo_backend("blue")
    with Conn(blue.port) as conn:
        conn.send(
            b"POST /upload HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;name=value\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n"
            b"GET /health HTTP/1.1\r\nHost: b\r\n\r\n"
        )
        upload = conn.read_response()
        health = conn.read_response()
    assert upload.status == 200
    assert upload.header("X-Echo-Body-Length") == "5"
    assert upload.header("X-Echo-Body-Sha256") == sha256_hex(b"abcde")
    assert health.status == 200
    assert health.body == b"Health check status: ok\n"


@pytest.mark.parametrize(
    ("raw", "status", "body"),
    [
        (b"GET / HTTP/1.1\r\n\r\n", 400, b"Bad Request: missing Host\n"),
        (b"GET / HTTP/1.1\nHost: b\n\n", 400, b"Bad Request: bare LF in head\n"),
        (b"GET / HTTP/2.0\r\nHost: b\r\n\r\n", 505, b"HTTP Version Not Supported: unsupported HTTP version\n"),
        (
            b"POST /echo HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: gzip\r\n\r\n",
            501,
            b"Not Implemented: unsupported transfer coding\n",
        ),
        (
            b"POST /echo HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
            400,
            b"Bad Request: invalid chunk size\n",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: b\r\n" + b"".join(b"X-%d: v\r\n" % index for index in range(200)) + b"\r\n",
            431,
            b"Request Header Fields Too Large: too many header fields\n",
        ),
    ],
    ids=["missing-host", "bare-lf", "http-2.0", "gzip-coding", "bad-chunk-size", "201-fields"],
)
def test_refuses_what_the_proxy_refuses(demo_backend, raw, status, body):
    """The backend reads requests with the proxy's own parser and chunked decoder: it answers their verdict
    (status and reason) and closes."""
    blue = demo_backend("blue")
    with Conn(blue.port) as conn:
        conn.send(raw)
        response = conn.read_response()
        assert response.status == status
        assert response.body == body
        assert response.header("X-Served-By") == "blue"
        assert response.header("Connection") == "close"
        assert conn.is_closed_by_peer()
