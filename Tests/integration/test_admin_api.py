"""The admin API's endpoints, responses and errors, exactly as the control-plane contract states them."""

from __future__ import annotations

import datetime
import http.client
import json
import re

import pytest
import requests

from admin_client import NO_CHECKS, AdminClient, assert_error, describe, ok_json, served_by, statuses
from harness import LOOPBACK, SOCKET_TIMEOUT
from raw_http import Conn

def only_served_by(port: int, count: int = 10) -> set[str | None]:
    return set(served_by(port, count))


# --- read-only endpoints -------------------------------------------------------------------------

def test_healthz(admin):
    assert ok_json(admin.get("/healthz")) == {"status": "ok"}


def test_status_describes_listeners_groups_and_targets(proxy, backends):
    turnout = proxy(
        groups={
            "blue": {
                "targets": [backends.blue.address],
                "algorithm": "round_robin",
                "deregistration_delay": "3s",
                "health_check": {"path": "/health", "interval": "5s", "timeout": "2s",
                                 "healthy_threshold": 2, "unhealthy_threshold": 3, "matcher": "200-399"},
            },
            "green": {
                "targets": [backends.green.address],
                "algorithm": "least_outstanding_requests",
                "on_all_unhealthy": "fail_closed",
                "health_check": NO_CHECKS,
            },
            "spare": {"targets": [backends.green.address], "health_check": NO_CHECKS},
        },
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)
    status = admin.status()

    assert isinstance(status["generation"], int) and status["generation"] >= 0
    assert status["deployment"] is None
    listeners = {entry["name"]: entry for entry in status["listeners"]}
    assert set(listeners) == {"production", "test"}
    assert listeners["production"]["bind"] == f"{LOOPBACK}:{turnout.port('production')}"
    assert listeners["production"]["forward"] == {"blue": 100}
    assert listeners["test"]["bind"] == f"{LOOPBACK}:{turnout.port('test')}"
    assert listeners["test"]["forward"] == {"green": 100}

    groups = {entry["name"]: entry for entry in status["target_groups"]}
    assert set(groups) == {"blue", "green", "spare"}
    blue = groups["blue"]
    assert blue["algorithm"] == "round_robin"
    assert blue["on_all_unhealthy"] == "fail_open"
    assert blue["deregistration_delay"] == "3s"
    assert blue["health_check"] == {"enabled": True, "path": "/health", "interval": "5s", "timeout": "2s",
                                    "healthy_threshold": 2, "unhealthy_threshold": 3, "matcher": "200-399"}
    [blue_target] = blue["targets"]
    assert set(blue_target) >= {"target", "state", "reason", "description", "routable"}
    assert blue_target["target"] == backends.blue.address
    # The first passing check cannot make it healthy: healthy_threshold is 2 and the interval 5 s.
    assert blue_target["state"] == "initial"
    assert blue_target["reason"] in ("Elb.RegistrationInProgress", "Elb.InitialHealthChecking")

    green = groups["green"]
    assert green["algorithm"] == "least_outstanding_requests"
    assert green["on_all_unhealthy"] == "fail_closed"
    assert green["deregistration_delay"] == "30s"
    assert green["health_check"]["enabled"] is False
    [green_target] = green["targets"]
    assert green_target["target"] == backends.green.address
    assert green_target["state"] == "initial"
    assert green_target["reason"] == "Target.HealthCheckDisabled"
    assert green_target["routable"] is True

    # A group no listener forwards to: its targets are unused.
    [spare_target] = groups["spare"]["targets"]
    assert (spare_target["state"], spare_target["reason"]) == ("unused", "Target.NotInUse")
    ok_json(admin.set_forward("production", {"blue": 50, "spare": 50}))
    spare_now = admin.target("spare", backends.green.address)
    assert (spare_now["state"], spare_now["reason"]) == ("initial", "Target.HealthCheckDisabled"), spare_now
    assert spare_now["routable"] is True


# --- changing routing ----------------------------------------------------------------------------

