"""HTTPS listeners: TLS termination on the real binary, with certificates the tests make with the ``openssl`` CLI.

Clients are curl (``--cacert`` and ``--resolve``, so that the name it asks for and checks is the test's),
``openssl s_client`` (protocol versions, ALPN, no SNI) and Python's ``ssl`` over raw sockets (pipelining, a
WebSocket tunnel, a stalled handshake). Every certificate is self-signed, so it is its own CA for the client.
"""

from __future__ import annotations

import calendar
import hashlib
import signal
import socket
import ssl
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from admin_client import NO_CHECKS, AdminClient, describe
from harness import LOOPBACK, run_check, wait_until
from keepalive_load import CLIENT_TIMEOUT, KeepAliveLoad
from raw_http import Conn, ConnectionClosed, pattern_bytes
from websocket_client import OPCODE_BINARY, OPCODE_TEXT, WebSocket


@dataclass
class Pair:
    cert: Path
    key: Path

    def entry(self) -> dict[str, str]:
        return {"cert": str(self.cert), "key": str(self.key)}


def make_certificate(directory: Path, stem: str, names: list[str], *, rsa: bool = False) -> Pair:
    """A self-signed certificate for ``names`` (subjectAltNames; the first also the common name)."""
    cert, key = directory / f"{stem}.pem", directory / f"{stem}.key"
    algorithm = ["-newkey", "rsa:2048"] if rsa else ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    subprocess.run(
        ["openssl", "req", "-x509", *algorithm, "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "30", "-subj", f"/CN={names[0]}",
         "-addext", "subjectAltName=" + ",".join(f"DNS:{name}" for name in names)],
        check=True, capture_output=True,
    )
    return Pair(cert, key)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory) -> dict[str, Pair]:
    directory = tmp_path_factory.mktemp("certificates")
    return {
        "a": make_certificate(directory, "a", ["a.example"]),
        "b": make_certificate(directory, "b", ["b.example", "www.b.example"], rsa=True),
        "wildcard": make_certificate(directory, "wildcard", ["*.w.example"]),
    }


def https_listener(certificates: dict[str, Pair], **settings) -> dict:
    """The production listener's ``tls`` section: a, b and the wildcard, a first."""
    return {"certificates": [certificates[name].entry() for name in ("a", "b", "wildcard")], **settings}


@pytest.fixture
def https(proxy, pair, certificates):
    """Factory: a proxy whose production listener is HTTPS (one worker unless told), plain test listener."""

    def start(workers: int = 1, timeouts: dict[str, str] | None = None, **settings):
        return proxy(groups=pair, workers=workers, timeouts=timeouts, wait_for_admin=True,
                     tls={"production": https_listener(certificates, **settings)})

    return start


def curl(port: int, name: str, cacert: Path, path: str = "/", *extra: str) -> subprocess.CompletedProcess:
    """curl for https://name:port/path, ``name`` resolved to loopback, trusting ``cacert`` only."""
    result = subprocess.run(
        ["curl", "-sS", "--max-time", "10", "--cacert", str(cacert), "--resolve", f"{name}:{port}:{LOOPBACK}",
         "-D", "-", *extra, f"https://{name}:{port}{path}"],
        capture_output=True, timeout=20,
    )
    # Decoded by hand: text mode would turn the heads' CRLFs into newlines.
    result.stdout, result.stderr = result.stdout.decode("latin-1"), result.stderr.decode("latin-1")
    return result


def s_client(port: int, *options: str, send: bytes = b"") -> subprocess.CompletedProcess:
    """``openssl s_client`` against the listener: the handshake, ``send``, then the end of its input."""
    return subprocess.run(
        ["openssl", "s_client", "-connect", f"{LOOPBACK}:{port}", *options],
        input=send, capture_output=True, timeout=20,
    )


def subject_served(port: int, *options: str) -> str:
    """The subject line of the certificate the listener presents for the s_client ``options``."""
    out = s_client(port, *options).stdout.decode()
    return next(line for line in out.splitlines() if line.startswith("subject="))


def client_context(cacert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(cacert))
    return context


# MARK: - Certificates by name


def test_each_name_gets_the_certificate_that_has_it(https, certificates):
    turnout = https()
    port = turnout.port()
    for name, pair in [("a.example", certificates["a"]), ("b.example", certificates["b"]),
                       ("www.b.example", certificates["b"]), ("x.w.example", certificates["wildcard"]),
                       ("other.w.example", certificates["wildcard"])]:
        result = curl(port, name, pair.cert)
        assert result.returncode == 0, (name, result.stderr)
        assert result.stdout.startswith("HTTP/1.1 200 OK\r\n"), result.stdout
        assert result.stdout.endswith("Hello World! from blue\n"), result.stdout
    # A name the wildcard does not cover (two labels) is served by the first certificate, which curl refuses.
    result = curl(port, "x.y.w.example", certificates["wildcard"].cert)
    assert result.returncode == 60, result.stderr  # peer certificate cannot be authenticated


