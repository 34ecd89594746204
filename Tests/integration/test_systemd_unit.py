"""`make install` and the systemd unit it installs (`dist/systemd/turnout.service.in`).

No service manager runs here, so what can be proven without one is: what `make install` puts where (under a
temporary DESTDIR), that `systemd-analyze verify` accepts the unit as installed, and that the sandbox the unit
sets up lets the real binary do its work: every system call `serve` makes, traced with strace through start,
proxying (spliced bodies included), an admin change, a reload and the drain, is in the unit's
`SystemCallFilter`, every socket family is in `RestrictAddressFamilies`, and no mapping is writable and
executable at once (`MemoryDenyWriteExecute`). The readiness protocol itself is `test_service.py`'s.
"""

from __future__ import annotations

import configparser
import os
import re
import signal
import subprocess
from functools import cache
from pathlib import Path

import pytest
import requests
import yaml

from admin_client import AdminClient, ok_json
from harness import LOOPBACK, REPO_ROOT, SOCKET_TIMEOUT, bin_dir, executable

UNIT_TEMPLATE = REPO_ROOT / "dist" / "systemd" / "turnout.service.in"


def make_install(*variables: str) -> subprocess.CompletedProcess:
    """`make install` of the binaries under test (BIN_DIR: no release build) with `variables` (NAME=value)."""
    completed = subprocess.run(["make", "--no-print-directory", "install", f"BIN_DIR={bin_dir()}", *variables],
                               cwd=REPO_ROOT, capture_output=True, text=True, timeout=120)
    assert completed.returncode == 0, completed.stdout + completed.stderr
    return completed


def read_unit(path: Path) -> configparser.ConfigParser:
    unit = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    unit.optionxform = str  # keys are case-sensitive
    unit.read_string(path.read_text())
    return unit


def test_make_install_puts_the_binary_the_unit_and_a_config_in_their_places(tmp_path):
    root = tmp_path / "root"
    make_install(f"DESTDIR={root}", "PREFIX=/usr")
    binary = root / "usr/bin/turnout"
    unit_path = root / "usr/lib/systemd/system/turnout.service"
    config_path = root / "etc/turnout/turnout.yaml"
    assert sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()) == [
        "etc/turnout/turnout.yaml", "usr/bin/turnout", "usr/lib/systemd/system/turnout.service"]
    assert binary.read_bytes() == executable("turnout").read_bytes()
    assert (binary.stat().st_mode & 0o777, unit_path.stat().st_mode & 0o777, config_path.stat().st_mode & 0o777) == \
        (0o755, 0o644, 0o644)

    service = read_unit(unit_path)["Service"]
    # The paths installed to, not the DESTDIR staged under.
    assert service["ExecStart"] == "/usr/bin/turnout serve --config /etc/turnout/turnout.yaml"
    assert service["ExecStartPre"] == "/usr/bin/turnout check --config /etc/turnout/turnout.yaml"
    assert "@" not in unit_path.read_text().replace("@system-service", "")

    # The default configuration keeps its state where systemd gives the service a directory.
    config = yaml.safe_load(config_path.read_text())
    assert config["state_dir"] == f"/var/lib/{service['StateDirectory']}" == service["WorkingDirectory"]
    assert config_path.read_text().replace("state_dir: /var/lib/turnout", "state_dir: .turnout") == \
        (REPO_ROOT / "config/turnout.yaml").read_text()
    check = subprocess.run([str(binary), "check", "--config", str(config_path)], capture_output=True, text=True,
                           timeout=30)
    assert check.returncode == 0, check.stderr

    # A second install keeps the configuration an administrator edited.
    config_path.write_text(config_path.read_text() + "# edited\n")
    edited = config_path.read_text()
    assert f"kept {config_path}" in make_install(f"DESTDIR={root}", "PREFIX=/usr").stdout
    assert config_path.read_text() == edited

    subprocess.run(["make", "--no-print-directory", "uninstall", f"DESTDIR={root}", "PREFIX=/usr"], cwd=REPO_ROOT,
                   check=True, capture_output=True, timeout=60)
    assert not binary.exists() and not unit_path.exists() and config_path.read_text() == edited


def test_the_installed_unit_passes_systemd_analyze_verify(tmp_path):
    # Installed for real under tmp_path (no DESTDIR), so that the paths the unit names exist.
    make_install(f"PREFIX={tmp_path}/usr", f"SYSCONFDIR={tmp_path}/etc")
    unit_path = tmp_path / "usr/lib/systemd/system/turnout.service"
    verify = subprocess.run(["systemd-analyze", "verify", str(unit_path)], capture_output=True, text=True, timeout=60)
    # Unknown keys and bad values are only warned about: the unit must draw no word at all.
    assert (verify.returncode, verify.stdout, verify.stderr) == (0, "", ""), verify


