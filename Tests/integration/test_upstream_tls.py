"""Upstream TLS: a target group with ``tls`` re-encrypts to its targets. The targets are Python ``ssl`` servers in
the test, with certificates the test makes with the ``openssl`` CLI (a CA and a leaf it signs, and another CA)."""

from __future__ import annotations

import http.server
import signal
import socket
import ssl
import subprocess
import threading
from pathlib import Path

import pytest
import requests

from admin_client import NO_CHECKS, AdminClient
from harness import LOOPBACK, run_check


def openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> Path:
    """ca.pem signs leaf.pem (upstream.test and 127.0.0.1); other-ca.pem signs nothing used here."""
    directory = tmp_path_factory.mktemp("upstream-pki")
    for name in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-keyout", str(directory / f"{name}.key"), "-out", str(directory / f"{name}.pem"), "-subj", f"/CN={name}")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", str(directory / "leaf.key"),
            "-out", str(directory / "leaf.csr"), "-subj", "/CN=upstream.test")
    (directory / "san.ext").write_text("subjectAltName=DNS:upstream.test,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(directory / "leaf.csr"), "-CA", str(directory / "ca.pem"),
            "-CAkey", str(directory / "ca.key"), "-CAcreateserial", "-days", "2", "-extfile", str(directory / "san.ext"),
            "-out", str(directory / "leaf.pem"))
    return directory


class TLSBackend:
    """An HTTP/1.1 keep-alive server behind TLS on loopback: ``GET /big`` answers 1 MiB, anything else its path;
    counts the TLS connections it accepted."""

    def __init__(self, pki: Path):
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(pki / "leaf.pem"), str(pki / "leaf.key"))
        backend = self
        self.connections = 0
        self.server_names: list[str | None] = []

        def sni(ssl_socket, name, _context):
            backend.server_names.append(name)

        context.sni_callback = sni

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                backend.connections += 1
                super().setup()

            def do_GET(self):
                body = b"x" * (1 << 20) if self.path == "/big" else f"tls backend {self.path}".encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self):
                sock, address = super().get_request()
                return context.wrap_socket(sock, server_side=True), address

            def handle_error(self, request, client_address):
                pass  # refused handshakes are what some tests are about

        self.server = Server((LOOPBACK, 0), Handler)
        self.address = f"{LOOPBACK}:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def tls_backend(pki):
    backend = TLSBackend(pki)
    yield backend
    backend.close()


def start(proxy, backend: TLSBackend, tls: dict):
    return proxy(groups={"blue": {"targets": [backend.address], "health_check": NO_CHECKS, "tls": tls},
                         "green": {"targets": [], "health_check": NO_CHECKS}},
                 workers=1, wait_for_admin=True)


def test_verified_upstream_tls_carries_requests_on_one_pooled_connection(proxy, tls_backend, pki):
    turnout = start(proxy, tls_backend, {"verify": True, "ca_file": str(pki / "ca.pem"), "server_name": "upstream.test"})
    url = f"http://{LOOPBACK}:{turnout.port()}"
    with requests.Session() as session:
        for path in ("/one", "/two", "/three"):
            response = session.get(url + path, timeout=10)
            assert response.status_code == 200
            assert response.text == f"tls backend {path}"
        big = session.get(url + "/big", timeout=10)
        assert big.status_code == 200 and big.content == b"x" * (1 << 20)
    # The pooled connection kept its session: one handshake for every request.
    assert tls_backend.connections == 1
    assert tls_backend.server_names == ["upstream.test"]


def test_target_address_is_the_name_checked_without_server_name(proxy, tls_backend, pki):
    turnout = start(proxy, tls_backend, {"verify": True, "ca_file": str(pki / "ca.pem")})
    response = requests.get(f"http://{LOOPBACK}:{turnout.port()}/by-address", timeout=10)
    assert response.status_code == 200 and response.text == "tls backend /by-address"
    # An address is no SNI name: none is sent.
    assert tls_backend.server_names == [None]


