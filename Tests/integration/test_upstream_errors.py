"""What a client sees when the upstream side fails: 502, 503, 504, retries, aborted bodies."""

from __future__ import annotations

import http.client

import requests

from harness import LOOPBACK, SOCKET_TIMEOUT, free_port


def get(port: int, path: str = "/") -> requests.Response:
    return requests.get(f"http://{LOOPBACK}:{port}{path}", timeout=SOCKET_TIMEOUT)


def closed_address() -> str:
    """A loopback address where nothing listens: connecting is refused."""
    return f"{LOOPBACK}:{free_port()}"


def test_refused_connect_gives_502(proxy, backends):
    turnout = proxy(groups={"blue": [closed_address()], "green": [backends.green.address]})
    response = get(turnout.port())
    assert response.status_code == 502
    assert "X-Served-By" not in response.headers
    # The other listener is unaffected.
    assert get(turnout.port("test")).headers["X-Served-By"] == "green"


def test_refused_target_is_skipped_by_retrying_the_other(proxy, backends):
    turnout = proxy(groups={
        "blue": {"targets": [closed_address(), backends.blue.address], "algorithm": "round_robin"},
        "green": [backends.green.address],
    })
    connection = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
    try:
        for index in range(20):
            connection.request("GET", "/")
            response = connection.getresponse()
            body = response.read()
            assert response.status == 200, index
            assert response.getheader("X-Served-By") == "blue"
            assert body == b"Hello World! from blue\n"
    finally:
        connection.close()


def test_aborted_upstream_body_is_not_a_complete_response(proxy):
    turnout = proxy()
    connection = http.client.HTTPConnection(LOOPBACK, turnout.port(), timeout=SOCKET_TIMEOUT)
    try:
        connection.request("GET", "/abort?after=1000")
        response = connection.getresponse()
        if response.status == 200:
            # The head went out before the upstream reset: the body must end short and the
            # client connection must be aborted, never padded or reused.
            assert response.getheader("Content-Length") == "1000000"
            try:
                body = response.read()
            except (http.client.IncompleteRead, ConnectionResetError):
                pass
            else:
                assert len(body) < 1_000_000
        else:
            # The reset came before anything reached the client: a clean 502 instead.
            assert response.status == 502
            response.read()
    finally:
        connection.close()


def test_slow_upstream_gives_504(proxy):
    turnout = proxy(timeouts={"upstream_response": "1s"})
    response = get(turnout.port(), "/slow?ms=5000")
    assert response.status_code == 504
    # Nothing of the late response leaks into the next request on a new connection.
    follow_up = get(turnout.port(), "/")
    assert follow_up.status_code == 200
    assert follow_up.content == b"Hello World! from blue\n"


def test_group_without_targets_gives_503(proxy, backends):
    turnout = proxy(groups={"blue": {"targets": []}, "green": [backends.green.address]})
    response = get(turnout.port())
    assert response.status_code == 503
    assert "X-Served-By" not in response.headers


def test_garbage_from_upstream_gives_502(proxy, raw_upstream, backends):
    garbage = raw_upstream("garbage")
    turnout = proxy(groups={"blue": [garbage.address], "green": [backends.green.address]})
    response = get(turnout.port())
    assert response.status_code == 502
    assert b"NOT HTTP" not in response.content
    assert garbage.accepted >= 1
