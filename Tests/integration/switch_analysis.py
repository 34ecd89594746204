"""The switch guarantee, judged: which requests of a run failed and which were stragglers.

One definition for the test that asserts the guarantee (``test_switch_guarantee.py``: none of either)
and the benchmark that counts both for Turnout and for other proxies (``benchmarks/switch``). It uses
the standard library only, so the benchmark imports it without the test suite's helpers.

A request is judged by the last switch acknowledged at or before its start: answered before the next
switch was sent, it must have been served by the group that switch moved to; served by any other group,
it is a straggler. The routing decision lies somewhere between a request's start and its answer, so a
request still running when the next switch goes out may rightly be served by either group: it is in
flight, not judged. A failed request (no answer, or an answer that is not a success) is a failure and
is not judged. A switch the proxy refused changes nothing and opens no window.

Times are on one monotonic clock in any unit (the test's seconds, the benchmark's nanoseconds).
Requests are any objects with ``started``, ``finished``, ``served_by`` and ``failed``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Switch:
    index: int  # 0, 1, ... in the order sent; -1 stands for the routing before the first switch
    left: str | None  # the group switched away from
    to: str
    sent: float
    acknowledged: float
    error: str | None = None  # why the proxy refused it


@dataclass
class Verdict:
    failures: list = field(default_factory=list)  # failed requests, in order of start
    stragglers: list = field(default_factory=list)  # (Switch, request), in order of start
    judged: int = 0
    in_flight: int = 0
    windows_with_requests: set = field(default_factory=set)  # indexes of switches whose window held a judged request


def judge(requests, switches, initial: str | None = None) -> Verdict:
    """Judges ``requests`` against ``switches`` (in the order sent). With ``initial``, the group that
    served before the first switch, requests answered before that switch was sent are judged too."""
    applied = [switch for switch in switches if switch.error is None]
    if initial is not None:
        applied.insert(0, Switch(-1, None, initial, -math.inf, -math.inf))
    acknowledgements = [switch.acknowledged for switch in applied]
    verdict = Verdict()
    for request in sorted(requests, key=lambda request: request.started):
        if request.failed:
            verdict.failures.append(request)
            continue
        k = bisect.bisect_right(acknowledgements, request.started) - 1
        if k < 0:
            continue
        next_sent = applied[k + 1].sent if k + 1 < len(applied) else math.inf
        if request.finished >= next_sent:
            verdict.in_flight += 1
            continue
        verdict.judged += 1
        if applied[k].index >= 0:
            verdict.windows_with_requests.add(applied[k].index)
        if request.served_by != applied[k].to:
            verdict.stragglers.append((applied[k], request))
    return verdict
