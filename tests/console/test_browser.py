"""The console in real headless Chromium (Debian's chromium + chromedriver, driven by selenium): sign in, open
every page, compare its numbers with the database, and check that no console URL opens without a session.
Screenshots land in tests/artifacts/console/ (git-ignored)."""
from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from deskdraft.state import audit
from tests.console.conftest import PASSWORD
from tests.console.test_access import console_urls
from tests.console.test_pages import db_counts
from tests.fakes.server import serve

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts" / "console"


@pytest.fixture
def browser(tmp_path):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        if os.environ.get("DESKDRAFT_REQUIRE_BROWSER"):
            raise AssertionError("chromium/chromium-driver not installed (.ci/run installs them)")
        pytest.skip("no Debian chromium + chromium-driver (apt-get install -y chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM  # Debian's browser: nothing is downloaded
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1280,1000", f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    yield driver
    driver.quit()


def shot(driver, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def cell(section, account: str, key: str) -> int:
    from selenium.webdriver.common.by import By
    return int(section.find_element(By.CSS_SELECTOR, f'tr[data-account="{account}"] td[data-k="{key}"]').text)


def test_console_in_a_real_browser(seeded, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    app, state, config, _ = seeded
    server = serve(app)
    try:
        base = server.url
        # 1. Nothing opens without a session: pages go to the sign-in form, the JSON API says 401.
        for method, url in console_urls(app):
            if method != "GET":
                continue
            browser.get(base + url)
            if "/api/" in url:
                assert "sign in first" in browser.page_source, url
            else:
                assert browser.current_url.startswith(base + "/console/login"), url
                assert browser.find_elements(By.ID, "password"), url
        shot(browser, "01-sign-in")

        # 2. Sign in through the form (its CSRF token included, as a browser sends it).
        browser.get(base + "/console/intents?days=30")
        browser.find_element(By.ID, "password").send_keys(PASSWORD)
        browser.find_element(By.ID, "sign-in").click()
        # click() returns before the redirect has loaded; on a busy machine the old URL is still current.
        WebDriverWait(browser, 30).until(lambda b: b.current_url.startswith(base + "/console/intents"),
                                         "signed in and sent on to the intents page")

        # 3. Intents page: every number against the database.
        by_action, tickets, reviewed = db_counts(state, time.time() - 30 * 86400)
        sections = browser.find_elements(By.CSS_SELECTOR, "section.intent")
        checked = 0
        for section in sections:
            intent = section.get_attribute("data-intent")
            if intent not in tickets:
                continue
            assert cell(section, "zendesk", "tickets") == tickets[intent]
            assert cell(section, "zendesk", "public") == by_action.get((intent, "reply"), 0)
            assert cell(section, "zendesk", "handoffs") == by_action.get((intent, "escalate"), 0)
            assert cell(section, "zendesk", "reviewed") == reviewed.get(intent, (0, 0))[0]
            assert cell(section, "zendesk", "overridden") == reviewed.get(intent, (0, 0))[1]
            assert section.find_elements(By.CSS_SELECTOR, "svg.chart")
            checked += 1
        assert checked == len(tickets) >= 4
        order = browser.find_element(By.ID, "intent-order_status")
        assert "gate" in order.find_element(By.CSS_SELECTOR, '[data-k="gate"]').text
        shot(browser, "02-intents")

        # 4. Tickets, then one ticket's story: one table row per audit step in the database.
        browser.get(base + "/console/tickets")
        first = browser.find_element(By.CSS_SELECTOR, "#tickets a")
        ticket_id = first.text
        first.click()
        WebDriverWait(browser, 30).until(lambda b: b.find_elements(By.CSS_SELECTOR, "#steps tr.step"),
                                         "the ticket's story")
        with state.engine.connect() as conn:
            steps = conn.execute(select(func.count()).where(audit.c.account == "zendesk",
                                                           audit.c.ticket_id == ticket_id)).scalar()
        assert len(browser.find_elements(By.CSS_SELECTOR, "#steps tr.step")) == steps == 10
        assert browser.find_element(By.ID, "helpdesk-link").get_attribute("href").endswith(f"/tickets/{ticket_id}")
        shot(browser, "03-ticket")

        # 5. Savings: the measured inputs against the database.
        browser.get(base + "/console/savings")
        by_action_window, *_ = db_counts(state, time.time() - config.autonomy.window_days * 86400)
        public = sum(c for (_, a), c in by_action_window.items() if a == "reply")
        assert int(browser.find_element(By.CSS_SELECTOR, '[data-k="public"]').text) == public
        assert int(browser.find_element(By.CSS_SELECTOR, '[data-k="volume"]').text) == sum(by_action_window.values())
        shot(browser, "04-savings")

        # 6. Sign out: the session is gone.
        browser.find_element(By.ID, "sign-out").click()
        WebDriverWait(browser, 30).until(lambda b: b.current_url.startswith(base + "/console/login"), "signed out")
        browser.get(base + "/console/intents")
        assert browser.current_url.startswith(base + "/console/login")
    finally:
        server.stop()
    if os.environ.get("DESKDRAFT_UPDATE_README_SHOT"):
        readme_shot = Path(__file__).resolve().parents[2] / "docs" / "console-intents.png"
        shutil.copyfile(ARTIFACTS / "02-intents.png", readme_shot)
