"""Security of the web app through a plain HTTP client: no session, no page; a centre sees only
itself whatever the URL or the form says; forms without the session's CSRF token are refused; file
names cannot leave their folder; every response carries the security headers."""

from __future__ import annotations

import os
from urllib.parse import quote

import pytest

from tests.web.conftest import PASSWORD, client_for, csrf_of, sign_in
from tdm.web.security import HEADERS


def _urls(web_home) -> list[tuple[str, str]]:
    """Every route of the app with real parameters (a test below checks that none is missing)."""
    smc, pid = web_home.files["smc"], web_home.publication_id
    stem = smc["report_name"][:-5]
    return [
        ("GET", "/centres"), ("GET", "/centres/smc"), ("GET", f"/centres/smc/files/{smc['file_id']}"),
        ("GET", f"/centres/smc/reports/{stem}.html"), ("GET", f"/centres/smc/reports/{stem}.csv"),
        ("GET", f"/centres/smc/reports/{stem}.json"), ("GET", "/centres/smc/reports/index.html"),
        ("GET", "/centres/smc/scorecard"), ("POST", "/centres/smc/upload"),
        ("GET", "/publications"), ("GET", f"/publications/{pid}"), ("GET", f"/publications/{pid}/files/report.html"),
        ("GET", f"/publications/{pid}/files/publication.json"), ("GET", "/dictionary"),
        ("GET", "/accounts"), ("POST", "/accounts"),
        ("GET", "/queries"), ("GET", "/centres/smc/queries"), ("GET", f"/centres/smc/queries/{web_home.query_id}"),
        ("POST", f"/centres/smc/queries/{web_home.query_id}/answer"),
    ]


def test_every_route_is_in_the_list(web_home):
    from starlette.routing import Route

    from tdm.web.app import create_app

    app = create_app(web_home.settings)
    listed = {p for _, p in _urls(web_home)}
    from starlette.routing import compile_path

    for route in app.routes:
        if not isinstance(route, Route) or route.path in ("/", "/login", "/logout"):
            continue
        regex = compile_path(route.path)[0]
        assert any(regex.match(p) for p in listed), f"{route.path} is not covered by the no-session test"


def test_every_page_and_download_is_refused_without_a_session(web_home, anon):
    secret = web_home.files["smc"]["file_name"]
    for method, url in _urls(web_home):
        r = anon.request(method, url, headers={"accept": "text/html"})
        assert r.status_code in (303, 401, 403), (method, url, r.status_code)
        if r.status_code == 303:
            assert r.headers["location"].startswith("/login?next="), url
        assert secret not in r.text and "patient" not in r.text.lower(), url
        # a script (no "text/html" in Accept) gets 401, not a redirect
        r = anon.request(method, url)
        assert r.status_code in (401, 403), (method, url, r.status_code)


def test_an_expired_or_forged_session_cookie_is_no_session(web_home):
    c = client_for(web_home.settings)
    c.cookies.set("tdm_session", "forged-token")
    assert c.get("/centres/smc").status_code == 401


def test_a_data_manager_cannot_reach_another_centre(web_home, as_user):
    c = as_user("dm.smc")
    sch = web_home.files["sch"]
    sch_stem = sch["report_name"][:-5]
    refused = [
        f"/centres/sch", f"/centres/sch/files/{sch['file_id']}", f"/centres/sch/reports/{sch_stem}.html",
        f"/centres/sch/reports/{sch_stem}.csv", f"/centres/sch/reports/index.html", "/centres/sch/scorecard",
        "/centres", "/accounts", "/queries", "/centres/sch/queries",
    ]
    for url in refused:
        r = c.get(url)
        assert r.status_code == 403, (url, r.status_code)
        assert sch["file_name"] not in r.text
    # the other centre's file or report named under one's own centre: not found there
    for url in (f"/centres/smc/files/{sch['file_id']}", f"/centres/smc/reports/{sch_stem}.html"):
        r = c.get(url)
        assert r.status_code == 404, url
        assert sch["file_name"] not in r.text
    # an unknown centre is not found, for everyone
    assert c.get("/centres/nosuch").status_code in (403, 404)
    assert as_user("coord").get("/centres/nosuch").status_code == 404
    # analysts see no centre at all, data managers no publication
    a = as_user("analyst")
    assert a.get("/centres/smc").status_code == 403
    assert c.get("/publications").status_code == 403