def test_put_routing_changes_several_listeners_in_one_generation(admin, turnout):
    before = admin.generation()
    change = {"production": {"green": 100}, "test": {"blue": 100}}
    body = ok_json(admin.put_routing(change))
    assert body == {"generation": before + 1, "previous_generation": before, "listeners": change}
    assert admin.generation() == before + 1
    assert admin.forwards() == change
    assert only_served_by(turnout.port("production")) == {"green"}
    assert only_served_by(turnout.port("test")) == {"blue"}

    [entry] = admin.audit(limit=1)
    assert (entry["generation_before"], entry["generation_after"]) == (before, before + 1)
    assert entry["diff"] == {"listeners": {
        "production": {"before": {"blue": 100}, "after": {"green": 100}},
        "test": {"before": {"green": 100}, "after": {"blue": 100}},
    }}


def test_put_routing_leaves_unnamed_listeners_alone(admin, turnout):
    before = admin.generation()
    body = ok_json(admin.put_routing({"production": {"blue": 30, "green": 70}}))
    assert body == {"generation": before + 1, "previous_generation": before,
                    "listeners": {"production": {"blue": 30, "green": 70}}}
    assert admin.forwards() == {"production": {"blue": 30, "green": 70}, "test": {"green": 100}}


def test_switch_moves_production_only(admin, turnout):
    before = admin.generation()
    body = ok_json(admin.switch("green"))
    assert body == {"generation": before + 1, "previous_generation": before,
                    "listeners": {"production": {"green": 100}}}
    assert admin.forwards() == {"production": {"green": 100}, "test": {"green": 100}}
    assert only_served_by(turnout.port("production")) == {"green"}


def test_switch_with_swap_test_moves_both_listeners_in_one_generation(admin, turnout):
    before = admin.generation()
    body = ok_json(admin.switch("green", listener="production", swap_test=True, test_listener="test"))
    assert body == {"generation": before + 1, "previous_generation": before,
                    "listeners": {"production": {"green": 100}, "test": {"blue": 100}}}
    assert admin.forwards() == {"production": {"green": 100}, "test": {"blue": 100}}
    assert only_served_by(turnout.port("production")) == {"green"}
    assert only_served_by(turnout.port("test")) == {"blue"}

    # And back, again as one step; the audit has one entry per step.
    body = ok_json(admin.switch("blue", swap_test=True))
    assert body == {"generation": before + 2, "previous_generation": before + 1,
                    "listeners": {"production": {"blue": 100}, "test": {"green": 100}}}
    first, second = admin.audit(limit=2)
    assert first["action"] == second["action"] == "switch"
    assert (first["generation_before"], first["generation_after"]) == (before, before + 1)
    assert (second["generation_before"], second["generation_after"]) == (before + 1, before + 2)
    assert first["diff"] == {"listeners": {
        "production": {"before": {"blue": 100}, "after": {"green": 100}},
        "test": {"before": {"green": 100}, "after": {"blue": 100}},
    }}


def test_swap_test_keeps_test_when_the_target_group_already_led_production(admin):
    ok_json(admin.set_forward("production", {"blue": 60, "green": 40}))
    before = admin.generation()
    body = ok_json(admin.switch("blue", swap_test=True))
    assert body == {"generation": before + 1, "previous_generation": before,
                    "listeners": {"production": {"blue": 100}}}
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"green": 100}}


def test_listener_forward_sets_a_canary(admin, turnout):
    before = admin.generation()
    body = ok_json(admin.set_forward("production", {"blue": 90, "green": 10}))
    assert body == {"generation": before + 1, "previous_generation": before,
                    "listeners": {"production": {"blue": 90, "green": 10}}}
    assert admin.forwards()["production"] == {"blue": 90, "green": 10}
    names = served_by(turnout.port(), 200)
    assert names.count("blue") + names.count("green") == 200
    assert 10 <= names.count("green") <= 30, names.count("green")


MUTATIONS = {
    "routing": lambda admin, **kw: admin.put_routing({"production": {"green": 100}}, **kw),
    "switch": lambda admin, **kw: admin.switch("green", **kw),
    "forward": lambda admin, **kw: admin.set_forward("production", {"green": 100}, **kw),
}


