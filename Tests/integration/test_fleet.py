"""A fleet: several `turnout serve` instances sharing one routing state through a real etcd (`state: {store: etcd}`).

Each test starts its own `etcd` on loopback ports with a temporary data directory (the Debian package's service plays
no part), and real Turnout instances in front of real demo backends. A change made through one instance is in force
on the others once its watch delivers it, so the tests wait for that with `wait_until`, never with a fixed sleep.
"""

from __future__ import annotations

import base64
import signal
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import requests
from openapi_schema_validator import OAS30Validator

from admin_client import NO_CHECKS, AdminClient, wait_for_admin_api
from harness import (
    LOOPBACK,
    ManagedProcess,
    Proxy,
    ProxyConfig,
    executable,
    free_port,
    render_yaml,
    run_check,
    wait_until,
)

from test_openapi import load_spec, resolve

ETCD = shutil.which("etcd")
pytestmark = pytest.mark.skipif(ETCD is None, reason="etcd is not installed (make test-deps installs etcd-server)")

PREFIX = "/turnout/test-fleet"


def openssl(*arguments: str) -> None:
    subprocess.run(["openssl", *arguments], check=True, capture_output=True)


@pytest.fixture(scope="module")
def etcd_pki(tmp_path_factory) -> Path:
    """ca.pem signs etcd.pem (the members': localhost and 127.0.0.1) and client.pem (an instance's); other-ca.pem
    signs nothing used here."""
    directory = tmp_path_factory.mktemp("etcd-pki")
    for name in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                "-keyout", str(directory / f"{name}.key"), "-out", str(directory / f"{name}.pem"), "-subj", f"/CN={name}")
    (directory / "san.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("etcd", "client"):
        openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                "-keyout", str(directory / f"{name}.key"), "-out", str(directory / f"{name}.csr"), "-subj", f"/CN={name}")
        openssl("x509", "-req", "-in", str(directory / f"{name}.csr"), "-CA", str(directory / "ca.pem"),
                "-CAkey", str(directory / "ca.key"), "-CAcreateserial", "-days", "2",
                "-extfile", str(directory / "san.ext"), "-out", str(directory / f"{name}.pem"))
    return directory


class EtcdCluster:
    """``size`` etcd members on loopback, each with its own ports and data directory: ``stop()`` and ``start()`` act
    on every member (or on the ones named), which come back on the same ports and data. With ``pki`` (from
    ``etcd_pki``) the members serve HTTPS on their client ports and ask for a client certificate
    (``--client-cert-auth``) signed by its CA."""

    def __init__(self, start_process, directory: Path, size: int = 1, pki: Path | None = None):
        self.start_process = start_process
        self.pki = pki
        # root's password once ``enable_auth`` turned authentication on: every call then authenticates first.
        self.root_password: str | None = None
        self.members = [
            {"name": f"m{index}", "data_dir": directory / f"etcd-m{index}", "client": free_port(), "peer": free_port()}
            for index in range(size)
        ]
        self.processes: dict[int, ManagedProcess] = {}
        self.starts = 0
        # The order the instances' configuration lists the members in (they try the first one first).
        self.order = list(range(size))

    @property
    def scheme(self) -> str:
        return "https" if self.pki else "http"

    @property
    def endpoints(self) -> list[str]:
        return [f"{self.scheme}://{LOOPBACK}:{self.members[index]['client']}" for index in self.order]

    @property
    def client_tls(self) -> dict | None:
        """The ``state.tls`` an instance needs to speak to the members."""
        if not self.pki:
            return None
        return {"ca_file": str(self.pki / "ca.pem"), "cert": str(self.pki / "client.pem"), "key": str(self.pki / "client.key")}

    def leader(self) -> int:
        """The index of the member that leads the cluster now."""
        for index in self.processes:
            status = self.call("/v3/maintenance/status", {}, index).json()
            if status["leader"] == status["header"]["member_id"]:
                return index
        raise AssertionError("no member leads")

    def start(self, indices: list[int] | None = None) -> None:
        initial = ",".join(f"{member['name']}=http://{LOOPBACK}:{member['peer']}" for member in self.members)
        chosen = indices if indices is not None else list(range(len(self.members)))
        for index in chosen:  # all at once: a member of a cluster answers only once a quorum is up
            member = self.members[index]
            self.starts += 1
            client = f"{self.scheme}://{LOOPBACK}:{member['client']}"
            peer = f"http://{LOOPBACK}:{member['peer']}"
            tls = [] if not self.pki else [
                "--cert-file", str(self.pki / "etcd.pem"), "--key-file", str(self.pki / "etcd.key"),
                "--trusted-ca-file", str(self.pki / "ca.pem"), "--client-cert-auth",
            ]
            self.processes[index] = self.start_process(f"etcd-{member['name']}-{self.starts}", [
                ETCD, "--name", member["name"], "--data-dir", str(member["data_dir"]),
                "--listen-client-urls", client, "--advertise-client-urls", client,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", initial, "--initial-cluster-token", "turnout-test", "--log-level", "warn", *tls,
            ])
        for index in chosen:
            assert wait_until(lambda: self.answers(index), timeout=20), self.processes[index].log_tail()

    def stop(self, indices: list[int] | None = None) -> None:
        for index in indices if indices is not None else list(self.processes):
            process = self.processes.pop(index)
            process.exit_expected = True
            process.kill()

    def answers(self, index: int) -> bool:
        try:
            return self.call("/v3/kv/range", {"key": _b64("/")}, index).status_code == 200
        except requests.RequestException:
            return False

    def call(self, path: str, body: dict, index: int | None = None, **options) -> requests.Response:
        index = index if index is not None else min(self.processes)
        if self.pki:
            options = {"verify": str(self.pki / "ca.pem"),
                       "cert": (str(self.pki / "client.pem"), str(self.pki / "client.key")), **options}
        url = f"{self.scheme}://{LOOPBACK}:{self.members[index]['client']}"
        if self.root_password:
            answer = requests.post(f"{url}/v3/auth/authenticate", timeout=5, **options,
                                   data=json.dumps({"name": "root", "password": self.root_password}))
            assert answer.status_code == 200, answer.text
            options = {**options, "headers": {"Authorization": answer.json()["token"]}}
        return requests.post(f"{url}{path}", data=json.dumps(body), timeout=5, **options)

    def enable_auth(self, root_password: str) -> None:
        """Authentication on, as etcd's documentation sets it up: a root user with the root role."""
        for path, body in [("/v3/auth/user/add", {"name": "root", "password": root_password}),
                           ("/v3/auth/role/add", {"name": "root"}),
                           ("/v3/auth/user/grant", {"user": "root", "role": "root"}),
                           ("/v3/auth/enable", {})]:
            answer = self.call(path, body)
            assert answer.status_code == 200, (path, answer.text)
        self.root_password = root_password


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def etcd_cluster(request, start_process, tmp_path):
    """Factory: ``etcd_cluster(3)`` → a running cluster of that many members (one per test); ``tls=True``: over
    HTTPS with client certificates."""

    def start(size: int, tls: bool = False) -> EtcdCluster:
        cluster = EtcdCluster(start_process, tmp_path, size, pki=request.getfixturevalue("etcd_pki") if tls else None)
        cluster.start()
        return cluster

    return start


