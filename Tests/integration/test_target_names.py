"""Targets registered by name (a container's, ``app-green:PORT``), on the real binary with a real resolver:
``getaddrinfo`` in the proxy asks a DNS server the test runs and changes (see dns_zone.py), so a name moves,
gains an address, stops resolving, exactly as a recreated container's would.

Backends listen on loopback addresses of their own (127.x.y.10, .11) on one port, so that the name's
addresses are what tells them apart."""

from __future__ import annotations

import json
import random
import signal
import socket
import time
from dataclasses import dataclass

import pytest

from admin_client import NO_CHECKS, AdminClient, assert_error, ok_json, served_by, statuses, wait_for_admin_api
from conftest import Backend
from dns_zone import NameServer, can_unshare_mounts
from harness import Proxy, can_connect, executable, run_check, wait_until
from keepalive_load import KeepAliveLoad
from raw_http import exchange, header_values, parse_echoed_head

REFRESH = "1s"
FAST_CHECK = {"interval": "300ms", "timeout": "200ms", "healthy_threshold": 2, "unhealthy_threshold": 2}
# How long a change may take to show (a refresh, a probe or two, scheduling on a shared machine): a bound
# for waiting, never an assertion on time.
PATIENCE = 15.0


@pytest.fixture
def names(tmp_path):
    reason = can_unshare_mounts()
    if reason is not None:
        pytest.skip(reason)
    server = NameServer(tmp_path)
    yield server
    server.stop()


@pytest.fixture
def loopback_pair():
    """Two loopback addresses of their own and one port free on both: where a name's addresses listen."""
    for _ in range(50):
        base = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}"
        hosts = (f"{base}.10", f"{base}.11")
        with socket.socket() as first, socket.socket() as second:
            try:
                first.bind((hosts[0], 0))
                port = first.getsockname()[1]
                second.bind((hosts[1], port))
            except OSError:
                continue
        return hosts, port
    raise RuntimeError("no free port on two loopback addresses")


@pytest.fixture
def backend_at(start_process):
    """Factory: ``backend_at(host, port, name)`` → a demo backend listening on ``host:port``."""
    binary = str(executable("turnout-demo-backend"))

    def start(host: str, port: int, name: str) -> Backend:
        process = start_process(f"backend-{name}", [binary, "--port", str(port), "--name", name, "--host", host])
        assert wait_until(lambda: can_connect(port, host), timeout=10), process.log_tail()
        return Backend(name=name, port=port, process=process)

    return start


@pytest.fixture
def named_proxy(proxy_config, start_process, names):
    """Factory: ``turnout serve`` asking the test's name server; ``restart(old)`` starts it again on the same
    configuration and state."""
    binary = str(executable("turnout"))
    starts = 0

    def run(config, path) -> Proxy:
        nonlocal starts
        starts += 1
        process = start_process(f"turnout-{starts}", names.wrap([binary, "serve", "--config", str(path)]))
        process.wait_until_listening([*config.listener_ports.values(), config.admin_port])
        turnout = Proxy(process, config, path)
        wait_for_admin_api(turnout)
        return turnout

    def start(**overrides) -> Proxy:
        return run(*proxy_config(**overrides))

    def restart(old: Proxy) -> Proxy:
        old.process.exit_expected = True
        return run(old.config, old.config_path)

    start.restart = restart
    return start


def name_entry(admin: AdminClient, group: str, name: str) -> dict | None:
    for entry in admin.status()["target_groups"]:
        if entry["name"] == group:
            return next((item for item in entry["names"] if item["name"] == name), None)
    raise AssertionError(f"no group {group}")


def wait_for_name(admin: AdminClient, group: str, name: str, predicate, what: str) -> dict:
    seen = []
    deadline = time.monotonic() + PATIENCE
    while True:
        entry = name_entry(admin, group, name)
        if not seen or seen[-1] != entry:
            seen.append(entry)
        if entry is not None and predicate(entry):
            return entry
        assert time.monotonic() < deadline, f"{name} in {group} did not become {what}; seen: {seen}"
        time.sleep(0.05)


def addresses_of(admin: AdminClient, group: str) -> dict[str, dict]:
    return {target["target"]: target for target in admin.targets(group)}


def green(name: str, **settings) -> dict:
    return {"green": {"targets": [name], "dns_refresh": REFRESH, "deregistration_delay": "2s", **settings}}


def set_health(host: str, port: int, verdict: bytes) -> None:
    """The demo backend at host:port answers its health checks with 200 (``ok``) or 503 (``fail``)."""
    with socket.create_connection((host, port)) as control:
        control.sendall(b"POST /control/health HTTP/1.1\r\nHost: b\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s"
                        % (len(verdict), verdict))
        assert control.recv(100).startswith(b"HTTP/1.1 200")


