"""Durable state: what an acknowledged change leaves in state_dir survives kill -9, on a full disk
too; a bad file is set aside, never deleted; a journal that cannot be restored refuses every change."""

from __future__ import annotations

import errno
import json
import os
import zlib
import re
import stat
import time
from collections import Counter
from pathlib import Path

import pytest

from admin_client import AdminClient, assert_error, ok_json, served_by, wait_for_admin_api
from harness import Proxy, build_preload_library, executable, wait_until

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
    # A restart folds the journal into the snapshot, so the spoiled snapshot is all there is.
    kill_hard(turnout)
    folded = restart_proxy(turnout)
    kill_hard(folded)
    assert (turnout.state_file.parent / "journal.log").read_bytes() == b""

    bad = spoil(turnout.state_file.read_bytes())
    turnout.state_file.write_bytes(bad)
    restarted_at = time.time()
    again = restart_proxy(folded)
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

    # And it said so, loudly, naming the file it set aside, in the log and in the status.
    log = again.log()
    assert re.search(r"corrupt", log, re.IGNORECASE), log
    assert aside[0].name in log, log
    recovery = admin.status()["state_store"]["recovery"]
    assert aside[0].name in recovery and "starting from the configuration" in recovery, recovery

    # Changes are durable again, in a fresh, valid file.
    ok_json(admin.switch("green"))
    document = state_document(again)
    assert document["format"] == 1
    assert durable_generation(again) == admin.generation()
    assert stat.S_IMODE(again.state_file.stat().st_mode) == 0o600


