"""Active health checks, fail-open / fail-closed groups and passive ejection, seen through the admin API.

Timing claims are lower bounds that follow from the configuration, and upper bounds with slack:
with a probe interval I, no two probes of one target are less than I apart, so after the backend's
health starts failing at t0 the k-th failing probe starts no earlier than t0 + (k-1)·I. A status read
that *returned* before that instant cannot show the state change yet, however slow the machine.
"""

from __future__ import annotations

import time

import pytest
import requests

from admin_client import AdminClient, ProbeRecorder, metric_sum, served_by, statuses
from harness import LOOPBACK, SOCKET_TIMEOUT, free_port

INTERVAL = 0.2
TIMEOUT = 0.1
HEALTHY_THRESHOLD = 2
UNHEALTHY_THRESHOLD = 3
FAST_CHECKS = {
    "path": "/health",
    "interval": "200ms",
    "timeout": "100ms",
    "healthy_threshold": HEALTHY_THRESHOLD,
    "unhealthy_threshold": UNHEALTHY_THRESHOLD,
}
# Upper-bound slack for a loaded 2-core machine (scheduling, status polling).
SLACK = 2.0
BECOMES_HEALTHY = HEALTHY_THRESHOLD * INTERVAL + TIMEOUT + SLACK + 1.0  # +1 s: start-up
BECOMES_UNHEALTHY = UNHEALTHY_THRESHOLD * INTERVAL + TIMEOUT + SLACK


def set_health(backend, verdict: str) -> None:
    response = requests.post(f"http://{LOOPBACK}:{backend.port}/control/health", data=verdict.encode(),
                             timeout=SOCKET_TIMEOUT)
    assert response.status_code == 200, response.text


def is_state(state: str, reason=...):
    def predicate(target: dict | None) -> bool:
        return target is not None and target["state"] == state and (reason is ... or target["reason"] == reason)
    return predicate


def sample_until(admin: AdminClient, group: str, address: str, done, timeout: float) -> list[tuple[float, dict]]:
    """Poll the target's status until ``done(target)``; every sample is (time the reply arrived, target)."""
    samples: list[tuple[float, dict]] = []
    deadline = time.monotonic() + timeout
    while True:
        target = admin.target(group, address)
        samples.append((time.monotonic(), target))
        if done(target):
            return samples
        if time.monotonic() > deadline:
            raise AssertionError(f"{group}/{address}: condition not reached within {timeout}s; last samples: "
                                 f"{[(round(t, 3), s and (s['state'], s['reason'])) for t, s in samples[-5:]]}")
        time.sleep(0.01)


def start_two_target_blue(proxy, demo_backend, **group):
    a, b = demo_backend("blue-a"), demo_backend("blue-b")
    turnout = proxy(
        groups={
            "blue": {"targets": [a.address, b.address], "health_check": FAST_CHECKS, **group},
            "green": {"targets": [a.address], "health_check": {"enabled": False}},
        },
        listeners={"production": {"blue": 100}},
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)
    for backend in (a, b):
        admin.wait_for_target("blue", backend.address, is_state("healthy", None), BECOMES_HEALTHY, "healthy")
    return turnout, admin, a, b


def test_unhealthy_after_exactly_the_threshold_then_healthy_again(proxy, demo_backend):
    turnout, admin, a, b = start_two_target_blue(proxy, demo_backend)
    healthy = admin.target("blue", a.address)
    assert (healthy["reason"], healthy["description"], healthy["routable"]) == (None, "", True)

    failing_from = time.monotonic()
    set_health(a, "fail")
    samples = sample_until(admin, "blue", a.address, is_state("unhealthy"), BECOMES_UNHEALTHY)
    # Fewer than unhealthy_threshold probes can have failed before failing_from + (threshold-1)·interval.
    window_end = failing_from + (UNHEALTHY_THRESHOLD - 1) * INTERVAL
    early = [target for arrived, target in samples if arrived < window_end]
    assert early, "no status read came back within the first failure window (machine too slow?)"
    assert all(target["state"] == "healthy" for target in early), [t["state"] for t in early]
    unhealthy = samples[-1][1]
    assert unhealthy["reason"] == "Target.ResponseCodeMismatch", unhealthy
    assert unhealthy["routable"] is False
    assert admin.target("blue", b.address)["state"] == "healthy"

    recovering_from = time.monotonic()
    set_health(a, "ok")
    samples = sample_until(admin, "blue", a.address, is_state("healthy"), BECOMES_HEALTHY)
    window_end = recovering_from + (HEALTHY_THRESHOLD - 1) * INTERVAL
    early = [target for arrived, target in samples if arrived < window_end]
    assert early, "no status read came back within the first recovery window (machine too slow?)"
    assert all(target["state"] == "unhealthy" for target in early), [t["state"] for t in early]
    recovered = samples[-1][1]
    assert (recovered["reason"], recovered["description"], recovered["routable"]) == (None, "", True)


