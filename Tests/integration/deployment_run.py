"""Running a deployment on the real binary and following it: its events on ``GET /v1/events`` until it ends,
under keep-alive load through the production listener."""

from __future__ import annotations

import time

import requests

from admin_client import AdminClient
from harness import wait_until
from keepalive_load import KeepAliveLoad
from sse_client import SSEStream

CLIENTS = 4
ENDED = {"Succeeded", "RolledBack", "Failed", "Stopped"}


def deployment_events(events: SSEStream, deployment: str, until_status: set[str], timeout: float = 20.0):
    """The deployment's events until one with a status in ``until_status``, each with when it was read."""
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        event = events.next(timeout=max(0.1, deadline - time.monotonic()))
        if event.event == "deployment" and event.data["deployment"] == deployment:
            seen.append((time.monotonic(), event.data))
            if event.data["status"] in until_status:
                return seen
    raise AssertionError(f"deployment {deployment} did not reach {until_status}: {[d['status'] for _, d in seen]}")


def created(response: requests.Response) -> str:
    """The id of the deployment a ``POST /v1/deployments`` created."""
    assert response.status_code == 201, response.text
    return response.json()["id"]


def deploy_under_load(turnout, admin: AdminClient, spec: dict, timeout: float = 20.0) -> tuple[str, list, KeepAliveLoad]:
    """Starts a deployment of ``spec`` under keep-alive load and follows it on the event stream until it ends,
    then lets 100 more requests start; returns its id, its events (with when each was read) and the stopped
    load."""
    load = KeepAliveLoad(turnout.port(), CLIENTS)
    try:
        assert wait_until(lambda: load.count() >= 200, timeout=10), "load did not get going"
        with SSEStream(f"{turnout.admin_url}/v1/events") as events:
            events.next()
            response = admin.post("/v1/deployments", spec)
            deployment = created(response)
            assert response.headers["Location"] == f"/v1/deployments/{deployment}"
            seen = deployment_events(events, deployment, ENDED, timeout)
        ended = seen[-1][0]
        assert wait_until(lambda: load.count(started_after=ended) >= 100, timeout=10)
    finally:
        load.stop()
    return deployment, seen, load
