"""WebSocket upgrade and echo through the proxy."""

from __future__ import annotations

from raw_http import pattern_bytes
from websocket_client import OPCODE_BINARY, OPCODE_CLOSE, OPCODE_TEXT, WebSocket, expected_accept


def test_websocket_echo_through_the_proxy(proxy):
    turnout = proxy()
    socket = WebSocket(turnout.port())
    try:
        handshake = socket.handshake
        assert handshake.status == 101, handshake.status_line
        assert (handshake.header("Upgrade") or "").lower() == "websocket"
        assert "upgrade" in (handshake.header("Connection") or "").lower()
        assert handshake.header("Sec-WebSocket-Accept") == expected_accept(socket.key)
        assert handshake.header("X-Served-By") == "blue"

        messages = [
            (OPCODE_TEXT, b"hello"),
            (OPCODE_TEXT, b""),
            (OPCODE_TEXT, "grüße, 世界".encode()),
            (OPCODE_BINARY, bytes(range(256))),
            (OPCODE_TEXT, b"x" * 125),
            (OPCODE_TEXT, b"y" * 126),
            (OPCODE_BINARY, pattern_bytes(65536)),
            (OPCODE_BINARY, pattern_bytes(200 * 1024)),
            (OPCODE_TEXT, b"after the big one"),
        ]
        for opcode, payload in messages:
            socket.send(opcode, payload)
            assert socket.read_message() == (opcode, payload), (opcode, len(payload))

        socket.send(OPCODE_CLOSE, b"\x03\xe8")
        opcode, payload = socket.read_message()
        assert opcode == OPCODE_CLOSE
        assert payload[:2] == b"\x03\xe8"
    finally:
        socket.close_socket()


def test_websocket_messages_sent_back_to_back(proxy):
    turnout = proxy()
    socket = WebSocket(turnout.port("test"))
    try:
        assert socket.handshake.status == 101
        assert socket.handshake.header("X-Served-By") == "green"
        payloads = [f"message {index}".encode() for index in range(50)]
        for payload in payloads:
            socket.send(OPCODE_TEXT, payload)
        assert [socket.read_message() for _ in payloads] == [(OPCODE_TEXT, p) for p in payloads]
    finally:
        socket.close_socket()
