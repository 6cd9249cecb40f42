"""The query pages over the query workflow API: a data manager answers only their centre's queries,
the coordinator closes answered ones, each change lands in the audit trail, nothing without a token."""

from __future__ import annotations

import pytest

from tests.web.conftest import KEY, client_for, csrf_of, make_home, sign_in
from warehouse import queries as Q
from warehouse.lake import open_reader


@pytest.fixture(scope="module")
def qhome(tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("TDM_PSEUDONYM_KEY", KEY)
        mp.setenv("TDM_MODE", "demo")
        return make_home(tmp_path_factory.mktemp("queries"))


def _queries(home, **kw):
    con = open_reader(home.settings.lake)
    try:
        return Q.list_queries(con, **kw)
    finally:
        con.close()


def _trail(home, qid):
    con = open_reader(home.settings.lake)
    try:
        return Q.audit_trail(con, qid)
    finally:
        con.close()


def _signed(home, user):
    c = client_for(home.settings)
    sign_in(c, user)
    return c


def test_a_data_manager_sees_only_their_centres_queries(qhome):
    smc = _queries(qhome, centre_id="smc", states=["open"])
    others = [q for q in _queries(qhome) if q.centre_id != "smc"]
    assert smc and others, "the fixture must give both centres queries"
    page = _signed(qhome, "dm.smc").get("/centres/smc/queries").text
    for q in smc:
        assert f'data-query-id="{q.query_id}"' in page
    for q in others:
        assert f'data-query-id="{q.query_id}"' not in page


def test_another_centres_query_cannot_be_opened_or_answered(qhome):
    other = next(q for q in _queries(qhome, states=["open"]) if q.centre_id == "sch")
    c = _signed(qhome, "dm.smc")
    token = csrf_of(c.get("/centres/smc/queries").text)
    assert c.get(f"/centres/smc/queries/{other.query_id}").status_code == 404       # under one's own centre
    assert c.get(f"/centres/sch/queries/{other.query_id}").status_code == 403       # under the other's
    for url in (f"/centres/smc/queries/{other.query_id}/answer", f"/centres/sch/queries/{other.query_id}/answer"):
        r = c.post(url, data={"csrf_token": token, "answer": "will_correct", "reason": "not mine"})
        assert r.status_code in (403, 404), url
    assert _queries(qhome, centre_id="sch", states=["open"])[0].state == "open"
    assert {q.query_id for q in _queries(qhome, centre_id="sch", states=["open"])} >= {other.query_id}


def test_confirm_then_the_coordinator_closes_with_an_audit_trail(qhome):
    warning = next(q for q in _queries(qhome, centre_id="smc", states=["open"]) if q.severity == "warning")
    dm = _signed(qhome, "dm.smc")
    token = csrf_of(dm.get("/centres/smc/queries").text)
    # without the token: refused, unchanged
    r = dm.post(f"/centres/smc/queries/{warning.query_id}/answer", data={"answer": "confirmed", "reason": "x"})
    assert r.status_code == 403
    r = dm.post(f"/centres/smc/queries/{warning.query_id}/answer",
                data={"csrf_token": token, "answer": "confirmed", "reason": "checked in the chart", "back": "list"})
    assert r.status_code == 303 and r.headers["location"] == "/centres/smc/queries"
    (q,) = [x for x in _queries(qhome, centre_id="smc") if x.query_id == warning.query_id]
    assert (q.state, q.answer, q.answer_reason, q.answered_value) == ("answered", "confirmed",
                                                                      "checked in the chart", warning.value)
    # a data manager cannot close, a coordinator cannot answer
    assert dm.post(f"/centres/smc/queries/{q.query_id}/close",
                   data={"csrf_token": token, "reason": "mine"}).status_code == 403
    co = _signed(qhome, "coord")
    ctoken = csrf_of(co.get("/queries").text)
    assert f'data-query-id="{q.query_id}"' in co.get("/queries").text      # waiting for the coordinator
    assert co.post(f"/centres/smc/queries/{q.query_id}/answer",
                   data={"csrf_token": ctoken, "answer": "confirmed", "reason": "x"}).status_code == 403
    # the coordinator's close names the query's centre: another centre in the URL is not found
    assert co.post(f"/centres/sch/queries/{q.query_id}/close",
                   data={"csrf_token": ctoken, "reason": "accepted"}).status_code == 404
    r = co.post(f"/centres/smc/queries/{q.query_id}/close", data={"csrf_token": ctoken, "reason": "plausible"})
    assert r.status_code == 303
    (q,) = [x for x in _queries(qhome, centre_id="smc") if x.query_id == warning.query_id]
    assert (q.state, q.closed_reason) == ("closed", "accepted")
    trail = _trail(qhome, q.query_id)
    assert [(e.action, e.old_state, e.new_state) for e in trail] == [
        ("opened", None, "open"), ("answered", "open", "answered"), ("closed", "answered", "closed")]
    assert trail[1].actor == "dm.smc (centre data manager)" and "checked in the chart" in trail[1].reason
    assert trail[2].actor == "coord (study coordinator)"
    page = dm.get(f"/centres/smc/queries/{q.query_id}").text
    assert "checked in the chart" in page and "answer accepted by the coordinator" in page


def test_an_error_cannot_be_confirmed_but_can_be_marked_will_correct(qhome):
    error = next(q for q in _queries(qhome, centre_id="smc", states=["open"]) if q.severity == "error")
    dm = _signed(qhome, "dm.smc")
    token = csrf_of(dm.get("/centres/smc/queries").text)
    r = dm.post(f"/centres/smc/queries/{error.query_id}/answer",
                data={"csrf_token": token, "answer": "confirmed", "reason": "it is right"})
    assert r.status_code == 409 and "no value to confirm" in r.text
    r = dm.post(f"/centres/smc/queries/{error.query_id}/answer",
                data={"csrf_token": token, "answer": "will_correct", "reason": ""})
    assert r.status_code == 400                                            # a reason is required
    r = dm.post(f"/centres/smc/queries/{error.query_id}/answer",
                data={"csrf_token": token, "answer": "will_correct", "reason": "resending"})
    assert r.status_code == 303
    assert [x for x in _queries(qhome, centre_id="smc") if x.query_id == error.query_id][0].answer == "will_correct"


def test_query_filters_and_unknown_ids(qhome):
    c = _signed(qhome, "dm.smc")
    assert c.get("/centres/smc/queries?state=bogus").status_code == 400
    assert c.get("/centres/smc/queries?file=abc").status_code == 400
    assert c.get("/centres/smc/queries/999999").status_code == 404
    f = qhome.files["smc"]["file_id"]
    assert c.get(f"/centres/smc/queries?state=all&file={f}").status_code == 200


def test_open_query_counts_on_the_centre_pages(qhome):
    import re

    open_smc = len(_queries(qhome, centre_id="smc", states=["open"]))
    page = _signed(qhome, "dm.smc").get("/centres/smc").text
    assert f"{open_smc} open quer" in page
    overview = _signed(qhome, "coord").get("/centres").text
    row = re.search(r'<tr data-centre="smc">(.*?)</tr>', overview, re.S).group(1)
    cells = re.findall(r'<td class="num">(\d+)</td>', row)
    assert int(cells[-2]) == open_smc                     # the open-queries column