def test_stopped_backend_is_unhealthy_with_a_connection_failure(proxy, demo_backend):
    turnout, admin, a, b = start_two_target_blue(proxy, demo_backend)
    a.process.exit_expected = True
    a.process.kill()
    target = admin.wait_for_target("blue", a.address, is_state("unhealthy"), BECOMES_UNHEALTHY, "unhealthy")
    assert target["reason"] == "Target.FailedHealthChecks", target
    assert "connection refused" in target["description"].lower(), target
    assert target["routable"] is False
    # Nothing reaches the stopped target's port any more: every request is blue-b's, none fails.
    assert set(served_by(turnout.port(), 20)) == {"blue-b"}


def test_traffic_leaves_an_unhealthy_target_and_returns(proxy, demo_backend):
    turnout, admin, a, b = start_two_target_blue(proxy, demo_backend)
    assert set(served_by(turnout.port(), 10)) == {"blue-a", "blue-b"}

    set_health(a, "fail")
    admin.wait_for_target("blue", a.address, is_state("unhealthy"), BECOMES_UNHEALTHY, "unhealthy")
    names = served_by(turnout.port(), 40) + [name for _, name in statuses(turnout.port(), 20)]
    assert set(names) == {"blue-b"}, {name: names.count(name) for name in set(names)}

    set_health(a, "ok")
    admin.wait_for_target("blue", a.address, is_state("healthy", None), BECOMES_HEALTHY, "healthy")
    assert set(served_by(turnout.port(), 10)) == {"blue-a", "blue-b"}


def start_single_target_blue(proxy, demo_backend, **group):
    blue = demo_backend("blue")
    turnout = proxy(
        groups={"blue": {"targets": [blue.address], "health_check": FAST_CHECKS, **group}},
        listeners={"production": {"blue": 100}},
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)
    admin.wait_for_target("blue", blue.address, is_state("healthy", None), BECOMES_HEALTHY, "healthy")
    return turnout, admin, blue


def test_group_with_every_target_unhealthy_fails_open(proxy, demo_backend):
    turnout, admin, blue = start_single_target_blue(proxy, demo_backend)
    set_health(blue, "fail")
    target = admin.wait_for_target("blue", blue.address, is_state("unhealthy"), BECOMES_UNHEALTHY, "unhealthy")
    assert target["reason"] == "Target.ResponseCodeMismatch"
    assert target["routable"] is True, "fail_open: a group with no healthy target routes to all of them"
    assert statuses(turnout.port(), 10) == [(200, "blue")] * 10
    assert served_by(turnout.port(), 10) == ["blue"] * 10


def test_group_with_every_target_unhealthy_fails_closed_when_configured(proxy, demo_backend):
    turnout, admin, blue = start_single_target_blue(proxy, demo_backend, on_all_unhealthy="fail_closed")
    assert statuses(turnout.port(), 3) == [(200, "blue")] * 3

    set_health(blue, "fail")
    target = admin.wait_for_target("blue", blue.address, is_state("unhealthy"), BECOMES_UNHEALTHY, "unhealthy")
    assert target["routable"] is False
    assert statuses(turnout.port(), 10) == [(503, None)] * 10
    assert metric_sum(admin.metrics_text(), "turnout_proxy_errors_total", listener="production", code="503") == 10

    set_health(blue, "ok")
    admin.wait_for_target("blue", blue.address, is_state("healthy", None), BECOMES_HEALTHY, "healthy")
    assert statuses(turnout.port(), 3) == [(200, "blue")] * 3