def test_certificate_from_another_authority_is_refused_and_counted_against_the_target(proxy, tls_backend, pki):
    turnout = start(proxy, tls_backend, {"verify": True, "ca_file": str(pki / "other-ca.pem"), "server_name": "upstream.test"})
    response = requests.get(f"http://{LOOPBACK}:{turnout.port()}/refused", timeout=10)
    assert response.status_code == 502
    turnout.process.wait_for_log(r"certificate verify failed.*upstream TLS handshake failed")
    metrics = requests.get(f"{turnout.admin_url}/metrics", timeout=10).text
    errors = [line for line in metrics.splitlines()
              if line.startswith("turnout_upstream_connect_errors_total") and tls_backend.address in line]
    assert errors and float(errors[0].rsplit(" ", 1)[1]) >= 1, metrics


def test_certificate_for_another_name_is_refused(proxy, tls_backend, pki):
    turnout = start(proxy, tls_backend, {"verify": True, "ca_file": str(pki / "ca.pem"), "server_name": "elsewhere.test"})
    assert requests.get(f"http://{LOOPBACK}:{turnout.port()}/", timeout=10).status_code == 502


def test_without_verify_any_certificate_is_taken(proxy, tls_backend, pki):
    turnout = start(proxy, tls_backend, {"verify": False, "ca_file": str(pki / "other-ca.pem")})
    response = requests.get(f"http://{LOOPBACK}:{turnout.port()}/unverified", timeout=10)
    assert response.status_code == 200 and response.text == "tls backend /unverified"


def test_plain_target_in_a_tls_group_is_refused(proxy, backends, pki):
    turnout = proxy(groups={"blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS,
                                     "tls": {"verify": False}},
                            "green": {"targets": [], "health_check": NO_CHECKS}},
                    workers=1, wait_for_admin=True)
    assert requests.get(f"http://{LOOPBACK}:{turnout.port()}/", timeout=10).status_code == 502


def upstream_tls_samples(turnout, family: str, target: str) -> dict[str, float]:
    """``family``'s samples for the group blue's ``target``, by their label text after the target's."""
    metrics = requests.get(f"{turnout.admin_url}/metrics", timeout=10).text
    prefix = f'{family}{{target_group="blue",target="{target}"'
    return {line[len(prefix):].rsplit(" ", 1)[0]: float(line.rsplit(" ", 1)[1])
            for line in metrics.splitlines() if line.startswith(prefix)}


def test_handshakes_with_targets_are_counted_and_failures_by_reason(proxy, tls_backend, pki):
    turnout = start(proxy, tls_backend, {"verify": True, "ca_file": str(pki / "ca.pem"), "server_name": "elsewhere.test"})
    assert requests.get(f"http://{LOOPBACK}:{turnout.port()}/", timeout=10).status_code == 502
    failures = upstream_tls_samples(turnout, "turnout_upstream_tls_handshake_failures_total", tls_backend.address)
    # The one target, tried once (a refused target is skipped for a moment: the retry finds no other).
    assert failures == {',reason="certificate_verify"}': 1.0}, failures
    assert upstream_tls_samples(turnout, "turnout_upstream_tls_handshakes_total", tls_backend.address) == {"}": 0.0}


