"""Strict request parsing: a malformed request gets an exact error, the connection is closed,
and none of it reaches an upstream.

The target groups point at a RawUpstream (a Python listening socket that records every byte),
so "reached the backend" is observed directly. Each request carries a unique path marker.
"""

from __future__ import annotations

import pytest

from harness import wait_until
from raw_http import Conn, ConnectionClosed

REASONS = {
    400: "Bad Request",
    408: "Request Timeout",
    431: "Request Header Fields Too Large",
    501: "Not Implemented",
    505: "HTTP Version Not Supported",
}


def marker(case: str) -> str:
    return f"/malformed-{case}"


def build_cases() -> list:
    many_headers = "".join(f"X-Header-{index}: v\r\n" for index in range(200))
    huge_header = "X-Huge: " + "h" * (20 * 1024) + "\r\n"
    cases = {
        # case id: (request, accepted statuses, bytes that must never reach the upstream)
        "content-length-and-transfer-encoding": (
            "POST {m} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            {400}, None),
        "two-different-content-lengths": (
            "POST {m} HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            {400}, None),
        "content-length-list": (
            "POST {m} HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 6\r\n\r\nhello!",
            {400}, None),
        "negative-content-length": (
            "POST {m} HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n",
            {400}, None),
        "non-numeric-content-length": (
            "POST {m} HTTP/1.1\r\nHost: a\r\nContent-Length: 1x\r\n\r\nhello",
            {400}, None),
        "unknown-transfer-coding-before-chunked": (
            "POST {m} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
            {501}, None),
        "obs-fold": (
            "GET {m} HTTP/1.1\r\nHost: a\r\nX-Folded: one\r\n two\r\n\r\n",
            {400}, None),
        "space-before-colon": (
            "GET {m} HTTP/1.1\r\nHost: a\r\nX-Spaced : 1\r\n\r\n",
            {400}, None),
        "invalid-header-name": (
            "GET {m} HTTP/1.1\r\nHost: a\r\nX(Bad): 1\r\n\r\n",
            {400}, None),
        "missing-host": (
            "GET {m} HTTP/1.1\r\nX-Other: 1\r\n\r\n",
            {400}, None),
        "two-hosts": (
            "GET {m} HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            {400}, None),
        "host-with-a-path": (
            "GET {m} HTTP/1.1\r\nHost: x/../../y\r\n\r\n",
            {400}, None),
        "host-with-userinfo": (
            "GET {m} HTTP/1.1\r\nHost: user@evil.example\r\n\r\n",
            {400}, None),
        "http10-host-with-a-path": (
            "GET {m} HTTP/1.0\r\nHost: a/b\r\n\r\n",
            {400}, None),
        "absolute-form-with-userinfo": (
            "GET http://user@evil.example{m} HTTP/1.1\r\nHost: a\r\n\r\n",
            {400}, None),
        "absolute-form-without-host": (
            "GET http://{m} HTTP/1.1\r\nHost: a\r\n\r\n",
            {400}, None),
        "malformed-version": (
            "GET {m} HTTP/1.x\r\nHost: a\r\n\r\n",
            {400}, None),
        "unsupported-major-version": (
            "GET {m} HTTP/3.0\r\nHost: a\r\n\r\n",
            {400, 505}, None),
        "too-many-headers": (
            "GET {m} HTTP/1.1\r\nHost: a\r\n" + many_headers + "\r\n",
            {431}, None),
        "header-section-too-large": (
            "GET {m} HTTP/1.1\r\nHost: a\r\n" + huge_header + "\r\n",
            {431}, None),
        # The head is valid, so it may already be on its way upstream; the bad chunk must not be.
        "invalid-chunk-size": (
            "POST {m} HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\nsmuggled\r\n0\r\n\r\n",
            {400}, b"smuggled"),
    }
    return [pytest.param(case, *values, id=case) for case, values in cases.items()]


@pytest.fixture
def recording_proxy(proxy, raw_upstream):
    upstream = raw_upstream("ok")
    turnout = proxy(groups={"blue": [upstream.address], "green": [upstream.address]})
    return turnout, upstream


def test_well_formed_request_reaches_the_recording_upstream(recording_proxy):
    """Control: the observation below can fail — a valid request does arrive upstream."""
    turnout, upstream = recording_proxy
    with Conn(turnout.port()) as conn:
        conn.send(f"GET {marker('control')} HTTP/1.1\r\nHost: a\r\n\r\n".encode())
        response = conn.read_response()
    assert response.status == 200
    assert response.body == b"ok"
    assert marker("control").encode() in upstream.received


@pytest.mark.parametrize(("case", "request_text", "statuses", "forbidden"), build_cases())
def test_malformed_request_is_refused(recording_proxy, case, request_text, statuses, forbidden):
    turnout, upstream = recording_proxy
    with Conn(turnout.port()) as conn:
        conn.send(request_text.replace("{m}", marker(case)).encode("latin-1"))
        try:
            response = conn.read_response()
        except ConnectionClosed as closed:
            pytest.fail(f"connection closed without a response ({closed})")
        assert response.status in statuses, response.status_line
        assert response.status_line == f"HTTP/1.1 {response.status} {REASONS[response.status]}"
        assert conn.is_closed_by_peer(), "connection left open after a framing error"

    must_not_arrive = forbidden if forbidden is not None else marker(case).encode()
    assert not wait_until(lambda: must_not_arrive in upstream.received, timeout=0.3), (
        f"{must_not_arrive!r} reached the upstream: {upstream.received[:300]!r}"
    )
