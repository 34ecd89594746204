"""The Docker Compose example (`examples/compose/`), checked without a container engine: the shape of
`compose.yaml` (what `docker compose` would run) and that the configuration it mounts passes `turnout check`.

The configuration names the container's paths (the token as a Compose secret, `state_dir` on a volume); the
check runs with each path the compose file mounts replaced by a temporary one, so a path the file names that
no mount provides fails the check.
"""

from __future__ import annotations

import subprocess
from pathlib import PurePosixPath

import yaml

from harness import REPO_ROOT, executable

EXAMPLE = REPO_ROOT / "examples" / "compose"
COMPOSE = yaml.safe_load((EXAMPLE / "compose.yaml").read_text())
TURNOUT = COMPOSE["services"]["turnout"]
CONFIG_TARGET = "/etc/turnout/turnout.yaml"


def config() -> dict:
    return yaml.safe_load((EXAMPLE / "turnout.yaml").read_text())


def port_of(bind: str) -> int:
    return int(bind.rsplit(":", 1)[1])


def published() -> dict[int, tuple[str, int]]:
    """Container port → (host address, host port) of the turnout service (`[host_ip:]host_port:container_port`)."""
    mappings = {}
    for entry in TURNOUT["ports"]:
        *host, container = str(entry).split(":")
        address = host[0] if len(host) == 2 else "0.0.0.0"
        mappings[int(container)] = (address, int(host[-1]))
    return mappings


def mounts() -> dict[str, str]:
    """Container path → what is mounted there (`./file`, a volume's name, or `secret:<name>`)."""
    result = {}
    for entry in TURNOUT["volumes"]:
        source, target, *_ = entry.split(":")
        result[target] = source
    for secret in TURNOUT["secrets"]:
        result[secret["target"]] = f"secret:{secret['source']}"
    return result


def test_the_services_and_what_turnout_starts_with():
    assert set(COMPOSE["services"]) == {"turnout", "app-blue", "app-green"}
    assert TURNOUT["build"]["context"] == "../.." and (EXAMPLE / "../../Dockerfile").resolve().is_file()
    assert TURNOUT["command"] == ["serve", "--config", CONFIG_TARGET]
    assert mounts()[CONFIG_TARGET] == "./turnout.yaml" and TURNOUT["volumes"][0].endswith(":ro")
    assert set(TURNOUT["depends_on"]) == {"app-blue", "app-green"}
    # The apps use the image the turnout service builds, never one pulled under that name.
    for name in ("app-blue", "app-green"):
        app = COMPOSE["services"][name]
        assert (app["image"], app["pull_policy"]) == (TURNOUT["image"], "never"), name


def test_the_targets_are_the_app_services_by_name_on_the_port_they_listen_on():
    listening = {}
    for name in ("app-blue", "app-green"):
        command = COMPOSE["services"][name]["entrypoint"]
        assert command[0] == "turnout-demo-backend"
        options = dict(zip(command[1::2], command[2::2]))
        # 127.0.0.1 inside a container is the container itself: the app must listen on every interface.
        assert options["--host"] == "0.0.0.0", name
        listening[name] = int(options["--port"])
    assert {group: spec["targets"] for group, spec in config()["target_groups"].items()} == {
        "blue": [f"app-blue:{listening['app-blue']}"], "green": [f"app-green:{listening['app-green']}"]}


def test_listeners_are_published_and_the_admin_api_only_on_the_host_loopback_with_a_token():
    ports = published()
    for name, listener in config()["listeners"].items():
        port = port_of(listener["bind"])
        assert ports[port] == ("0.0.0.0", port), name
    admin = config()["admin"]
    admin_port = port_of(admin["bind"])
    assert ports[admin_port] == ("127.0.0.1", admin_port)
    assert admin["token_file"] and mounts()[admin["token_file"]] == "secret:admin-token"
    assert COMPOSE["secrets"]["admin-token"] == {"file": "./admin-token"}
    # The token the walk-through makes beside compose.yaml is never committed nor sent to a build.
    ignored = subprocess.run(["git", "check-ignore", "-q", "examples/compose/admin-token"], cwd=REPO_ROOT)
    assert ignored.returncode == 0, "git must ignore examples/compose/admin-token"
    assert "examples" in (REPO_ROOT / ".dockerignore").read_text().split()
    # The CLI inside the container finds the token without being told.
    assert TURNOUT["environment"]["TURNOUT_TOKEN_FILE"] == admin["token_file"]


def test_state_dir_is_on_a_named_volume():
    state_dir = PurePosixPath(config()["state_dir"])
    volume_mounts = {PurePosixPath(target): source for target, source in mounts().items()
                     if source in COMPOSE["volumes"]}
    holding = [target for target in volume_mounts if target == state_dir or target in state_dir.parents]
    assert holding, f"no volume holds state_dir {state_dir}: {volume_mounts}"


def test_the_mounted_configuration_passes_turnout_check(tmp_path):
    text = (EXAMPLE / "turnout.yaml").read_text()
    # Each container path the compose file mounts, as a temporary one.
    for target, source in sorted(mounts().items(), key=lambda item: -len(item[0])):
        if target == CONFIG_TARGET:
            continue
        local = tmp_path / source.replace(":", "-")
        if source.startswith("secret:"):
            local.write_text("0123456789abcdef0123456789abcdef\n")
        else:
            local.mkdir()
        text = text.replace(target, str(local))
    path = tmp_path / "turnout.yaml"
    path.write_text(text)
    check = subprocess.run([str(executable("turnout")), "check", "--config", str(path)], capture_output=True,
                           text=True, timeout=30)
    expected = f"{path}: OK (2 listeners, 2 target groups, 2 targets, 2 by name, looked up when serving)\n"
    assert (check.returncode, check.stdout) == (0, expected), check
