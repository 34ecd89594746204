"""What `benchmarks/switch` makes of a scenario's timeline (failures and stragglers by the switch guarantee's own
rule, latency per phase, acknowledgements) and its markdown report."""

import math
import time
from collections import Counter

from switch_analysis import judge

from .report import relative_paths


def percentile(sorted_values, p):
    """Nearest-rank percentile of an already sorted list; None when empty."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def ms(value_ns, digits=2):
    return "–" if value_ns is None else f"{value_ns / 1e6:.{digits}f}"


def analyse(timeline):
    requests = sorted(timeline.requests, key=lambda r: r.started)
    switches = timeline.switches
    first_sent, last_ack = switches[0].sent, switches[-1].acknowledged
    phases = {
        "before": (timeline.measure_from, first_sent),
        "during": (first_sent, last_ack),
        "after": (last_ack, timeline.stop),
    }
    result = {"phases": {}, "switches": len(switches),
              "switch_errors": [s for s in switches if s.error is not None]}
    for phase, (lo, hi) in phases.items():
        inside = [r for r in requests if lo <= r.started < hi]
        ok = sorted(r.finished - r.started for r in inside if not r.failed)
        result["phases"][phase] = {
            "requests": len(inside), "seconds": (hi - lo) / 1e9,
            "failed": sum(r.failed for r in inside),
            "p50": percentile(ok, 50), "p99": percentile(ok, 99), "max": ok[-1] if ok else None,
            "late": sum(r.started - r.scheduled > 1_000_000 for r in inside),
        }
    # Requests that started while a switch was in flight or within 10 ms of its acknowledgement.
    near, k = [], 0
    for r in requests:
        while k < len(switches) and switches[k].acknowledged + 10_000_000 <= r.started:
            k += 1
        if k < len(switches) and switches[k].sent <= r.started and not r.failed:
            near.append(r.finished - r.started)
    near.sort()
    result["near"] = {"requests": len(near), "p50": percentile(near, 50), "p99": percentile(near, 99),
                      "max": near[-1] if near else None}
    verdict = judge([r for r in requests if timeline.measure_from <= r.started < timeline.stop], switches)
    result["failures"] = verdict.failures
    result["failure_kinds"] = Counter(
        f"{r.what}{' on a reused connection' if r.reused and r.error != '-' else ''}" for r in verdict.failures)
    result["stragglers"] = verdict.stragglers
    result["eligible"] = verdict.judged
    acks = sorted(s.acknowledged - s.sent for s in switches)
    result["ack"] = {"p50": percentile(acks, 50), "p99": percentile(acks, 99), "max": acks[-1]}
    # Whether acknowledgements slow down as switches accumulate (state or history that grows).
    tenth = max(1, len(switches) // 10)
    result["ack_trend"] = (percentile(sorted(s.acknowledged - s.sent for s in switches[:tenth]), 50),
                           percentile(sorted(s.acknowledged - s.sent for s in switches[-tenth:]), 50), tenth)
    return result


def summary_line(name, result):
    ph = result["phases"]
    return (f"{name}: failed {len(result['failures'])}, stragglers {len(result['stragglers'])}, "
            f"ack p50 {ms(result['ack']['p50'], 3)} p99 {ms(result['ack']['p99'], 3)} ms, "
            f"p99 before/during/after {ms(ph['before']['p99'], 3)}/{ms(ph['during']['p99'], 3)}/"
            f"{ms(ph['after']['p99'], 3)} ms")


def relative_to_switch(timeline, t):
    """'switch k (blue→green) sent +x ms' for the latest switch sent at or before t."""
    previous = None
    for s in timeline.switches:
        if s.sent <= t:
            previous = s
        else:
            break
    if previous is None:
        return f"{(t - timeline.switches[0].sent) / 1e6:+.3f} ms from the first switch"
    return (f"switch {previous.index} ({previous.left}→{previous.to}) sent +{(t - previous.sent) / 1e6:.3f} ms, "
            f"acked at +{(previous.acknowledged - previous.sent) / 1e6:.3f} ms")


def _scenario_section(w, scenario, timeline, result):
    ph = result["phases"]
    w(f"## {scenario.title}")
    w("")
    w("| phase | requests | req/s | failed | p50 ms | p99 ms | max ms | sent >1 ms late |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|")
    for phase in ("before", "during", "after"):
        p = ph[phase]
        rate = p["requests"] / p["seconds"] if p["seconds"] > 0 else 0
        w(f"| {phase} | {p['requests']} | {rate:.0f} | {p['failed']} | {ms(p['p50'], 3)} | {ms(p['p99'], 3)} | "
          f"{ms(p['max'], 3)} | {p['late']} |")
    near = result["near"]
    w(f"| during: sent … ack + 10 ms | {near['requests']} | | | {ms(near['p50'], 3)} | {ms(near['p99'], 3)} | "
      f"{ms(near['max'], 3)} | |")
    w("")
    first, last, tenth = result["ack_trend"]
    w(f"Acknowledgement: median {ms(first, 3)} ms over the first {tenth} switches, {ms(last, 3)} ms over the "
      f"last {tenth}.")
    w(f"Stragglers: {len(result['stragglers'])} of {result['eligible']} requests that started after an "
      f"acknowledgement and completed before the next switch was sent.")
    for description, times in timeline.baselines:
        w(f"For comparison, {description}: p50 {ms(percentile(times, 50), 3)} ms, "
          f"p99 {ms(percentile(times, 99), 3)} ms ({len(times)} times).")
    record_bytes = getattr(scenario, "journal_record_bytes", lambda: None)()
    if record_bytes is not None:
        w(f"The journal's records after the run: {record_bytes:.0f} bytes on average.")
    if result["stragglers"]:
        latest = max(r.started - s.acknowledged for s, r in result["stragglers"])
        affected = len({s.index for s, _ in result["stragglers"]})
        w(f"They follow {affected} of {result['switches']} switches; the latest started "
          f"{latest / 1e6:.3f} ms after its switch's acknowledgement.")
    if result["switch_errors"]:
        w(f"Switches that failed: {len(result['switch_errors'])} (first: switch "
          f"{result['switch_errors'][0].index}: {result['switch_errors'][0].error}).")
    if result["failures"]:
        kinds = ", ".join(f"{count} × {kind}" for kind, count in result["failure_kinds"].most_common())
        w(f"Failed requests by kind: {kinds}.")
    limit = 200 if scenario.name == "turnout" else 12
    if result["failures"]:
        w("")
        w(f"Failed requests{' (first ' + str(limit) + ')' if len(result['failures']) > limit else ''} — "
          "time relative to the latest switch sent before the request started:")
        w("")
        w("| conn | started | duration ms | result | reused connection |")
        w("|---:|---|---:|---|---|")
        for r in result["failures"][:limit]:
            w(f"| {r.conn} | {relative_to_switch(timeline, r.started)} | {(r.finished - r.started) / 1e6:.3f} | "
              f"{r.what} | {'yes' if r.reused else 'no'} |")
    if result["stragglers"]:
        w("")
        w(f"Stragglers{' (first ' + str(limit) + ')' if len(result['stragglers']) > limit else ''}:")
        w("")
        w("| switch | conn | started after ack ms | ended after ack ms | served by | reused connection |")
        w("|---|---:|---:|---:|---|---|")
        for s, r in result["stragglers"][:limit]:
            w(f"| {s.index} ({s.left}→{s.to}) | {r.conn} | {(r.started - s.acknowledged) / 1e6:.3f} | "
              f"{(r.finished - s.acknowledged) / 1e6:.3f} | {r.served_by} | {'yes' if r.reused else 'no'} |")
    w("")


def markdown(run, results, failures_at_start, machine, versions, commands):
    """The report: `results` are (scenario, timeline, analyse() result); `commands` (label, command line) of the
    run, listed before each scenario's own."""

    def show(text):
        return relative_paths(str(text).replace(str(run.turnout_bin.parent), "$BIN"), run.work)

    out = []
    w = out.append
    w("# Switch downtime: blue/green switches under steady keep-alive load")
    w("")
    w(f"{run.switches} switches blue↔green, each sent {run.interval * 1000:.0f} ms after the previous one was "
      f"acknowledged, under {run.rate:.0f} req/s paced over {run.connections} keep-alive "
      f"client connections; {run.workers} workers/threads per proxy; {run.steady:.0f} s steady state before and "
      f"{run.after:.0f} s after. Generated by `benchmarks/switch` on {time.strftime('%Y-%m-%d')}.")
    w("")
    w("| scenario | failed | stragglers | ack p50 ms | ack p99 ms | ack max ms | p99 before ms | p99 during ms "
      "| p99 after ms | p99 during / before |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for scenario, timeline, result in results:
        ph = result["phases"]
        ratio = (f"{ph['during']['p99'] / ph['before']['p99']:.2f}"
                 if ph["during"]["p99"] and ph["before"]["p99"] else "–")
        w(f"| {scenario.title} | {len(result['failures'])} | {len(result['stragglers'])} | "
          f"{ms(result['ack']['p50'], 3)} | {ms(result['ack']['p99'], 3)} | {ms(result['ack']['max'], 3)} | "
          f"{ms(ph['before']['p99'], 3)} | {ms(ph['during']['p99'], 3)} | {ms(ph['after']['p99'], 3)} | {ratio} |")
    for name, message in failures_at_start:
        w(f"| {name} | did not run: {message.splitlines()[0]} | | | | | | | | |")
    w("")
    w("- **failed**: requests with no response (connect error, reset, EOF, timeout) or a non-2xx status, "
      "from the end of the warm-up to the end of the run.")
    w("- **stragglers**: requests that started after switch k's acknowledgement and completed before switch k+1 "
      "was sent, yet were served by the group switched away from.")
    w("- **ack**: from sending the switch to its acknowledgement. **p99 before/during/after**: latency of the "
      "successful requests that started in the steady period, between the first switch sent and the last "
      "acknowledged, and after that.")
    w("")
    w("How each scenario switches:")
    w("")
    for scenario, _, _ in results:
        w(f"- {scenario.title}: {scenario.how}.")
    w("")
    for scenario, timeline, result in results:
        _scenario_section(w, scenario, timeline, result)
    w("## Versions")
    w("")
    w(f"- machine: {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['kernel']}; load average "
      f"{machine['load_at_start']} before the run, {machine['load_at_end']} after it")
    for version in versions.values():
        w(f"- {version}")
    w("")
    w("## Commands")
    w("")
    w("Paths: `$WORK` is the run's temporary directory, `$BIN` the Turnout build's `release` directory.")
    w("")
    w("```")
    for label, command in commands:
        w(f"{label}:".ljust(10) + show(command))
    for scenario, _, _ in results:
        for label, command in scenario.commands:
            if label == "switch" and scenario.name == "haproxy-api":
                w(f"{scenario.name} {label}: " + " ; ".join(f"echo '{c}' | socat stdio $WORK/haproxy-api/haproxy.sock"
                                                        for c in command))
            else:
                w(f"{scenario.name} {label}: {show(' '.join(str(part) for part in command))}")
    w("```")
    w("")
    for scenario, _, _ in results:
        for label, path in scenario.configs:
            w(f"<details><summary>{scenario.name}: {label}</summary>")
            w("")
            w("```")
            w(show(path.read_text().rstrip()))
            w("```")
            w("")
            w("</details>")
            w("")
    return "\n".join(out).rstrip() + "\n"
