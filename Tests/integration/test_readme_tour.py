"""The README's tour, pasted in order against `make run`'s setup, so that every command it shows keeps working.

The test reads the ``sh`` blocks of the README's "A short tour" and "A canary release" sections, starts `scripts/run-demo.sh` (what
`make run` runs, on the binaries under test) with the shipped `config/turnout.yaml`, and runs each block's
commands in one shell, in order, as a reader would. The tour names fixed ports (8080, 8081, 9901, 3000-3002),
so it runs in a network namespace of its own (`unshare --net`): nothing else on the machine can hold them.

Every command must exit 0 (a `timeout N` stream may end with its 124) and print no error (an admin API error object or a CLI `error:` line), and what the
README's comments promise is checked where a command's output shows it.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
from collections import Counter
from pathlib import Path

from harness import REPO_ROOT, bin_dir

README = REPO_ROOT / "README.md"
BEGIN, END = "@@@ begin", "@@@ end"


def tour_commands() -> list[str]:
    """The commands of the `sh` blocks of the tour and of the canary release after it, in order; a line ending in
    `\\` continues on the next one."""
    text = README.read_text()
    sections = [text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]
                for title in ("A short tour", "A canary release, with an automatic rollback")]
    commands: list[str] = []
    for block in re.findall(r"^```sh\n(.*?)^```$", "\n".join(sections), re.MULTILINE | re.DOTALL):
        pending = ""
        for line in block.splitlines():
            pending += line
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
                continue
            if pending.strip() and not pending.lstrip().startswith("#"):
                commands.append(pending.strip())
            pending = ""
    return commands


def run_tour(workdir: Path, commands: list[str]) -> tuple[list[tuple[str, int, str]], str]:
    """Runs the commands in one shell inside a new network namespace, with run-demo.sh serving; returns each
    command with its exit status and output, and the demo's own output."""
    lines = [
        "set -u",
        "ip link set lo up",
        f"TURNOUT_BIN_DIR={shlex.quote(str(bin_dir()))} {shlex.quote(str(REPO_ROOT / 'scripts/run-demo.sh'))} "
        "config/turnout.yaml > demo.log 2>&1 &",
        "demo=$!",
        "trap 'kill $demo; wait $demo' EXIT",
        # Bounded wait for the admin API, which answers once every listener is bound.
        "for i in $(seq 600); do curl -sf -o /dev/null http://127.0.0.1:9901/healthz && break; sleep 0.1; done",
    ]
    for index, command in enumerate(commands):
        lines += [f"echo '{BEGIN} {index}'", command, f"printf '\\n{END} {index} %d\\n' \"$?\""]
    script = workdir / "tour.sh"
    script.write_text("\n".join(lines) + "\n")
    process = subprocess.Popen(["unshare", "--net", "bash", str(script)], cwd=workdir, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        raise AssertionError(f"the tour did not finish in 300 s:\n{output}") from None
    results = []
    for index, command in enumerate(commands):
        match = re.search(rf"^{BEGIN} {index}\n(.*?)\n{END} {index} (\d+)$", output, re.MULTILINE | re.DOTALL)
        assert match, f"no result for {command!r}:\n{output}"
        results.append((command, int(match.group(2)), match.group(1)))
    return results, (workdir / "demo.log").read_text(errors="replace")


def test_every_command_of_the_tour_works_when_pasted_in_order(tmp_path):
    # A checkout as `make run` leaves it: the release binaries where the tour looks for them, the shipped
    # configuration, no saved state.
    (tmp_path / ".build").mkdir()
    (tmp_path / ".build/release").symlink_to(bin_dir(), target_is_directory=True)
    shutil.copytree(REPO_ROOT / "config", tmp_path / "config")
    # After the tour, one command of the test's own: the target the tour registers is a backend `make run` serves.
    spare = "curl -s http://127.0.0.1:3002/"
    results, demo_log = run_tour(tmp_path, [*tour_commands(), spare])

    for command, status, output in results:
        # `timeout N command` ends a stream the tour only shows for N seconds: 124 is that, on time.
        expected = {0, 124} if command.startswith("timeout ") else {0}
        assert status in expected, f"{command!r} exited {status}:\n{output}\n--- demo:\n{demo_log}"
        assert '"error"' not in output and "error:" not in output, f"{command!r}:\n{output}"

    def output_of(prefix: str) -> str:
        found = [output for command, _, output in results if command.startswith(prefix)]
        assert found, f"the tour no longer runs {prefix!r}"
        return found[0]

    production = output_of("curl -i http://127.0.0.1:8080/")
    assert "Hello World! from blue" in production and "X-Served-By: blue" in production, production
    assert "Hello World! from green" in output_of("curl -i http://127.0.0.1:8081/")
    assert re.search(r"^production\s.*\sblue=90 green=10$", output_of("$bin weights production green=10"),
                     re.MULTILINE)
    split = Counter({line.split(maxsplit=1)[1]: int(line.split()[0])
                     for line in output_of("for i in $(seq 20)").splitlines()})
    assert sum(split.values()) == 20 and split["Hello World! from blue"] > split["Hello World! from green"] > 0, split
    switched = output_of("$bin switch green --swap-test")
    assert re.search(r"^production\s+green=100$", switched, re.MULTILINE), switched
    assert re.search(r"^test\s+blue=100$", switched, re.MULTILINE), switched
    assert re.search(r"^127\.0\.0\.1:3002\s+initial\s", output_of("$bin targets add blue 127.0.0.1:3002"),
                     re.MULTILINE)
    assert re.search(r"^127\.0\.0\.1:3002\s+draining\s", output_of("$bin targets remove blue 127.0.0.1:3002"),
                     re.MULTILINE)

    api_switch = json.loads(output_of("curl -s -X POST http://127.0.0.1:9901/v1/switch"))
    assert api_switch["listeners"] == {"production": {"blue": 100}, "test": {"green": 100}}, api_switch
    routing = json.loads(output_of("curl -s -X PUT http://127.0.0.1:9901/v1/routing"))
    assert routing["generation"] == routing["previous_generation"] + 1, routing
    assert routing["listeners"]["production"] == {"blue": 90, "green": 10}, routing
    audit = json.loads(output_of("curl -s http://127.0.0.1:9901/v1/audit"))["entries"]
    assert [entry["action"] for entry in audit][-2:] == ["switch", "routing"], audit
    assert "turnout_requests_total" in output_of("curl -s http://127.0.0.1:9901/metrics")
    assert "event: open" in output_of("timeout 5 curl -sN http://127.0.0.1:9901/v1/events")

    assert "listeners.production.forward" in output_of("$bin status                        # ends with")
    reset = output_of("$bin reset --to-config")
    assert re.search(r"^production\s+blue=100$", reset, re.MULTILINE) and \
        re.search(r"^test\s+green=100$", reset, re.MULTILINE), reset
    assert output_of(spare).strip() == "Hello World! from blue-2", output_of(spare)

    # The canary section: a release rolled back by its 5xx alarm (the watch's last event line, exit status 2),
    # then one promoted past its bake.
    broken = output_of("$bin deploy --file canary.yaml --watch").splitlines()
    assert broken[-1] == "exit status 2", broken
    assert broken[-2].split("  ")[2] == "RolledBack" and "alarm: max_5xx_rate " in broken[-2], broken
    started = output_of("$bin deploy --to green --strategy Canary10Percent5Minutes").splitlines()
    assert started[0].endswith(": blue → green (Canary10Percent5Minutes)"), started
    listed = [line.split() for line in output_of("$bin deployments ").splitlines()[1:]]
    assert [row[5] for row in listed] == ["InProgress", "RolledBack"], listed
    assert listed[0][6:9] == ["AllowTraffic", "1/2", "10%"], listed
    promoted = output_of("$bin promote ").splitlines()
    assert promoted[1].startswith("Succeeded: ") and "production  blue 0% [" + "#" * 40 + "] 100% green" in promoted
    assert output_of(".build/release/turnout check --config config/turnout.yaml").startswith(
        "config/turnout.yaml: OK"), output_of(".build/release/turnout check")
