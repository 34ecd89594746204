"""`turnout check --config FILE`: exit 0 for a valid config, a message naming the key otherwise."""

from __future__ import annotations

import re

from harness import can_connect, executable, run_check, wait_until


def test_valid_config_passes(proxy_config):
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]})
    result = run_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    # check validates; it does not serve.
    assert not can_connect(config.listener_ports["production"])
    assert not can_connect(config.admin_port)


def test_unknown_group_in_forward_is_refused(proxy_config):
    config, path = proxy_config(
        listeners={"production": {"purple": 100}, "test": {"green": 100}},
        groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]},
    )
    result = run_check(path)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "listeners.production.forward.purple" in output or re.search(r"\bpurple\b", output), output


def test_yaml_syntax_error_is_refused(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("listeners:\n  production: { bind: 127.0.0.1:1, forward: { blue: 100 }\n")
    result = run_check(path)
    assert result.returncode != 0, result.stdout + result.stderr
    assert (result.stdout + result.stderr).strip() != ""


def test_serve_refuses_a_bad_config_before_binding(proxy_config, start_process):
    config, path = proxy_config(
        listeners={"production": {"purple": 100}, "test": {"green": 100}},
        groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]},
    )
    process = start_process("turnout", [str(executable("turnout")), "serve", "--config", str(path)])
    process.exit_expected = True
    assert wait_until(lambda: not process.is_running(), timeout=10), "serve kept running with a bad config"
    assert process.popen.returncode != 0
    assert "purple" in process.log()
    assert not can_connect(config.listener_ports["production"])