@dataclass
class Scene:
    """Backends ``a`` and ``b`` on one port of two loopback addresses, and the name ``app-green:PORT``,
    which resolves to ``a``'s at first; production forwards to the group ``green`` holding that name."""
    names: NameServer
    named_proxy: object
    a: Backend
    b: Backend
    host_a: str
    host_b: str
    port: int

    @property
    def app(self) -> str:
        return f"app-green:{self.port}"

    @property
    def at_a(self) -> str:
        return f"{self.host_a}:{self.port}"

    @property
    def at_b(self) -> str:
        return f"{self.host_b}:{self.port}"

    def start(self, health_check: dict) -> tuple[Proxy, AdminClient]:
        turnout = self.named_proxy(groups=green(self.app, health_check=health_check),
                                   listeners={"production": {"green": 100}})
        return turnout, AdminClient.of(turnout)


@pytest.fixture
def scene(names, named_proxy, backend_at, loopback_pair) -> Scene:
    (host_a, host_b), port = loopback_pair
    names.zone.set("app-green", [host_a])
    return Scene(names, named_proxy, backend_at(host_a, port, "green-a"), backend_at(host_b, port, "green-b"),
                 host_a, host_b, port)


def test_a_name_that_moves_gets_traffic_at_its_new_address_and_the_old_one_drains(scene):
    turnout, admin = scene.start(NO_CHECKS)
    # The listening sockets accept (into their backlog) before the workers start, and the admin API answers before
    # the first lookup does: the first responses come once the workers serve, which is after the name's answer.
    assert set(served_by(turnout.port(), 4)) == {scene.a.name}
    assert name_entry(admin, "green", scene.app)["addresses"] == [scene.at_a], "resolved before the workers started"
    assert addresses_of(admin, "green")[scene.at_a]["name"] == scene.app

    load = KeepAliveLoad(turnout.port(), clients=4)
    try:
        assert wait_until(lambda: load.count() > 100, timeout=PATIENCE)
        moved = time.monotonic()
        scene.names.zone.set("app-green", [scene.host_b])
        assert wait_until(lambda: any(o.served_by == scene.b.name for o in load.outcomes() if o.started > moved),
                          timeout=PATIENCE), f"no request reached {scene.b.name} after the name moved"
        first_at_b = min(o.started for o in load.outcomes() if o.served_by == scene.b.name)
        draining = addresses_of(admin, "green")[scene.at_a]
        assert (draining["state"], draining["routable"]) == ("draining", False), draining
        assert addresses_of(admin, "green")[scene.at_b]["name"] == scene.app
        settled = time.monotonic()
        assert wait_until(lambda: load.count(started_after=settled + 0.5) > 100, timeout=PATIENCE)
    finally:
        load.stop()
    outcomes = load.outcomes()
    failed = [o for o in outcomes if o.failed]
    assert failed == [], f"{len(failed)} of {len(outcomes)} requests failed: {failed[:5]}"
    assert {o.served_by for o in outcomes if o.started > settled} == {scene.b.name}, "the old address still got requests"
    entry = admin.audit()[-1]
    assert (entry["action"], entry["caller"]) == ("targets.resolve", "dns"), entry
    assert entry["request"] == {"group": "green", "name": scene.app, "addresses": [scene.at_b]}
    print(f"\nfirst request at the new address {first_at_b - moved:.2f}s after the name moved "
          f"(dns_refresh {REFRESH}); {len(outcomes)} requests, 0 failed")

    admin.wait_for_target("green", scene.at_a, lambda t: t is None, timeout=PATIENCE, what="drained")


def test_a_name_with_two_addresses_spreads_over_both_once_the_new_one_is_healthy(scene):
    turnout, admin = scene.start(FAST_CHECK)
    admin.wait_for_target("green", scene.at_a, lambda t: t and t["state"] == "healthy", timeout=PATIENCE, what="healthy")

    # The new address fails its checks at first: it must get no request until it passes them.
    set_health(scene.host_b, scene.port, b"fail")
    scene.names.zone.set("app-green", [scene.host_b, scene.host_a])
    admin.wait_for_target("green", scene.at_b, lambda t: t and t["state"] == "unhealthy", timeout=PATIENCE,
                          what="unhealthy")
    assert set(served_by(turnout.port(), 20)) == {scene.a.name}, "an address that fails its checks got traffic"
    assert name_entry(admin, "green", scene.app)["addresses"] == [scene.at_a, scene.at_b]

    set_health(scene.host_b, scene.port, b"ok")
    admin.wait_for_target("green", scene.at_b, lambda t: t and t["state"] == "healthy", timeout=PATIENCE, what="healthy")
    spread = [name for _, name in statuses(turnout.port(), 40)]
    assert set(spread) == {scene.a.name, scene.b.name}, spread
    assert min(spread.count(scene.a.name), spread.count(scene.b.name)) >= 10, spread