def test_the_unit_is_a_hardened_notify_service():
    service = read_unit(UNIT_TEMPLATE)["Service"]
    assert service["Type"] == "notify"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert (service["DynamicUser"], service["StateDirectory"]) == ("yes", "turnout")
    for key, value in [("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"),
                       ("NoNewPrivileges", "yes"), ("AmbientCapabilities", "CAP_NET_BIND_SERVICE"),
                       ("CapabilityBoundingSet", "CAP_NET_BIND_SERVICE"), ("MemoryDenyWriteExecute", "yes")]:
        assert service[key] == value, key
    # Each client connection may hold two descriptors (client and upstream).
    max_connections = yaml.safe_load((REPO_ROOT / "config/turnout.yaml").read_text())["limits"]["max_connections"]
    assert int(service["LimitNOFILE"]) >= 2 * max_connections


# --- the sandbox, against what the real binary does --------------------------------------------------------

@cache
def syscall_group(name: str) -> frozenset[str]:
    """A `SystemCallFilter` group (`@system-service`) expanded, with the groups it includes, to system call names."""
    listing = subprocess.run(["systemd-analyze", "syscall-filter", name], capture_output=True, text=True,
                             check=True, timeout=60).stdout
    names: set[str] = set()
    for line in listing.splitlines()[1:]:
        entry = line.strip()
        if not entry or entry.startswith("#"):
            continue
        names |= syscall_group(entry) if entry.startswith("@") else {entry}
    return frozenset(names)


def traced_child(strace_pid: int) -> int:
    """The pid of the program strace started."""
    children = Path(f"/proc/{strace_pid}/task/{strace_pid}/children").read_text().split()
    assert len(children) == 1, children
    return int(children[0])


def test_everything_serve_does_is_allowed_by_the_unit_sandbox(proxy_config, start_process, tmp_path, pair):
    service = read_unit(UNIT_TEMPLATE)["Service"]
    config, config_path = proxy_config(groups=pair)
    trace = tmp_path / "strace.txt"
    tracer = start_process("turnout-strace", ["strace", "-f", "-qq", "-o", str(trace), str(executable("turnout")),
                                              "serve", "--config", str(config_path)])
    tracer.wait_until_listening([*config.listener_ports.values(), config.admin_port])
    turnout_pid = traced_child(tracer.pid)

    production = f"http://{LOOPBACK}:{config.listener_ports['production']}"
    assert requests.get(production + "/", timeout=SOCKET_TIMEOUT).headers["X-Served-By"] == "blue"
    assert len(requests.get(production + "/bytes?n=2000000", timeout=SOCKET_TIMEOUT).content) == 2_000_000
    assert requests.post(production + "/upload", data=b"x" * 1_000_000, timeout=SOCKET_TIMEOUT).status_code == 200
    admin = AdminClient(f"http://{LOOPBACK}:{config.admin_port}")
    ok_json(admin.switch("green"))
    os.kill(turnout_pid, signal.SIGHUP)
    tracer.wait_for_log(r"reload: nothing to change")
    assert requests.get(production + "/", timeout=SOCKET_TIMEOUT).headers["X-Served-By"] == "green"
    os.kill(turnout_pid, signal.SIGTERM)
    tracer.exit_expected = True
    tracer.popen.wait(timeout=30)
    assert tracer.popen.returncode == 0, tracer.log_tail()

    text = trace.read_text()
    assert " splice(" in text, "the large bodies took the splice path"
    called = set(re.findall(r"^\d+\s+([a-z_0-9]+)\(", text, re.MULTILINE))
    allowed = frozenset().union(*(syscall_group(name) if name.startswith("@") else {name}
                                  for name in service["SystemCallFilter"].split()))
    assert called and not called - allowed, f"system calls outside SystemCallFilter: {sorted(called - allowed)}"

    families = set(re.findall(r"\bsocket\((AF_[A-Z0-9]+)", text))
    assert families and families <= set(service["RestrictAddressFamilies"].split()), families

    writable_and_executable = [line for line in text.splitlines()
                               if re.search(r"\b(mmap|mprotect|pkey_mprotect)\(", line)
                               and "PROT_WRITE" in line and "PROT_EXEC" in line]
    assert not writable_and_executable, writable_and_executable[:5]
