"""The web app in a real browser: Debian's chromium, headless, driven by Playwright, against the app
served by uvicorn on loopback.  Sign in; upload an export with mistakes and read its report; answer
queries and see them closed by a corrected file; the coordinator's view."""

from __future__ import annotations

import os
import shutil

import pytest

from tests.web.conftest import CHROMIUM_FLAGS, KEY, PASSWORD, make_home

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)

pytestmark = [pytest.mark.browser,
              pytest.mark.skipif(CHROMIUM is None, reason="headless chromium not installed (apt-get install chromium)")]


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    yield pg
    context.close()


@pytest.fixture
def fresh_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TDM_PSEUDONYM_KEY", KEY)
    monkeypatch.setenv("TDM_MODE", "demo")

    def make(dropped):
        return make_home(tmp_path, dropped=dropped)
    return make


def sign_in(page, base: str, username: str, password: str = PASSWORD) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#sign-in")


def test_sign_in(page, live_server, fresh_home):
    home = fresh_home((("sch", "clean"),))
    base = live_server(home.settings)
    page.goto(f"{base}/centres/sch")                       # no session: the sign-in page
    assert page.url.startswith(f"{base}/login")
    sign_in(page, base, "dm.sch", "not the password at all")
    assert "wrong user name or password" in page.inner_text("#login-error")
    sign_in(page, base, "dm.sch")
    assert page.url == f"{base}/centres/sch"
    assert page.inner_text("h1") == "Centre sch: files received"
    assert "dm.sch" in page.inner_text("header")
    assert page.locator("#files tbody tr").count() == 1
    page.click("text=Sign out")
    assert page.url.startswith(f"{base}/login")
    page.goto(f"{base}/centres/sch")
    assert page.url.startswith(f"{base}/login")          # the session ended


def test_upload_a_file_with_mistakes_and_read_its_report(page, live_server, fresh_home):
    home = fresh_home((("sch", "clean"),))
    base = live_server(home.settings)
    sign_in(page, base, "dm.smc")
    assert page.locator("#no-files").is_visible()
    page.set_input_files("#export", str(home.exports[("smc", "dirty")]))
    page.click("#upload")
    page.wait_for_url(f"{base}/centres/smc/files/*")
    assert page.inner_text("#file-status") == "Loaded with rejected rows"
    rejected = int(page.inner_text("#rows-rejected"))
    assert rejected > 0
    page.click("#open-report")
    assert page.title() == f"Validation report: {home.exports[('smc', 'dirty')].name}"
    assert int(page.inner_text("#rows-rejected")) == rejected
    assert page.locator("#problems tbody tr").count() >= rejected
    # the same file, through the same path, is in the centre's list, and the sender's inbox is empty
    page.goto(f"{base}/centres/smc")
    assert page.locator("#files tbody tr").count() == 1
    assert list(home.settings.centre_inbox("smc").iterdir()) == []


def test_answer_queries_and_see_them_closed_by_a_corrected_file(page, live_server, fresh_home):
    home = fresh_home((("smc", "dirty"),))
    base = live_server(home.settings)
    sign_in(page, base, "dm.smc")
    page.click("header >> text=Queries")
    rows = page.locator("#queries tbody tr[data-state=open]")
    assert rows.count() > 2
    warning = page.locator("#queries tbody tr", has=page.locator("button.confirm")).first
    wid = warning.get_attribute("data-query-id")
    warning.locator("input[name=reason]").fill("checked in the patient's chart")
    warning.locator("button.confirm").click()
    page.wait_for_load_state()
    row = page.locator(f"#queries tr[data-query-id='{wid}']")
    assert row.get_attribute("data-state") == "answered" and "confirmed" in row.inner_text()
    error = page.locator("#queries tbody tr[data-state=open]", has=page.locator("button.will-correct")).first
    eid = error.get_attribute("data-query-id")
    error.locator("input[name=reason]").fill("a corrected export follows")
    error.locator("button.will-correct").click()
    page.wait_for_load_state()
    assert page.locator(f"#queries tr[data-query-id='{eid}']").get_attribute("data-state") == "answered"

    # the corrected export, through the drop zone
    page.goto(f"{base}/centres/smc")
    page.set_input_files("#export", str(home.exports[("smc", "clean")]))
    page.click("#upload")
    page.wait_for_url(f"{base}/centres/smc/files/*")
    assert page.inner_text("#file-status") == "Loaded"
    for qid in (wid, eid):
        page.goto(f"{base}/centres/smc/queries/{qid}")
        assert page.inner_text("#query-state") == "closed"
        assert "by a corrected file" in page.inner_text("#query-closed")
        assert [c.inner_text() for c in page.locator("#audit tbody tr td:nth-child(3)").all()] == \
            ["opened", "answered", "closed"]


def test_the_coordinators_view(page, live_server, fresh_home):
    home = fresh_home((("smc", "dirty"), ("sch", "clean")))
    base = live_server(home.settings)
    sign_in(page, base, "coord")
    assert page.url == f"{base}/centres"
    for centre, files in (("smc", "1"), ("sch", "1"), ("knuh", "0")):
        assert page.locator(f"#centres tr[data-centre={centre}] td:nth-child(2)").inner_text() == files
    page.click("#centres tr[data-centre=sch] >> text=sch")       # any centre, not only one's own
    assert page.inner_text("h1") == "Centre sch: files received"
    # a data manager answers, the coordinator accepts and closes
    import re

    from tests.web.conftest import client_for, csrf_of, sign_in as http_sign_in

    dm = client_for(home.settings)
    http_sign_in(dm, "dm.smc")
    qid = re.search(r'data-query-id="(\d+)" data-state="open"', dm.get("/centres/smc/queries").text).group(1)
    token = csrf_of(dm.get("/centres/smc/queries").text)
    assert dm.post(f"/centres/smc/queries/{qid}/answer",
                   data={"csrf_token": token, "answer": "will_correct", "reason": "resending"}).status_code == 303
    page.click("header >> text=Queries")
    assert page.locator("#query-summary tr[data-centre=smc] td:nth-child(3)").inner_text() == "1"
    row = page.locator(f"#queries tr[data-query-id='{qid}']")
    row.locator("form:has(button.close-query) input[name=reason]").fill("the centre resends the file")
    row.locator("button.close-query").click()
    page.wait_for_load_state()
    assert page.locator("#no-queries").is_visible()
    assert page.locator("#query-summary tr[data-centre=smc] td:nth-child(3)").inner_text() == "0"
    # accounts: create a data manager for knuh
    page.click("header >> text=Accounts")
    page.fill("#new-username", "dm.knuh")
    page.select_option("#new-role", "data_manager")
    page.select_option("#new-centre", "knuh")
    page.fill("#new-password", "another long passphrase")
    page.click("#new-account button")
    assert "account dm.knuh created" in page.inner_text("#account-notice")
    assert page.locator("#accounts tr[data-user='dm.knuh']").count() == 1