# --- passive ejection ----------------------------------------------------------------------------
#
# A passive ejection lasts until the target's next passing active probe. Here every probe of the
# group goes to a ProbeRecorder (health_check.port), and the test acts and observes while the
# recorder holds every probe unanswered: no probe can pass, so none can clear an ejection unseen, or
# hide one, however slow the machine. A held probe fails only after the check's timeout, 0.8 of the
# interval, and counts as one failure; a target's next probe comes at least 0.9 interval later and
# fails a timeout after that, so two in a row (the unhealthy threshold) take a hold longer than
# 1.7 intervals (5.1 s here), far above what the tests' own waits allow.

SLOW_INTERVAL = 3.0
EJECT_AFTER = 3


@pytest.fixture
def probe_recorder():
    recorder = ProbeRecorder()
    yield recorder
    recorder.close()


def start_with_passive_ejection(proxy, recorder: ProbeRecorder, targets: list[str], count_5xx: bool,
                                eject_after: int = EJECT_AFTER, interval: float = SLOW_INTERVAL, workers: int = 1):
    turnout = proxy(
        groups={"blue": {
            "targets": targets,
            "health_check": {"path": "/health", "interval": f"{interval:g}s", "timeout": f"{round(interval * 800)}ms",
                             "healthy_threshold": 2, "unhealthy_threshold": 2, "port": recorder.port},
            "passive_ejection": {"consecutive_failures": eject_after, "count_5xx": count_5xx},
        }},
        listeners={"production": {"blue": 100}},
        workers=workers,  # one by default: one round-robin sequence, so which request fails is known
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)
    for address in targets:
        admin.wait_for_target("blue", address, is_state("healthy", None), 2 * interval + 1 + SLACK + 1, "healthy")
    return turnout, admin


def test_consecutive_5xx_eject_a_target_until_its_next_passing_check(proxy, demo_backend, raw_upstream,
                                                                       probe_recorder):
    a = demo_backend("blue-a")
    other = raw_upstream("ok")
    turnout, admin = start_with_passive_ejection(proxy, probe_recorder, [a.address, other.address], True)
    assert sorted(name for _, name in statuses(turnout.port(), 4)) == ["blue-a", "blue-a", "raw", "raw"]

    with probe_recorder.held() as held_from:
        failures_seen = 0
        log: list[tuple[int, str | None]] = []
        for _ in range(4 * EJECT_AFTER):
            status, name = statuses(turnout.port(), 1, "/status?code=500")[0]
            log.append((status, name))
            if name == "blue-a":
                assert status == 500, log
                failures_seen += 1
                if failures_seen == EJECT_AFTER - 1:
                    target = admin.target("blue", a.address)
                    assert (target["state"], target["reason"]) == ("healthy", None), (target, log)
                if failures_seen == EJECT_AFTER:
                    break
            else:
                assert (status, name) == (200, "raw"), log
        assert failures_seen == EJECT_AFTER, log

        ejected = admin.wait_for_target("blue", a.address, is_state("unhealthy", "Target.PassiveEjection"), 1.0,
                                        "ejected")
        assert ejected["routable"] is False
        assert statuses(turnout.port(), 10, "/status?code=500") == [(200, "raw")] * 10

    # The next passing probe brings it back.
    back = admin.wait_for_target("blue", a.address, is_state("healthy", None), SLOW_INTERVAL + 1 + SLACK, "back")
    assert back["routable"] is True
    # It came back with a probe, not by itself: at least one probe since the hold began.
    assert probe_recorder.probe_times(since=held_from), "healthy again without any probe"
    assert sorted(name for _, name in statuses(turnout.port(), 4)) == ["blue-a", "blue-a", "raw", "raw"]


