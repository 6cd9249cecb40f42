"""Exports and error injection: every kind is injected, recorded with its line, and detectable."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from schema.models import entity_model
from centres import adapt_file, builtin_profiles
from synth import ERROR_KINDS, INJECTED_COLUMNS, generate_cohort, write_exports
from tests.synth.synth_detect import detectable

KEY = b"synth-test-key-0123456789abcdef"


@pytest.fixture(scope="module")
def profiles():
    return builtin_profiles()


def _adapt_all(manifest, profiles):
    frames, issues, centre = {}, {}, {}
    for r in manifest.files.itertuples():
        a = adapt_file(r.file, profiles[r.centre_id], KEY)
        frames[r.file_name], issues[r.file_name] = a.frames, a.cell_issues
        for e, df in a.frames.items():
            centre.setdefault(r.centre_id, {}).setdefault(e, []).append(df)
    centre = {c: {e: pd.concat(v, ignore_index=True) for e, v in d.items()} for c, d in centre.items()}
    return frames, issues, centre


@pytest.fixture(scope="module")
def with_errors(tmp_path_factory, profiles):
    cohort = generate_cohort(300, seed=21)
    out = tmp_path_factory.mktemp("errors")
    manifest = write_exports(cohort, profiles, out, error_rate=0.1)
    return cohort, manifest, _adapt_all(manifest, profiles)


def test_error_kinds_are_described():
    assert {"unit_mixup", "code_typo", "swapped_dates", "missing_required", "duplicate_row", "out_of_range_lab",
            "orphan_visit", "trough_after_infusion", "negative_trough"} <= set(ERROR_KINDS)
    assert all(len(d) > 40 for d in ERROR_KINDS.values())


def test_every_kind_is_injected_and_recorded(with_errors):
    cohort, manifest, _ = with_errors
    inj = manifest.injected
    assert list(inj.columns) == INJECTED_COLUMNS
    assert set(inj["kind"]) == set(ERROR_KINDS)
    # wide centres cannot have an orphan visit; every other kind hits every centre
    for centre in ("smc", "sch", "knuh"):
        kinds = set(inj.loc[inj["centre_id"] == centre, "kind"])
        expected = set(ERROR_KINDS) - ({"orphan_visit"} if centre != "knuh" else set())
        assert kinds == expected, centre
    assert inj["source_line"].dtype == "int64" and (inj["source_line"] >= 2).all()
    assert manifest.seed == 21
    # about 10 % of patients, one error each
    assert len(inj) >= 0.1 * len(cohort.patients) - 3
    assert not inj.duplicated(["file", "source_line"]).any()


def test_every_injected_error_is_detectable_at_its_line(with_errors):
    _, manifest, (frames, issues, centre) = with_errors
    missed = [(r.kind, r.file, r.source_line) for r in manifest.injected.itertuples()
              if not detectable(r, {k: v for k, v in frames.items()}, issues, centre[r.centre_id])]
    assert not missed


def test_recorded_lines_point_at_the_changed_cells(with_errors, profiles):
    _, manifest, _ = with_errors
    r = manifest.injected[(manifest.injected["kind"] == "negative_trough")
                          & (manifest.injected["centre_id"] == "smc")].iloc[0]
    lines = open(manifest.files.set_index("file_name").loc[r.file, "file"], encoding="utf-8-sig").read().splitlines()
    header = lines[0].split(",")
    assert lines[r.source_line - 1].split(",")[header.index("trough_ug_ml")].startswith("-")


def test_single_kind_and_clean_output(tmp_path, profiles):
    cohort = generate_cohort(80, seed=8)
    m = write_exports(cohort, profiles, tmp_path / "one", error_rate=0.2, kinds=["code_typo"])
    assert set(m.injected["kind"]) == {"code_typo"}
    clean = write_exports(cohort, profiles, tmp_path / "clean", error_rate=0.0)
    assert clean.injected.empty and list(clean.injected.columns) == INJECTED_COLUMNS
    frames, issues, centre = _adapt_all(clean, profiles)
    assert all(i.empty for i in issues.values())
    for c, d in centre.items():
        for entity, df in d.items():
            entity_model(entity).validate(df, lazy=True)
        assert set(d["assessment"]["patient_id"]) <= set(d["patient"]["patient_id"])
        assert not d["assessment"].duplicated(["patient_id", "colonoscopy_date"]).any()
    with pytest.raises(ValueError, match="unknown error kinds"):
        write_exports(cohort, profiles, tmp_path / "bad", error_rate=0.1, kinds=["gremlins"])


def test_manifest_saves(tmp_path, with_errors):
    cohort, manifest, _ = with_errors
    path = manifest.save(tmp_path / "m")
    meta = json.loads(path.read_text(encoding="utf-8"))
    assert meta["seed"] == 21 and meta["n_injected"] == len(manifest.injected)
    assert pd.read_csv(tmp_path / "m" / "injected.csv").shape[0] == len(manifest.injected)
    cohort.save(tmp_path / "t")
    from synth import Cohort

    back = Cohort.load(tmp_path / "t")
    pd.testing.assert_frame_equal(back.patients, cohort.patients, check_dtype=False)


def test_cli_synth_writes_inbox_truth_and_manifest(warehouse):
    settings = warehouse            # an initialised home (`tdm init`)
    from tdm.cli import main

    rc = main(["synth", "--patients", "40", "--seed", "3", "--errors", "0.1", "--home", str(settings.home)])
    assert rc == 0
    assert any((settings.inbox / "knuh").glob("*lis*.csv"))
    assert any((settings.inbox / "sch").glob("*.xlsx"))
    meta = json.loads((settings.home / "synth" / "manifest.json").read_text(encoding="utf-8"))
    assert meta["seed"] == 3
    assert (settings.home / "synth" / "truth_patient.parquet").exists()
    assert not list(settings.inbox.rglob(".*"))  # no temporary files left behind
    assert main(["centres", "--home", str(settings.home)]) == 0
