"""The query workflow: open -> answered -> closed across real validated files, with an append-only trail."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from base.errors import QueryNotFound, QueryStateError, TdmError
from warehouse import queries as Q
from warehouse.lake import open_reader, open_writer
from warehouse.load import load_file, reserve_file_id
from tests.factories import file_meta
from tests.validators.factory import ctx, make_frames, set_cell
from validators import validate_file

T0 = dt.datetime(2026, 11, 2, 9, 0)


def _frames(esr: float = 160.0, sex: str = "X"):
    """Three patients; line 2 has ESR ``esr`` (implausible above 150 mm/h), line 3 sex ``sex``."""
    f = make_frames(3)
    lab = f["lab"].copy()
    lab.loc[(lab["source_line"] == 2) & (lab["analyte"] == "esr_mm_h"), "value"] = esr
    return set_cell({**f, "lab": lab}, "patient", 3, "sex", sex)


def _load(con, frames, name: str, now: dt.datetime = T0):
    """Validate with the confirmations in the warehouse (as ingestion does) and load."""
    result = validate_file(frames, None, ctx(file_name=name, reviews=Q.confirmed_findings(con, "smc")))
    fid = reserve_file_id(con)
    load_file(con, fid, file_meta(name=name, centre="smc", checksum=name, file_kind="wide"), result)
    return fid, result


def _one(con, **kw) -> Q.Query:
    (q,) = Q.list_queries(con, centre_id="smc", **kw)
    return q


def test_a_query_from_finding_to_answer_to_reopening_to_acceptance(warehouse):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        f1, _ = _load(con, _frames(), "first.csv")
        crp = _one(con, rule="lab_value_implausible")
        sex = _one(con, rule="allowed_codes")
        assert (crp.state, crp.severity, crp.column_name, crp.value) == ("open", "warning", "esr_mm_h", "160")
        assert crp.record.endswith(" esr_mm_h") and crp.first_file_id == crp.last_file_id == f1
        assert (sex.state, sex.severity, sex.column_name, sex.value) == ("open", "error", "sex", "X")

        # an error cannot be confirmed (nothing was loaded); it can be promised a correction
        with pytest.raises(QueryStateError, match="no value to confirm"):
            Q.answer_query(con, sex.query_id, answer="confirmed", reason="r", actor="dm.kim")
        Q.answer_query(con, sex.query_id, answer="will_correct", reason="typo, resending", actor="dm.kim",
                       now=T0 + dt.timedelta(hours=1))
        a = Q.answer_query(con, crp.query_id, answer="confirmed", reason="true ESR 160 (sepsis), chart checked",
                           actor="dm.kim", centre_id="smc", now=T0 + dt.timedelta(hours=1))
        assert (a.state, a.answer, a.answered_value, a.answered_by) == ("answered", "confirmed", "160", "dm.kim")

        # resubmission: sex corrected, CRP unchanged -> the confirmed warning is not reported again, its
        # query stays answered and moves to the new file; the error's query is closed by the correction
        f2, r2 = _load(con, _frames(sex="M"), "second.csv", T0 + dt.timedelta(days=1))
        assert r2.issues.empty and r2.warnings_suppressed == 1
        crp2, sex2 = Q.get_query(con, crp.query_id), Q.get_query(con, sex.query_id)
        assert (crp2.state, crp2.last_file_id) == ("answered", f2)
        assert (sex2.state, sex2.closed_reason, sex2.closed_by_file_id) == ("closed", "superseded", f2)

        # the confirmed value changes in a later file: the query reopens, the warning is reported
        f3, r3 = _load(con, _frames(esr=170.0, sex="M"), "third.csv", T0 + dt.timedelta(days=2))
        assert r3.warnings["value"].tolist() == ["170"]
        crp3 = Q.get_query(con, crp.query_id)
        assert (crp3.state, crp3.value, crp3.answer, crp3.last_file_id) == ("open", "170", None, f3)
        assert len(Q.list_queries(con, centre_id="smc")) == 2          # the same query, not a new one

        # the coordinator closes only answered queries
        with pytest.raises(QueryStateError, match="only an answered query"):
            Q.close_query(con, crp.query_id, reason="ok", actor="coordinator")
        Q.answer_query(con, crp.query_id, answer="confirmed", reason="170 confirmed by the lab", actor="dm.kim")
        c = Q.close_query(con, crp.query_id, reason="plausible in sepsis", actor="coordinator")
        assert (c.state, c.closed_reason) == ("closed", "accepted")
        _load(con, _frames(esr=170.0, sex="M"), "fourth.csv", T0 + dt.timedelta(days=3))
        assert Q.get_query(con, crp.query_id).state == "closed"       # accepted value: stays closed

        # revoking the acceptance reopens it
        r = Q.reopen_query(con, crp.query_id, reason="lab corrected its report", actor="coordinator")
        assert r.state == "open" and r.answer is None
        with pytest.raises(QueryStateError, match="closed by a corrected file"):
            Q.reopen_query(con, sex.query_id, reason="x", actor="coordinator")

        trail = Q.audit_trail(con, crp.query_id)
    assert [(e.action, e.old_state, e.new_state, e.actor) for e in trail] == [
        ("opened", None, "open", "tdm ingest"),
        ("answered", "open", "answered", "dm.kim"),
        ("reopened", "answered", "open", "tdm ingest"),
        ("answered", "open", "answered", "dm.kim"),
        ("closed", "answered", "closed", "coordinator"),
        ("revoked", "closed", "open", "coordinator"),
    ]
    assert "160" in trail[2].reason and "170" in trail[2].reason and trail[2].file_id == f3
    assert "sepsis" in trail[1].reason and trail[1].event_at == T0 + dt.timedelta(hours=1)


def test_the_audit_trail_is_only_ever_appended_to(warehouse):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        _load(con, _frames(), "first.csv")
        before = con.execute("SELECT * FROM ingest.query_events ORDER BY event_id").fetchall()
        q = _one(con, rule="lab_value_implausible")
        Q.answer_query(con, q.query_id, answer="confirmed", reason="true value", actor="dm")
        _load(con, _frames(esr=165.0, sex="M"), "second.csv")
        Q.answer_query(con, q.query_id, answer="will_correct", reason="will fix", actor="dm")
        after = con.execute("SELECT * FROM ingest.query_events ORDER BY event_id").fetchall()
    assert after[:len(before)] == before and len(after) == len(before) + 4   # answered, reopened, closed, answered


def test_queries_of_another_centre_are_invisible_and_bad_requests_are_refused(warehouse):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        _load(con, _frames(), "first.csv")
        q = _one(con, rule="lab_value_implausible")
        with pytest.raises(QueryNotFound):
            Q.get_query(con, q.query_id, centre_id="knuh")
        with pytest.raises(QueryNotFound):
            Q.answer_query(con, q.query_id, answer="confirmed", reason="r", actor="a", centre_id="knuh")
        with pytest.raises(QueryNotFound):
            Q.audit_trail(con, 999999)
        with pytest.raises(TdmError, match="reason"):
            Q.answer_query(con, q.query_id, answer="confirmed", reason="  ", actor="a")
        with pytest.raises(QueryStateError, match="not an answer"):
            Q.answer_query(con, q.query_id, answer="maybe", reason="r", actor="a")
        with pytest.raises(QueryStateError, match="unknown query state"):
            Q.list_queries(con, states=["pending"])
        assert Q.get_query(con, q.query_id).state == "open"         # nothing changed


def test_a_rejected_file_opens_a_file_query_that_a_corrected_file_closes(warehouse):
    f = make_frames(2)
    broken = {**f, "assessment": f["assessment"].drop(columns="pcdai")}   # a float column: crashed pandas 3
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        f1, r1 = _load(con, broken, "first.csv")
        assert r1.file_error is not None
        q = _one(con, file_id=f1)
        assert (q.scope, q.rule, q.severity, q.state) == ("file:wide", "missing_column", "file_error", "open")
        assert q.column_name == "pcdai" and "assessment.pcdai" in q.message
        f2, _ = _load(con, f, "second.csv")
        q2 = Q.get_query(con, q.query_id)
    assert (q2.state, q2.closed_reason, q2.closed_by_file_id) == ("closed", "superseded", f2)


def test_open_query_summary_counts_and_ages_per_centre(warehouse):
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        _load(con, _frames(), "first.csv", T0)
        q = _one(con, rule="allowed_codes")
        Q.answer_query(con, q.query_id, answer="will_correct", reason="resending", actor="dm")
        s = Q.open_query_summary(con, now=_one(con, states="open").opened_at + dt.timedelta(days=3))
    assert s[["centre_id", "open", "answered", "closed"]].values.tolist() == [["smc", 1, 1, 0]]
    assert s["oldest_open_days"].iloc[0] == pytest.approx(3.0)


def test_readers_use_the_snapshot(warehouse):

    with open_writer(warehouse.lake, home=warehouse.home) as con:
        _load(con, _frames(), "first.csv")
    ro = open_reader(warehouse.lake)
    try:
        qs = Q.list_queries(ro, centre_id="smc", states="open")
        assert {q.rule for q in qs} == {"lab_value_implausible", "allowed_codes"}
        with pytest.raises(duckdb.Error):   # a read-only snapshot refuses writes
            Q.answer_query(ro, qs[0].query_id, answer="will_correct", reason="r", actor="a")
    finally:
        ro.close()
    with Q.write_session(warehouse) as con:
        Q.answer_query(con, qs[0].query_id, answer="will_correct", reason="r", actor="a")
    ro = open_reader(warehouse.lake)
    try:
        assert Q.get_query(ro, qs[0].query_id).state == "answered"   # the snapshot was republished
    finally:
        ro.close()


def test_a_record_is_spelled_the_same_in_python_and_in_duckdb():
    import pandas as pd

    from schema.models import record_label, record_label_sql

    frames = {"lab": pd.DataFrame({"sample_date": pd.to_datetime(["2016-09-01", "2020-02-29"]),
                                   "analyte": ["crp_mg_dl", "albumin_g_dl"]}),
              "elisa": pd.DataFrame({"trough_sample_datetime": pd.to_datetime(["2016-09-01 09:30", "2017-01-02 00:00"])}),
              "assessment": pd.DataFrame({"colonoscopy_date": pd.to_datetime(["2016-09-01", "2019-12-31"])})}
    con = duckdb.connect()
    try:
        for entity, df in frames.items():
            con.register("t", df)
            sql = con.execute(f"SELECT {record_label_sql(entity, 't')} FROM t").fetchall()
            con.unregister("t")
            assert [r[0] for r in sql] == record_label(entity, df).tolist()
    finally:
        con.close()
    assert record_label("lab", frames["lab"]).tolist() == ["2016-09-01 crp_mg_dl", "2020-02-29 albumin_g_dl"]
    assert record_label("elisa", frames["elisa"]).tolist() == ["2016-09-01 09:30", "2017-01-02 00:00"]


def test_a_finding_without_a_patient_is_settled_by_the_next_file_of_its_kind(warehouse):
    f = make_frames(3)
    broken = {k: v.assign(patient_id=v["patient_id"].where(v["source_line"] != 3, None)) for k, v in f.items()}
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        f1, r1 = _load(con, broken, "first.csv")
        assert r1.rows_rejected == 1
        qs = Q.list_queries(con, centre_id="smc", file_id=f1)
        assert qs and {q.scope for q in qs} == {"file:wide"} and {q.patient_id for q in qs} == {None}
        f2, _ = _load(con, f, "second.csv")
        after = [Q.get_query(con, q.query_id) for q in qs]
    assert {(q.state, q.closed_reason, q.closed_by_file_id) for q in after} == {("closed", "superseded", f2)}


def test_a_wide_resubmission_settles_a_query_whose_record_the_correction_changed(warehouse):
    f = make_frames(3)
    el = f["elisa"].copy()
    late = el["source_line"] == 2
    el.loc[late, "trough_sample_datetime"] = el.loc[late, "trough_sample_datetime"] + pd.Timedelta(days=2)
    with open_writer(warehouse.lake, home=warehouse.home) as con:
        _load(con, {**f, "elisa": el}, "first.csv")
        q = _one(con, rule="trough_after_infusion")
        assert q.state == "open" and q.record is not None
        f2, _ = _load(con, f, "second.csv")           # the sample time corrected: another record key
        q2 = Q.get_query(con, q.query_id)
    assert (q2.state, q2.closed_reason, q2.closed_by_file_id) == ("closed", "superseded", f2)