def test_failures_count_across_workers(proxy, demo_backend, raw_upstream, probe_recorder):
    """With two workers, consecutive failures are the target's, not each worker's: the run that
    ejects it may be spread over both (each request comes on a new connection, which the kernel
    hands to either worker), and the ejection comes at exactly ``eject_after`` failures in all."""
    eject_after = 5
    a = demo_backend("blue-a")
    other = raw_upstream("ok")
    turnout, admin = start_with_passive_ejection(proxy, probe_recorder, [a.address, other.address], True,
                                                 eject_after=eject_after, workers=2)
    with probe_recorder.held():
        failures_seen, log = 0, []
        while failures_seen < eject_after:
            assert len(log) < 20 * eject_after, f"fewer than {eject_after} failures in {len(log)} requests: {log}"
            status, name = statuses(turnout.port(), 1, "/status?code=500")[0]
            log.append((status, name))
            if name == "blue-a":
                assert status == 500, log
                failures_seen += 1
            else:
                assert (status, name) == (200, "raw"), log
        ejected = admin.wait_for_target("blue", a.address, is_state("unhealthy", "Target.PassiveEjection"), 1.0,
                                        f"ejected after {eject_after} failures over two workers")
        assert ejected["routable"] is False
        assert statuses(turnout.port(), 10, "/status?code=500") == [(200, "raw")] * 10
        assert metric_sum(admin.metrics_text(), "turnout_requests_total", target_group="blue", target=a.address) \
            == eject_after


def test_5xx_do_not_eject_unless_counted(proxy, demo_backend, raw_upstream, probe_recorder):
    a = demo_backend("blue-a")
    other = raw_upstream("ok")
    turnout, admin = start_with_passive_ejection(proxy, probe_recorder, [a.address, other.address], False)
    with probe_recorder.held():
        results = statuses(turnout.port(), 4 * EJECT_AFTER, "/status?code=500")
        assert sorted(results) == [(200, "raw")] * (2 * EJECT_AFTER) + [(500, "blue-a")] * (2 * EJECT_AFTER)
        time.sleep(0.3)  # what an ejection would need to reach the status
        target = admin.target("blue", a.address)
        assert (target["state"], target["reason"]) == ("healthy", None), target
    assert statuses(turnout.port(), 4).count((200, "blue-a")) == 2


def test_refused_connections_eject_a_target(proxy, raw_upstream, probe_recorder):
    """The target's own port refuses connections while its probes (sent to the recorder) pass.

    A worker may skip a target for a moment after it refused a connection, so refusals can be spread
    out in time: the probe interval here is long enough to hold probes for all of them."""
    refusing = f"{LOOPBACK}:{free_port()}"
    other = raw_upstream("ok")
    # A worker skips a target for about a second after a refused connect, so the two refusals span a
    # second or more, and the waits below up to 5 s: held that long, no target fails two checks in a row
    # with a 5 s interval (1.7 intervals, 8.5 s).
    interval, eject_after = 5.0, 2
    turnout, admin = start_with_passive_ejection(proxy, probe_recorder, [refusing, other.address], False,
                                                 eject_after=eject_after, interval=interval)

    def refused() -> float:
        return metric_sum(admin.metrics_text(), "turnout_upstream_connect_errors_total", target_group="blue",
                          target=refusing)

    def send_until_refused(count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while refused() < count:
            # Each request that picks the refusing target is retried on the other: no failure is seen.
            assert statuses(turnout.port(), 1) == [(200, "raw")]
            assert time.monotonic() < deadline, f"fewer than {count} refused connects within {timeout}s"
            time.sleep(0.02)

    with probe_recorder.held():
        send_until_refused(eject_after - 1, timeout=1.5)
        target = admin.target("blue", refusing)
        assert (target["state"], target["reason"]) == ("healthy", None), target
        send_until_refused(eject_after, timeout=2.5)
        ejected = admin.wait_for_target("blue", refusing, is_state("unhealthy", "Target.PassiveEjection"), 1.0,
                                        "ejected")
        assert ejected["routable"] is False
        # Once ejected it is not tried again: exactly eject_after refused connects, however many requests.
        assert statuses(turnout.port(), 10) == [(200, "raw")] * 10
        assert refused() == eject_after
    admin.wait_for_target("blue", refusing, is_state("healthy", None), interval + 1 + SLACK, "back")