def test_a_name_that_stops_resolving_keeps_serving_its_last_addresses_and_says_why(scene):
    turnout, admin = scene.start(NO_CHECKS)
    # The admin API answers before the first lookup may have (serve waits for it only to start its workers).
    resolved_at = wait_for_name(admin, "green", scene.app, lambda e: e["state"] == "resolved", "resolved")["resolved_at"]
    assert resolved_at is not None
    generation = admin.generation()

    scene.names.zone.remove("app-green")
    failed = wait_for_name(admin, "green", scene.app, lambda e: e["state"] == "failed", "failed")
    assert failed["addresses"] == [scene.at_a], failed
    assert failed["error"] == "name or service not known", failed
    assert failed["resolved_at"] == resolved_at, "still the time of the last lookup that found it"
    queries = len(scene.names.zone.queries)
    assert wait_until(lambda: len(scene.names.zone.queries) >= queries + 4, timeout=PATIENCE), "no lookup after the failure"
    assert set(served_by(turnout.port(), 10)) == {scene.a.name}, "the last address keeps serving"
    assert admin.generation() == generation, "a failed lookup changes no route"
    assert turnout.process.count_log(rf"name {scene.app} in green: lookup failed") == 1, turnout.log()
    metrics = admin.metrics_text()
    assert f'turnout_target_name_resolved{{target_group="green",name="{scene.app}"}} 0' in metrics

    scene.names.zone.set("app-green", [scene.host_a])
    wait_for_name(admin, "green", scene.app, lambda e: e["state"] == "resolved", "resolved again")
    assert turnout.process.count_log(rf"name {scene.app} in green resolves again") == 1
    assert admin.generation() == generation


def test_a_restart_looks_the_names_up_again(scene):
    turnout, _ = scene.start(NO_CHECKS)
    assert set(served_by(turnout.port(), 4)) == {scene.a.name}

    turnout.process.send_signal(signal.SIGKILL)
    turnout.process.popen.wait(timeout=10)
    scene.names.zone.set("app-green", [scene.host_b])
    again = scene.named_proxy.restart(turnout)
    admin = AdminClient.of(again)
    assert set(served_by(again.port(), 6)) == {scene.b.name}
    assert name_entry(admin, "green", scene.app)["addresses"] == [scene.at_b]
    assert addresses_of(admin, "green")[scene.at_a]["state"] == "draining"
    assert admin.audit()[-1]["caller"] == "dns"
    # The snapshot the restart wrote before its first lookup: what was registered, and the addresses saved.
    saved = json.loads(again.state_file.read_text())["payload"]
    assert saved["target_groups"]["green"] == [scene.app]
    assert saved["resolved_names"]["green"] == {scene.app: [scene.at_a]}


def test_a_request_without_host_gets_the_name_the_address_came_from(scene):
    """An HTTP/1.0 request without Host gets the target as registered: the name, as nginx's ``$proxy_host``
    gives, not the address it resolved to (an application behind a name may serve that name only)."""
    turnout, _ = scene.start(NO_CHECKS)
    response = exchange(turnout.port(), b"GET /echo HTTP/1.0\r\n\r\n")
    assert response.status == 200
    _, headers = parse_echoed_head(response.body)
    assert header_values(headers, "host") == [scene.app]


def test_a_name_registered_through_the_admin_api_follows_the_same_rules(
        names, named_proxy, backend_at, loopback_pair):
    (host_a, _), port = loopback_pair
    a = backend_at(host_a, port, "green-a")
    app = f"app-canary:{port}"
    names.zone.set("app-canary", [host_a])
    turnout = named_proxy(groups={"green": {"targets": [], "health_check": NO_CHECKS, "dns_refresh": REFRESH}},
                          listeners={"production": {"green": 100}})
    admin = AdminClient.of(turnout)
    body = ok_json(admin.post("/v1/target-groups/green/targets", {"targets": [app]}))
    assert body["names"] == [{"name": app, "state": "resolving", "addresses": [], "resolved_at": None, "error": None}]
    wait_for_name(admin, "green", app, lambda e: e["state"] == "resolved", "resolved")
    assert set(served_by(turnout.port(), 4)) == {a.name}
    assert_error(admin.delete(f"/v1/target-groups/green/targets/{host_a}:{port}"), 404, "not_found")

    ok_json(admin.delete(f"/v1/target-groups/green/targets/{app}"))
    assert addresses_of(admin, "green")[f"{host_a}:{port}"]["state"] == "draining"
    assert name_entry(admin, "green", app) is None


def test_a_name_that_does_not_resolve_at_start_waits_and_the_start_goes_on(
        names, named_proxy, backend_at, loopback_pair):
    (host_a, _), port = loopback_pair
    a = backend_at(host_a, port, "green-a")
    app = f"app-later:{port}"
    turnout = named_proxy(groups=green(app, health_check=NO_CHECKS), listeners={"production": {"green": 100}})
    admin = AdminClient.of(turnout)
    entry = wait_for_name(admin, "green", app, lambda e: e["state"] == "failed", "failed")
    assert (entry["addresses"], entry["error"]) == ([], "name or service not known"), entry
    assert {status for status, _ in statuses(turnout.port(), 3)} == {503}, "no address yet: no target"

    names.zone.set("app-later", [host_a])
    wait_for_name(admin, "green", app, lambda e: e["state"] == "resolved", "resolved")
    assert set(served_by(turnout.port(), 4)) == {a.name}


def test_check_accepts_names_without_looking_them_up(proxy_config):
    _, path = proxy_config(groups={"blue": ["app-nowhere:3000", "127.0.0.1:3001"], "green": ["127.0.0.1:3002"]})
    result = run_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 targets, 1 by name, looked up when serving" in result.stdout, result.stdout