@pytest.fixture
def etcd(request, etcd_cluster) -> EtcdCluster:
    """One member, or as many as the test asks for with ``@pytest.mark.parametrize("etcd", [3], indirect=True)``
    (or ``[{"size": 1, "tls": True}]``)."""
    param = getattr(request, "param", 1)
    return etcd_cluster(**param) if isinstance(param, dict) else etcd_cluster(param)


@pytest.fixture
def fleet_member(start_process, tmp_path, backends, etcd):
    """Factory: ``fleet_member("a")`` → a running instance sharing the etcd's prefix, ready on its admin API
    (``endpoints``: the members it is given, all of them by default)."""
    binary = str(executable("turnout"))
    groups = {
        "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
        "green": {"targets": [backends.green.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
    }

    def start(name: str, endpoints: list[str] | None = None, blue_checks: dict | None = None,
              rules: dict[str, list[dict]] | None = None, state: dict | None = None,
              store_reachable: bool = True) -> Proxy:
        """``blue_checks``: this instance's own ``health_check`` for blue (none by default); ``rules``: the
        listeners' rules; ``state``: keys put over the ``state`` section (by default the cluster's own, with its
        ``tls`` when it has one); without ``store_reachable``, it is only waited for to listen (its ``/healthz``
        answers 503 while etcd is away)."""
        own_groups = {**groups, "blue": {**groups["blue"], "health_check": blue_checks or NO_CHECKS}}
        config = ProxyConfig(state_dir=tmp_path / f"state-{name}",
                             listeners={"production": {"blue": 100}, "test": {"green": 100}}, groups=own_groups,
                             rules=rules)
        document = config.as_dict()
        document["state"] = {"store": "etcd", "endpoints": endpoints or etcd.endpoints, "prefix": PREFIX}
        if etcd.client_tls:
            document["state"]["tls"] = etcd.client_tls
        document["state"].update(state or {})
        path = tmp_path / f"turnout-{name}.yaml"
        path.write_text(render_yaml(document) + "\n")
        process = start_process(f"turnout-{name}", [binary, "serve", "--config", str(path)])
        process.wait_until_listening([*config.listener_ports.values(), config.admin_port])
        member = Proxy(process, config, path)
        member.document = document  # what a test rewrites before a reload
        if store_reachable:
            wait_for_admin_api(member)
        return member

    return start


def served_by(member: Proxy) -> str:
    """Which demo backend answered a fresh request on the member's production listener."""
    response = requests.get(f"http://{LOOPBACK}:{member.port()}/health", timeout=5)
    assert response.status_code == 200, response.text
    return response.headers["X-Served-By"]


def serves(member: Proxy, name: str) -> bool:
    return served_by(member) == name


class _closing:
    def __init__(self, client: AdminClient):
        self.client = client

    def __enter__(self) -> AdminClient:
        return self.client

    def __exit__(self, *exc) -> None:
        self.client.close()


def admin_call(member: Proxy, method: str, path: str, **options) -> requests.Response:
    with _closing(AdminClient.of(member)) as client:
        return client.request(method, path, **options)


def generation(member: Proxy) -> int:
    return admin_call(member, "GET", "/v1/status").json()["generation"]


def test_a_switch_through_one_instance_is_in_force_on_every_other(fleet_member):
    a, b, c = fleet_member("a"), fleet_member("b"), fleet_member("c")
    for member in (a, b, c):
        assert serves(member, "blue")

    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"})
    assert reply.status_code == 200, reply.text
    switched = reply.json()["generation"]
    assert serves(a, "green")  # in force on the instance that acknowledged it, from the reply on

    for member in (b, c):
        assert wait_until(lambda: generation(member) == switched, timeout=10), member.process.log_tail()
        assert serves(member, "green")
        # The audit entry travels with the change.
        audit = admin_call(member, "GET", "/v1/audit").json()
        entries = audit["entries"] if isinstance(audit, dict) else audit
        assert any(entry["action"] == "switch" and entry["generation_after"] == switched for entry in entries), audit
        status = admin_call(member, "GET", "/v1/status").json()
        assert status["state_store"]["store"] == "etcd" and status["state_store"]["sound"] is True, status


def served_by_host(member: Proxy, host: str) -> str:
    response = requests.get(f"http://{LOOPBACK}:{member.port()}/health", headers={"Host": host}, timeout=5)
    assert response.status_code == 200, response.text
    return response.headers["X-Served-By"]


def test_a_rules_switch_through_one_instance_moves_that_rule_alone_on_every_other(fleet_member):
    rules = {"production": [{"name": "api", "match": {"host": "api.example"}, "forward": {"blue": 100}}]}
    a, b = fleet_member("a", rules=rules), fleet_member("b", rules=rules)
    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green", "rule": "api"})
    assert reply.status_code == 200, reply.text
    switched = reply.json()["generation"]
    assert reply.json()["rules"] == {"production": {"api": {"green": 100}}}, reply.text

    assert wait_until(lambda: generation(b) == switched, timeout=10), b.process.log_tail()
    c = fleet_member("c", rules=rules)  # joins after the change: reads it from the store
    for member in (a, b, c):
        assert served_by_host(member, "api.example") == "green"
        assert served_by_host(member, "www.example") == "blue", "the listener's own forward stayed"
        production = next(listener for listener in admin_call(member, "GET", "/v1/status").json()["listeners"]
                          if listener["name"] == "production")
        assert [(rule["name"], rule["forward"]) for rule in production["rules"]] == [("api", {"green": 100})]


def test_a_stale_if_match_through_another_instance_is_refused(fleet_member):
    a, b = fleet_member("a"), fleet_member("b")
    before = generation(a)
    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"}, headers={"If-Match": str(before)})
    assert reply.status_code == 200, reply.text
    after = reply.json()["generation"]
    assert wait_until(lambda: generation(b) == after, timeout=10)

    stale = admin_call(b, "POST", "/v1/switch", json_body={"to": "blue"}, headers={"If-Match": str(before)})
    assert stale.status_code == 409, stale.text
    assert stale.json()["error"]["code"] == "stale_generation"
    assert serves(a, "green") and serves(b, "green")


def test_a_change_based_on_a_revision_another_writer_moved_loses_the_compare(fleet_member, etcd):
    """The transaction compares the head's mod revision: when it moved under an instance (here a put straight into
    etcd, which no instance's record follows), the change is refused with 409 and nothing is published; the instance
    reads the state again, and the retry is accepted."""
    a = fleet_member("a")
    moved = etcd.call("/v3/kv/put", {"key": _b64(PREFIX + "/head"), "value": _b64("0")})
    assert moved.status_code == 200, moved.text

    lost = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"})
    assert lost.status_code == 409, lost.text
    assert lost.json()["error"]["code"] == "stale_generation"
    assert "another instance" in lost.json()["error"]["message"]
    assert serves(a, "blue")

    def retried() -> bool:
        return admin_call(a, "POST", "/v1/switch", json_body={"to": "green"}).status_code == 200

    assert wait_until(retried, timeout=10, interval=0.1), a.process.log_tail()
    assert serves(a, "green")


def test_etcd_stopped_serving_goes_on_changes_are_refused_and_caught_up_after(fleet_member, etcd):
    a, b = fleet_member("a"), fleet_member("b")
    etcd.stop()

    refused = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "state_store_unavailable"
    assert "etcd" in refused.json()["error"]["message"]
    for member in (a, b):
        assert serves(member, "blue")  # serving goes on with the state last applied
        assert wait_until(lambda: admin_call(member, "GET", "/healthz").status_code == 503, timeout=10)
        health = admin_call(member, "GET", "/healthz").json()
        assert health["error"]["code"] == "state_store_unavailable", health
        status = admin_call(member, "GET", "/v1/status").json()
        assert status["state_store"]["sound"] is False and status["state_store"]["problem"], status

    etcd.start()
    assert_changes_go_through_again(through=b, seen_on=a, to="green")


def assert_changes_go_through_again(through: Proxy, seen_on: Proxy, to: str) -> None:
    """Once etcd answers again, both instances are healthy by themselves and a switch through one is in force on
    the other."""
    for member in (through, seen_on):
        assert wait_until(lambda: admin_call(member, "GET", "/healthz").status_code == 200, timeout=15), \
            member.process.log_tail()
    reply = admin_call(through, "POST", "/v1/switch", json_body={"to": to})
    assert reply.status_code == 200, reply.text
    assert wait_until(lambda: serves(seen_on, to), timeout=10), seen_on.process.log_tail()


@pytest.mark.parametrize("etcd", [{"size": 1, "tls": True}], indirect=True)
def test_a_switch_through_one_instance_is_in_force_on_another_over_tls_with_client_certificates(fleet_member, etcd):
    """etcd serves HTTPS and asks for a client certificate its CA signed: a client without one is refused at the
    handshake, and the instances, given ``state.tls`` with their certificate, share the state as over plain HTTP."""
    with pytest.raises(requests.exceptions.SSLError):
        etcd.call("/v3/kv/range", {"key": _b64("/")}, cert=None)
    a, b = fleet_member("a"), fleet_member("b")
    assert serves(b, "blue")

    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"})
    assert reply.status_code == 200, reply.text
    switched = reply.json()["generation"]
    assert wait_until(lambda: generation(b) == switched, timeout=10), b.process.log_tail()
    assert serves(b, "green")
    status = admin_call(b, "GET", "/v1/status").json()["state_store"]
    assert status["sound"] is True and status["endpoints"] == etcd.endpoints, status
    assert all(endpoint.startswith("https://") for endpoint in status["endpoints"]), status
    # The switch is in etcd: its head moved.
    head = etcd.call("/v3/kv/range", {"key": _b64(PREFIX + "/head")}).json()
    assert int(head["kvs"][0]["mod_revision"]) == status["revision"], (head, status)


@pytest.mark.parametrize("etcd", [{"size": 1, "tls": True}], indirect=True)
@pytest.mark.parametrize("tls, reason", [
    ({"ca_file": "other-ca.pem", "cert": "client.pem", "key": "client.key"}, "certificate verify failed"),
    ({"ca_file": "ca.pem"}, "TLS: sslv3 alert bad certificate"),  # the alert etcd sends
], ids=["another CA", "no client certificate"])
def test_an_instance_that_cannot_verify_etcd_or_be_verified_reports_the_store_unavailable(fleet_member, etcd, tls,
                                                                                         reason):
    """A handshake etcd's certificate fails (another CA), or etcd refuses (no client certificate), is etcd
    unavailable to that instance, as etcd stopped is: it starts and serves its configuration, refuses changes with
    503 naming the store and the TLS failure, and says so in ``/healthz`` and the status."""
    a = fleet_member("a")
    assert admin_call(a, "POST", "/v1/switch", json_body={"to": "green"}).status_code == 200
    wrong = fleet_member("wrong", state={"tls": {key: str(etcd.pki / value) for key, value in tls.items()}},
                         store_reachable=False)
    assert serves(wrong, "blue")  # its configuration, not the shared state it cannot read

    refused = admin_call(wrong, "POST", "/v1/switch", json_body={"to": "green"})
    assert refused.status_code == 503, refused.text
    assert refused.json()["error"]["code"] == "state_store_unavailable"
    assert "etcd" in refused.json()["error"]["message"] and reason in refused.json()["error"]["message"], refused.text
    health = admin_call(wrong, "GET", "/healthz")
    assert health.status_code == 503 and health.json()["error"]["code"] == "state_store_unavailable", health.text
    status = admin_call(wrong, "GET", "/v1/status").json()["state_store"]
    assert status["sound"] is False and reason in status["problem"], status
    assert serves(a, "green")


def test_instances_authenticate_to_etcd_and_again_once_it_forgot_their_tokens(fleet_member, etcd, tmp_path):
    """With authentication on in etcd, a request without a token is refused; instances given ``username`` and
    ``password_file`` authenticate and share the state. A restarted etcd knows none of the tokens it gave: the
    instances authenticate again by themselves and changes go through."""
    etcd.enable_auth("s3cret pass")
    assert requests.post(f"{etcd.endpoints[0]}/v3/kv/range", data=json.dumps({"key": _b64("/")}), timeout=5) \
        .json()["message"] == "etcdserver: user name is empty"
    password = tmp_path / "etcd-password"
    password.write_text("s3cret pass\n")
    credentials = {"username": "root", "password_file": str(password)}
    a, b = fleet_member("a", state=credentials), fleet_member("b", state=credentials)

    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"})
    assert reply.status_code == 200, reply.text
    assert wait_until(lambda: serves(b, "green"), timeout=10), b.process.log_tail()

    etcd.stop()
    etcd.start()
    assert_changes_go_through_again(through=b, seen_on=a, to="blue")
    head = etcd.call("/v3/kv/range", {"key": _b64(PREFIX + "/head")}).json()
    assert int(head["kvs"][0]["mod_revision"]) == admin_call(a, "GET", "/v1/status").json()["state_store"]["revision"]


def test_a_wrong_etcd_password_is_refused_with_a_clear_error(fleet_member, etcd, tmp_path):
    """A password etcd refuses is etcd unavailable to that instance, as a failed handshake is: it serves its
    configuration and refuses changes with 503 naming the user and etcd's reason."""
    etcd.enable_auth("right")
    password = tmp_path / "wrong-password"
    password.write_text("wrong\n")
    wrong = fleet_member("wrong", state={"username": "root", "password_file": str(password)}, store_reachable=False)
    assert serves(wrong, "blue")
    refused = admin_call(wrong, "POST", "/v1/switch", json_body={"to": "green"})
    assert refused.status_code == 503, refused.text
    message = refused.json()["error"]["message"]
    assert refused.json()["error"]["code"] == "state_store_unavailable"
    assert "authenticating as root" in message and "authentication failed, invalid user ID or password" in message, message
    status = admin_call(wrong, "GET", "/v1/status").json()["state_store"]
    assert status["sound"] is False and "authentication failed" in status["problem"], status
    assert admin_call(wrong, "GET", "/healthz").status_code == 503


def test_a_new_instance_gets_the_current_state_at_once(fleet_member):
    a = fleet_member("a")
    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"})
    assert reply.status_code == 200, reply.text

    joining = fleet_member("d")
    # Its first request, with no wait: the shared state was read before anything was bound.
    assert serves(joining, "green")
    assert generation(joining) == reply.json()["generation"]


@pytest.mark.parametrize("state, key_line, message", [
    ({"store": "etcd", "prefix": PREFIX}, "  store: \"etcd\"", "store: etcd needs endpoints"),
    ({"store": "etcd", "endpoints": ["https://127.0.0.1:2379", "http://127.0.0.1:22379"], "prefix": PREFIX},
     "    - \"http://127.0.0.1:22379\"", "every etcd endpoint is spoken to over HTTPS"),
    ({"store": "etcd", "endpoints": ["127.0.0.1:2379"], "prefix": PREFIX, "tls": {"cert": "/c.pem"}},
     "    cert: \"/c.pem\"", "a client certificate needs both cert and key"),
    ({"store": "etcd", "endpoints": ["127.0.0.1:2379"], "prefix": PREFIX, "tls": {"ca": "/ca.pem"}},
     "    ca: \"/ca.pem\"", "ca"),
    ({"store": "local", "tls": {"verify": False}}, "    verify: false", "only store: etcd takes"),
    ({"store": "etcd", "endpoints": ["127.0.0.1:2379"], "prefix": PREFIX, "username": "root"}, "  username: \"root\"",
     "etcd authentication needs both username and password_file"),
    ({"store": "etcd", "endpoints": ["127.0.0.1:2379"], "prefix": "turnout/x"}, "  prefix: \"turnout/x\"",
     "expected a key prefix such as /turnout/<cluster>"),
    ({"store": "consul"}, "  store: \"consul\"", "consul"),
    ({"store": "local", "prefix": PREFIX}, "  prefix: \"/turnout/test-fleet\"", "only store: etcd takes"),
])
def test_check_refuses_a_bad_state_section_naming_the_key_and_line(proxy_config, state, key_line, message):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]})
    document = config.as_dict()
    document["state"] = state
    path.write_text(render_yaml(document) + "\n")
    lines = path.read_text().splitlines()
    line = lines.index(key_line) + 1
    result = run_check(path)
    assert result.returncode != 0, result.stdout
    assert f"state" in result.stderr and f"(line {line})" in result.stderr, (result.stderr, line)
    assert message in result.stderr, result.stderr


