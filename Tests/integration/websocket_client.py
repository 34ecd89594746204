"""A minimal RFC 6455 client over a bare socket: handshake, masked frames out, frames in."""

from __future__ import annotations

import base64
import hashlib
import os
import struct

from raw_http import Conn, Response

WEBSOCKET_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
OPCODE_CONTINUATION, OPCODE_TEXT, OPCODE_BINARY = 0x0, 0x1, 0x2
OPCODE_CLOSE, OPCODE_PING, OPCODE_PONG = 0x8, 0x9, 0xA


def expected_accept(key: str) -> str:
    return base64.b64encode(hashlib.sha1((key + WEBSOCKET_GUID).encode()).digest()).decode()


def encode_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """A client frame: always masked, as RFC 6455 requires of clients."""
    first = (0x80 if fin else 0) | opcode
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length < 1 << 16:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    mask = os.urandom(4)
    return header + mask + apply_mask(payload, mask)


def apply_mask(payload: bytes, mask: bytes) -> bytes:
    """XOR with the repeated 4-byte mask, done as one big-integer XOR (fast for 200 KB payloads)."""
    if not payload:
        return b""
    repeated = (mask * (len(payload) // 4 + 1))[: len(payload)]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(repeated, "big")).to_bytes(len(payload), "big")


class WebSocket:
    """A client WebSocket on top of a raw connection."""

    def __init__(self, port: int, path: str = "/ws", conn: Conn | None = None):
        """``conn``: a connection made already (over TLS, say) instead of a plain one to ``port``."""
        self.conn = conn if conn is not None else Conn(port)
        self.key = base64.b64encode(os.urandom(16)).decode()
        self.conn.send(
            (
                f"GET {path} HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\n"
                "Connection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {self.key}\r\n"
                "Sec-WebSocket-Version: 13\r\n"
                "\r\n"
            ).encode()
        )
        # Bytes after the 101 head stay in conn.buffer: they are already frames.
        self.handshake: Response = self.conn.read_head()

    def close_socket(self) -> None:
        self.conn.close()

    def send(self, opcode: int, payload: bytes) -> None:
        self.conn.send(encode_frame(opcode, payload))

    def read_frame(self) -> tuple[bool, int, bytes]:
        first, second = self.conn.read_exactly(2)
        fin, opcode = bool(first & 0x80), first & 0x0F
        assert not second & 0x80, "server frames must not be masked"
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self.conn.read_exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self.conn.read_exactly(8))
        return fin, opcode, self.conn.read_exactly(length)

    def read_message(self) -> tuple[int, bytes]:
        """The next data or close message, reassembled from fragments; pings are answered."""
        message_opcode, parts = None, []
        while True:
            fin, opcode, payload = self.read_frame()
            if opcode == OPCODE_PING:
                self.send(OPCODE_PONG, payload)
                continue
            if opcode == OPCODE_PONG:
                continue
            if opcode == OPCODE_CLOSE:
                return opcode, payload
            if opcode != OPCODE_CONTINUATION:
                message_opcode = opcode
            parts.append(payload)
            if fin:
                return message_opcode, b"".join(parts)