@pytest.mark.parametrize("endpoint", MUTATIONS)
def test_if_match(admin, turnout, endpoint):
    mutate = MUTATIONS[endpoint]
    current = admin.generation()
    audit_before = len(admin.audit())

    error = assert_error(mutate(admin, headers={"If-Match": str(current + 7)}), 409, "stale_generation")
    assert error["message"]
    assert admin.generation() == current
    assert admin.forwards()["production"] == {"blue": 100}
    assert len(admin.audit()) == audit_before

    body = ok_json(mutate(admin, headers={"If-Match": f'"{current}"'}))
    assert (body["generation"], body["previous_generation"]) == (current + 1, current)
    assert admin.forwards()["production"] == {"green": 100}

    # The generation it matched is now stale.
    assert_error(mutate(admin, headers={"If-Match": str(current)}), 409, "stale_generation")
    assert admin.generation() == current + 1
    ok_json(mutate(admin, headers={"If-Match": str(current + 1)}))


@pytest.mark.parametrize("endpoint", MUTATIONS)
def test_dry_run_changes_nothing(admin, turnout, endpoint):
    mutate = MUTATIONS[endpoint]
    status_before = admin.status()
    audit_before = admin.audit()

    body = ok_json(mutate(admin, params={"dry_run": "true"}))
    assert body == {"dry_run": True, "generation": status_before["generation"],
                    "listeners": {"production": {"green": 100}}}

    status_after = admin.status()
    assert status_after["generation"] == status_before["generation"]
    assert status_after["listeners"] == status_before["listeners"]
    assert admin.audit() == audit_before
    assert only_served_by(turnout.port()) == {"blue"}


def test_dry_run_still_validates(admin):
    before = admin.generation()
    assert_error(admin.set_forward("production", {"nope": 100}, params={"dry_run": "true"}), 422, "invalid")
    assert admin.generation() == before


NO_CHANGES = {
    "routing": lambda admin, **kw: admin.put_routing({"production": {"blue": 100}}, **kw),
    "switch": lambda admin, **kw: admin.switch("blue", **kw),
    "forward": lambda admin, **kw: admin.set_forward("production", {"blue": 100}, **kw),
}


def journal_bytes(turnout) -> bytes:
    journal = turnout.config.state_dir / "journal.log"
    return journal.read_bytes() if journal.exists() else b""


@pytest.mark.parametrize("endpoint", NO_CHANGES)
def test_a_change_to_where_traffic_already_goes_makes_no_generation(admin, turnout, endpoint):
    """200 with the generation in force as both generations and "unchanged": true; nothing journalled or
    audited, no idempotency record, and an If-Match read before stays valid."""
    mutate = NO_CHANGES[endpoint]
    generation, audit, journal = admin.generation(), admin.audit(), journal_bytes(turnout)
    unchanged = {"generation": generation, "previous_generation": generation,
                 "listeners": {"production": {"blue": 100}}, "unchanged": True}
    for headers in ({}, {"If-Match": str(generation)}, {"Idempotency-Key": "no-change-0001"},
                    {"Idempotency-Key": "no-change-0001"}):
        response = mutate(admin, headers=headers)
        assert ok_json(response) == unchanged, headers
        assert "Idempotent-Replayed" not in response.headers
    assert ok_json(mutate(admin, params={"dry_run": "true"})) == {
        "dry_run": True, "generation": generation, "listeners": {"production": {"blue": 100}}, "unchanged": True}
    assert admin.generation() == generation
    assert admin.audit() == audit
    assert journal_bytes(turnout) == journal

    body = ok_json(admin.switch("green", headers={"If-Match": str(generation)}))
    assert (body["generation"], body["previous_generation"]) == (generation + 1, generation)
    assert "unchanged" not in body


def test_replacing_targets_with_the_same_list_makes_no_generation(admin, turnout, backends):
    generation, audit = admin.generation(), admin.audit()
    body = ok_json(admin.put("/v1/target-groups/blue/targets", {"targets": [backends.blue.address]}))
    assert (body["generation"], body["previous_generation"], body["group"], body["unchanged"]) == \
        (generation, generation, "blue", True)
    assert [target["target"] for target in body["targets"]] == [backends.blue.address]
    assert admin.generation() == generation
    assert admin.audit() == audit


