"""Publishing a new routing table under load: no failed request, no straggler.

The moment of the switch is taken from the log line "published routing table generation N"
after a SIGHUP reload. Once the admin API exists, its HTTP 200 acknowledgement is the
documented moment (the switch guarantee) and replaces the log line in this test; the log line
is seen no earlier than the publication itself, so using it can only make the check weaker,
never flag a correct proxy.
"""

from __future__ import annotations

import http.client
import re

from harness import LOOPBACK, Proxy, wait_until
from keepalive_load import CLIENT_TIMEOUT, KeepAliveLoad

CLIENTS = 4


def test_switch_under_keepalive_load(proxy):
    turnout = proxy()
    load = KeepAliveLoad(turnout.port(), CLIENTS)
    try:
        assert wait_until(lambda: load.count() >= 100, timeout=10), "load did not get going"
        published_at = turnout.publish(listeners={"production": {"green": 100}})
        assert wait_until(lambda: load.count(started_after=published_at) >= 200, timeout=10), \
            "too few requests after the switch"
    finally:
        load.stop()
    outcomes = load.outcomes()

    failures = [o for o in outcomes if o.error is not None]
    assert failures == [], f"{len(failures)} failed requests, first: {failures[:5]}"
    before = [o for o in outcomes if o.started <= published_at]
    after = [o for o in outcomes if o.started > published_at]
    stragglers = [o for o in after if o.served_by != "green"]
    print(f"{len(before)} requests started before the publication was seen, {len(after)} after; "
          f"served before: {sorted({o.served_by for o in before})}")
    assert stragglers == [], f"{len(stragglers)} of {len(after)} requests after the switch went elsewhere"
    assert {o.served_by for o in before[:50]} == {"blue"}, "production was not on blue before the switch"

    # The test listener was untouched by the reload and still goes to green.
    connection = http.client.HTTPConnection(LOOPBACK, turnout.port("test"), timeout=CLIENT_TIMEOUT)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        response.read()
        assert response.getheader("X-Served-By") == "green"
    finally:
        connection.close()


def test_each_reload_publishes_a_higher_generation(proxy):
    turnout = proxy()
    generations = []
    for forward in ({"green": 100}, {"blue": 100}, {"blue": 50, "green": 50}):
        turnout.publish(listeners={"production": forward})
        generations.append(int(re.findall(Proxy.PUBLISHED, turnout.log())[-1]))
    assert generations == sorted(set(generations)), generations