def test_corrupt_snapshot_with_an_intact_journal_recovers_every_change(proxy, restart_proxy, demo_backend, backends):
    extra = demo_backend("green-2")
    turnout = proxy(wait_for_admin=True)
    admin = AdminClient.of(turnout)
    ok_json(admin.switch("green", swap_test=True))
    ok_json(admin.post("/v1/target-groups/green/targets", {"targets": [extra.address]}))
    generation = admin.generation()
    audit = admin.audit()
    kill_hard(turnout)

    # The two changes are in the journal; one flipped byte spoils the snapshot beside it.
    journal = turnout.state_file.parent / "journal.log"
    journal_bytes = journal.read_bytes()
    assert len(journal_bytes.splitlines()) == 2
    spoiled = bytearray(turnout.state_file.read_bytes())
    spoiled[len(spoiled) // 2] ^= 0x01
    turnout.state_file.write_bytes(bytes(spoiled))

    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    # Every acknowledged change is back at its generation, routing and targets both.
    assert admin.generation() == generation
    assert admin.forwards() == {"production": {"green": 100}, "test": {"blue": 100}}
    assert sorted(target["target"] for target in admin.targets("green")) == sorted([backends.green.address, extra.address])
    assert admin.audit() == audit
    assert set(served_by(again.port("production"), 10)) == {"green", "green-2"}

    # The snapshot is kept aside byte for byte, and the log and the status say what happened.
    aside = [path for path in turnout.state_file.parent.iterdir() if CORRUPT_NAME.fullmatch(path.name)]
    assert len(aside) == 1, sorted(path.name for path in turnout.state_file.parent.iterdir())
    assert aside[0].read_bytes() == bytes(spoiled)
    recovery = admin.status()["state_store"]["recovery"]
    assert recovery is not None and aside[0].name in recovery, recovery
    assert f"routing restored from 2 journal records (generation {generation})" in recovery, recovery
    assert recovery in again.log(), again.log()

    # The restart folded the journal into a fresh snapshot; the next change is durable on top of it.
    ok_json(admin.switch("blue"))
    assert durable_generation(again) == generation + 1


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


def test_saved_weights_from_before_percentages_come_back_in_proportion(proxy, restart_proxy, pair):
    """A journal written when weights were relative shares (blue=3 green=1 made 75 %/25 %) still starts: the
    forward comes back as the percentages it made, with a warning, and the snapshot then holds percentages."""
    turnout = proxy(groups=pair, wait_for_admin=True)
    ok_json(AdminClient.of(turnout).set_forward("production", {"blue": 90, "green": 10}))
    kill_hard(turnout)

    journal = turnout.state_file.parent / "journal.log"
    [line] = journal.read_bytes().splitlines()
    record = json.loads(line.partition(b" ")[2])
    record["listeners"]["production"] = [{"group": "blue", "weight": 3}, {"group": "green", "weight": 1}]
    body = json.dumps(record).encode()
    journal.write_bytes(b"%08x %s\n" % (zlib.crc32(body), body))

    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    assert admin.forwards() == {"production": {"blue": 75, "green": 25}, "test": {"green": 100}}
    assert admin.generation() == record["generation"]
    warning = ("saved forward of 'production' is blue=3 green=1, which adds up to 4: weights are percentages now, "
               "so it is restored in proportion as blue=75 green=25")
    assert again.process.count_log(re.escape(warning)) == 1, again.log()
    served = Counter(served_by(again.port("production"), 100))
    assert set(served) == {"blue", "green"} and 65 <= served["blue"] <= 85, served
    assert state_document(again)["payload"]["listeners"]["production"] == [
        {"group": "blue", "weight": 75}, {"group": "green", "weight": 25}]

    # Converted once: the next start finds percentages and says nothing.
    kill_hard(again)
    third = restart_proxy(again)
    assert AdminClient.of(third).forwards()["production"] == {"blue": 75, "green": 25}
    assert third.process.count_log("saved forward of") == 0, third.log()


# --- a full disk ----------------------------------------------------------------------------------

def fill(path) -> None:
    """Write zeros to ``path`` until the file system has no room left."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        for size in (65536, 4096, 1):
            while True:
                try:
                    os.write(fd, bytes(size))
                except OSError as failure:
                    assert failure.errno == errno.ENOSPC, failure
                    break
    finally:
        os.close(fd)


def weights(step: int) -> dict[str, dict[str, int]]:
    """A production split that differs from the previous step's, so every change is a new generation."""
    blue = 1 + (step * 37) % 99
    return {"production": {"blue": blue, "green": 100 - blue}}


def test_full_disk_refuses_changes_cleanly_and_loses_no_acknowledged_one(proxy, restart_proxy, pair, tmpfs):
    small_tmpfs = tmpfs("small", "size=512k,mode=0700")
    state_dir = small_tmpfs / "state"
    turnout = proxy(groups=pair, state_dir=state_dir, wait_for_admin=True)
    admin = AdminClient.of(turnout)
    journal = state_dir / "journal.log"
    acknowledged: list[tuple[int, dict]] = []  # (generation, forwards) of every change answered 200

    def change(step: int):
        response = admin.put_routing(weights(step))
        if response.status_code == 200:
            acknowledged.append((response.json()["generation"], weights(step)["production"]))
        return response

    # A few changes so the journal's last page is partly used, then nothing else fits.
    for step in range(3):
        assert change(step).status_code == 200
    filler = small_tmpfs / "filler"
    fill(filler)

    # Records go into what is left of that page until one does not fit: a short write, then
    # ENOSPC. Every refusal leaves the journal exactly as it was, and the journal stays sound.
    refused = 0
    step = 3
    while refused < 3:
        assert step < 400, "the full disk never refused a change"
        before = journal.read_bytes()
        response = change(step)
        step += 1
        if response.status_code == 200:
            continue
        assert journal.read_bytes() == before, response.text
        error = assert_error(response, 503, "state_not_saved")
        assert "No space left on device" in error["message"], error
        refused += 1
    assert admin.get("/healthz").status_code == 200
    assert admin.status()["state_store"]["sound"] is True
    assert admin.generation() == acknowledged[-1][0]

    # Room again: changes are acknowledged, each on its own line after the last acknowledged one.
    filler.unlink()
    for _ in range(3):
        assert change(step).status_code == 200
        step += 1

    kill_hard(turnout)
    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    generation, forward = acknowledged[-1]
    assert admin.generation() == generation
    assert admin.forwards()["production"] == forward
    routing_changes = [entry for entry in admin.audit() if entry["action"] == "routing"]
    assert [entry["generation_after"] for entry in routing_changes] == [generation for generation, _ in acknowledged]
    assert [entry["request"]["listeners"]["production"] for entry in routing_changes] == [f for _, f in acknowledged]


# --- a journal that cannot be restored --------------------------------------------------------------

FAULT_INJECTOR_SOURCE = Path(__file__).with_name("fault_injector.c")


@pytest.fixture(scope="module")
def fault_injector(tmp_path_factory) -> Path:
    """``fault_injector.c`` built as a preloadable shared library."""
    library = build_preload_library(FAULT_INJECTOR_SOURCE, tmp_path_factory.mktemp("fault-injector"))
    if library is None:
        pytest.skip("no C compiler to build the fault injector")
    return library


def test_unsound_journal_refuses_every_change_until_it_is_repaired(
        fault_injector, proxy_config, pair, start_process, restart_proxy, tmp_path):
    faults = tmp_path / "faults"
    faults.mkdir()
    config, path = proxy_config(groups=pair)
    process = start_process("turnout", [
        "/usr/bin/env", f"LD_PRELOAD={fault_injector}", f"TURNOUT_FAULT_DIR={faults}",
        str(executable("turnout")), "serve", "--config", str(path),
    ])
    process.wait_until_listening(config.listener_ports.values())
    turnout = Proxy(process, config, path)
    wait_for_admin_api(turnout)
    admin = AdminClient.of(turnout)
    first = ok_json(admin.put_routing(weights(1)))["generation"]

    # fdatasync fails and so does the cut back: the journal may end in this change's record.
    (faults / "fdatasync").touch()
    (faults / "ftruncate").touch()
    error = assert_error(admin.put_routing(weights(2)), 503, "state_not_saved")
    assert "fdatasync" in error["message"] and "Input/output error" in error["message"], error

    # Unsound: /healthz, the status and /metrics say so, and every change is refused.
    (faults / "fdatasync").unlink()
    health = assert_error(admin.get("/healthz"), 503, "state_unsound")
    assert "fdatasync" in health["message"], health
    store = admin.status()["state_store"]
    assert store["sound"] is False and "fdatasync" in store["problem"], store
    assert "turnout_state_sound 0" in admin.metrics_text().splitlines()
    for step in (3, 4):
        assert_error(admin.put_routing(weights(step)), 503, "state_unsound")
    assert admin.generation() == first
    assert turnout.process.count_log(r"STATE JOURNAL IS UNSOUND") == 1

    # The cut works again: the journal repairs itself, says so once, and changes are acknowledged.
    (faults / "ftruncate").unlink()
    assert wait_until(lambda: admin.get("/healthz").status_code == 200, timeout=10), turnout.log()
    assert admin.status()["state_store"] == {"store": "local", "sound": True, "problem": None, "recovery": None}
    assert "turnout_state_sound 1" in admin.metrics_text().splitlines()
    assert turnout.process.count_log(r"state journal is sound again") == 1
    last = ok_json(admin.put_routing(weights(5)))["generation"]
    assert last == first + 1

    # The refused change is gone from the journal: a restart has exactly the acknowledged ones.
    kill_hard(turnout)
    again = restart_proxy(turnout)
    admin = AdminClient.of(again)
    assert admin.generation() == last
    assert admin.forwards()["production"] == weights(5)["production"]
    assert [entry["generation_after"] for entry in admin.audit()] == [first, last]
