"""The switch guarantee's rule (``switch_analysis``) on a hand-made timeline: which requests are judged,
which are in flight, which are stragglers and failures. No sockets: the rule alone."""

from __future__ import annotations

from dataclasses import dataclass

from switch_analysis import Switch, judge


@dataclass
class Request:
    started: float
    finished: float
    served_by: str | None
    failed: bool = False


# blue → green sent at 10, acknowledged at 12; green → blue refused at 20..21; green → blue at 30..31.
SWITCHES = [
    Switch(0, "blue", "green", 10, 12),
    Switch(1, "green", "blue", 20, 21, error="HTTP 409"),
    Switch(2, "green", "blue", 30, 31),
]


def test_a_request_is_judged_by_the_last_acknowledgement_before_it_started():
    on_time = Request(13, 14, "green")
    straggler = Request(13, 14, "blue")
    across_the_refused_switch = Request(19, 22, "blue")  # the refusal changed nothing: green was due
    overlapping_the_next_switch = Request(29, 30, "blue")
    before_the_first_switch = Request(1, 2, "green")
    after_the_last_switch = Request(31, 100, "green")
    verdict = judge([after_the_last_switch, on_time, straggler, across_the_refused_switch,
                     overlapping_the_next_switch, before_the_first_switch], SWITCHES)

    assert verdict.stragglers == [(SWITCHES[0], straggler), (SWITCHES[0], across_the_refused_switch),
                                  (SWITCHES[2], after_the_last_switch)]
    assert (verdict.judged, verdict.in_flight) == (4, 1)
    assert verdict.windows_with_requests == {0, 2}
    assert verdict.failures == []


def test_a_request_sent_while_a_switch_is_in_flight_is_not_judged():
    between_send_and_ack = Request(11, 11.5, "blue")
    verdict = judge([between_send_and_ack], SWITCHES)
    assert (verdict.judged, verdict.in_flight, verdict.stragglers) == (0, 0, [])


def test_with_an_initial_group_requests_before_the_first_switch_are_judged_too():
    served_by_initial = Request(1, 2, "blue")
    served_by_other = Request(3, 4, "green")
    overlapping_the_first_switch = Request(9, 11, "green")
    verdict = judge([served_by_initial, served_by_other, overlapping_the_first_switch], SWITCHES, initial="blue")

    assert [(switch.index, request) for switch, request in verdict.stragglers] == [(-1, served_by_other)]
    assert (verdict.judged, verdict.in_flight) == (2, 1)
    assert verdict.windows_with_requests == set()


def test_a_failed_request_is_a_failure_and_is_not_judged():
    failed = Request(13, 14, None, failed=True)
    verdict = judge([failed, Request(13, 14, "green")], SWITCHES)
    assert verdict.failures == [failed]
    assert (verdict.judged, verdict.stragglers) == (1, [])