@pytest.mark.parametrize("tls, key, message", [
    ({"ca_file": "missing.pem"}, "ca_file", "missing.pem"),
    ({"ca_file": "ca.pem", "cert": "client.pem", "key": "etcd.key"}, "key",
     "the private key does not match the certificate"),
    ({"ca_file": "ca.pem", "cert": "ca.key", "key": "client.key"}, "cert", "not a PEM certificate"),
    ({"ca_file": "ca.pem", "cert": "client.pem", "key": "client.pem"}, "key", "not a PEM private key"),
])
def test_check_refuses_state_tls_files_that_cannot_be_used_naming_the_key_and_line(proxy_config, etcd_pki, tls, key,
                                                                                   message):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]})
    document = config.as_dict()
    document["state"] = {"store": "etcd", "endpoints": ["127.0.0.1:2379"], "prefix": PREFIX,
                         "tls": {name: str(etcd_pki / file) for name, file in tls.items()}}
    path.write_text(render_yaml(document) + "\n")
    line = path.read_text().splitlines().index(f"    {key}: \"{etcd_pki / tls[key]}\"") + 1
    result = run_check(path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"state.tls.{key} (line {line})" in result.stderr and message in result.stderr, (result.stderr, line)


@pytest.mark.parametrize("content, message", [(None, "cannot read the password file"),
                                              ("\n", "is empty")])
def test_check_refuses_a_password_file_that_holds_none_naming_the_key_and_line(proxy_config, tmp_path, content,
                                                                              message):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]})
    password = tmp_path / "etcd-password"
    if content is not None:
        password.write_text(content)
    document = config.as_dict()
    document["state"] = {"store": "etcd", "endpoints": ["127.0.0.1:2379"], "prefix": PREFIX, "username": "root",
                         "password_file": str(password)}
    path.write_text(render_yaml(document) + "\n")
    line = path.read_text().splitlines().index(f"  password_file: \"{password}\"") + 1
    result = run_check(path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert f"state.password_file (line {line})" in result.stderr and message in result.stderr, (result.stderr, line)


def test_check_accepts_a_state_section_over_tls(proxy_config, etcd_pki):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]})
    document = config.as_dict()
    document["state"] = {"store": "etcd", "endpoints": ["https://127.0.0.1:2379", "localhost:22379"], "prefix": PREFIX,
                         "tls": {"ca_file": str(etcd_pki / "ca.pem"), "server_name": "localhost",
                                 "cert": str(etcd_pki / "client.pem"), "key": str(etcd_pki / "client.key")}}
    path.write_text(render_yaml(document) + "\n")
    result = run_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_accepts_an_etcd_state_section(proxy_config):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]})
    document = config.as_dict()
    document["state"] = {"store": "etcd", "endpoints": ["http://127.0.0.1:2379", "127.0.0.1:22379"], "prefix": PREFIX}
    path.write_text(render_yaml(document) + "\n")
    result = run_check(path)
    assert result.returncode == 0, result.stdout + result.stderr


