"""The PNG chart: one panel per workload, one bar per proxy, each bar labelled with its value and ratio to HAProxy."""

import math

from .proxies import colour, label
from .report import ratio


def _latency_panel(axes, workload, outcomes, options):
    """Grouped bars: p50, p99, p99.9 for each proxy."""
    percentiles = [("p50", "p50_ms"), ("p99", "p99_ms"), ("p99.9", "p999_ms")]
    measured = [(proxy, outcome.summary()) for proxy, outcome in outcomes.items() if outcome.summary()]
    width = 0.8 / max(1, len(measured))
    for index, (proxy, summary) in enumerate(measured):
        positions = [p + (index - (len(measured) - 1) / 2) * width for p in range(len(percentiles))]
        values = [summary[key] or 0 for _, key in percentiles]
        bars = axes.bar(positions, values, width, color=colour(proxy), label=label(proxy))
        axes.bar_label(bars, labels=[f"{v:.2f}" for v in values], fontsize=7, padding=1)
    axes.set_xticks(range(len(percentiles)), [name for name, _ in percentiles])
    axes.set_yscale("log")  # p50 and p99.9 can be two orders of magnitude apart
    axes.set_ylabel("ms (log scale)")
    axes.set_ylim(top=axes.get_ylim()[1] * 3)
    axes.set_title(f"{workload.title}\n{options.latency_rate:,} req/s open loop · lower is better", fontsize=10)
    axes.legend(fontsize=7, loc="upper left")


def _bar_panel(axes, workload, outcomes, options):
    names, values, colours, texts = [], [], [], []
    for proxy, outcome in outcomes.items():
        summary = outcome.summary()
        names.append(label(proxy).replace(" ", "\n"))
        colours.append(colour(proxy))
        if summary is None:
            values.append(0)
            texts.append("n/a")
            continue
        values.append(summary["value"])
        share = ratio(workload, outcomes, proxy)
        number = f"{summary['value']:.2f}" if workload.kind == "memory" else f"{summary['value']:,.0f}"
        texts.append(number + (f"\n{share:.2f}×" if share is not None else ""))
    bars = axes.bar(range(len(values)), values, color=colours)
    axes.bar_label(bars, labels=texts, fontsize=8, padding=2)
    axes.set_xticks(range(len(names)), names, fontsize=8)
    axes.set_ylabel(workload.unit)
    axes.set_ylim(0, max(values + [1]) * 1.3)
    better = "higher is better" if workload.higher_is_better else "lower is better"
    title = workload.title
    if workload.kind == "memory":
        title += f" ({options.idle_connections:,})"
    axes.set_title(f"{title}\n{workload.unit} · {better}", fontsize=10)


def write_chart(results, options, machine, versions, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = 3
    rows = max(1, math.ceil(len(results) / columns))
    figure, grid = plt.subplots(rows, columns, figsize=(5 * columns, 4.2 * rows), squeeze=False)
    for index, (workload, outcomes) in enumerate(results):
        axes = grid[index // columns][index % columns]
        if workload.kind == "latency":
            _latency_panel(axes, workload, outcomes, options)
        else:
            _bar_panel(axes, workload, outcomes, options)
        axes.grid(axis="y", alpha=0.3)
        axes.set_axisbelow(True)
    for index in range(len(results), rows * columns):
        grid[index // columns][index % columns].axis("off")
    if len(results) < rows * columns:
        notes = list(versions.values())
        notes += ["", f"{options.rounds} interleaved round(s) of {options.duration} s, medians",
                  "same worker count, keep-alive to the backend,", "one nginx backend for all",
                  f"load average at start: {machine['load_at_start']}", f"load average at the end: {machine['load_at_end']}"]
        grid[-1][-1].text(0.02, 0.98, "\n".join(notes), va="top", ha="left", fontsize=8, family="monospace",
                          transform=grid[-1][-1].transAxes, wrap=True)
    figure.suptitle(f"Turnout vs HAProxy vs nginx, same nginx backend · {machine['cpus']} CPUs "
                    f"({machine['cpu_model']}), {machine['kernel']} · medians of {options.rounds} round(s) × "
                    f"{options.duration} s · bar labels: value and ratio to HAProxy", fontsize=11)
    figure.tight_layout(rect=(0, 0, 1, 0.96))
    figure.savefig(path, dpi=110)
    plt.close(figure)