# --- target lists --------------------------------------------------------------------------------

def test_targets_list_register_replace_deregister(admin, turnout, backends, demo_backend):
    extra = demo_backend("blue-2")
    listed = ok_json(admin.get("/v1/target-groups/blue/targets"))
    assert listed["group"] == "blue"
    assert [target["target"] for target in listed["targets"]] == [backends.blue.address]

    before = admin.generation()
    body = ok_json(admin.post("/v1/target-groups/blue/targets", {"targets": [extra.address]}))
    assert (body["generation"], body["previous_generation"], body["group"]) == (before + 1, before, "blue")
    assert sorted(target["target"] for target in body["targets"]) == sorted([backends.blue.address, extra.address])
    assert set(served_by(turnout.port(), 10)) == {"blue", "blue-2"}

    # Registering it again is a conflict and changes nothing.
    assert_error(admin.post("/v1/target-groups/blue/targets", {"targets": [extra.address]}), 409, "conflict")
    assert admin.generation() == before + 1

    # Replacing the list: the original target drains, only blue-2 takes new requests.
    body = ok_json(admin.put("/v1/target-groups/blue/targets", {"targets": [extra.address]}))
    assert (body["generation"], body["previous_generation"], body["group"]) == (before + 2, before + 1, "blue")
    assert [t["target"] for t in body["targets"] if t["state"] != "draining"] == [extra.address]
    assert set(served_by(turnout.port(), 10)) == {"blue-2"}
    assert [t["target"] for t in admin.targets("blue") if t["state"] != "draining"] == [extra.address]

    # Deregistering it: blue is empty, production answers 503.
    body = ok_json(admin.delete(f"/v1/target-groups/blue/targets/{extra.address}"))
    assert (body["generation"], body["previous_generation"], body["group"]) == (before + 3, before + 2, "blue")
    assert [t for t in body["targets"] if t["state"] != "draining"] == []
    assert statuses(turnout.port(), 3) == [(503, None)] * 3
    draining = admin.target("blue", extra.address)
    assert draining is not None and draining["state"] == "draining", draining
    assert draining["reason"] == "Target.DeregistrationInProgress"

    # deregistration_delay is 1 s: both drained targets leave the list.
    admin.wait_for_target("blue", extra.address, lambda t: t is None, timeout=1 + 3, what="gone")
    admin.wait_for_target("blue", backends.blue.address, lambda t: t is None, timeout=1 + 3, what="gone")
    assert ok_json(admin.get("/v1/target-groups/blue/targets")) == {"group": "blue", "targets": [], "names": []}


@pytest.mark.parametrize("bad", ["not-an-address", "127.0.0.1", "127.0.0.1:70000", "127.0.0.1:0", ":8080", ""])
def test_registering_a_bad_address_is_invalid(admin, bad):
    before = admin.generation()
    assert_error(admin.post("/v1/target-groups/blue/targets", {"targets": [bad]}), 422, "invalid")
    assert_error(admin.put("/v1/target-groups/blue/targets", {"targets": [bad]}), 422, "invalid")
    assert admin.generation() == before


# --- errors --------------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body", [
    ("GET", "/nope", None),
    ("GET", "/v1/nope", None),
    ("GET", "/v1/status/extra", None),
    ("PUT", "/v1/listeners/nope/forward", {"blue": 100}),
    ("GET", "/v1/target-groups/nope/targets", None),
    ("POST", "/v1/target-groups/nope/targets", {"targets": ["127.0.0.1:9"]}),
    ("DELETE", "/v1/target-groups/nope/targets/127.0.0.1:9", None),
    ("DELETE", "/v1/target-groups/blue/targets/127.0.0.1:9", None),
])
def test_not_found(admin, method, path, body):
    before = admin.generation()
    assert_error(admin.request(method, path, json_body=body), 404, "not_found")
    assert admin.generation() == before