def deployment_of(member: Proxy, deployment: str) -> dict | None:
    """The deployment as ``member`` has it (run there, or followed from the shared state); None if unknown there."""
    reply = admin_call(member, "GET", f"/v1/deployments/{deployment}")
    return reply.json() if reply.status_code == 200 else None


def status_of(member: Proxy, deployment: str) -> str | None:
    record = deployment_of(member, deployment)
    return record["status"] if record else None


def production_forward(member: Proxy) -> dict:
    listeners = admin_call(member, "GET", "/v1/status").json()["listeners"]
    return next(listener["forward"] for listener in listeners if listener["name"] == "production")


def runner_of(member: Proxy, listener: str = "production") -> str | None:
    """The admin address of the instance that runs ``listener``'s deployment, as ``member`` sees the fleet."""
    runner = admin_call(member, "GET", "/v1/status").json()["state_store"]["runners"].get(listener)
    return runner["address"] if runner else None


def start_deployment(member: Proxy, spec: dict) -> str:
    reply = admin_call(member, "POST", "/v1/deployments", json_body=spec)
    assert reply.status_code == 201, reply.text
    return reply.json()["id"]


def baking(member: Proxy, deployment: str) -> tuple[dict, dict]:
    """The deployment's record on ``member`` once it is in its first step's bake, and the production split ``member``
    served meanwhile. The step's routing change and the bake that follows it are two records, which a follower may
    see one after the other: the record is waited for, and the split is read before each look at it, once the
    deployment is known (the step's change is in force), so a record still in the bake says it was the step's."""
    assert wait_until(lambda: status_of(member, deployment) == "InProgress", timeout=10), member.process.log_tail()
    seen: dict = {}

    def in_bake() -> bool:
        seen["forward"] = production_forward(member)
        seen["record"] = deployment_of(member, deployment)
        return seen["record"]["stage"] == "bake"

    assert wait_until(in_bake, timeout=5), seen
    assert seen["record"]["status"] == "InProgress", seen
    return seen["record"], seen["forward"]


