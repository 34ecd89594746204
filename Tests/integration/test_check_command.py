"""`turnout check --config FILE`: exit 0 for a valid config, a message naming the key otherwise; the
token file and state_dir it names are checked as `serve` checks them."""

from __future__ import annotations

import re

import pytest

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


def test_weights_that_do_not_add_up_to_100_are_refused_with_the_split(proxy_config):
    config, path = proxy_config(
        listeners={"production": {"blue": 3, "green": 1}, "test": {"green": 100}},
        groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]},
    )
    # The forward's line is where its mapping starts: its first entry, in block style.
    line = path.read_text().splitlines().index("      blue: 3") + 1
    result = run_check(path)
    assert result.returncode != 0, result.stdout
    assert result.stderr.strip() == (
        f"error: {path}: listeners.production.forward (line {line}): weights are percentages and must add up to "
        "100, not 4 (in proportion, these would send 75 % to blue and 25 % to green)")


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


# --- what the configuration names on disk: state_dir and the token file -------------------------------

def assert_refused(result, *expected: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    for text in expected:
        assert text in output, output


def assert_serve_refuses_before_binding(config, path, start_process, *expected: str) -> None:
    process = start_process("turnout", [str(executable("turnout")), "serve", "--config", str(path)])
    process.exit_expected = True
    assert wait_until(lambda: not process.is_running(), timeout=10), "serve kept running"
    assert process.popen.returncode == 2, process.log()
    for text in expected:
        assert text in process.log(), process.log()
    assert not can_connect(config.listener_ports["production"])
    assert not can_connect(config.admin_port)


def test_state_dir_that_is_a_file_is_refused(proxy_config, start_process, tmp_path):
    state_dir = tmp_path / "state"
    state_dir.write_text("a file, not a directory\n")
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]}, state_dir=state_dir)
    expected = ("state_dir", f"{state_dir} is not a directory")
    assert_refused(run_check(path), *expected)
    assert_serve_refuses_before_binding(config, path, start_process, *expected)
    assert state_dir.read_text() == "a file, not a directory\n"


def test_journal_that_is_a_directory_is_refused(proxy_config, start_process, tmp_path):
    state_dir = tmp_path / "state"
    (state_dir / "journal.log").mkdir(parents=True)
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]}, state_dir=state_dir)
    expected = ("state_dir", f"{state_dir / 'journal.log'} is a directory, not a file")
    assert_refused(run_check(path), *expected)
    assert_serve_refuses_before_binding(config, path, start_process, *expected)


def test_read_only_state_dir_is_refused(proxy_config, start_process, tmpfs):
    state_dir = tmpfs("read-only", "ro,size=64k")
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]}, state_dir=state_dir)
    expected = ("state_dir", f"access {state_dir}: Read-only file system")
    assert_refused(run_check(path), *expected)
    assert_serve_refuses_before_binding(config, path, start_process, *expected)


def test_missing_state_dir_passes_check_and_is_not_created(proxy_config, tmp_path):
    state_dir = tmp_path / "var" / "turnout"
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]}, state_dir=state_dir)
    result = run_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not (tmp_path / "var").exists()


@pytest.mark.parametrize("content", [None, "", " \n\t\n"], ids=["missing", "empty", "blank"])
def test_unusable_token_file_fails_check_as_it_fails_serve(proxy_config, start_process, tmp_path, content):
    token_file = tmp_path / "admin-token"
    if content is not None:
        token_file.write_text(content)
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]},
                                token_file=token_file)
    expected = ("admin.token_file", str(token_file),
                "No such file or directory" if content is None else "is empty")
    assert_refused(run_check(path), *expected)
    assert_serve_refuses_before_binding(config, path, start_process, *expected)


def test_config_with_a_token_file_and_a_state_dir_passes(proxy_config, tmp_path):
    token_file = tmp_path / "admin-token"
    token_file.write_text("s3cret-token\n")
    state_dir = tmp_path / "state"
    (state_dir / "journal.log").parent.mkdir()
    (state_dir / "journal.log").write_bytes(b"")
    config, path = proxy_config(groups={"blue": ["127.0.0.1:3000"], "green": ["127.0.0.1:3001"]},
                                token_file=token_file, state_dir=state_dir)
    result = run_check(path)
    assert result.returncode == 0, result.stdout + result.stderr
