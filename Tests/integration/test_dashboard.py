"""The dashboard at /ui/ in a real headless browser: Debian's chromium driven by Playwright (its Python package, with
the system's browser as ``executable_path``), against the real binary with the demo backends.

What is checked: the page asks for the token and shows no data without it; the split follows a weights change made by
another client, live, without a reload; the switch button, after its confirmation, moves production (read back through
the API); a deployment started from the CLI shows its phases, progress and alarms, and the page's rollback ends it; a
change another client made first is answered 409, which the page shows before it shows the new state.

Screenshots of the main states go to ``$TURNOUT_SCREENSHOTS`` (default ``.screenshots/`` at the repository's root,
which git ignores). The files the page loads are also checked here over a real socket: their media types and sizes.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect, sync_playwright

from admin_client import AdminClient, ok_json
from harness import wait_until
from keepalive_load import KeepAliveLoad
from test_deploy_cli import PHASES, cli, wait_for_status, write_spec

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOTS = Path(os.environ.get("TURNOUT_SCREENSHOTS", Path(__file__).resolve().parents[2] / ".screenshots"))
TOKEN = "dashboard-token-1"
# How long the page may take to show what the API already says (a browser on a loaded machine).
SHOWN = 15_000


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.fail("chromium is not installed: run `make test-deps`")
    with sync_playwright() as playwright:
        # --no-sandbox: the tests run as root, where chromium's sandbox refuses to start.
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    yield opened
    context.close()
    assert errors == [], f"the page's scripts failed: {errors}"


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture
def open_turnout(proxy, pair):
    """The proxy with blue and green (no health checks) and no token; its admin client."""
    turnout = proxy(groups=pair, listeners={"production": {"blue": 100}, "test": {"blue": 100}}, wait_for_admin=True)
    admin = AdminClient.of(turnout)
    yield turnout, admin
    admin.close()


def split(page, listener: str) -> dict[str, str]:
    """The numbers under a listener's bar: group → its shown percentage."""
    items = page.locator(f'[data-listener="{listener}"] .numbers li')
    return {item.get_attribute("data-group"): item.locator("strong").inner_text() for item in items.all()}


def show_split(page, listener: str, expected: dict[str, str]) -> None:
    assert wait_until(lambda: split(page, listener) == expected, timeout=SHOWN / 1000), split(page, listener)