def test_a_deployment_started_through_one_instance_shifts_traffic_on_every_other(fleet_member):
    a, b, c = fleet_member("a"), fleet_member("b"), fleet_member("c")
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 30, "wait": "3s"}}}
    deployment = start_deployment(a, spec)
    assert runner_of(a) == f"{LOOPBACK}:{a.admin_port}"

    for member in (b, c):
        # Every instance follows the deployment from the shared state, and serves its canary split.
        _, forward = baking(member, deployment)
        assert forward == {"blue": 70, "green": 30}
        assert runner_of(member) == f"{LOOPBACK}:{a.admin_port}"

    for member in (a, b, c):
        assert wait_until(lambda: status_of(member, deployment) == "Succeeded", timeout=15), member.process.log_tail()
        assert production_forward(member) == {"green": 100}
        assert serves(member, "green")
        assert [step["weight"] for step in deployment_of(member, deployment)["steps"]] == [30, 100]
    # The lock went with the deployment's end: the next deployment may start through any instance.
    assert wait_until(lambda: runner_of(b) is None, timeout=10)
    again = {"target_group": "blue", "test_listener": None}  # all at once
    assert admin_call(b, "POST", "/v1/deployments", json_body=again).status_code == 201


def test_an_instance_joining_mid_deployment_follows_it_at_once(fleet_member):
    a = fleet_member("a")
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 40, "wait": "60s"}}}
    deployment = start_deployment(a, spec)
    # The 201 comes with the deployment's record; its first step is a change of its own, made after.
    assert wait_until(lambda: production_forward(a) == {"blue": 60, "green": 40}, timeout=10)

    joining = fleet_member("d")
    # No waiting: the shared state, the deployment with it, was read before anything was bound.
    assert status_of(joining, deployment) == "InProgress"
    assert production_forward(joining) == {"blue": 60, "green": 40}
    assert runner_of(joining) == f"{LOOPBACK}:{a.admin_port}"
    refused = admin_call(joining, "POST", "/v1/deployments", json_body=spec)
    assert refused.status_code == 409 and deployment in refused.json()["error"]["message"], refused.text


