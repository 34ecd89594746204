"""The admin API against its OpenAPI description, openapi/turnout-admin.yaml.

The description itself is checked first (valid OpenAPI 3.0.3, every endpoint of the contract present,
every example valid against its schema). Then schemathesis generates requests for every operation
from the description, valid ones and invalid ones, sends them to a running proxy that requires a
token, and checks every answer: no 5xx, only documented status codes, content types, headers and
bodies as described, authentication enforced, 405 with Allow for methods the description does not list.

Generated target addresses are rewritten to loopback ones before sending: a registered target may be
health-checked or resolved, and the tests only ever talk to this machine.
"""

from __future__ import annotations

import copy
import hashlib
import re

import pytest
import requests
import schemathesis
import yaml
from hypothesis import HealthCheck, settings
from openapi_schema_validator import OAS30Validator
from openapi_spec_validator import validate as validate_openapi
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
    unsupported_method,
)

from admin_client import NO_CHECKS
from harness import LOOPBACK, REPO_ROOT

SPEC_PATH = REPO_ROOT / "openapi" / "turnout-admin.yaml"
TOKEN = "openapi-conformance-token-0123456789"
# Every endpoint the contract defines, as (method, path template).
CONTRACT_OPERATIONS = {
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/v1/status"),
    ("get", "/v1/figures"),
    ("get", "/v1/events"),
    ("get", "/v1/reports"),
    ("get", "/v1/reports/{generation}"),
    ("put", "/v1/routing"),
    ("post", "/v1/switch"),
    ("post", "/v1/reload"),
    ("post", "/v1/tls/reload"),
    ("post", "/v1/reset"),
    ("post", "/v1/logs/reopen"),
    ("put", "/v1/listeners/{name}/forward"),
    ("put", "/v1/listeners/{name}/rules/{rule}/forward"),
    ("get", "/v1/target-groups/{name}/targets"),
    ("put", "/v1/target-groups/{name}/targets"),
    ("post", "/v1/target-groups/{name}/targets"),
    ("delete", "/v1/target-groups/{name}/targets/{target}"),
    ("get", "/v1/audit"),
    ("get", "/v1/deployments"),
    ("post", "/v1/deployments"),
    ("get", "/v1/deployments/{id}"),
    ("get", "/v1/deployments/{id}/report"),
    ("post", "/v1/deployments/{id}/{action}"),
}
STREAMING_PATH = "/v1/events"
ERROR_STATUSES = {"400", "401", "403", "404", "405", "409", "413", "415", "422", "503"}

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    unsupported_method,
]


def load_spec() -> dict:
    return yaml.safe_load(SPEC_PATH.read_text())


def resolve(node, spec: dict):
    """``node`` with every local ``$ref`` replaced by what it points at (the description has no cycles)."""
    if isinstance(node, dict):
        if "$ref" in node:
            target = spec
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target, spec)
        return {key: resolve(value, spec) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, spec) for item in node]
    return node


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method in {"get", "put", "post", "delete", "patch", "head", "options"}:
                yield method, path, operation


# --- the description -----------------------------------------------------------------------------

def test_description_is_valid_openapi_3_0_3():
    spec = load_spec()
    assert spec["openapi"] == "3.0.3"
    validate_openapi(spec)


def test_description_covers_every_endpoint_of_the_contract():
    spec = load_spec()
    assert {(method, path) for method, path, _ in operations(spec)} == CONTRACT_OPERATIONS


