"""The web console in a real headless Chromium (Selenium on Debian's chromium-driver): a supervisor finds an
overdue case on 我的待办, is refused for a missing field with what she typed kept, assigns it with the five
implementations; the enterprise starts and submits; another supervisor verifies and closes; the case has left
the overdue list. Each page is saved as a screenshot under the test's tmp directory (HAZARD_SCREENSHOTS=DIR keeps
them there instead, as docs/ holds two of them). Skips where no browser is installed, unless
HAZARD_REQUIRE_BROWSER=1 (CI), where it fails."""
from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import pytest

from engine.domain.clock import FixedClock, parse_time
from tests import browser
from tests.conftest import FIVE, rectified, report

PASSWORD = "correct horse battery"
WHY = browser.driver_unavailable()
if WHY and os.environ.get("HAZARD_REQUIRE_BROWSER") == "1":
    pytestmark = [pytest.mark.slow]

    def test_the_browser_is_installed():
        pytest.fail(WHY)
else:
    pytestmark = [pytest.mark.slow, pytest.mark.skipif(WHY is not None, reason=WHY or "")]


@pytest.fixture
def server(service):
    """The console served by uvicorn on a free loopback port, in a thread, over the test's engine."""
    import uvicorn

    from web.app import create_app
    for name in ("zhang", "liu", "ent"):
        service.commands.set_password(name, PASSWORD, actor="li")
    from engine.domain.clock import SystemClock
    service.recorded_clock = SystemClock()   # sessions count real time
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(create_app(service), host="127.0.0.1", port=port, log_level="warning")
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not running.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    running.should_exit = True
    thread.join(10)


@pytest.fixture
def chrome():
    driver = browser.driver()
    yield driver
    driver.quit()


def replaced(element):
    """A wait's condition: `element`'s page is gone. Chromium says so as a stale element or, caught in the middle
    of the swap, as "Node ... does not belong to the document" (an unknown error selenium's staleness_of lets
    through): both mean the same."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException

    def gone(_driver) -> bool:
        try:
            element.is_enabled()
        except StaleElementReferenceException:
            return True
        except WebDriverException as exc:
            if "does not belong to the document" in str(exc):
                return True
            raise
        return False
    return gone


def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("HAZARD_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def test_a_case_from_overdue_to_closed_in_the_browser(server, chrome, service, tmp_path):
    from selenium.webdriver.common.by import By
    folder = shots(tmp_path)
    case = report(service, fields={"deadline": "2026-03-10", "criterion": "《判定标准》第四条"})
    report(service, title="二号储罐区防雷接地检测过期", fields={"deadline": "2026-04-20"})
    service.clock = FixedClock(parse_time("2026-03-20T09:00"))
    saved = []

    def shot(name: str):
        path = folder / f"{len(saved) + 1:02d}-{name}.png"
        chrome.save_screenshot(str(path))
        saved.append(path)

    def submit(button):
        """Click a form's button and wait until the answer's page replaced this one."""
        from selenium.webdriver.support.ui import WebDriverWait
        old = chrome.find_element(By.TAG_NAME, "html")
        button.click()
        WebDriverWait(chrome, 30).until(replaced(old))

    def sign_in(name: str):
        chrome.delete_all_cookies()
        chrome.get(server + "/")
        assert chrome.current_url.startswith(server + "/login")
        chrome.find_element(By.NAME, "name").send_keys(name)
        chrome.find_element(By.NAME, "password").send_keys(PASSWORD)
        submit(chrome.find_element(By.CSS_SELECTOR, "main form button[type=submit]"))
        assert chrome.current_url == server + "/", chrome.page_source[:1500]

    def fire(trigger: str, fields: dict):
        if chrome.find_element(By.ID, f"form-{trigger}").get_attribute("open") is None:
            chrome.find_element(By.CSS_SELECTOR, f"#form-{trigger} summary").click()
        form = chrome.find_element(By.CSS_SELECTOR, f"#form-{trigger} form")
        for name, value in fields.items():
            box = form.find_element(By.NAME, f"f.{name}")
            if box.get_attribute("type") == "date":   # a date input takes the date as typed in its locale
                chrome.execute_script("arguments[0].value = arguments[1]", box, value)
            else:
                box.clear()
                box.send_keys(value)
        submit(form.find_element(By.CSS_SELECTOR, "button[type=submit]"))

    # A supervisor finds the overdue case on 我的待办.
    chrome.get(server + "/login")
    shot("login")
    sign_in("zhang")
    row = chrome.find_element(By.CSS_SELECTOR, "#cases tbody tr")
    assert row.get_attribute("data-case") == case.id and "overdue" in row.get_attribute("class")
    assert chrome.find_element(By.ID, "count-overdue").text == "1"
    shot("work-supervisor")
    submit(row.find_element(By.LINK_TEXT, case.id))
    shot("case-reported")

    # Assigning without every implementation is refused in the rule's words; what was typed stays.
    fire("assign", {"responsible_unit": FIVE["responsible_unit"], "measures": FIVE["measures"]})
    refusal = chrome.find_element(By.ID, "refusal").text
    assert "requires responsible_person, funds, deadline, emergency_plan: missing" in refusal
    kept = chrome.find_element(By.CSS_SELECTOR, "#form-assign form [name='f.measures']")
    assert kept.is_displayed() and kept.get_attribute("value") == FIVE["measures"]   # the form open again
    shot("case-refused")
    fire("assign", {"responsible_person": FIVE["responsible_person"], "funds": FIVE["funds"],
                    "deadline": "2026-05-29", "emergency_plan": FIVE["emergency_plan"]})
    assert "已交办" in chrome.find_element(By.CSS_SELECTOR, "h1 .state").text
    assert not chrome.find_elements(By.CSS_SELECTOR, "#five .missing")
    shot("case-assigned")

    # The enterprise starts and submits its rectification; the bell says it was told of the assignment.
    sign_in("ent")
    shot("work-enterprise")
    assert chrome.find_element(By.CSS_SELECTOR, "#bell .badge").text == "1"
    submit(chrome.find_element(By.ID, "bell"))
    assert case.id in chrome.find_element(By.ID, "messages").text
    shot("inbox")
    submit(chrome.find_element(By.ID, "mark-all"))
    assert not chrome.find_elements(By.CSS_SELECTOR, "#bell .badge")
    chrome.get(server + "/")
    chrome.get(f"{server}/cases/{case.id}")
    fire("start", {})
    rectified(service, case.id)  # the rectification photo a major hazard's submit requires (no upload form yet)
    chrome.get(f"{server}/cases/{case.id}")  # the page as the case now is (its version moved on)
    fire("submit", {"report_note": "已加装可燃气体泄漏报警装置并联网"})
    assert "待验收" in chrome.find_element(By.CSS_SELECTOR, "h1 .state").text

    # Another supervisor verifies and closes it.
    sign_in("liu")
    chrome.get(f"{server}/cases/{case.id}")
    fire("verify", {"opinion": "现场复查，整改到位"})
    fire("close", {"closing_note": "同意销号"})
    assert "已销号" in chrome.find_element(By.CSS_SELECTOR, "h1 .state").text
    shot("case-closed")

    # It has left 我的待办 and its overdue count.
    chrome.get(server + "/")
    assert case.id not in chrome.page_source
    assert chrome.find_element(By.ID, "count-overdue").text == "0"
    shot("work-after")
    submit(chrome.find_element(By.CSS_SELECTOR, "form[action='/logout'] button"))
    assert chrome.current_url.startswith(server + "/login")
    assert all(p.stat().st_size > 1000 for p in saved)