def test_no_name_or_an_unknown_one_gets_the_first_certificate(https):
    turnout = https()
    assert subject_served(turnout.port(), "-noservername") == "subject=CN = a.example"
    assert subject_served(turnout.port(), "-servername", "unknown.example") == "subject=CN = a.example"
    assert subject_served(turnout.port(), "-servername", "B.EXAMPLE") == "subject=CN = b.example"


def test_strict_sni_refuses_a_name_no_certificate_has(https, certificates):
    turnout = https(strict_sni=True)
    unknown = s_client(turnout.port(), "-servername", "unknown.example")
    assert unknown.returncode != 0
    assert b"unrecognized name" in unknown.stderr, unknown.stderr
    nameless = s_client(turnout.port(), "-noservername")
    assert nameless.returncode != 0
    assert b"unrecognized name" in nameless.stderr, nameless.stderr
    known = curl(turnout.port(), "a.example", certificates["a"].cert)
    assert known.returncode == 0 and known.stdout.startswith("HTTP/1.1 200 OK\r\n"), known.stderr


# MARK: - Protocol


def test_tls_1_1_is_refused_and_1_2_and_1_3_are_served(https):
    turnout = https()
    port = turnout.port()
    refused = s_client(port, "-tls1_1", "-servername", "a.example")
    assert refused.returncode != 0
    assert b"protocol version" in refused.stderr or b"no protocols available" in refused.stderr, refused.stderr
    for version, shown in [("-tls1_2", b"TLSv1.2"), ("-tls1_3", b"TLSv1.3")]:
        served = s_client(port, version, "-servername", "a.example", "-ign_eof",
                          send=b"GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
        assert served.returncode == 0, served.stderr
        assert b"Protocol  : " + shown in served.stdout or b"New, " + shown in served.stdout, served.stdout
        assert b"Hello World! from blue" in served.stdout


def test_min_version_1_3_refuses_1_2(https):
    turnout = https(min_version="1.3")
    assert s_client(turnout.port(), "-tls1_2", "-servername", "a.example").returncode != 0
    assert s_client(turnout.port(), "-tls1_3", "-servername", "a.example").returncode == 0


def test_tls_1_2_gets_forward_secret_aead_suites_only(https):
    turnout = https()
    weak = s_client(turnout.port(), "-tls1_2", "-cipher", "AES128-SHA256:AES128-GCM-SHA256", "-servername", "b.example")
    assert weak.returncode != 0, "a suite without forward secrecy was accepted"
    strong = s_client(turnout.port(), "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256", "-servername", "b.example")
    assert strong.returncode == 0, strong.stderr


def test_alpn_agrees_on_http_1_1_and_on_nothing_else(https):
    turnout = https()
    offered = s_client(turnout.port(), "-alpn", "h2,http/1.1", "-servername", "a.example")
    assert b"ALPN protocol: http/1.1" in offered.stdout, offered.stdout
    only_h2 = s_client(turnout.port(), "-alpn", "h2", "-servername", "a.example")
    assert b"No ALPN negotiated" in only_h2.stdout, only_h2.stdout


# MARK: - Requests over TLS


def test_requests_are_forwarded_as_https_with_the_listeners_port(https, certificates):
    turnout = https()
    result = curl(turnout.port(), "a.example", certificates["a"].cert, "/echo",
                  "-H", "X-Forwarded-Proto: http", "-H", "X-Forwarded-Port: 1")
    assert result.returncode == 0, result.stderr
    assert "\r\nX-Forwarded-Proto: https\r\n" in result.stdout, result.stdout
    assert f"\r\nX-Forwarded-Port: {turnout.port()}\r\n" in result.stdout, result.stdout
    assert "X-Forwarded-Port: 1\r\n" not in result.stdout, "the client's own values are replaced"
    plain = requests.get(f"http://{LOOPBACK}:{turnout.port('test')}/echo", timeout=10)
    assert b"\r\nX-Forwarded-Proto: http\r\n" in plain.content, "the plain listener stays http"


def test_pipelined_requests_over_tls_are_answered_in_order(https, certificates):
    turnout = https()
    with Conn(turnout.port(), tls=client_context(certificates["a"].cert), server_name="a.example") as conn:
        conn.send(b"".join(f"GET /echo?n={i} HTTP/1.1\r\nHost: a.example\r\n\r\n".encode() for i in range(5)))
        for i in range(5):
            response = conn.read_response()
            assert response.status == 200
            assert response.body.startswith(f"GET /echo?n={i} HTTP/1.1\r\n".encode()), response.body[:60]


def test_more_connections_at_once_than_a_turn_accepts_are_all_answered(https, certificates):
    # Five times `Worker.acceptsPerTurn`, all connected before the first handshake: most of them wait in the
    # listener's backlog for later turns.
    turnout = https()
    connections = [Conn(turnout.port()) for _ in range(40)]
    for conn in connections:
        conn.start_tls(client_context(certificates["a"].cert), "a.example")
        conn.send(b"GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
    for conn in connections:
        response = conn.read_response()
        assert response.status == 200
        assert response.header("X-Served-By") == "blue"
        conn.close()


def test_large_bodies_are_copied_both_ways_unchanged(https, certificates):
    turnout = https()
    size = 8 * 1024 * 1024
    with Conn(turnout.port(), tls=client_context(certificates["a"].cert), server_name="a.example") as conn:
        conn.send(f"GET /bytes?n={size} HTTP/1.1\r\nHost: a.example\r\n\r\n".encode())
        response = conn.read_response()
        assert response.status == 200
        assert response.body == pattern_bytes(size)
        body = pattern_bytes(size)
        conn.send(f"POST /upload HTTP/1.1\r\nHost: a.example\r\nContent-Length: {size}\r\n\r\n".encode() + body)
        response = conn.read_response()
        assert response.status == 200
        assert response.header("X-Echo-Body-Sha256") == hashlib.sha256(body).hexdigest()
    # Nothing went through a pipe: a TLS connection's bytes on the socket are not the ones to forward.
    metrics = requests.get(f"{turnout.admin_url}/metrics", timeout=10).text
    spliced = [line for line in metrics.splitlines()
               if line.startswith("turnout_spliced_bytes_total{") and 'listener="production"' in line]
    assert all(line.endswith(" 0") for line in spliced), spliced


def test_websocket_tunnel_over_tls(https, certificates):
    turnout = https()
    conn = Conn(turnout.port(), tls=client_context(certificates["a"].cert), server_name="a.example")
    socket_ = WebSocket(turnout.port(), conn=conn)
    try:
        assert socket_.handshake.status == 101, socket_.handshake.status_line
        for opcode, payload in [(OPCODE_TEXT, b"hello"), (OPCODE_BINARY, pattern_bytes(300 * 1024)),
                                (OPCODE_TEXT, b"after")]:
            socket_.send(opcode, payload)
            assert socket_.read_message() == (opcode, payload)
    finally:
        socket_.close_socket()


def test_a_close_sends_close_notify(https, certificates):
    turnout = https()
    with Conn(turnout.port(), tls=client_context(certificates["a"].cert), server_name="a.example") as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
        response = conn.read_response()
        assert response.status == 200
        # Python's ssl raises SSLEOFError on a TCP close without close_notify; with one, recv returns b"".
        assert conn.sock.recv(100) == b""


# MARK: - Timeouts and failures


def test_a_stalled_handshake_is_closed_at_tls_handshake(https):
    turnout = https(timeouts={"tls_handshake": "1s"})
    for opening in [b"", b"\x16\x03\x01\x00\x80"]:  # nothing, then a record header and no record
        with socket.create_connection((LOOPBACK, turnout.port()), timeout=10) as sock:
            sock.sendall(opening)
            try:
                assert sock.recv(100) == b"", "the proxy closed the connection"
            except ConnectionResetError:
                pass


def test_a_handshake_that_fails_does_not_disturb_others(https, certificates):
    turnout = https()
    with socket.create_connection((LOOPBACK, turnout.port()), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")  # plain HTTP to an HTTPS port
        try:
            sock.recv(100)
        except ConnectionResetError:
            pass
    result = curl(turnout.port(), "a.example", certificates["a"].cert)
    assert result.returncode == 0 and result.stdout.startswith("HTTP/1.1 200 OK\r\n"), result.stderr


def under_https_load(port: int, context: ssl.SSLContext, action) -> list:
    """Runs ``action`` while four keep-alive HTTPS clients send GETs (from their 100th request until 100 more
    after it); returns every request's outcome."""
    load = KeepAliveLoad(port, 4, tls=context)
    try:
        assert wait_until(lambda: load.count() >= 100, timeout=20), "load did not get going"
        action()
        started = load.count()
        assert wait_until(lambda: load.count() >= started + 100, timeout=20)
    finally:
        load.stop()
    return load.outcomes()


def test_a_switch_under_https_keep_alive_load_fails_no_request(https, certificates):
    turnout = https(workers=2)
    admin = AdminClient.of(turnout)
    context = client_context(certificates["a"].cert)
    context.check_hostname = False  # the clients connect to 127.0.0.1 and send no name: the first certificate

    def switches():
        with requests.Session() as session:
            for to in ["green", "blue", "green", "blue"] * 5:
                response = session.post(f"{turnout.admin_url}/v1/switch", json={"to": to}, timeout=CLIENT_TIMEOUT)
                assert response.status_code == 200, describe(response)
                time.sleep(0.05)

    outcomes = under_https_load(turnout.port(), context, switches)
    failures = [o for o in outcomes if o.failed]
    assert not failures, failures[:5]
    assert {o.served_by for o in outcomes} == {"blue", "green"}
    admin.close()


# MARK: - RSA and ECDSA side by side


def certificate_served(port: int, *options: str) -> tuple[str, str]:
    """The SHA-256 fingerprint and the public key algorithm of the certificate presented to s_client ``options``."""
    out = s_client(port, *options).stdout.decode()
    assert "-----BEGIN CERTIFICATE-----" in out, out
    pem = out[out.index("-----BEGIN CERTIFICATE-----"):out.index("-----END CERTIFICATE-----") + 25] + "\n"
    text = subprocess.run(["openssl", "x509", "-noout", "-text"], input=pem, capture_output=True, text=True,
                          check=True).stdout
    algorithm = next(line.split(":", 1)[1].strip() for line in text.splitlines()
                     if "Public Key Algorithm:" in line)
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest(), algorithm


def test_rsa_and_ecdsa_certificates_for_one_name_are_served_side_by_side(proxy, pair, certificates, tmp_path):
    rsa = make_certificate(tmp_path, "dual-rsa", ["dual.example"], rsa=True)
    ecdsa = make_certificate(tmp_path, "dual-ecdsa", ["dual.example"])
    turnout = proxy(groups=pair, wait_for_admin=True, tls={"production": {"certificates": [
        certificates["a"].entry(), rsa.entry(), ecdsa.entry()]}})
    # The client's signature algorithms (TLS 1.3) or suites (TLS 1.2) allow one key type: it gets that one.
    for options, served, algorithm in [
        (("-tls1_3", "-sigalgs", "rsa_pss_rsae_sha256"), rsa, "rsaEncryption"),
        (("-tls1_3", "-sigalgs", "ecdsa_secp256r1_sha256"), ecdsa, "id-ecPublicKey"),
        (("-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"), rsa, "rsaEncryption"),
        (("-tls1_2", "-cipher", "ECDHE-ECDSA-AES256-GCM-SHA384"), ecdsa, "id-ecPublicKey"),
    ]:
        assert certificate_served(turnout.port(), "-servername", "dual.example", *options) == \
            (fingerprint_of(served), algorithm), options
    # Without a name, the first certificate still serves.
    assert certificate_served(turnout.port(), "-tls1_3")[0] == fingerprint_of(certificates["a"])
    assert curl(turnout.port(), "dual.example", rsa.cert, "/", "--tls-max", "1.2", "--ciphers",
                "ECDHE-RSA-AES128-GCM-SHA256").returncode == 0

    # turnout check: the pair serves the name once; two certificates of one key type serve it twice.
    section = "".join(f"        - {{ cert: {p.cert}, key: {p.key} }}\n" for p in (rsa, ecdsa))
    result = check_with(tmp_path, section)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    other_rsa = make_certificate(tmp_path, "dual-rsa-2", ["dual.example"], rsa=True)
    result = check_with(tmp_path, section + f"        - {{ cert: {other_rsa.cert}, key: {other_rsa.key} }}\n")
    assert result.returncode == 0
    assert "'dual.example' is served by more than one certificate; the first serves it" in result.stderr


# MARK: - turnout check


def check_listener(tmp_path: Path, settings: str) -> subprocess.CompletedProcess:
    """``turnout check`` of a configuration whose production listener has ``settings`` (lines indented four
    spaces) after its bind (line 4) and forward (line 5)."""
    path = tmp_path / "check.yaml"
    path.write_text(
        "state_dir: " + str(tmp_path / "state") + "\n"
        "listeners:\n"
        "  production:\n"
        "    bind: 127.0.0.1:1\n"
        "    forward: { blue: 100 }\n" + settings +
        "target_groups:\n"
        "  blue: { targets: [127.0.0.1:2] }\n"
    )
    return run_check(path)


def check_with(tmp_path: Path, certificates_section: str) -> subprocess.CompletedProcess:
    """``check_listener`` with a ``tls`` section whose certificates are ``certificates_section`` (from line 8)."""
    return check_listener(tmp_path, "    tls:\n      certificates:\n" + certificates_section)


def test_check_accepts_good_certificates(tmp_path, certificates):
    result = check_with(tmp_path, "".join(
        f"        - {{ cert: {certificates[n].cert}, key: {certificates[n].key} }}\n" for n in ("a", "wildcard")))
    assert result.returncode == 0, result.stderr
    assert "1 HTTPS" in result.stdout, result.stdout
    assert result.stderr == ""


def test_check_names_the_key_the_line_and_the_file_at_fault(tmp_path, certificates):
    a, b = certificates["a"], certificates["b"]
    not_pem = tmp_path / "not.pem"
    not_pem.write_text("this is not a certificate\n")
    missing = tmp_path / "missing.pem"
    cases = [
        (f"        - {{ cert: {missing}, key: {a.key} }}\n", "certificates[0].cert (line 8)",
         f"{missing}: cannot read: No such file or directory"),
        (f"        - {{ cert: {a.cert}, key: {a.key} }}\n        - {{ cert: {not_pem}, key: {a.key} }}\n",
         "certificates[1].cert (line 9)", f"{not_pem}: not a PEM certificate"),
        (f"        - {{ cert: {a.cert}, key: {not_pem} }}\n", "certificates[0].key (line 8)",
         f"{not_pem}: not a PEM private key"),
        (f"        - {{ cert: {a.cert}, key: {b.key} }}\n", "certificates[0].key (line 8)",
         f"{b.key}: the private key does not match the certificate {a.cert}"),
    ]
    for section, key, message in cases:
        result = check_with(tmp_path, section)
        assert result.returncode == 2, result
        assert f"listeners.production.tls.{key}: {message}" in result.stderr, result.stderr


def test_check_refuses_an_https_listener_without_certificates_and_h2(tmp_path, certificates):
    result = check_with(tmp_path, "        []\n")
    assert result.returncode == 2
    assert "listeners.production.tls.certificates" in result.stderr and "at least one certificate" in result.stderr
    a = certificates["a"]
    result = check_listener(tmp_path, f"    tls: {{ certificates: [{{ cert: {a.cert}, key: {a.key} }}], alpn: [h2, http/1.1] }}\n")
    assert result.returncode == 2
    assert "listeners.production.tls.alpn[0] (line 6): Turnout speaks HTTP/1.x" in result.stderr, result.stderr


def test_check_refuses_a_ticket_key_rotation_under_a_second(tmp_path, certificates):
    a = certificates["a"]
    result = check_listener(tmp_path, f"    tls: {{ certificates: [{{ cert: {a.cert}, key: {a.key} }}], "
                                      f"ticket_key_rotation: 500ms }}\n")
    assert result.returncode == 2
    assert ("listeners.production.tls.ticket_key_rotation (line 6): expected at least 1s, e.g. 12h, got 500ms"
            in result.stderr), result.stderr


def expired_certificate(directory: Path, name: str) -> Pair:
    """A certificate for ``name`` (its common name only) that expired a day ago."""
    key, request, cert = directory / "expired.key", directory / "expired.csr", directory / "expired.pem"
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                    "-keyout", str(key), "-subj", f"/CN={name}", "-out", str(request)], check=True, capture_output=True)
    subprocess.run(["openssl", "x509", "-req", "-in", str(request), "-signkey", str(key), "-days", "-1",
                    "-out", str(cert)], check=True, capture_output=True)
    return Pair(cert, key)


def test_check_warns_of_an_expired_certificate_and_a_name_served_twice(tmp_path, certificates):
    expired = expired_certificate(tmp_path, "a.example")
    result = check_with(tmp_path, "".join(
        f"        - {{ cert: {pair.cert}, key: {pair.key} }}\n" for pair in (certificates["a"], expired)))
    assert result.returncode == 0, result.stderr
    assert f"listeners.production.tls.certificates[1].cert (line 9): {expired.cert} expired" in result.stderr
    assert "'a.example' is served by more than one certificate; the first serves it" in result.stderr


def test_serve_refuses_a_bad_certificate_before_binding(proxy_config, pair, certificates, tmp_path):
    a, b = certificates["a"], certificates["b"]
    config, path = proxy_config(groups=pair, tls={"production": {"certificates": [
        {"cert": str(a.cert), "key": str(b.key)}]}})
    from harness import executable
    result = subprocess.run([str(executable("turnout")), "serve", "--config", str(path)],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert "listeners.production.tls.certificates[0].key" in result.stderr
    assert "does not match the certificate" in result.stderr
    assert not socket_accepts(config.listener_ports["production"])


def socket_accepts(port: int) -> bool:
    try:
        with socket.create_connection((LOOPBACK, port), timeout=0.5):
            return True
    except OSError:
        return False


# MARK: - Reloading certificates


def fingerprint_served(port: int, name: str) -> str:
    """The SHA-256 fingerprint of the certificate the listener presents for ``name``."""
    pem = ssl.get_server_certificate((LOOPBACK, port))  # no SNI: the first certificate
    if name:
        with socket.create_connection((LOOPBACK, port), timeout=10) as sock:
            context = ssl.create_default_context()
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
            with context.wrap_socket(sock, server_hostname=name) as tls:
                return hashlib.sha256(tls.getpeercert(binary_form=True)).hexdigest()
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).hexdigest()


def fingerprint_of(pair: Pair) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pair.cert.read_text())).hexdigest()