def test_an_upload_cannot_land_in_another_centres_inbox(web_home, as_user, pseudonym_key):
    c = as_user("dm.smc")
    inbox = web_home.settings.inbox
    before = {p: sorted(os.listdir(inbox / p)) for p in ("smc", "sch")}
    token = csrf_of(c.get("/centres/smc").text)
    # the other centre's upload slot
    r = c.post("/centres/sch/upload", data={"csrf_token": token}, files={"export": ("sch_x.csv", b"a\n1\n")})
    assert r.status_code == 403
    # a path in the file name
    for name in ("../sch/sch_x.csv", "..\\sch\\sch_x.csv", "/tmp/x.csv", "..", ".hidden.csv", "x.csv.part"):
        r = c.post("/centres/smc/upload", data={"csrf_token": token}, files={"export": (name, b"a\n1\n")})
        assert r.status_code == 400, (name, r.status_code)
        assert "upload" in r.text.lower() or "name" in r.text.lower()
    # a "centre" form field is not honoured: the URL's (checked) centre is the only one
    r = c.post("/centres/smc/upload", data={"csrf_token": token, "centre": "sch"},
               files={"export": ("smc_form_field.csv", b"not,an,export\n1,2,3\n")})
    assert r.status_code == 303 and r.headers["location"].startswith("/centres/smc/files/")
    assert sorted(os.listdir(inbox / "sch")) == before["sch"]
    assert sorted(os.listdir(inbox / "smc")) == before["smc"]           # ingested and archived, nothing left
    assert not list((web_home.settings.archive / "sch").glob("*smc_form_field*"))
    assert list((web_home.settings.archive / "smc").glob("*smc_form_field*"))


def test_forms_without_the_csrf_token_are_refused(web_home, as_user):
    c = as_user("coord")
    other = as_user("dm.smc")
    other_token = csrf_of(other.get("/centres/smc").text)
    posts = [("/centres/smc/upload", {}, {"export": ("smc_csrf.csv", b"a\n1\n")}),
             ("/accounts", {"action": "add", "username": "mallory", "role": "coordinator", "password": "x" * 20}, None),
             ("/logout", {}, None)]
    for url, data, files in posts:
        for token in (None, "", other_token, "x" * 43):
            form = dict(data, **({"csrf_token": token} if token is not None else {}))
            r = c.post(url, data=form, files=files)
            assert r.status_code == 403, (url, token, r.status_code)
    from tdm.web.accounts import account_store

    assert "mallory" not in {u.username for u in account_store(web_home.settings.home).list_users()}
    assert not (web_home.settings.inbox / "smc" / "smc_csrf.csv").exists()
    assert c.get("/centres").status_code == 200            # the forged logout did not end the session
    # the login form needs its own token (no session yet): a cross-site login is refused
    fresh = client_for(web_home.settings)
    r = fresh.post("/login", data={"username": "coord", "password": PASSWORD})
    assert r.status_code == 403 and "tdm_session" not in r.cookies


@pytest.mark.parametrize("name", [
    "..%2F..%2Fwarehouse.duckdb", "..%2Fsch%2Findex.html", "%2E%2E%2F%2E%2E%2Fcentres%2Fsmc.yaml",
    "..%5C..%5Cwarehouse.duckdb", "%2Fetc%2Fpasswd", "index.html%00.csv", ".index.html", "smc.yaml",
    "%2e%2e", "%2e%2e%2f%2e%2e%2fwarehouse.read.duckdb",
])
def test_path_traversal_in_download_names_is_refused(web_home, as_user, name):
    c = as_user("coord")
    for url in (f"/centres/smc/reports/{name}", f"/publications/{web_home.publication_id}/files/{name}"):
        r = c.get(url)
        assert r.status_code == 404, (url, r.status_code)
        assert "root:" not in r.text and "DUCK" not in r.text


def test_a_symlink_in_a_report_folder_is_not_followed(web_home, as_user):
    link = web_home.settings.reports / "smc" / "leak.html"
    link.symlink_to(web_home.settings.centres_dir / "smc.yaml")
    try:
        assert as_user("coord").get("/centres/smc/reports/leak.html").status_code == 404
    finally:
        link.unlink()