def test_a_changed_ca_file_is_read_again_by_a_reload_and_a_bad_one_refused(proxy, tls_backend, pki, tmp_path):
    ca_file = tmp_path / "targets-ca.pem"
    ca_file.write_bytes((pki / "other-ca.pem").read_bytes())
    turnout = start(proxy, tls_backend, {"verify": True, "ca_file": str(ca_file), "server_name": "upstream.test"})
    admin = AdminClient.of(turnout)
    url = f"http://{LOOPBACK}:{turnout.port()}/"
    assert requests.get(url, timeout=10).status_code == 502

    # The authority that signed the target's certificate, put in the file: a reload makes new handshakes trust it.
    ca_file.write_bytes((pki / "ca.pem").read_bytes())
    assert requests.get(url, timeout=10).status_code == 502, "the file is read at a reload only"
    failures = upstream_tls_samples(turnout, "turnout_upstream_tls_handshake_failures_total", tls_backend.address)
    assert failures == {',reason="certificate_verify"}': 2.0}, failures
    assert admin.post("/v1/tls/reload").status_code == 200
    response = requests.get(url + "after-reload", timeout=10)
    assert response.status_code == 200 and response.text == "tls backend /after-reload"
    assert upstream_tls_samples(turnout, "turnout_upstream_tls_handshakes_total", tls_backend.address) == {"}": 1.0}

    # A file that is no longer PEM: refused, naming the group's key; what is in force keeps serving.
    ca_file.write_text("not a certificate\n")
    refused = admin.post("/v1/tls/reload")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "tls_reload_refused"
    assert "target_groups.blue.tls.ca_file" in refused.json()["error"]["message"], refused.text
    assert requests.get(url + "still", timeout=10).status_code == 200
    admin.close()


def test_a_sighup_reads_the_targets_ca_file_again(proxy, tls_backend, pki, tmp_path):
    ca_file = tmp_path / "targets-ca.pem"
    ca_file.write_bytes((pki / "other-ca.pem").read_bytes())
    turnout = start(proxy, tls_backend, {"verify": True, "ca_file": str(ca_file), "server_name": "upstream.test"})
    url = f"http://{LOOPBACK}:{turnout.port()}/"
    assert requests.get(url, timeout=10).status_code == 502
    ca_file.write_bytes((pki / "ca.pem").read_bytes())
    turnout.process.send_signal(signal.SIGHUP)
    turnout.process.wait_for_log(r"certificates reloaded \(SIGHUP\).*target group blue: CA file")
    assert requests.get(url, timeout=10).status_code == 200


def test_check_names_an_unreadable_ca_file_with_its_key_and_line(proxy_config, pki):
    config, path = proxy_config(groups={"blue": {"targets": [f"{LOOPBACK}:9"], "health_check": NO_CHECKS,
                                                 "tls": {"ca_file": str(pki / "missing.pem")}},
                                        "green": {"targets": [], "health_check": NO_CHECKS}})
    result = run_check(path)
    assert result.returncode == 2
    line = next(i for i, text in enumerate(path.read_text().splitlines(), 1) if "ca_file" in text)
    assert f"target_groups.blue.tls.ca_file (line {line})" in result.stderr, result.stderr
    assert str(pki / "missing.pem") in result.stderr


# MARK: - Health checks over TLS

TLS_CHECKS = {"path": "/health", "interval": "300ms", "timeout": "250ms", "healthy_threshold": 2, "unhealthy_threshold": 2}


def start_checked(proxy, backend: TLSBackend, tls: dict):
    turnout = proxy(groups={"blue": {"targets": [backend.address], "health_check": TLS_CHECKS, "tls": tls},
                            "green": {"targets": [], "health_check": NO_CHECKS}},
                    workers=1, wait_for_admin=True)
    return turnout, AdminClient.of(turnout)


def test_health_checks_go_over_tls_and_pass(proxy, tls_backend, pki):
    turnout, admin = start_checked(proxy, tls_backend, {"ca_file": str(pki / "ca.pem"), "server_name": "upstream.test"})
    target = admin.wait_for_target("blue", tls_backend.address, lambda t: t is not None and t["state"] == "healthy",
                                   10, "healthy")
    assert target["routable"] is True
    # The probes spoke TLS, named as the group's requests are.
    assert tls_backend.connections >= 2 and set(tls_backend.server_names) == {"upstream.test"}


def test_health_check_to_a_target_with_an_unverifiable_certificate_fails(proxy, tls_backend, pki):
    turnout, admin = start_checked(proxy, tls_backend, {"ca_file": str(pki / "other-ca.pem"), "server_name": "upstream.test"})
    target = admin.wait_for_target("blue", tls_backend.address, lambda t: t is not None and t["state"] == "unhealthy",
                                   10, "unhealthy")
    assert "TLS handshake failed: certificate verify failed" in target["description"], target