def test_a_second_deployment_on_the_route_through_another_instance_is_refused(fleet_member):
    a, b = fleet_member("a"), fleet_member("b")
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 10, "wait": "60s"}}}
    deployment = start_deployment(a, spec)

    # At once, whether or not b has the deployment's record yet: a holds the listener's runner lock.
    at_once = admin_call(b, "POST", "/v1/deployments", json_body=spec)
    assert at_once.status_code == 409, at_once.text
    assert at_once.json()["error"]["code"] in {"conflict", "stale_generation"}, at_once.text

    assert wait_until(lambda: status_of(b, deployment) == "InProgress", timeout=10)
    refused = admin_call(b, "POST", "/v1/deployments", json_body=spec)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "conflict"
    assert deployment in refused.json()["error"]["message"]
    # An action goes to the instance that runs it; b says where that is.
    elsewhere = admin_call(b, "POST", f"/v1/deployments/{deployment}/promote", json_body={})
    assert elsewhere.status_code == 409, elsewhere.text
    assert f"{LOOPBACK}:{a.admin_port}" in elsewhere.json()["error"]["message"]
    # A manual change of the listener is refused through every instance while the deployment runs.
    assert admin_call(b, "POST", "/v1/switch", json_body={"to": "green"}).status_code == 409
    promoted = admin_call(a, "POST", f"/v1/deployments/{deployment}/promote", json_body={})
    assert promoted.status_code == 200, promoted.text
    assert wait_until(lambda: status_of(b, deployment) == "Succeeded", timeout=10)
    assert [d["id"] for d in admin_call(b, "GET", "/v1/deployments").json()["deployments"]] == [deployment]


def test_the_runner_killed_mid_canary_another_instance_takes_over_and_it_succeeds(fleet_member):
    a, b, c = fleet_member("a"), fleet_member("b"), fleet_member("c")
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 20, "wait": "8s"}}}
    deployment = start_deployment(a, spec)
    before, _ = baking(b, deployment)
    assert wait_until(lambda: status_of(c, deployment) == "InProgress", timeout=10)
    assert before["restarts"] == []

    a.process.exit_expected = True
    a.process.kill()  # SIGKILL mid-bake: its lease lapses within 5 s, and its runner lock with it
    survivors = {f"{LOOPBACK}:{b.admin_port}", f"{LOOPBACK}:{c.admin_port}"}
    assert wait_until(lambda: runner_of(b) in survivors, timeout=15), b.process.log_tail()
    # The lock and the record saying it was taken over are two writes: b may see the first before the second.
    assert wait_until(lambda: deployment_of(b, deployment)["restarts"], timeout=5), deployment_of(b, deployment)
    record = deployment_of(b, deployment)
    assert [r["outcome"] for r in record["restarts"]] == ["resumed"], record
    assert record["deadline"] == before["deadline"], "the bake goes on from the stored time"

    for member in (b, c):
        assert wait_until(lambda: status_of(member, deployment) == "Succeeded", timeout=20), member.process.log_tail()
        record = deployment_of(member, deployment)
        # Each step applied once: the canary's and the last, by whichever instance ran it.
        assert [step["weight"] for step in record["steps"]] == [20, 100], record
        assert production_forward(member) == {"green": 100}
        assert serves(member, "green")
    entries = admin_call(b, "GET", "/v1/audit").json()["entries"]
    steps = [entry for entry in entries if entry["action"] == "deployment"]
    assert sorted(entry["generation_after"] for entry in steps) == record["generations"], steps
    assert len({entry["generation_after"] for entry in steps}) == len(steps)


def test_a_paused_runner_that_lost_its_lock_applies_nothing_when_it_wakes(fleet_member):
    """a stops (SIGSTOP) mid-bake past its lease: b takes the deployment over and ends it. When a wakes, its bake's
    timer fires first thing, and the step it tries loses its compare (the lock and the head moved): it applies
    nothing and follows the deployment as the fleet ended it."""
    a, b = fleet_member("a"), fleet_member("b")
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 20, "wait": "3s"}}}
    deployment = start_deployment(a, spec)
    assert wait_until(lambda: status_of(b, deployment) == "InProgress", timeout=10)
    a.process.send_signal(signal.SIGSTOP)
    try:
        assert wait_until(lambda: runner_of(b) == f"{LOOPBACK}:{b.admin_port}", timeout=15), b.process.log_tail()
        assert wait_until(lambda: status_of(b, deployment) == "Succeeded", timeout=15), b.process.log_tail()
    finally:
        a.process.send_signal(signal.SIGCONT)
    assert wait_until(lambda: status_of(a, deployment) == "Succeeded", timeout=15), a.process.log_tail()
    for member in (a, b):
        record = deployment_of(member, deployment)
        assert [step["weight"] for step in record["steps"]] == [20, 100], record
        assert [r["outcome"] for r in record["restarts"]] == ["resumed"], record
        entries = admin_call(member, "GET", "/v1/audit").json()["entries"]
        assert sorted(e["generation_after"] for e in entries if e["action"] == "deployment") == record["generations"]
        assert production_forward(member) == {"green": 100}
    assert generation(a) == generation(b)