def ask_to_switch(page, listener: str, to: str):
    """Picks ``to`` in the listener's switch form and presses Switch; the confirmation dialog, open."""
    card = page.locator(f'[data-listener="{listener}"]')
    card.get_by_label(f"Switch {listener} to").select_option(to)
    card.get_by_role("button", name="Switch").click()
    dialog = page.locator("#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(f"Switch all of {listener}'s traffic to {to}?")
    return dialog


# --- the files ----------------------------------------------------------------------------------------------------

def test_the_files_over_a_socket_media_types_security_headers_and_size(open_turnout):
    turnout, _ = open_turnout
    total = 0
    for path, media_type in (("/ui/", "text/html"), ("/ui/dashboard.css", "text/css"),
                             ("/ui/dashboard.js", "text/javascript")):
        response = requests.get(turnout.admin_url + path, timeout=10)
        assert response.status_code == 200, path
        assert response.headers["Content-Type"] == f"{media_type}; charset=utf-8", path
        assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
        total += len(response.content)
    assert total < 100 * 1024, total
    redirect = requests.get(turnout.admin_url + "/ui", allow_redirects=False, timeout=10)
    assert (redirect.status_code, redirect.headers["Location"]) == (308, "/ui/")


# --- the token ----------------------------------------------------------------------------------------------------

def test_the_page_asks_for_the_token_shows_no_data_without_it_and_keeps_it_for_the_tab(proxy, pair, tmp_path, browser,
                                                                                         page):
    token_file = tmp_path / "admin-token"
    token_file.write_text(TOKEN + "\n")
    turnout = proxy(groups=pair, token_file=token_file, wait_for_admin=True)
    answers: list[tuple[str, int]] = []
    page.on("response", lambda response: answers.append((response.url, response.status)))

    page.goto(turnout.admin_url + "/ui/")
    expect(page.locator("#token-form")).to_be_visible(timeout=SHOWN)
    expect(page.locator("#dashboard")).to_be_hidden()
    assert page.locator("[data-listener]").count() == 0
    api_answers = [status for url, status in answers if "/v1/" in url]
    assert api_answers and set(api_answers) == {401}, answers
    screenshot(page, "token")

    page.get_by_label("Token").fill("not-the-token")
    page.get_by_role("button", name="Use token").click()
    expect(page.locator("#token-error")).to_contain_text("invalid bearer token", timeout=SHOWN)
    expect(page.locator("#dashboard")).to_be_hidden()

    page.get_by_label("Token").fill(TOKEN)
    page.get_by_label("Token").press("Enter")
    expect(page.locator("#dashboard")).to_be_visible(timeout=SHOWN)
    show_split(page, "production", {"blue": "100%", "green": "0%"})
    expect(page.locator("#connection")).to_have_text("live", timeout=SHOWN)

    # Kept for the tab: a reload shows the data without asking again; another tab (context) asks.
    page.reload()
    show_split(page, "production", {"blue": "100%", "green": "0%"})
    expect(page.locator("#token-form")).to_be_hidden()
    other = browser.new_context().new_page()
    other.goto(turnout.admin_url + "/ui/")
    expect(other.locator("#token-form")).to_be_visible(timeout=SHOWN)
    other.context.close()


# --- live ---------------------------------------------------------------------------------------------------------

def test_the_split_follows_a_weights_change_made_elsewhere_without_a_reload(open_turnout, page):
    turnout, admin = open_turnout
    page.goto(turnout.admin_url + "/ui/")
    show_split(page, "production", {"blue": "100%", "green": "0%"})
    expect(page.locator("#connection")).to_have_text("live", timeout=SHOWN)
    page.evaluate("window.sameDocument = true")
    # What the weight inputs offer is what is in force.
    assert page.get_by_label("green %").first.input_value() == "0"

    generation = ok_json(admin.get("/v1/status"))["generation"]
    assert admin.put("/v1/listeners/production/forward", {"blue": 90, "green": 10}).status_code == 200
    show_split(page, "production", {"blue": "90%", "green": "10%"})
    assert page.evaluate("window.sameDocument") is True, "the page was reloaded"
    expect(page.locator("#generation")).to_have_text(f"generation {generation + 1}", timeout=SHOWN)
    # The audit log, newest first, has the change.
    expect(page.locator("#audit-table tbody tr").first).to_contain_text("production: blue 100 → blue 90/green 10",
                                                                        timeout=SHOWN)
    screenshot(page, "split-90-10")


def test_the_switch_button_moves_production_after_its_confirmation(open_turnout, page):
    turnout, admin = open_turnout
    page.goto(turnout.admin_url + "/ui/")
    show_split(page, "production", {"blue": "100%", "green": "0%"})

    # Cancelled: nothing is sent.
    dialog = ask_to_switch(page, "production", "green")
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    generation = ok_json(admin.get("/v1/status"))["generation"]

    ask_to_switch(page, "production", "green")
    screenshot(page, "switch-confirmation")
    page.get_by_role("button", name="Confirm").click()
    assert wait_until(lambda: admin.forwards()["production"] == {"green": 100}, timeout=SHOWN / 1000), admin.forwards()
    status = ok_json(admin.get("/v1/status"))
    assert status["generation"] == generation + 1
    [entry] = ok_json(admin.get("/v1/audit"))["entries"]
    assert entry["action"] == "switch" and entry["generation_before"] == generation
    expect(page.locator("#notice")).to_have_text("production switched to green.", timeout=SHOWN)
    show_split(page, "production", {"blue": "0%", "green": "100%"})


def test_set_weights_sends_the_forward_typed_after_its_confirmation(open_turnout, page):
    turnout, admin = open_turnout
    page.goto(turnout.admin_url + "/ui/")
    show_split(page, "production", {"blue": "100%", "green": "0%"})
    card = page.locator('[data-listener="production"]')
    # Weights that do not add up to 100: the API's refusal, as it words it, and nothing changed.
    card.get_by_label("blue %").fill("50")
    card.get_by_label("green %").fill("20")
    card.get_by_role("button", name="Set weights").click()
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#notice")).to_contain_text("Refused (422 invalid)", timeout=SHOWN)
    expect(page.locator("#notice")).to_contain_text("must add up to 100, not 70")
    assert admin.forwards()["production"] == {"blue": 100}

    card.get_by_label("blue %").fill("80")
    card.get_by_label("green %").fill("20")
    card.get_by_role("button", name="Set weights").click()
    expect(page.locator("#confirm")).to_contain_text("Set production's weights to blue 80%, green 20%?")
    page.get_by_role("button", name="Confirm").click()
    assert wait_until(lambda: admin.forwards()["production"] == {"blue": 80, "green": 20}, timeout=SHOWN / 1000), \
        admin.forwards()
    show_split(page, "production", {"blue": "80%", "green": "20%"})


def test_a_change_made_first_by_another_client_is_shown_as_a_409_and_the_state_reloaded(open_turnout, page):
    turnout, admin = open_turnout
    page.goto(turnout.admin_url + "/ui/")
    show_split(page, "production", {"blue": "100%", "green": "0%"})
    ask_to_switch(page, "production", "green")

    # Another client changes the routing while the question is on the screen.
    assert admin.put("/v1/listeners/production/forward", {"blue": 50, "green": 50}).status_code == 200
    page.get_by_role("button", name="Confirm").click()
    notice = page.locator("#notice")
    expect(notice).to_contain_text("409 stale_generation", timeout=SHOWN)
    expect(notice).to_contain_text("it was reloaded")
    assert admin.forwards()["production"] == {"blue": 50, "green": 50}
    show_split(page, "production", {"blue": "50%", "green": "50%"})
    screenshot(page, "stale-generation")


def test_drain_deregisters_the_target_and_shows_its_countdown(proxy, pair, page, backends):
    groups = {**pair, "green": {**pair["green"], "deregistration_delay": "10m"}}
    turnout = proxy(groups=groups, wait_for_admin=True)
    admin = AdminClient.of(turnout)
    page.goto(turnout.admin_url + "/ui/")
    row = page.locator(f'[data-group="green"] tr[data-target="{backends.green.address}"]')
    row.get_by_role("button", name=f"Drain {backends.green.address} from green").click()
    expect(page.locator("#confirm")).to_contain_text("It drains for 10m")
    page.get_by_role("button", name="Confirm").click()
    assert wait_until(lambda: ok_json(admin.get("/v1/target-groups/green/targets"))["targets"][0]["state"] == "draining",
                      timeout=SHOWN / 1000)
    expect(row.locator(".state")).to_have_text("draining", timeout=SHOWN)
    expect(row).to_contain_text("Target.DeregistrationInProgress")
    expect(row.locator(".countdown")).to_have_text(re.compile(r"^(9m \d+|10m 0)s$"), timeout=SHOWN)
    expect(row.get_by_role("button")).to_have_count(0)
    admin.close()


# --- deployments --------------------------------------------------------------------------------------------------

def test_a_deployment_from_the_cli_shows_its_phases_progress_and_alarms_and_its_rollback(open_turnout, page, tmp_path,
                                                                                         request):
    turnout, admin = open_turnout
    page.goto(turnout.admin_url + "/ui/")
    expect(page.locator("#deployment")).to_contain_text("No deployment in progress.", timeout=SHOWN)
    spec = write_spec(tmp_path, """\
target_group: green
strategy:
  steps:
    - {weight: 10, pause: 10m}
    - {weight: 100}
readiness: {min_healthy: 100%, timeout: 5s}
alarms: {max_5xx_rate: 0.05, max_p99: 500ms, window: 30s, min_requests: 10}
termination_wait: 0ms
""")
    # Traffic through production for the figures the alarms judge (and the charts draw).
    load = KeepAliveLoad(turnout.port("production"), clients=1)
    request.addfinalizer(load.stop)
    result = cli(turnout, "deploy", "--file", spec)
    assert result.returncode == 0, (result.stdout, result.stderr)
    deployment = wait_for_status(admin, "InProgress")
    assert wait_until(lambda: admin.forwards()["production"] == {"blue": 90, "green": 10}, timeout=SHOWN / 1000)

    card = page.locator(f'[data-deployment="{deployment["id"]}"]')
    expect(card.locator("#deployment-progress")).to_have_attribute(
        "aria-label", "traffic shifting: blue 90%, green 10%", timeout=SHOWN)
    expect(card).to_contain_text("step 1 of 2")
    phases = card.locator("#deployment-phases li")
    assert phases.count() == 11
    # Each phase as the API has it (the phases without hooks are skipped), the ones not reached pending.
    recorded = {phase["phase"]: phase for phase in ok_json(admin.get(f"/v1/deployments/{deployment['id']}"))["phases"]}
    assert recorded["AllowTraffic"]["outcome"] == "running" and "Retire" not in recorded, recorded
    for phase in PHASES:
        shown = card.locator(f'[data-phase="{phase}"]')
        expect(shown.locator(".state")).to_have_text(recorded[phase]["outcome"] if phase in recorded else "pending")
        if phase in recorded:
            expect(shown).to_contain_text(recorded[phase]["started"][11:19])
    # The pause's countdown (10 minutes, less what has passed).
    expect(card.locator(".countdown")).to_have_text(re.compile(r"^(9m \d+|10m 0)s$"), timeout=SHOWN)
    alarms = card.locator("#deployment-alarms")
    expect(alarms).to_contain_text("5xx rate")
    expect(alarms).to_contain_text("5%")
    expect(alarms).to_contain_text("500 ms")
    # The replacement's figures over the window beside the limits, once it had the requests they are judged from.
    expect(alarms.locator("tbody tr").first).to_have_text(re.compile(r"^5xx rate0%5%$"), timeout=SHOWN)
    expect(alarms.locator("caption")).not_to_contain_text("judged from", timeout=SHOWN)
    # The API refuses the listener's own controls while the deployment drives it; the page says so.
    production = page.locator('[data-listener="production"]')
    expect(production).to_contain_text(f"Deployment {deployment['id']} drives this listener")
    expect(production.get_by_role("button")).to_have_count(0)
    expect(card.get_by_role("button", name="Approve")).to_be_disabled()
    screenshot(page, "deployment")

    card.get_by_role("button", name="Roll back").click()
    expect(page.locator("#confirm")).to_contain_text(f"Roll back deployment {deployment['id']}?")
    page.get_by_role("button", name="Confirm").click()
    wait_for_status(admin, "RolledBack")
    assert admin.forwards()["production"] == {"blue": 100}
    expect(page.locator("#deployment")).to_contain_text("No deployment in progress.", timeout=SHOWN)
    past = page.locator(f'#history-table tr[data-deployment="{deployment["id"]}"]')
    expect(past.locator(".state")).to_have_text("RolledBack", timeout=SHOWN)
    show_split(page, "production", {"blue": "100%", "green": "0%"})
    past.locator("summary").click()
    expect(past).to_contain_text("steps")
    screenshot(page, "deployment-rolled-back")


def test_a_phone_sized_screen_keeps_every_control_labelled_and_reachable(open_turnout, browser):
    turnout, _ = open_turnout
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(turnout.admin_url + "/ui/")
    show_split(page, "production", {"blue": "100%", "green": "0%"})
    # Nothing wider than the screen.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    # Every control has a name a screen reader (and get_by_label) finds.
    unnamed = page.evaluate("""() => [...document.querySelectorAll('input, select, button')]
        .filter((c) => !c.closest('[hidden]') && !c.closest('dialog'))
        .filter((c) => !(c.labels && c.labels.length) && !c.getAttribute('aria-label') && !c.textContent.trim())
        .map((c) => c.outerHTML)""")
    assert unnamed == []
    # The keyboard reaches the switch button.
    for _ in range(40):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.textContent") == "Switch":
            break
    assert page.evaluate("document.activeElement.textContent") == "Switch"
    screenshot(page, "phone")
    context.close()


def rule_split(page, listener: str, rule: str) -> dict[str, str]:
    """The numbers under one rule's bar in a listener's card: group → its shown percentage."""
    # Read in one step: the card is drawn again when the rule changes, and items found before are gone then.
    return page.evaluate("""([listener, rule]) => Object.fromEntries([...document.querySelectorAll(
        `[data-listener="${listener}"] [data-rule="${rule}"] .rule-numbers li`)].map(
        (item) => [item.dataset.group, item.querySelector("strong").textContent]))""", [listener, rule])


def test_each_rule_shows_its_split_under_its_listener_and_follows_a_change(proxy, pair, page):
    rules = [{"name": "api", "match": {"host": "api.example.com"}, "forward": {"blue": 90, "green": 10}},
             {"name": "down", "match": {"path": "/down"}, "fixed_response": {"status": 503, "body": "back soon"}}]
    turnout = proxy(groups=pair, listeners={"production": {"blue": 100}}, rules={"production": rules},
                    wait_for_admin=True)
    admin = AdminClient.of(turnout)
    page.goto(turnout.admin_url + "/ui/")
    show_split(page, "production", {"blue": "100%", "green": "0%"})
    assert wait_until(lambda: rule_split(page, "production", "api") == {"blue": "90%", "green": "10%"},
                      timeout=SHOWN / 1000), rule_split(page, "production", "api")
    expect(page.locator('[data-listener="production"] [data-rule="down"]')).to_contain_text("answers 503")
    # The listener's own numbers stay its own.
    assert split(page, "production") == {"blue": "100%", "green": "0%"}
    assert admin.post("/v1/switch", {"to": "green", "rule": "api"}).status_code == 200
    assert wait_until(lambda: rule_split(page, "production", "api") == {"green": "100%"},
                      timeout=SHOWN / 1000), rule_split(page, "production", "api")
    expect(page.locator("#audit-table tbody tr").first).to_contain_text(
        "production rule api: blue 90/green 10 → green 100", timeout=SHOWN)
    screenshot(page, "rules")
    admin.close()
