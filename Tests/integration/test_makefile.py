"""The Makefile's targets, by what they would run (`make -n`) and, for `install`, by what they put where.

`make run` starts the proxy, which needs no Python package: it must install none, and never into the system's
Python. The test tools go into the project's own virtual environment, for `make test` only.
"""

from __future__ import annotations

import subprocess

from harness import REPO_ROOT


def dry_run(*targets: str) -> str:
    """What `make` would run for `targets`, without running it."""
    completed = subprocess.run(["make", "-n", "--no-print-directory", *targets], cwd=REPO_ROOT, capture_output=True,
                               text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    return completed.stdout


def test_make_run_installs_no_python_package():
    commands = dry_run("run")
    for forbidden in ("pip", "requirements.txt", "--break-system-packages", "venv"):
        assert forbidden not in commands, f"`make run` would run {forbidden!r}:\n{commands}"
    assert "scripts/run-demo.sh" in commands


def test_make_test_puts_the_test_tools_in_the_project_venv():
    # The stamp is made older than the requirements, so that make shows the steps that install them.
    commands = dry_run("-W", "Tests/integration/requirements.txt", "test")
    assert "-m venv .venv" in commands
    assert ".venv/bin/python -m pip install --quiet --disable-pip-version-check -r Tests/integration/requirements.txt" \
        in commands
    assert "--break-system-packages" not in commands
    pytest_lines = [line for line in commands.splitlines() if "-m pytest" in line]
    assert pytest_lines and all(".venv/bin/python -m pytest" in line for line in pytest_lines), pytest_lines
    # Nothing is installed with a Python other than the venv's.
    pip_lines = [line for line in commands.splitlines() if "pip install" in line]
    assert pip_lines and all(line.startswith(".venv/bin/python -m pip") for line in pip_lines), pip_lines