def test_the_runner_killed_mid_canary_of_a_failing_replacement_is_rolled_back_by_the_one_taking_over(
        fleet_member, backends):
    a, b, c = fleet_member("a"), fleet_member("b"), fleet_member("c")
    assert requests.post(f"http://{backends.green.address}/control/root", data=b"fail", timeout=5).ok
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 50, "wait": "60s"}},
            "alarms": {"max_5xx_rate": 0.1, "window": "2s", "min_requests": 5}}
    deployment = start_deployment(a, spec)
    for member in (b, c):
        assert wait_until(lambda: status_of(member, deployment) == "InProgress", timeout=10)
    a.process.exit_expected = True
    a.process.kill()
    survivors = {f"{LOOPBACK}:{b.admin_port}", f"{LOOPBACK}:{c.admin_port}"}
    assert wait_until(lambda: runner_of(b) in survivors and runner_of(c) == runner_of(b), timeout=15)

    # Requests through the survivors: the one that took the deployment over sees the replacement's 500s.
    def rolled_back() -> bool:
        for member in (b, c):
            requests.get(f"http://{LOOPBACK}:{member.port()}/", timeout=5)
        return status_of(b, deployment) == "RolledBack"

    assert wait_until(rolled_back, timeout=30, interval=0.02), (deployment_of(b, deployment), admin_call(b, "GET", "/v1/status").json())
    record = deployment_of(b, deployment)
    assert [r["outcome"] for r in record["restarts"]] == ["resumed"], record
    assert record["reason"].startswith("alarm: max_5xx_rate "), record
    for member in (b, c):
        assert wait_until(lambda: production_forward(member) == {"blue": 100}, timeout=10)
        assert status_of(member, deployment) == "RolledBack"


def test_a_bad_canary_seen_only_through_another_instance_rolls_back(fleet_member, backends):
    """a runs the deployment and serves nothing; every request goes through b, where green answers 500: b publishes
    its figures, a judges the alarm on the sum and rolls back."""
    a, b = fleet_member("a"), fleet_member("b")
    assert requests.post(f"http://{backends.green.address}/control/root", data=b"fail", timeout=5).ok
    spec = {"target_group": "green", "test_listener": None, "strategy": {"canary": {"percent": 50, "wait": "60s"}},
            "alarms": {"max_5xx_rate": 0.1, "window": "5s", "min_requests": 5}}
    deployment = start_deployment(a, spec)
    assert wait_until(lambda: status_of(b, deployment) == "InProgress", timeout=10)

    def rolled_back() -> bool:
        requests.get(f"http://{LOOPBACK}:{b.port()}/", timeout=5)
        return status_of(a, deployment) == "RolledBack"

    assert wait_until(rolled_back, timeout=30, interval=0.02), a.process.log_tail() + b.process.log_tail()
    record = deployment_of(a, deployment)
    assert record["reason"].startswith("alarm: max_5xx_rate "), record
    [alarm] = record["alarms"]
    assert alarm["value"] > 0.1, alarm
    # a forwarded nothing to green itself: what it judged came from b.
    green = admin_call(a, "GET", "/v1/status").json()["figures"]["target_groups"]["green"]["60s"]
    assert green["error_rate_5xx"] is None, green
    assert wait_until(lambda: production_forward(b) == {"blue": 100}, timeout=10)


def fleet_view(member: Proxy) -> list[dict]:
    return admin_call(member, "GET", "/v1/status").json()["state_store"]["fleet"]


def assert_conforms(value, schema: str) -> None:
    """``value`` is what ``openapi/turnout-admin.yaml`` says a ``schema`` is."""
    spec = load_spec()
    errors = [error.message for error in OAS30Validator(resolve(spec["components"]["schemas"][schema], spec)).iter_errors(value)]
    assert errors == [], (value, errors)


def test_the_status_shows_every_instance_of_the_fleet_and_a_dead_one_leaves_it(fleet_member):
    a, b, c = fleet_member("a"), fleet_member("b"), fleet_member("c")
    addresses = {f"{LOOPBACK}:{member.admin_port}" for member in (a, b, c)}
    assert wait_until(lambda: {entry["address"] for entry in fleet_view(a)} == addresses, timeout=10), fleet_view(a)
    view = fleet_view(a)
    assert [entry["address"] for entry in view if entry["self"]] == [f"{LOOPBACK}:{a.admin_port}"], view
    assert all(entry["applied_revision"] == 0 and entry["last_seen"].endswith("Z") for entry in view), view
    assert_conforms(admin_call(a, "GET", "/v1/status").json()["state_store"], "StateStore")

    assert admin_call(b, "POST", "/v1/switch", json_body={"to": "green"}).status_code == 200
    revision = admin_call(b, "GET", "/v1/status").json()["state_store"]["revision"]
    assert revision > 0
    # Each instance registers again with the revision it applied.
    assert wait_until(lambda: {entry["applied_revision"] for entry in fleet_view(a)} == {revision}, timeout=10), \
        fleet_view(a)

    c.process.exit_expected = True
    c.process.kill()
    # Its lease (5 s) lapses without keep-alives, and its registration goes with it.
    gone = addresses - {f"{LOOPBACK}:{c.admin_port}"}
    assert wait_until(lambda: {entry["address"] for entry in fleet_view(a)} == gone, timeout=15), fleet_view(a)


def test_wait_fleet_answers_once_every_instance_serves_the_change(fleet_member):
    a, b, c = fleet_member("a"), fleet_member("b"), fleet_member("c")
    assert wait_until(lambda: len(fleet_view(a)) == 3, timeout=10), fleet_view(a)

    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"}, params={"wait": "fleet"})
    assert reply.status_code == 200, reply.text
    fleet = reply.json()["fleet"]
    assert fleet["applied"] is True and fleet["behind"] == [] and fleet["instances"] == 3, fleet
    assert_conforms(reply.json(), "RoutingChange")
    # No waiting here: the answer came once every instance had applied the change.
    for member in (a, b, c):
        assert serves(member, "green"), member.admin_port
        assert generation(member) == reply.json()["generation"]