@pytest.fixture
def renewable(proxy, pair, tmp_path):
    """A proxy serving a.example from files the test rewrites (``live``), and two certificates for the name to
    put there (``first``, served at start, and ``second``)."""
    first = make_certificate(tmp_path, "first", ["a.example"])
    second = make_certificate(tmp_path, "second", ["a.example"])
    live = Pair(tmp_path / "live.pem", tmp_path / "live.key")
    install(first, live)
    turnout = proxy(groups=pair, workers=2, wait_for_admin=True,
                    tls={"production": {"certificates": [live.entry()]}})
    return turnout, live, first, second


def install(source: Pair, live: Pair) -> None:
    """Replaces the live files as a renewal would (each written whole, then renamed over the old)."""
    for source_path, live_path in [(source.cert, live.cert), (source.key, live.key)]:
        scratch = live_path.with_suffix(".tmp")
        scratch.write_bytes(source_path.read_bytes())
        scratch.replace(live_path)


def test_a_reload_serves_new_handshakes_the_new_certificate_and_open_connections_carry_on(renewable):
    turnout, live, first, second = renewable
    admin = AdminClient.of(turnout)
    context = ssl.create_default_context(cafile=str(first.cert))
    with Conn(turnout.port(), tls=context, server_name="a.example") as conn:
        conn.send(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
        assert conn.read_response().status == 200
        assert fingerprint_served(turnout.port(), "a.example") == fingerprint_of(first)

        install(second, live)
        response = admin.post("/v1/tls/reload")
        assert response.status_code == 200, describe(response)
        listed = response.json()["listeners"]["production"]["certificates"]
        assert [(c["cert"], c["names"]) for c in listed] == [(str(live.cert), ["a.example"])]
        for _ in range(4):  # each of the two workers, whichever accepts
            assert fingerprint_served(turnout.port(), "a.example") == fingerprint_of(second)
        # The connection opened before the reload keeps its session.
        conn.send(b"GET / HTTP/1.1\r\nHost: a.example\r\n\r\n")
        assert conn.read_response().status == 200
    assert turnout.process.wait_for_log(r"certificates reloaded \(127\.0\.0\.1\); new handshakes use them: production: 1")
    admin.close()


def test_a_bad_file_at_reload_is_refused_naming_it_and_the_old_certificate_keeps_serving(renewable):
    turnout, live, first, second = renewable
    admin = AdminClient.of(turnout)
    live.key.write_text("not a key\n")
    response = admin.post("/v1/tls/reload")
    assert response.status_code == 422, describe(response)
    error = response.json()["error"]
    assert error["code"] == "tls_reload_refused"
    assert error["message"] == (f"listeners.production.tls.certificates[0].key: {live.key}: not a PEM private key "
                                "(expected -----BEGIN PRIVATE KEY----- or a key type's own block)")
    assert fingerprint_served(turnout.port(), "a.example") == fingerprint_of(first)

    # A key that does not match, by SIGHUP: refused the same way, in the log.
    install(second, live)
    live.key.write_bytes(first.key.read_bytes())
    turnout.process.send_signal(signal.SIGHUP)
    turnout.process.wait_for_log(r"certificates not reloaded \(SIGHUP\), the ones in force keep serving: "
                                 r"listeners\.production\.tls\.certificates\[0\]\.key: .*does not match")
    assert fingerprint_served(turnout.port(), "a.example") == fingerprint_of(first)

    # Mended, a SIGHUP puts the new one in force.
    install(second, live)
    turnout.process.send_signal(signal.SIGHUP)
    turnout.process.wait_for_log(r"certificates reloaded \(SIGHUP\)")
    assert fingerprint_served(turnout.port(), "a.example") == fingerprint_of(second)
    admin.close()


def test_reloads_under_https_keep_alive_load_lose_no_request(renewable, tmp_path):
    turnout, live, first, second = renewable
    admin = AdminClient.of(turnout)
    both = tmp_path / "both.pem"
    both.write_bytes(first.cert.read_bytes() + second.cert.read_bytes())
    context = ssl.create_default_context(cafile=str(both))
    context.check_hostname = False  # the clients connect to 127.0.0.1 and send no name

    def reloads():
        for index in range(10):
            install(second if index % 2 == 0 else first, live)
            response = admin.post("/v1/tls/reload")
            assert response.status_code == 200, describe(response)
            time.sleep(0.05)

    failures = [o for o in under_https_load(turnout.port(), context, reloads) if o.failed]
    assert not failures, failures[:5]
    admin.close()


def test_status_and_metrics_show_certificates_and_handshakes(https, certificates):
    turnout = https(strict_sni=True, timeouts={"tls_handshake": "1s"})
    admin = AdminClient.of(turnout)
    listeners = {listener["name"]: listener for listener in admin.status()["listeners"]}
    assert listeners["test"]["tls"] is None
    tls = listeners["production"]["tls"]
    assert tls["min_version"] == "1.2" and tls["strict_sni"] is True
    assert [c["names"] for c in tls["certificates"]] == [["a.example"], ["b.example", "www.b.example"], ["*.w.example"]]
    not_after = subprocess.run(["openssl", "x509", "-in", str(certificates["a"].cert), "-noout", "-enddate"],
                               capture_output=True, text=True, check=True).stdout.strip().split("=", 1)[1]
    expiry = time.strptime(not_after, "%b %d %H:%M:%S %Y %Z")
    assert tls["certificates"][0]["not_after"] == time.strftime("%Y-%m-%dT%H:%M:%S.000Z", expiry)

    assert curl(turnout.port(), "a.example", certificates["a"].cert).returncode == 0
    assert curl(turnout.port(), "b.example", certificates["b"].cert).returncode == 0
    assert s_client(turnout.port(), "-tls1_1", "-servername", "a.example").returncode != 0
    assert s_client(turnout.port(), "-servername", "unknown.example").returncode != 0
    with socket.create_connection((LOOPBACK, turnout.port()), timeout=10) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\n\r\n")
        sock.recv(100)
    with socket.create_connection((LOOPBACK, turnout.port()), timeout=10) as sock:
        assert sock.recv(100) == b""  # timed out
    metrics = admin.get("/metrics").text
    assert 'turnout_tls_handshakes_total{listener="production"} 2' in metrics, metrics
    for reason in ["protocol_version", "unrecognized_name", "not_tls", "timeout"]:
        assert f'turnout_tls_handshake_failures_total{{listener="production",reason="{reason}"}} 1' in metrics, reason
    expiry_line = (f'turnout_tls_certificate_expiry_timestamp_seconds{{listener="production",'
                   f'cert="{certificates["a"].cert}"}} {int(calendar.timegm(expiry))}')
    assert expiry_line in metrics, metrics
    admin.close()


# MARK: - Session resumption


def resumed(port: int, session: Path, version: str, *, save: bool = False) -> bool:
    """One s_client connection that sends a request (so that TLS 1.3's tickets arrive before it ends), offering
    the session in ``session`` or, with ``save``, keeping its own there. True when the session was resumed."""
    result = s_client(port, version, "-ign_eof", "-servername", "a.example",
                      *(["-sess_out", str(session)] if save else ["-sess_in", str(session)]),
                      send=b"GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
    assert b"Hello World! from blue" in result.stdout, result.stderr
    return b"\nReused, " in result.stdout


def test_sessions_resume_on_every_worker_by_ticket_until_a_reload_rotates_the_keys(renewable, tmp_path):
    turnout, live, first, second = renewable  # two workers
    admin = AdminClient.of(turnout)
    for version in ("-tls1_3", "-tls1_2"):
        session = tmp_path / f"session{version}"
        assert not resumed(turnout.port(), session, version, save=True)
        # Eight connections: the kernel spreads them over both workers' listening sockets.
        assert all(resumed(turnout.port(), session, version) for _ in range(8)), version
    session = tmp_path / "before-reload"
    resumed(turnout.port(), session, "-tls1_3", save=True)
    assert admin.post("/v1/tls/reload").status_code == 200
    assert not resumed(turnout.port(), session, "-tls1_3"), "a reload draws new ticket keys"
    admin.close()


def test_tickets_resume_across_one_ticket_key_rotation_and_not_two(https, tmp_path):
    turnout = https(workers=2, ticket_key_rotation="4s")
    admin = AdminClient.of(turnout)

    def rotations() -> int:
        tls = next(item["tls"] for item in admin.status()["listeners"] if item["name"] == "production")
        assert tls["ticket_key_rotation"] == "4s"
        return tls["ticket_key_rotations"]

    for version in ("-tls1_3", "-tls1_2"):
        session = tmp_path / f"session{version}"
        # Saved between two rotations, so that the ticket's key is known to be the newest of rotation `issued`.
        while True:
            issued = rotations()
            assert not resumed(turnout.port(), session, version, save=True)
            if rotations() == issued:
                break
        assert wait_until(lambda: rotations() >= issued + 1, timeout=30)
        # One rotation later the ticket's key is the previous one, still kept; on both workers.
        outcomes = [resumed(turnout.port(), session, version) for _ in range(4)]
        assert rotations() == issued + 1, "the resumptions took longer than a rotation"
        assert all(outcomes), (version, outcomes)
        assert wait_until(lambda: rotations() >= issued + 2, timeout=30)
        assert not resumed(turnout.port(), session, version), f"{version}: a key two rotations old is retired"
    admin.close()


def test_every_tls_1_3_resumption_brings_a_new_ticket(https, certificates):
    """Clients use a TLS 1.3 ticket once (RFC 8446 §C.4): each connection resumes with the ticket the one before
    it got, so a resumed handshake must issue a new one, or the next connection is a full handshake again."""
    turnout = https()
    context = client_context(certificates["a"].cert)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    session, reused, ticket_hashes = None, [], []
    for _ in range(5):
        with socket.create_connection((LOOPBACK, turnout.port()), timeout=10) as raw, \
                context.wrap_socket(raw, server_hostname="a.example", session=session) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n")
            response = b""
            while chunk := sock.recv(65536):  # to the close: the tickets come before the response
                response += chunk
            assert b"Hello World! from blue" in response
            reused.append(sock.session_reused)
            session = sock.session
            # OpenSSL's client names a TLS 1.3 session by the hash of its ticket.
            ticket_hashes.append(session.id)
    assert reused == [False, True, True, True, True]
    assert len(set(ticket_hashes)) == 5, "a resumed handshake issued no ticket"


def test_a_tls_1_3_handshake_issues_one_ticket_full_or_resumed(https, tmp_path):
    """One ticket per handshake, full or resumed (OpenSSL's default is two after a full one): the client uses it
    once and gets the next at its resumption."""
    turnout = https()
    request = b"GET / HTTP/1.1\r\nHost: a.example\r\nConnection: close\r\n\r\n"
    session = tmp_path / "session.pem"
    full = s_client(turnout.port(), "-tls1_3", "-servername", "a.example", "-ign_eof", "-sess_out", str(session),
                    send=request)
    assert full.returncode == 0, full.stderr
    assert b"Hello World! from blue" in full.stdout
    assert full.stdout.count(b"Post-Handshake New Session Ticket arrived") == 1, full.stdout
    resumed = s_client(turnout.port(), "-tls1_3", "-servername", "a.example", "-ign_eof", "-sess_in", str(session),
                       send=request)
    assert resumed.returncode == 0, resumed.stderr
    assert b"Reused, TLSv1.3" in resumed.stdout, resumed.stdout
    assert resumed.stdout.count(b"Post-Handshake New Session Ticket arrived") == 1, resumed.stdout


# MARK: - Redirecting plain HTTP


def test_a_plain_listener_redirects_every_request_to_https(proxy, pair, certificates):
    turnout = proxy(groups=pair, wait_for_admin=True, listeners={"production": {"blue": 100}, "plain": {"blue": 100}},
                    tls={"production": https_listener(certificates)}, redirect_to_https={"plain": 8443})
    response = requests.post(f"http://{LOOPBACK}:{turnout.port('plain')}/a/b?x=1&y=2",
                             headers={"Host": "app.example:8080"}, data=b"x" * 100_000, allow_redirects=False,
                             timeout=10)
    assert response.status_code == 301
    assert response.headers["Location"] == "https://app.example:8443/a/b?x=1&y=2"
    assert response.content == b""
    metrics = requests.get(f"{turnout.admin_url}/metrics", timeout=10).text
    forwarded = [line for line in metrics.splitlines() if line.startswith('turnout_requests_total{listener="plain"')]
    assert forwarded and all(line.endswith(" 0") for line in forwarded), "nothing was forwarded"


def test_check_refuses_a_listener_that_redirects_and_terminates_tls(tmp_path, certificates):
    a = certificates["a"]
    result = check_listener(tmp_path, "    redirect_to_https: { port: 443 }\n"
                                      f"    tls: {{ certificates: [{{ cert: {a.cert}, key: {a.key} }}] }}\n")
    assert result.returncode == 2
    assert "listeners.production.tls (line 7): a listener that redirects to HTTPS speaks plain HTTP" in result.stderr


# MARK: - A directory of certificates


def test_certificates_dir_serves_every_pair_in_it_and_a_reload_picks_up_new_ones(proxy, pair, tmp_path):
    directory = tmp_path / "certs"
    directory.mkdir()
    first = make_certificate(directory, "10-first", ["first.example"])  # 10-first.pem + 10-first.key
    combined = make_certificate(tmp_path, "combined", ["combined.example"])
    (directory / "20-combined.crt").write_bytes(combined.cert.read_bytes() + combined.key.read_bytes())
    (directory / "README").write_text("not a certificate, and not read\n")
    turnout = proxy(groups=pair, workers=1, wait_for_admin=True,
                    tls={"production": {"certificates_dir": str(directory)}})
    port = turnout.port()
    assert curl(port, "first.example", first.cert).returncode == 0
    assert curl(port, "combined.example", combined.cert).returncode == 0
    assert subject_served(port, "-noservername") == "subject=CN = first.example", "name order: the first serves"

    later = make_certificate(directory, "30-later", ["later.example"])
    assert curl(port, "later.example", later.cert).returncode == 60, "not served before a reload"
    admin = AdminClient.of(turnout)
    response = admin.post("/v1/tls/reload")
    assert response.status_code == 200, describe(response)
    assert [c["names"] for c in response.json()["listeners"]["production"]["certificates"]] == [
        ["first.example"], ["combined.example"], ["later.example"]]
    assert curl(port, "later.example", later.cert).returncode == 0
    admin.close()


def test_check_names_a_certificates_dir_without_certificates_and_a_bad_file_in_it(tmp_path, certificates):
    empty = tmp_path / "empty"
    empty.mkdir()

    def check(directory: Path) -> subprocess.CompletedProcess:
        return check_listener(tmp_path, f"    tls: {{ certificates_dir: {directory} }}\n")

    result = check(empty)
    assert result.returncode == 2
    assert f"listeners.production.tls.certificates_dir (line 6): {empty}: no certificate in it" in result.stderr
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "x.pem").write_bytes(certificates["a"].cert.read_bytes())
    (bad / "x.key").write_bytes(certificates["b"].key.read_bytes())
    result = check(bad)
    assert result.returncode == 2
    assert (f"listeners.production.tls.certificates_dir (line 6): {bad}/x.key: the private key does not match "
            f"the certificate {bad}/x.pem") in result.stderr, result.stderr
