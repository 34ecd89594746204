"""Durable state: what an acknowledged change leaves in state_dir survives kill -9; a bad file is set aside."""

from __future__ import annotations

import json
import zlib
import re
import stat
import time

import pytest

from admin_client import AdminClient, ok_json, served_by

CORRUPT_NAME = re.compile(r"state\.json\.corrupt-(\d+)")


def state_document(turnout) -> dict:
    return json.loads(turnout.state_file.read_text())


def durable_generation(turnout) -> int:
    """The generation on disk: the snapshot's, or that of the last journal record after it.

    Each journal line is `<crc32 hex> <json>`; the checksum is verified here too."""
    generation = state_document(turnout)["payload"]["generation"]
    journal = turnout.state_file.parent / "journal.log"
    if journal.exists():
        for line in journal.read_bytes().splitlines():
            checksum, _, body = line.partition(b" ")
            assert int(checksum, 16) == zlib.crc32(body), line
            generation = json.loads(body)["generation"]
    return generation


def kill_hard(turnout) -> None:
    turnout.process.exit_expected = True
    turnout.process.kill()
    assert not turnout.process.is_running()


def test_acknowledged_changes_survive_kill_9(proxy, restart_proxy, demo_backend, backends):
    extra = demo_backend("green-2")
    turnout = proxy(wait_for_admin=True)
    admin = AdminClient.of(turnout)
    headers = {"Idempotency-Key": "durable-switch"}
    switched = admin.switch("green", swap_test=True, headers=headers)
    assert switched.status_code == 200
    ok_json(admin.post("/v1/target-groups/green/targets", {"targets": [extra.address]}))
    generation = admin.generation()
    audit = admin.audit()
    assert [entry["generation_after"] for entry in audit[-2:]] == [generation - 1, generation]

    # Acknowledged means on disk: the file exists, is private and holds the new generation already.
    assert turnout.state_file.is_file()
    assert stat.S_IMODE(turnout.state_file.stat().st_mode) == 0o600
    document = state_document(turnout)
    assert document["format"] == 1
    assert re.fullmatch(r"[0-9a-f]{1,8}", document["checksum"]), document["checksum"]
    assert durable_generation(turnout) == generation
    journal = turnout.state_file.parent / "journal.log"
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert not (turnout.state_file.parent / "state.json.tmp").exists()

    kill_hard(turnout)
    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    status = admin.status()
    assert status["generation"] == generation
    assert admin.forwards() == {"production": {"green": 100}, "test": {"blue": 100}}
    green_targets = sorted(target["target"] for target in admin.targets("green"))
    assert green_targets == sorted([backends.green.address, extra.address])
    assert admin.audit()[-len(audit):] == audit
    assert set(served_by(again.port("production"), 10)) == {"green", "green-2"}
    assert set(served_by(again.port("test"), 4)) == {"blue"}

    # Idempotency keys are durable too: the retry is a replay, not a second switch.
    replay = admin.switch("green", swap_test=True, headers=headers)
    assert replay.status_code == 200
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.content == switched.content
    assert admin.generation() == generation

    # The restarted proxy keeps writing the same file: the next change is durable as well.
    ok_json(admin.switch("blue"))
    assert durable_generation(again) == generation + 1
    assert stat.S_IMODE(again.state_file.stat().st_mode) == 0o600


def garbage(document: bytes) -> bytes:
    return b"\x00\x17 this is not a state file {{{" + document[:40]


def tampered(document: bytes) -> bytes:
    """Valid JSON whose payload no longer matches its checksum."""
    parsed = json.loads(document)
    parsed["payload"]["generation"] += 1000
    return json.dumps(parsed).encode()


def truncated(document: bytes) -> bytes:
    return document[: len(document) // 2]


@pytest.mark.parametrize("spoil", [garbage, tampered, truncated], ids=["garbage", "tampered", "truncated"])
def test_corrupt_state_file_is_set_aside_and_config_wins(proxy, restart_proxy, spoil):
    turnout = proxy(wait_for_admin=True)
    admin = AdminClient.of(turnout)
    ok_json(admin.switch("green", swap_test=True))
    assert admin.forwards() == {"production": {"green": 100}, "test": {"blue": 100}}
    kill_hard(turnout)

    bad = spoil(turnout.state_file.read_bytes())
    turnout.state_file.write_bytes(bad)
    restarted_at = time.time()
    again = restart_proxy(turnout)
    admin = AdminClient.of(again)

    # Started from the config file, not from the spoiled state.
    assert admin.forwards() == {"production": {"blue": 100}, "test": {"green": 100}}
    assert set(served_by(again.port("production"), 4)) == {"blue"}
    assert admin.audit() == []

    # The bad file is kept, byte for byte, under a name that says when it was set aside.
    aside = [path for path in turnout.state_file.parent.iterdir() if CORRUPT_NAME.fullmatch(path.name)]
    assert len(aside) == 1, sorted(path.name for path in turnout.state_file.parent.iterdir())
    assert aside[0].read_bytes() == bad
    stamp = int(CORRUPT_NAME.fullmatch(aside[0].name).group(1))
    assert restarted_at - 5 <= stamp <= time.time() + 1, (stamp, restarted_at)

    # And it said so, loudly, naming the file it set aside.
    log = again.log()
    assert re.search(r"corrupt", log, re.IGNORECASE), log
    assert aside[0].name in log, log

    # Changes are durable again, in a fresh, valid file.
    ok_json(admin.switch("green"))
    document = state_document(again)
    assert document["format"] == 1
    assert durable_generation(again) == admin.generation()
    assert stat.S_IMODE(again.state_file.stat().st_mode) == 0o600


def test_state_for_listeners_and_groups_no_longer_configured_is_ignored(proxy, restart_proxy, backends):
    turnout = proxy(
        listeners={"production": {"blue": 100}, "test": {"green": 100}, "canary": {"blue": 100}},
        wait_for_admin=True,
    )
    admin = AdminClient.of(turnout)
    ok_json(admin.put_routing({"production": {"green": 100}, "canary": {"green": 100}}))
    kill_hard(turnout)

    # The operator removes the canary listener from the config file.
    del turnout.config.listeners["canary"]
    del turnout.config.listener_ports["canary"]
    turnout.config.write(turnout.config_path)
    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    assert admin.forwards() == {"production": {"green": 100}, "test": {"green": 100}}
    assert re.search(r"canary", again.log()), "the ignored listener is not mentioned in the log"