def test_wait_fleet_times_out_naming_the_instance_behind(fleet_member):
    a, b = fleet_member("a"), fleet_member("b")
    assert wait_until(lambda: len(fleet_view(a)) == 2, timeout=10), fleet_view(a)
    b.process.send_signal(signal.SIGSTOP)
    try:
        reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"},
                           params={"wait": "fleet", "wait_timeout": "1s"})
    finally:
        b.process.send_signal(signal.SIGCONT)
    assert reply.status_code == 200, reply.text  # acknowledged: in etcd and in force on a
    fleet = reply.json()["fleet"]
    assert fleet["applied"] is False and len(fleet["behind"]) == 1 and fleet["behind"][0].endswith(f":{b.admin_port}"), fleet
    assert fleet["waited_ms"] >= 1000
    assert_conforms(reply.json(), "RoutingChange")
    assert serves(a, "green")
    assert wait_until(lambda: serves(b, "green"), timeout=10)


@pytest.mark.parametrize("params, message", [
    ({"wait": "all"}, "wait must be 'fleet'"),
    ({"wait": "fleet", "wait_timeout": "forever"}, "wait_timeout must be a duration"),
    ({"wait": "fleet", "wait_timeout": "2m"}, "up to 60s"),
    ({"wait_timeout": "5s"}, "wait_timeout goes with wait=fleet"),
])
def test_a_bad_wait_is_refused_before_anything_changes(fleet_member, params, message):
    a = fleet_member("a")
    refused = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"}, params=params)
    assert refused.status_code == 400, refused.text
    assert message in refused.json()["error"]["message"]
    assert serves(a, "blue")


@pytest.mark.parametrize("etcd", [3], indirect=True)
def test_a_killed_etcd_member_changes_nothing_for_the_fleet(fleet_member, etcd):
    """Three members; the one every instance talks to first (a follower, so that no election is under way) is
    killed: changes go on through the next member, the watches move there, and nothing is refused."""
    follower = next(index for index in range(3) if index != etcd.leader())
    etcd.order = [follower] + [index for index in range(3) if index != follower]
    a, b = fleet_member("a"), fleet_member("b")
    assert wait_until(lambda: len(fleet_view(a)) == 2, timeout=10), fleet_view(a)

    etcd.stop([follower])
    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"}, params={"wait": "fleet"})
    assert reply.status_code == 200, reply.text
    assert reply.json()["fleet"]["applied"] is True, reply.json()
    assert serves(a, "green") and serves(b, "green")
    for member in (a, b):
        assert admin_call(member, "GET", "/healthz").status_code == 200


@pytest.mark.parametrize("etcd", [3], indirect=True)
def test_an_instance_cut_off_from_etcd_catches_up_by_itself(fleet_member, etcd):
    """b knows one member only (a follower); while that member is down, b serves what it applied and refuses
    changes, a goes on changing the routing through the others, and when the member is back b reads the state it
    missed and serves it, without a restart."""
    follower = next(index for index in range(3) if index != etcd.leader())
    others = [f"{LOOPBACK}:{etcd.members[index]['client']}" for index in range(3) if index != follower]
    a = fleet_member("a", endpoints=others)
    b = fleet_member("b", endpoints=[f"{LOOPBACK}:{etcd.members[follower]['client']}"])

    etcd.stop([follower])
    assert wait_until(lambda: admin_call(b, "GET", "/healthz").status_code == 503, timeout=10), b.process.log_tail()
    refused = admin_call(b, "POST", "/v1/switch", json_body={"to": "green"})
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "state_store_unavailable", refused.text
    reply = admin_call(a, "POST", "/v1/switch", json_body={"to": "green"})
    assert reply.status_code == 200, reply.text
    assert serves(b, "blue"), "b cannot know of the change yet"

    etcd.start([follower])
    assert wait_until(lambda: serves(b, "green"), timeout=15), b.process.log_tail()
    assert generation(b) == reply.json()["generation"]
    assert admin_call(b, "GET", "/healthz").status_code == 200
    entries = admin_call(b, "GET", "/v1/audit").json()["entries"]
    assert [entry["generation_after"] for entry in entries if entry["action"] == "switch"] == [reply.json()["generation"]]


def test_the_status_shows_a_target_the_instances_see_differently(fleet_member, backends):
    """Health checks stay local: B probes blue's target on a port where nothing listens (its own `health_check.port`),
    so the target is healthy to A and unhealthy to B. Either instance's status lists that target with both views,
    and it alone (green is unchecked alike on both); once B probes the target's own port again, the list empties."""
    checks = {"path": "/health", "interval": "200ms", "timeout": "100ms", "healthy_threshold": 2,
              "unhealthy_threshold": 2}
    a = fleet_member("a", blue_checks=checks)
    b = fleet_member("b", blue_checks={**checks, "port": free_port()})
    assert wait_until(lambda: len(fleet_view(a)) == 2 and len(fleet_view(b)) == 2, timeout=10), fleet_view(a)
    names = {member.admin_port: next(entry["instance"] for entry in fleet_view(member) if entry["self"])
             for member in (a, b)}

    def disagreements(member: Proxy) -> list:
        return admin_call(member, "GET", "/v1/status").json()["state_store"]["health_disagreements"]

    expected = [{"group": "blue", "target": backends.blue.address,
                 "views": {names[a.admin_port]: "healthy", names[b.admin_port]: "unhealthy"}}]
    for member in (a, b):
        assert wait_until(lambda: disagreements(member) == expected, timeout=10), disagreements(member)
    assert_conforms(admin_call(a, "GET", "/v1/status").json()["state_store"], "StateStore")

    # B's configuration probes the target's own port again: after the reload both see it healthy.
    del b.document["target_groups"]["blue"]["health_check"]["port"]
    b.config_path.write_text(render_yaml(b.document) + "\n")
    reloads = b.process.count_log(Proxy.RELOADED)
    b.process.send_signal(signal.SIGHUP)
    assert "reload applied" in b.process.wait_for_log(Proxy.RELOADED, occurrences=reloads + 1).group(0)
    for member in (a, b):
        assert wait_until(lambda: disagreements(member) == [], timeout=10), disagreements(member)
