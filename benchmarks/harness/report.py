"""The markdown report and the JSON record of a run."""

import json
from dataclasses import asdict
from pathlib import Path

from .proxies import BASELINE, PROXIES, label

REPO_ROOT = Path(__file__).resolve().parents[2]
# Results a run is asked to keep (--save) go to the repository's benchmarks/results; every other run writes to a
# directory git ignores, so trying a benchmark leaves the working tree clean.
SAVED_RESULTS = REPO_ROOT / "benchmarks" / "results"
SCRATCH_RESULTS = REPO_ROOT / ".benchmarks"


def results_directory(save):
    return SAVED_RESULTS if save else SCRATCH_RESULTS


def relative_paths(text, work):
    """`text` with the run's work directory shown as $WORK and paths in the repository relative to it."""
    return text.replace(str(work), "$WORK").replace(str(REPO_ROOT) + "/", "")


def _number(value, digits=2):
    return "–" if value is None else f"{value:.{digits}f}"


def _result(workload, summary, options):
    value = summary["value"]
    if workload.kind == "latency":
        return f"{options.latency_rate:,} req/s offered"
    if workload.kind == "memory":
        return f"{value:.2f} KiB/conn"
    return f"{value:,.0f} {workload.unit}"


def _per_cpu(workload, summary):
    """Throughput per core-second of proxy CPU: what the proxy would do with a core to itself."""
    if workload.kind != "throughput" or summary["per_cpu"] is None:
        return "–"
    unit = workload.unit.removesuffix("/s")
    return f"{summary['per_cpu']:,.0f} {unit}"


def ratio(workload, outcomes, proxy):
    """The proxy's figure divided by HAProxy's in the same workload, or None."""
    baseline = outcomes.get(BASELINE)
    mine = outcomes[proxy].summary()
    base = baseline.summary() if baseline else None
    if not mine or not base or not base["value"]:
        return None
    return mine["value"] / base["value"]


def results_table(results, options):
    lines = [
        "| workload | proxy | result | p50 ms | p99 ms | p99.9 ms | vs HAProxy | proxy CPU | per CPU-second | errors |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for workload, outcomes in results:
        first = True
        for proxy, outcome in outcomes.items():
            name = f"**{workload.title}**" if first else ""
            first = False
            summary = outcome.summary()
            if summary is None:
                lines.append(f"| {name} | {label(proxy)} | not measured (see 'Not measured') | | | | | | | |")
                continue
            lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                name, label(proxy), _result(workload, summary, options), _number(summary["p50_ms"]),
                _number(summary["p99_ms"]), _number(summary["p999_ms"]), _number(ratio(workload, outcomes, proxy)),
                _number(summary["cpu_cores"]), _per_cpu(workload, summary), summary["errors"]))
    return "\n".join(lines)


def _rounds_table(results):
    lines = ["| workload | proxy | per round | notes |", "|---|---|---|---|"]
    for workload, outcomes in results:
        for proxy, outcome in outcomes.items():
            values = ", ".join(f"{r.value:,.2f}" if workload.kind != "throughput" else f"{r.value:,.0f}"
                               for r in outcome.rounds)
            notes = "; ".join(r.note for r in outcome.rounds if r.note)
            lines.append(f"| {workload.key} | {label(proxy)} | {values or '–'} ({workload.unit}) | {notes} |")
    return "\n".join(lines)