def test_a_publication_id_must_be_a_recorded_one(web_home, as_user):
    c = as_user("analyst")
    (web_home.settings.published / "unrecorded").mkdir(exist_ok=True)
    (web_home.settings.published / "unrecorded" / "report.html").write_text("<p>not published</p>")
    assert c.get("/publications/unrecorded/files/report.html").status_code == 404
    assert c.get(f"/publications/{web_home.publication_id}/files/report.html").status_code == 200


def test_security_headers_on_every_kind_of_response(web_home, anon, as_user):
    c = as_user("dm.smc")
    stem = web_home.files["smc"]["report_name"][:-5]
    responses = [anon.get("/login"), anon.get("/centres/smc", headers={"accept": "text/html"}),
                 anon.get("/static/app.css"), c.get("/centres/smc"), c.get("/centres/sch"),
                 c.get("/centres/smc/reports/nosuch.html"), c.get(f"/centres/smc/reports/{stem}.csv"),
                 c.get(f"/centres/smc/reports/{stem}.html")]
    for r in responses:
        for k, v in HEADERS.items():
            assert r.headers.get(k) == v, (r.url, k)
    assert "script-src" not in HEADERS["content-security-policy"]      # default-src 'none': no script runs
    assert responses[6].headers["content-disposition"].startswith("attachment")


def test_session_cookie_flags_and_sign_out(web_home):
    c = client_for(web_home.settings)
    r = sign_in(c, "dm.smc")
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert c.get("/centres/smc").status_code == 200
    token = csrf_of(c.get("/centres/smc").text)
    assert c.post("/logout", data={"csrf_token": token}).status_code == 303
    c.cookies.clear()
    c.cookies.set("tdm_session", r.cookies["tdm_session"])        # the old cookie replayed
    assert c.get("/centres/smc").status_code == 401


def test_wrong_password_and_open_redirect(web_home):
    c = client_for(web_home.settings)
    page = c.get("/login")
    r = c.post("/login", data={"csrf_token": csrf_of(page.text), "username": "dm.smc", "password": "wrong" * 4})
    assert r.status_code == 401 and "wrong user name or password" in r.text and "tdm_session" not in r.cookies
    r = c.post("/login", data={"csrf_token": csrf_of(page.text), "username": "dm.smc", "password": PASSWORD,
                               "next": "//evil.example/x"})
    assert r.status_code == 303 and r.headers["location"] == "/centres/smc"


def test_a_request_for_another_host_name_is_refused(web_home):
    c = client_for(web_home.settings)
    assert c.get("/login", headers={"host": "evil.example"}).status_code == 400


def test_an_upload_over_the_limit_is_refused_and_leaves_nothing(web_home, pseudonym_key):
    c = client_for(web_home.settings, max_upload=1024)
    sign_in(c, "dm.smc")
    token = csrf_of(c.get("/centres/smc").text)
    r = c.post("/centres/smc/upload", data={"csrf_token": token}, files={"export": ("smc_big.csv", b"x" * 200_000)})
    assert r.status_code == 413 and "larger than the upload limit" in r.text
    left = [n for n in os.listdir(web_home.settings.inbox / "smc")]
    assert left == []


def test_unexpected_errors_show_no_traceback(web_home, as_user, monkeypatch):
    import tdm.web.routes_centres as rc

    def boom(*a, **k):
        raise RuntimeError("secret internals /etc/shadow")

    monkeypatch.setattr(rc, "centre_files", boom)
    c = client_for(web_home.settings, raise_server_exceptions=False)
    sign_in(c, "dm.smc")
    r = c.get("/centres/smc")
    assert r.status_code == 500
    assert "Traceback" not in r.text and "/etc/shadow" not in r.text and "nothing was changed" in r.text


def test_quote_of_report_names_round_trips(web_home, as_user):
    """Report names are links: the file page's links open the report, its CSV and its JSON."""
    c = as_user("dm.smc")
    f = web_home.files["smc"]
    page = c.get(f"/centres/smc/files/{f['file_id']}").text
    for suffix in (".html", ".csv", ".json"):
        href = f"/centres/smc/reports/{quote(f['report_name'][:-5] + suffix)}"
        assert href in page
        assert c.get(href).status_code == 200