@pytest.mark.parametrize("method, path, allowed", [
    ("DELETE", "/v1/status", "GET"),
    ("POST", "/v1/status", "GET"),
    ("POST", "/healthz", "GET"),
    ("GET", "/v1/switch", "POST"),
    ("PATCH", "/v1/routing", "PUT"),
    ("GET", "/v1/listeners/production/forward", "PUT"),
    ("DELETE", "/v1/target-groups/blue/targets", "POST"),
])
def test_method_not_allowed(admin, method, path, allowed):
    response = admin.request(method, path)
    assert_error(response, 405, "method_not_allowed")
    allow = {item.strip() for item in response.headers.get("Allow", "").split(",")}
    assert allowed in allow, describe(response)


@pytest.mark.parametrize("change", [
    {"production": {"nope": 100}},
    {"production": {"blue": 101}},
    {"production": {"blue": 1000}},
    {"production": {"blue": -1}},
    {"production": {"blue": 0, "green": 0}},
    {"production": {"green": 10}},
    {"production": {"blue": 3, "green": 1}},
    {"production": {"blue": 90, "green": 20}},
    {"production": {}},
])
def test_invalid_weights(admin, turnout, change):
    before = admin.generation()
    assert_error(admin.put_routing(change), 422, "invalid")
    assert_error(admin.set_forward("production", change["production"]), 422, "invalid")
    assert admin.generation() == before
    assert admin.forwards()["production"] == {"blue": 100}
    assert only_served_by(turnout.port()) == {"blue"}


def test_weights_at_the_limit_are_valid(admin):
    body = ok_json(admin.set_forward("production", {"blue": 100, "green": 0}))
    assert body["listeners"] == {"production": {"blue": 100, "green": 0}}


def test_weights_are_percentages_and_a_refusal_shows_the_split(admin, turnout):
    """`{"green": 10}` on a listener at blue=100 is not a 10 % canary: refused, naming the field (in
    PUT /v1/routing) and saying where the weights would send requests in proportion."""
    routing = assert_error(admin.put_routing({"production": {"green": 10}}), 422, "invalid")
    assert routing["message"] == ("listeners.production: weights are percentages and must add up to 100, not 10 "
                                  "(in proportion, these would send 100 % to green)")
    forward = assert_error(admin.set_forward("production", {"green": 1, "blue": 3}), 422, "invalid")
    assert forward["message"] == ("weights are percentages and must add up to 100, not 4 "
                                  "(in proportion, these would send 75 % to blue and 25 % to green)")
    out_of_range = assert_error(admin.put_routing({"production": {"blue": 90, "green": 101}}), 422, "invalid")
    assert out_of_range["message"] == "listeners.production.green: weight must be a percentage 0...100, got 101"
    assert admin.forwards()["production"] == {"blue": 100}


@pytest.mark.parametrize("method, path, body", [
    ("PUT", "/v1/routing", b"{"),
    ("PUT", "/v1/routing", b"[]"),
    ("PUT", "/v1/routing", b""),
    ("PUT", "/v1/routing", b'{"listeners": {"production": {"blue": "100"}}}'),
    ("PUT", "/v1/routing", b'{"listeners": ["production"]}'),
    ("POST", "/v1/switch", b"not json"),
    ("POST", "/v1/switch", b'{"to": 5}'),
    ("POST", "/v1/switch", b'{"to": "green", "swap_test": "yes"}'),
    ("PUT", "/v1/listeners/production/forward", b'{"blue": 1.5}'),
    ("POST", "/v1/target-groups/blue/targets", b'{"targets": "127.0.0.1:9"}'),
    ("PUT", "/v1/target-groups/blue/targets", b'{"targets": [9]}'),
])
def test_malformed_bodies_are_bad_requests(admin, method, path, body):
    before = admin.generation()
    assert_error(admin.request(method, path, body=body), 400, "bad_request")
    assert admin.generation() == before