def markdown(results, context, machine, versions, started, elapsed, invocation):
    options = context.options
    out = []
    out.append("# Turnout, HAProxy and nginx in front of the same nginx backend")
    out.append("")
    out.append(f"{started} · {machine['cpus']} CPUs ({machine['cpu_model']}), {machine['memory_gib']} GiB, "
               f"{machine['kernel']}; load average {machine['load_at_start']} at start, "
               f"{machine['load_at_end']} at the end · "
               f"{options.rounds} interleaved rounds of {options.duration} s per workload (idle connections: one "
               f"round), {options.warmup} s warm-up, medians over the rounds · run took {elapsed / 60:.1f} min")
    out.append("")
    out.append(results_table(results, options))
    out.append("")
    kinds = {workload.kind for workload, _ in results}
    out.append("- **result**: median over the rounds; MiB/s for 1 MiB bodies is responses (or uploads) per second.")
    out.append("- **vs HAProxy**: result ÷ HAProxy's (without splicing) in the same run. Throughput: higher is "
               "better. Latency: the p99 ratio, lower is better. Idle connections: the memory ratio, lower is "
               "better.")
    out.append("- **proxy CPU**: CPU time of the proxy's processes ÷ wall time during the round (1.00 = one core "
               "busy). Client, proxy and backend share the cores, so throughput is partly a matter of how the "
               "scheduler splits them; throughput per CPU says more than throughput alone on a small machine.")
    out.append("- **per CPU-second**: what the proxy moved per second of its own CPU time (median of result ÷ proxy "
               "CPU over the rounds): its efficiency, the figure least shaken by how the cores were shared.")
    out.append("- **errors**: non-2xx answers and socket errors (wrk), failed or short downloads (curl), requests "
               "lost or unanswered (open loop), connections refused or dropped (idle).")
    out.append("- p50/p99 of the throughput rows come from wrk's closed loop (all connections always busy), so they "
               "measure queueing at saturation, not latency.")
    if "latency" in kinds:
        out.append(f"- **latency**: GET / at {options.latency_rate:,} req/s, open loop over "
                   f"{options.latency_connections} keep-alive connections, each request timed from its due time "
                   "(a stall is charged to every request queued behind it).")
    if "memory" in kinds:
        out.append(f"- **idle connections**: {options.idle_connections:,} client connections held open after one "
                   "request each; growth of the proxy's resident memory (VmRSS of all its processes) ÷ "
                   "connections. Kernel socket memory is not in RSS; memory allocated up front (nginx's connection "
                   "array for `worker_connections`) is in the baseline, not in the growth.")
    if options.idle_note:
        out.append(f"- {options.idle_note}.")
    failures = [(workload, proxy, outcome.failure) for workload, outcomes in results
                for proxy, outcome in outcomes.items() if outcome.failure]
    if failures:
        out.append("")
        out.append("## Not measured")
        for workload, proxy, failure in failures:
            out.append("")
            out.append(f"{workload.key}, {label(proxy)}:")
            out.append("```")
            out.append(failure.replace(str(context.work), "$WORK"))
            out.append("```")
    out.append("")
    out.append("## Per round")
    out.append("")
    out.append(_rounds_table(results))
    out.append("")
    out.append("## Versions")
    out.append("")
    out.append("; ".join(versions.values()))
    out.append("")
    out.append("## Commands")
    out.append("")
    out.append(f"Run: `{invocation}`. Configurations are generated by `benchmarks/harness/configs.py` into a "
               "temporary directory ($WORK; `--keep` keeps it). Every proxy has the same worker count, keep-alive "
               "to the client and a keep-alive pool to the backend, no access log (but Turnout + access log, in JSON).")
    out.append("")
    out.append("```")
    out.append(f"backend:        {' '.join(str(p) for p in context.backend_command)}")
    seen = set()
    for workload, outcomes in results:
        for proxy, outcome in outcomes.items():
            if outcome.command and proxy not in seen:
                seen.add(proxy)
                out.append(f"{label(proxy) + ':':<15} {outcome.command}")
    out.append("")
    for workload, _ in results:
        for command in workload.commands(options):
            out.append(f"{workload.key + ':':<18} {command}")
    ports = ", ".join(f"{label(proxy)} {port}" for proxy, port in context.ports.items()
                      if proxy in PROXIES)
    out.append(f"PORT: {ports}; backend {context.ports['backend']}")
    out.append("```")
    return relative_paths("\n".join(out) + "\n", context.work)


def json_record(results, context, machine, versions, started, elapsed):
    return json.dumps({
        "started": started,
        "elapsed_seconds": round(elapsed, 1),
        "machine": machine,
        "versions": versions,
        "options": asdict(context.options),
        "workloads": [{
            "key": workload.key,
            "title": workload.title,
            "kind": workload.kind,
            "unit": workload.unit,
            "proxies": {proxy: {
                "summary": outcome.summary(),
                "rounds": [asdict(r) for r in outcome.rounds],
                "failure": relative_paths(outcome.failure, context.work),
            } for proxy, outcome in outcomes.items()},
        } for workload, outcomes in results],
    }, indent=2) + "\n"
