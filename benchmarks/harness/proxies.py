"""The proxies under test and the backend: how each is configured, started and checked."""

import shutil
import ssl
import subprocess
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from . import configs

# Display order, labels and chart colours of every proxy variant.
PROXIES = {
    "turnout": ("Turnout", "#d62728"),
    "turnout-access-log": ("Turnout + access log", "#ff9896"),
    "haproxy": ("HAProxy", "#1f77b4"),
    "haproxy-splice": ("HAProxy splice-auto", "#7fb2e5"),
    "nginx": ("nginx", "#2ca02c"),
}
BASELINE = "haproxy"


def label(proxy):
    return PROXIES[proxy][0]


def colour(proxy):
    return PROXIES[proxy][1]


@dataclass(frozen=True)
class ProxySettings:
    """What a workload asks of every proxy: worker count, HAProxy's connection limit, and how many host rules
    (`h0.example` ... each forwarding to the backend) stand before the default route."""

    workers: int = 1
    haproxy_maxconn: int = 4000
    host_rules: int = 0
    # HTTPS on the client side: every proxy terminates TLS with the same ECDSA P-256 certificate.
    tls: bool = False


class Backend:
    """The nginx backend shared by all proxies and workloads, with its files written once."""

    def __init__(self, work, port):
        self.root = Path(work) / "backend"
        self.port = port
        (self.root / "logs").mkdir(parents=True, exist_ok=True)
        www = self.root / "www"
        www.mkdir(exist_ok=True)
        block = bytes(range(256)) * 4096  # 1 MiB, not all zeros
        (www / "1m").write_bytes(block)
        with open(www / "100m", "wb") as big:
            for _ in range(configs.HUNDRED_MIB // configs.ONE_MIB):
                big.write(block)
        (www / "upload").write_bytes(b"")  # the static file whose POST nginx refuses (see configs.backend_nginx)
        self.config = self.root / "nginx.conf"
        self.config.write_text(configs.backend_nginx(self.root, port))

    def command(self):
        return nginx_command(self.root, self.config)


def nginx_command(root, config):
    """nginx in the foreground (the configurations say `daemon off`) with its files under `root`."""
    return ["nginx", "-p", root, "-e", root / "logs/error.log", "-c", config]


def certificate(work):
    """The benchmark's certificate (ECDSA P-256, self-signed, for 127.0.0.1), made once per work directory: its
    certificate, key, and both in one file (HAProxy's `crt`)."""
    directory = Path(work) / "tls"
    cert, key, combined = directory / "cert.pem", directory / "key.pem", directory / "combined.pem"
    if not combined.exists():
        directory.mkdir(parents=True, exist_ok=True)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-days", "30", "-keyout", str(key), "-out", str(cert), "-subj", "/CN=bench.example",
                        "-addext", "subjectAltName=DNS:bench.example,IP:127.0.0.1"], check=True, capture_output=True)
        combined.write_bytes(cert.read_bytes() + key.read_bytes())
    return cert, key, combined


def proxy_command(proxy, work, ports, settings, turnout_bin):
    """Writes `proxy`'s configuration for `settings` into a fresh directory and returns its start command."""
    root = Path(work) / proxy
    if root.exists():
        shutil.rmtree(root)
    (root / "logs").mkdir(parents=True)
    port, backend_port = ports[proxy], ports["backend"]
    tls = certificate(work) if settings.tls else None
    if proxy in ("turnout", "turnout-access-log"):
        config = root / "turnout.yaml"
        access_log = root / "logs/access.json" if proxy == "turnout-access-log" else None
        admin_port = ports["admin-access-log" if access_log else "admin"]  # both run at once
        config.write_text(configs.turnout(root / "state", port, admin_port, {"blue": backend_port},
                                          settings.workers, host_rules=settings.host_rules,
                                          tls=tls[:2] if tls else None, access_log=access_log))
        return [turnout_bin, "serve", "--config", config]
    if proxy in ("haproxy", "haproxy-splice"):
        config = root / "haproxy.cfg"
        config.write_text(configs.haproxy(port, [("blue1", backend_port, None)], settings.workers,
                                          settings.haproxy_maxconn, splice=proxy == "haproxy-splice",
                                          host_rules=settings.host_rules, tls_pem=tls[2] if tls else None))
        subprocess.run(["haproxy", "-c", "-q", "-f", str(config)], check=True)
        return ["haproxy", "-db", "-f", config]
    if proxy == "nginx":
        config = root / "nginx.conf"
        config.write_text(configs.proxy_nginx(root, port, backend_port, settings.workers, tls=tls[:2] if tls else None))
        return nginx_command(root, config)
    raise ValueError(f"unknown proxy {proxy}")


def check_proxying(service, port, paths, tls=False):
    """Fetches each path through the proxy (over HTTPS with `tls`) and compares it with what the backend serves;
    raises StartFailure."""
    expected_sizes = {"/1m": configs.ONE_MIB, "/100m": configs.HUNDRED_MIB}
    context = ssl._create_unverified_context() if tls else None
    for path in paths:
        url = f"{'https' if tls else 'http'}://127.0.0.1:{port}{path}"
        try:
            if path == "/upload":
                request = urllib.request.Request(url, data=b"x" * configs.ONE_MIB, method="POST")
                with urllib.request.urlopen(request, timeout=10, context=context) as response:
                    body = response.read()
                ok, seen = response.status == 200 and body == b"uploaded\n", f"{response.status} {body[:40]!r}"
            else:
                with urllib.request.urlopen(url, timeout=30, context=context) as response:
                    body = response.read()
                if path in expected_sizes:
                    ok, seen = len(body) == expected_sizes[path], f"{len(body)} bytes"
                else:
                    ok, seen = body.decode(errors="replace") == configs.SMALL_BODY, repr(body[:80])
        except OSError as error:
            ok, seen = False, str(error)
        if not ok:
            raise service.failure(f"listens but does not proxy {path} correctly: got {seen}")