def test_every_operation_but_healthz_requires_the_bearer_token():
    spec = load_spec()
    scheme = spec["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert spec["security"] == [{"bearerAuth": []}]
    open_operations = {(method, path) for method, path, operation in operations(spec) if operation.get("security") == []}
    assert open_operations == {("get", "/healthz")}
    for method, path, operation in operations(spec):
        if (method, path) != ("get", "/healthz"):
            assert "401" in operation["responses"], (method, path)


def test_mutations_document_every_error_they_can_answer():
    spec = load_spec()
    for method, path, operation in operations(spec):
        if method == "get":
            continue
        documented = set(operation["responses"])
        # DELETE has no body, so it cannot be too large or of the wrong type; a reload and a reset name nothing
        # that could be missing; a certificate reload contradicts no state either; reopening the access logs changes
        # no state that could conflict.
        expected = ERROR_STATUSES - ({"413", "415"} if method == "delete" else set()) \
            - ({"404"} if path in ("/v1/reload", "/v1/reset", "/v1/tls/reload") else set()) \
            - ({"409"} if path == "/v1/tls/reload" else set()) \
            - ({"404", "409"} if path == "/v1/logs/reopen" else set())
        assert expected <= documented, (method, path, sorted(expected - documented))
        parameters = {parameter["$ref"].rsplit("/", 1)[-1] for parameter in operation.get("parameters", [])}
        assert "IdempotencyKey" in parameters, (method, path)


def test_every_operation_but_healthz_documents_the_cross_site_refusals():
    spec = load_spec()
    for method, path, operation in operations(spec):
        if (method, path) != ("get", "/healthz"):
            assert "403" in operation["responses"], (method, path)
        assert ("415" in operation["responses"]) == ("requestBody" in operation), (method, path)


def test_every_error_response_is_the_error_object():
    spec = load_spec()
    error_schema = spec["components"]["schemas"]["Error"]
    for method, path, operation in operations(spec):
        for status, response in operation["responses"].items():
            if int(status) < 400:
                continue
            content = resolve(response, spec)["content"]
            assert list(content) == ["application/json"], (method, path, status)
            assert content["application/json"]["schema"] == error_schema, (method, path, status)


def _examples(media: dict) -> list:
    found = []
    if "example" in media:
        found.append(media["example"])
    found.extend(example["value"] for example in media.get("examples", {}).values())
    return found


def test_every_example_matches_its_schema():
    spec = load_spec()
    checked = 0
    for method, path, operation in operations(spec):
        bodies = [resolve(operation.get("requestBody", {}), spec).get("content", {})]
        bodies += [resolve(response, spec).get("content", {}) for response in operation["responses"].values()]
        for content in bodies:
            for media in content.values():
                schema = media["schema"]
                for example in _examples(media):
                    errors = [error.message for error in OAS30Validator(schema).iter_errors(example)]
                    assert errors == [], (method, path, example, errors)
                    checked += 1
    assert checked >= 20


# --- the running server against the description ----------------------------------------------------

@pytest.fixture
def admin_schema(proxy, backends, tmp_path):
    token_file = tmp_path / "admin-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    groups = {
        "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
        "green": {"targets": [backends.green.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
    }
    turnout = proxy(groups=groups, token_file=token_file, wait_for_admin=True)
    schema = schemathesis.openapi.from_path(SPEC_PATH)
    schema.config.update(base_url=turnout.admin_url, request_timeout=10)
    # The event stream never ends by itself: read its first event (`open` or `reset`, at once), then hang up.
    schema.config.max_stream_events = 1
    return schema


api = schemathesis.pytest.from_fixture("admin_schema")

_HOST_PORT = re.compile(r"^(?:\[[^\]]*\]|[^:\[\]]*):[0-9]+$")


def loopback_address(generated: str) -> str:
    """A loopback ``host:port`` that stands for a generated one (same input, same output)."""
    digest = hashlib.sha256(generated.encode("utf-8", "surrogatepass")).digest()
    return f"{LOOPBACK}:{20000 + int.from_bytes(digest[:2], 'big') % 40000}"


def keep_targets_on_loopback(case) -> None:
    """Rewrite generated target addresses so nothing is resolved or probed outside this machine.
    Strings shaped like ``host:port`` become loopback addresses; other strings become one fixed malformed
    address (still refused by the server, but never looked up); non-strings stay, to test type errors."""
    if not isinstance(case.body, dict) or not isinstance(case.body.get("targets"), list):
        return
    body = copy.deepcopy(case.body)
    body["targets"] = [
        (loopback_address(item) if _HOST_PORT.match(item) else "not-an-address") if isinstance(item, str) else item
        for item in body["targets"]
    ]
    case.body = body


@api.parametrize()
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
def test_the_admin_api_answers_as_described(case):
    keep_targets_on_loopback(case)
    case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}"}, checks=CHECKS)


# --- answers the generator does not provoke, checked against the description all the same ----------

@pytest.fixture
def conformance(proxy, backends, tmp_path):
    """A running proxy that requires a token, and a way to send one request to it and check the answer
    against a description (the file's, or a changed copy) with the same checks as above."""
    token_file = tmp_path / "admin-token"
    token_file.write_text(TOKEN + "\n")
    turnout = proxy(groups={
        "blue": {"targets": [backends.blue.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
        "green": {"targets": [backends.green.address], "health_check": NO_CHECKS, "deregistration_delay": "1s"},
    }, token_file=token_file, wait_for_admin=True)
    # One valid request per operation (the path's parameters and the body), as (path, method) → case fields.
    requests_by_operation = {
        ("/metrics", "GET"): {},
        ("/v1/status", "GET"): {},
        ("/v1/figures", "GET"): {"query": {"group": "blue", "seconds": 60}},
        ("/v1/events", "GET"): {},
        ("/v1/reports", "GET"): {"query": {"limit": 5}},
        ("/v1/reports/{generation}", "GET"): {"path_parameters": {"generation": 1}},
        ("/v1/audit", "GET"): {},
        ("/v1/routing", "PUT"): {"body": {"listeners": {"production": {"blue": 100}}}},
        ("/v1/switch", "POST"): {"body": {"to": "blue"}},
        ("/v1/listeners/{name}/forward", "PUT"): {"path_parameters": {"name": "production"}, "body": {"blue": 100}},
        ("/v1/target-groups/{name}/targets", "GET"): {"path_parameters": {"name": "blue"}},
        ("/v1/target-groups/{name}/targets", "PUT"): {"path_parameters": {"name": "blue"},
                                                      "body": {"targets": [backends.blue.address]}},
        ("/v1/target-groups/{name}/targets", "POST"): {"path_parameters": {"name": "blue"},
                                                       "body": {"targets": [backends.blue.address]}},
        ("/v1/target-groups/{name}/targets/{target}", "DELETE"): {
            "path_parameters": {"name": "blue", "target": backends.blue.address}},
    }

    def check(path: str, method: str, headers: dict[str, str], spec: dict | None = None, media_type: str | None = None):
        schema = schemathesis.openapi.from_dict(spec or load_spec())
        schema.config.update(base_url=turnout.admin_url, request_timeout=10)
        fields = dict(requests_by_operation[(path, method)])
        if media_type is not None:
            fields["media_type"] = media_type
        case = schema[path][method].Case(**fields)
        return case.call_and_validate(headers={"Authorization": f"Bearer {TOKEN}", **headers}, checks=CHECKS)

    check.operations = list(requests_by_operation)
    check.turnout = turnout
    return check


def _error_code(response) -> str:
    return response.json()["error"]["code"]


def test_a_foreign_host_is_refused_as_described(conformance):
    for path, method in conformance.operations:
        response = conformance(path, method, {"Host": "evil.example"})
        assert (response.status_code, _error_code(response)) == (403, "host_not_allowed"), (method, path)


def test_a_change_from_another_site_is_refused_as_described(conformance):
    for path, method in conformance.operations:
        if method == "GET":
            continue
        response = conformance(path, method, {"Origin": "https://evil.example"})
        assert (response.status_code, _error_code(response)) == (403, "cross_site_request"), (method, path)


def test_a_body_that_is_not_json_is_refused_as_described(conformance):
    bodies = [(path, method) for path, method in conformance.operations if method in ("PUT", "POST")]
    assert len(bodies) == 5
    for path, method in bodies:
        response = conformance(path, method, {}, media_type="text/plain")
        assert response.request.headers["Content-Type"].startswith("text/plain"), (method, path)
        assert (response.status_code, _error_code(response)) == (415, "unsupported_media_type"), (method, path)


def test_the_event_stream_answers_as_described(conformance):
    """The stream the generated tests leave out: its head as described, its first line, and its refusals."""
    operation = resolve(load_spec()["paths"][STREAMING_PATH]["get"], load_spec())
    with requests.get(conformance.turnout.admin_url + STREAMING_PATH, headers={"Authorization": f"Bearer {TOKEN}"},
                      stream=True, timeout=10) as response:
        assert response.status_code == 200
        assert list(operation["responses"]["200"]["content"]) == [response.headers["Content-Type"]]
        assert "Content-Length" not in response.headers
        assert next(response.iter_lines(chunk_size=1)) == b"retry: 1000"
    for headers, status in [({"Authorization": "Bearer wrong"}, 401), ({"Host": "evil.example"}, 403)]:
        assert conformance(STREAMING_PATH, "GET", headers).status_code == status
    response = requests.post(conformance.turnout.admin_url + STREAMING_PATH, headers={"Authorization": f"Bearer {TOKEN}"},
                             timeout=10)
    assert response.status_code == 405 and response.headers["Allow"] == "GET, HEAD"


def test_the_checks_catch_answers_the_description_does_not_allow(conformance):
    """The checks above are not vacuous: a description without the 403, or without its error code, fails them."""
    without_status = load_spec()
    del without_status["paths"]["/v1/status"]["get"]["responses"]["403"]
    with pytest.raises(FailureGroup, match="Undocumented status code"):
        conformance("/v1/status", "GET", {"Host": "evil.example"}, spec=without_status)

    without_code = load_spec()
    codes = without_code["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
    codes.remove("host_not_allowed")
    with pytest.raises(FailureGroup, match="Response violates schema"):
        conformance("/v1/status", "GET", {"Host": "evil.example"}, spec=without_code)

    without_field = load_spec()
    without_field["components"]["schemas"]["Status"]["required"].append("uptime")
    with pytest.raises(FailureGroup, match="Response violates schema"):
        conformance("/v1/status", "GET", {}, spec=without_field)

    # Response objects are closed: a member the description does not list is a violation too.
    undocumented = load_spec()
    listener = undocumented["components"]["schemas"]["Listener"]
    del listener["properties"]["port"]
    listener["required"].remove("port")
    with pytest.raises(FailureGroup, match="Response violates schema"):
        conformance("/v1/status", "GET", {}, spec=undocumented)