@pytest.mark.parametrize("method, path, body, message", [
    ("PUT", "/v1/listeners/production/forward", b'{"green": 100,}',
     "line 1, column 14: trailing comma before '}'"),
    ("POST", "/v1/switch", b'{"to":"green","to":"blue"}', "line 1, column 15: duplicate key 'to'"),
    ("PUT", "/v1/routing", b'{"listeners": {"production": {"green": 100, "green": 0}}}',
     "line 1, column 45: duplicate key 'green' (in listeners.production)"),
    ("PUT", "/v1/routing", b'{"listeners": {"production": {"green": 0100}}}',
     "line 1, column 40: leading zero in a number (in listeners.production.green)"),
    ("POST", "/v1/switch", b'{"to": "gr\\x65en"}', "line 1, column 11: invalid escape '\\x' (in to)"),
    ("POST", "/v1/switch", b'{"to": "\\ud800"}', "line 1, column 9: lone surrogate \\uD800 (in to)"),
    ("POST", "/v1/switch", b'{"to": "green"} {}', "line 1, column 17: expected the end of the input after the value, found '{'"),
    ("PUT", "/v1/target-groups/blue/targets", b'{"targets": ["127.0.0.1:9",\n]}',
     "line 1, column 27: trailing comma before ']' (in targets)"),
    ("PUT", "/v1/routing", b'{"listeners": ' + b'[' * 70 + b']' * 70 + b'}',
     "line 1, column 78: nesting deeper than 64 levels (in listeners" + "[0]" * 63 + ")"),
])
def test_bodies_must_be_strict_json_and_refusals_name_the_place(admin, turnout, method, path, body, message):
    before = admin.generation()
    error = assert_error(admin.request(method, path, body=body), 400, "bad_request")
    assert error["message"] == f"request body is not valid JSON: {message}"
    assert admin.generation() == before
    assert admin.forwards()["production"] == {"blue": 100}


def test_body_over_one_mebibyte_is_too_large(admin, turnout):
    before = admin.generation()
    with Conn(turnout.admin_port) as conn:
        conn.send(
            f"PUT /v1/routing HTTP/1.1\r\nHost: {LOOPBACK}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {1024 * 1024 + 1}\r\n\r\n".encode()
        )
        response = conn.read_response()
    assert response.status == 413, response
    assert b'"payload_too_large"' in response.body
    assert admin.generation() == before


TEN_MEBIBYTES = 10 * 1024 * 1024


def test_a_client_still_sending_a_body_far_over_the_limit_reads_the_413(admin, turnout):
    """The refusal comes as soon as the head is read; the server then reads and discards what the
    client still sends (a lingering close), so the client's upload completes and it reads the 413
    rather than a connection reset."""
    before = admin.generation()
    connection = http.client.HTTPConnection(LOOPBACK, turnout.admin_port, timeout=SOCKET_TIMEOUT)
    try:
        connection.request("PUT", "/v1/routing", body=b" " * TEN_MEBIBYTES,
                           headers={"Content-Type": "application/json"})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 413, (response.status, body)
        assert response.getheader("Connection") == "close"
        assert json.loads(body)["error"]["code"] == "payload_too_large"
    finally:
        connection.close()
    assert admin.generation() == before


