"""Resubmission: what a corrected file changed compared with the rows rejected from earlier files.

The lead passes the centre's earlier quarantine rows (``quarantine.rows``: ``entity, source_line,
patient_id, record_json, reasons`` and optionally ``file_id``) for the same file kind; each is matched
to the new file's rows by entity and a *loose key* that survives the correction of a key field:

=============  ===========================
entity         loose key
=============  ===========================
patient        patient_id
assessment     patient_id (one follow-up per patient)
elisa          patient_id + sample day
lab            patient_id + analyte + sample date
=============  ===========================

(ELISA falls back to the patient alone when the sample day itself was corrected.)
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import pandas as pd

DIFF_COLUMNS = ["entity", "patient_id", "key", "status", "previous_source_line", "source_line",
                "previous_reasons", "reasons"]
STATUSES = ("newly_accepted", "still_rejected", "not_resubmitted", "newly_rejected")


@dataclass(frozen=True)
class ResubmissionDiff:
    """Summary counts in source lines plus one row per compared record (``DIFF_COLUMNS``)."""

    newly_accepted: int
    still_rejected: int
    not_resubmitted: int
    newly_rejected: int
    rows: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=DIFF_COLUMNS))

    def as_dict(self) -> dict:
        return {"newly_accepted": self.newly_accepted, "still_rejected": self.still_rejected,
                "not_resubmitted": self.not_resubmitted, "newly_rejected": self.newly_rejected}


def _parse_records(record_json: pd.Series) -> pd.DataFrame:
    if not len(record_json):
        return pd.DataFrame(index=record_json.index)
    df = pd.read_json(io.StringIO("\n".join(record_json.astype("str"))), lines=True, dtype=False,
                      convert_dates=False)
    df.index = record_json.index
    return df


def _day(s: pd.Series | None, n: int, index) -> pd.Series:
    if s is None:
        return pd.Series([""] * n, index=index)
    return pd.to_datetime(s, errors="coerce").dt.strftime("%Y-%m-%d").fillna("").astype("str")


def _loose_key(entity: str, df: pd.DataFrame) -> pd.Series:
    pid = df["patient_id"].astype("str")
    if entity == "elisa":
        return pid + "|" + _day(df.get("trough_sample_datetime"), len(df), df.index)
    if entity == "lab":
        an = df["analyte"].astype("str") if "analyte" in df else ""
        return pid + "|" + an + "|" + _day(df.get("sample_date"), len(df), df.index)
    return pid


def _keys(entity: str, df: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"entity": entity, "key": _loose_key(entity, df), "patient_id": df["patient_id"].astype("str"),
                         "source_line": df["source_line"].astype("int64")}, index=df.index)


def resubmission_diff(previous_rejected: pd.DataFrame, result) -> ResubmissionDiff:
    """Compare the earlier quarantined rows with a new file's :class:`~validators.ValidationResult`."""
    prev_parts, acc_parts, rej_parts = [], [], []
    prev = previous_rejected if previous_rejected is not None else pd.DataFrame(columns=["entity", "record_json"])
    for ent, grp in prev.groupby("entity", sort=False):
        rec = _parse_records(grp["record_json"])
        if "patient_id" not in rec:
            rec["patient_id"] = grp["patient_id"]
        if "source_line" not in rec:
            rec["source_line"] = grp["source_line"]
        k = _keys(str(ent), rec)
        k["previous_reasons"] = grp["reasons"].astype("str")
        prev_parts.append(k)
    for ent, df in result.accepted.items():
        if len(df):   # a DataFrame, or an Arrow table from the columnar path
            acc_parts.append(_keys(ent, df if isinstance(df, pd.DataFrame) else df.to_pandas()))
    rj = result.rejected
    for ent, grp in rj.groupby("entity", sort=False):
        rec = _parse_records(grp["record_json"])
        for c in ("patient_id", "source_line"):
            rec[c] = grp[c]
        k = _keys(str(ent), rec)
        k["reasons"] = grp["reasons"].astype("str")
        rej_parts.append(k)

    def cat(parts, extra):
        if parts:
            return pd.concat(parts, ignore_index=True)
        return pd.DataFrame(columns=["entity", "key", "patient_id", "source_line", *extra])

    p, a, r = cat(prev_parts, ["previous_reasons"]), cat(acc_parts, []), cat(rej_parts, ["reasons"])
    # A previous ELISA whose sample day itself changed is matched on the patient alone.
    p = p.drop_duplicates(["entity", "key"], keep="last")
    a1 = a.drop_duplicates(["entity", "key"])[["entity", "key", "source_line"]]
    r1 = r.drop_duplicates(["entity", "key"])[["entity", "key", "source_line", "reasons"]]
    m = p.rename(columns={"source_line": "previous_source_line"}).merge(
        a1.rename(columns={"source_line": "acc_line"}), on=["entity", "key"], how="left").merge(
        r1.rename(columns={"source_line": "rej_line"}), on=["entity", "key"], how="left")
    status = pd.Series("not_resubmitted", index=m.index, dtype="object")
    status[m["rej_line"].notna()] = "still_rejected"
    status[m["acc_line"].notna()] = "newly_accepted"
    m["status"] = status
    m["source_line"] = m["acc_line"].fillna(m["rej_line"]).astype("Int64")
    new_rej = r[~pd.MultiIndex.from_frame(r[["entity", "key"]]).isin(pd.MultiIndex.from_frame(p[["entity", "key"]]))] \
        if len(r) and len(p) else r
    new_rows = pd.DataFrame({"entity": new_rej["entity"], "patient_id": new_rej["patient_id"], "key": new_rej["key"],
                             "status": "newly_rejected", "previous_source_line": pd.NA,
                             "source_line": new_rej["source_line"], "previous_reasons": None,
                             "reasons": new_rej.get("reasons")})
    rows = pd.concat([m.reindex(columns=DIFF_COLUMNS), new_rows.reindex(columns=DIFF_COLUMNS)], ignore_index=True)
    rows["previous_source_line"] = rows["previous_source_line"].astype("Int64")
    rows["source_line"] = rows["source_line"].astype("Int64")
    # counted in source lines, as the file's own counts are: one corrected wide line is one line, not
    # the nine records it carries (the earlier file's line for records not sent again)
    line = rows["source_line"].where(rows["status"] != "not_resubmitted", rows["previous_source_line"])
    counts = rows.assign(_line=line).dropna(subset=["_line"]).groupby("status")["_line"].nunique()
    return ResubmissionDiff(
        newly_accepted=int(counts.get("newly_accepted", 0)), still_rejected=int(counts.get("still_rejected", 0)),
        not_resubmitted=int(counts.get("not_resubmitted", 0)), newly_rejected=int(counts.get("newly_rejected", 0)),
        rows=rows)


__all__ = ["ResubmissionDiff", "resubmission_diff", "DIFF_COLUMNS", "STATUSES"]
