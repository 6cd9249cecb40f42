"""A publication recomputed as of the lake snapshot it recorded is identical, table for table, even
after a correcting file superseded rows it was computed from (issue 16)."""

from __future__ import annotations

import pytest

from tests.analytics.test_publication import PARAMS, load_cohort, synthetic_cohort
from tests.factories import accepted_result, file_meta, frame


def test_recomputed_as_of_its_snapshot_after_a_correction_is_identical(warehouse):
    from publication import build_publication, read_inputs
    from publication.as_of import recompute_as_of
    from warehouse.lake import open_reader, open_writer
    from warehouse.load import load_file, reserve_file_id

    load_cohort(warehouse, synthetic_cohort(150, 5))
    first = build_publication(warehouse, parameters={**PARAMS, "bootstrap_resamples": 20})
    con = open_reader(warehouse.lake)
    try:
        recorded = con.execute("SELECT lake_snapshot FROM published.publications WHERE publication_id = ?",
                               [first.publication_id]).fetchone()[0]
    finally:
        con.close()
    assert recorded is not None

    # a correcting file: centre c1 sends every record again with other values (same keys: supersedes)
    fix = synthetic_cohort(150, 6)["c1"]
    with open_writer(warehouse.lake, home=warehouse.home) as w:
        out = load_file(w, reserve_file_id(w), file_meta(name="c1-fix.csv", centre="c1", checksum="sum-c1-fix"),
                        accepted_result({e: frame(e, rows) for e, rows in fix.items() if rows}))
    assert out.superseded["patient"] == 50          # every c1 patient row superseded (history kept)
    now, then = read_inputs(warehouse), read_inputs(warehouse, snapshot_version=recorded)
    assert now.lake_snapshot > then.lake_snapshot == recorded
    assert not now.cohort.equals(then.cohort)            # the correction changed the data ...

    again = recompute_as_of(warehouse, first.publication_id)
    assert again.lake_snapshot == recorded
    assert again.identical, again.differences            # ... and the publication is reproduced exactly
    assert set(again.rows) >= {"table1", "table3_final_model", "table4_cutoffs", "bootstrap_cutoffs"}
    assert again.rows["table1"] > 0
    assert f"lake snapshot {recorded} (tdm analyse --as-of {first.publication_id}" in first.report_path.read_text()


def test_an_unknown_publication_is_one_clear_error(warehouse):
    from base.errors import TdmError
    from publication.as_of import recompute_as_of

    with pytest.raises(TdmError, match="there is no publication pub-nope"):
        recompute_as_of(warehouse, "pub-nope")