def test_a_client_streaming_a_chunked_body_reads_the_411(admin, turnout):
    before = admin.generation()

    def chunks():
        for _ in range(160):
            yield b" " * 65536

    connection = http.client.HTTPConnection(LOOPBACK, turnout.admin_port, timeout=SOCKET_TIMEOUT)
    try:
        connection.request("POST", "/v1/switch", body=chunks(), encode_chunked=True,
                           headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        response = connection.getresponse()
        body = response.read()
        assert response.status == 411, (response.status, body)
        assert json.loads(body)["error"]["code"] == "bad_request"
    finally:
        connection.close()
    assert admin.generation() == before


# --- authentication ------------------------------------------------------------------------------

def test_token_is_required_except_for_healthz(proxy, pair, tmp_path):
    token = "s3cret-token-0123456789"
    token_file = tmp_path / "admin-token"
    token_file.write_text(token)
    token_file.chmod(0o600)
    turnout = proxy(groups=pair, token_file=token_file, wait_for_admin=True)
    anonymous = AdminClient.of(turnout)
    wrong = AdminClient.of(turnout, token="s3cret-token-0123456780")
    right = AdminClient.of(turnout, token=token)

    assert ok_json(anonymous.get("/healthz")) == {"status": "ok"}
    for client in (anonymous, wrong):
        for method, path, body in [
            ("GET", "/v1/status", None),
            ("GET", "/metrics", None),
            ("GET", "/v1/audit", None),
            ("GET", "/v1/target-groups/blue/targets", None),
            ("POST", "/v1/switch", {"to": "green"}),
            ("PUT", "/v1/routing", {"listeners": {"production": {"green": 100}}}),
            ("DELETE", f"/v1/target-groups/blue/targets/{pair['blue']['targets'][0]}", None),
            ("GET", "/v1/nope", None),
        ]:
            response = client.request(method, path, json_body=body)
            assert_error(response, 401, "unauthorized")
            assert response.headers.get("WWW-Authenticate", "").startswith("Bearer"), describe(response)
    response = anonymous.get("/v1/status", headers={"Authorization": token})  # no "Bearer" scheme
    assert_error(response, 401, "unauthorized")
    response = anonymous.get("/v1/status", headers={"Authorization": f"Basic {token}"})
    assert_error(response, 401, "unauthorized")

    status = right.status()
    assert {entry["name"]: entry["forward"] for entry in status["listeners"]}["production"] == {"blue": 100}
    assert ok_json(right.switch("green"))["listeners"] == {"production": {"green": 100}}
    assert right.metrics_text()
    assert only_served_by(turnout.port()) == {"green"}


# --- requests a web page could make a browser send --------------------------------------------------

@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_declared_json_is_refused(admin, turnout, content_type):
    """What a page can post anywhere without a CORS preflight (text/plain, a form) changes nothing."""
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = requests.post(f"{turnout.admin_url}/v1/switch", data=b'{"to": "green"}', headers=headers,
                             timeout=SOCKET_TIMEOUT)
    error = assert_error(response, 415, "unsupported_media_type")
    assert "Content-Type: application/json" in error["message"]
    assert admin.forwards()["production"] == {"blue": 100}
    assert only_served_by(turnout.port()) == {"blue"}


@pytest.mark.parametrize("headers", [
    {"Origin": "https://evil.example"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:8080"},
])
def test_a_change_sent_from_another_site_is_refused(admin, turnout, headers):
    before = admin.generation()
    for method, path, body in [
        ("POST", "/v1/switch", {"to": "green"}),
        ("PUT", "/v1/routing", {"listeners": {"production": {"green": 100}}}),
        ("POST", "/v1/target-groups/blue/targets", {"targets": ["127.0.0.1:9"]}),
        ("DELETE", f"/v1/target-groups/blue/targets/{admin.targets('blue')[0]['target']}", None),
    ]:
        assert_error(admin.request(method, path, json_body=body, headers=headers), 403, "cross_site_request")
    assert admin.generation() == before
    assert only_served_by(turnout.port()) == {"blue"}


def test_the_same_origin_passes(admin, turnout):
    """The dashboard at /ui/ will call the API from the admin server's own origin."""
    origin = f"http://{LOOPBACK}:{turnout.admin_port}"
    body = ok_json(admin.switch("green", headers={"Origin": origin, "Sec-Fetch-Site": "same-origin"}))
    assert body["listeners"] == {"production": {"green": 100}}
    body = ok_json(admin.switch("blue", headers={"Origin": origin}))  # a browser without Sec-Fetch-*
    assert body["listeners"] == {"production": {"blue": 100}}


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.evil.example:{port}"])
def test_a_host_header_naming_another_name_is_refused(admin, turnout, host):
    """DNS rebinding: a page on a name its author controls, resolved to 127.0.0.1, is still that name's page."""
    host = host.format(port=turnout.admin_port)
    for method, path, body in [("GET", "/v1/status", None), ("GET", "/metrics", None),
                               ("POST", "/v1/switch", {"to": "green"})]:
        error = assert_error(admin.request(method, path, json_body=body, headers={"Host": host}), 403,
                             "host_not_allowed")
        assert host in error["message"]
    assert admin.forwards()["production"] == {"blue": 100}
    # Liveness stays open; addresses and localhost are this machine's own names.
    assert ok_json(admin.get("/healthz", headers={"Host": host})) == {"status": "ok"}
    for own in (f"localhost:{turnout.admin_port}", f"{LOOPBACK}:{turnout.admin_port}", "[::1]"):
        ok_json(admin.get("/v1/status", headers={"Host": own}))


# --- idempotency ---------------------------------------------------------------------------------

def test_idempotency_key_replays_the_first_answer(admin, turnout):
    before = admin.generation()
    headers = {"Idempotency-Key": "switch-to-green-0001"}
    first = admin.switch("green", swap_test=True, headers=headers)
    assert first.status_code == 200, describe(first)
    assert first.headers.get("Idempotent-Replayed") != "true"
    assert first.json()["generation"] == before + 1

    # Meanwhile production moves on; the replay must not switch it back to green.
    ok_json(admin.set_forward("production", {"blue": 100}))
    replay = admin.switch("green", swap_test=True, headers=headers)
    assert replay.status_code == 200, describe(replay)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.content == first.content
    assert admin.generation() == before + 2
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"blue": 100}}
    assert [entry["action"] for entry in admin.audit()].count("switch") == 1

    reused = admin.switch("blue", headers=headers)
    assert_error(reused, 422, "idempotency_key_reused")
    reused_elsewhere = admin.set_forward("production", {"green": 100}, headers=headers)
    assert_error(reused_elsewhere, 422, "idempotency_key_reused")
    assert admin.generation() == before + 2


def test_idempotency_key_replays_errors_and_target_registrations(admin, demo_backend):
    extra = demo_backend("blue-2")
    before = admin.generation()
    headers = {"Idempotency-Key": "register-blue-2"}
    first = admin.post("/v1/target-groups/blue/targets", {"targets": [extra.address]}, headers=headers)
    assert first.status_code == 200, describe(first)
    replay = admin.post("/v1/target-groups/blue/targets", {"targets": [extra.address]}, headers=headers)
    # Without the key this would be a 409 conflict: the stored 200 comes back instead.
    assert replay.status_code == 200, describe(replay)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.content == first.content
    assert admin.generation() == before + 1


# --- audit ---------------------------------------------------------------------------------------

def test_audit_records_caller_generations_request_and_diff(admin):
    before = admin.generation()
    request = {"to": "green", "listener": "production"}
    ok_json(admin.post("/v1/switch", request))
    ok_json(admin.set_forward("production", {"blue": 10, "green": 90}))

    entries = admin.audit()
    assert len(entries) >= 2
    switch, forward = entries[-2], entries[-1]
    assert forward["id"] > switch["id"]
    assert switch["action"] == "switch"
    assert switch["caller"] == LOOPBACK
    assert (switch["generation_before"], switch["generation_after"]) == (before, before + 1)
    assert switch["request"] == request
    assert switch["diff"] == {"listeners": {"production": {"before": {"blue": 100}, "after": {"green": 100}}}}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", switch["time"]), switch["time"]
    written = datetime.datetime.fromisoformat(switch["time"].replace("Z", "+00:00"))
    assert abs(datetime.datetime.now(datetime.timezone.utc) - written) < datetime.timedelta(minutes=5)

    assert forward["caller"] == LOOPBACK
    assert (forward["generation_before"], forward["generation_after"]) == (before + 1, before + 2)
    assert forward["request"] == {"blue": 10, "green": 90}
    assert forward["diff"] == {"listeners": {
        "production": {"before": {"green": 100}, "after": {"blue": 10, "green": 90}}}}

    assert admin.audit(limit=1) == [forward]
    assert admin.audit(limit=2) == [switch, forward]

    # Rejected and dry-run requests are not changes.
    assert_error(admin.set_forward("production", {"blue": 1000}), 422, "invalid")
    ok_json(admin.switch("blue", params={"dry_run": "true"}))
    assert admin.audit(limit=1) == [forward]


def test_reads_change_nothing(admin, turnout):
    status = admin.status()
    for path in ("/healthz", "/metrics", "/v1/status", "/v1/audit", "/v1/target-groups/blue/targets"):
        assert admin.get(path).status_code == 200
        assert admin.request("HEAD", path).status_code == 200
    assert admin.status()["generation"] == status["generation"]
    assert admin.audit() == []

