"""The drop zone's own checks as plain functions: the upload's name, its size, never replacing a file."""

from __future__ import annotations

import asyncio

import pytest

from base.config import load_settings
from tdm.web.dropzone import UploadRefused, check_upload_name, receive_upload


@pytest.mark.parametrize("name, code", [
    ("", "upload_no_name"), ("   ", "upload_no_name"),
    ("../smc.csv", "upload_bad_name"), ("a\\b.csv", "upload_bad_name"), ("..", "upload_bad_name"),
    ("x\x00.csv", "upload_bad_name"), ("x\u202e.csv", "upload_bad_name"), ("x\n.csv", "upload_bad_name"),
    (" x.csv", "upload_bad_name"),
    (".x.csv", "upload_temporary_name"), ("x.csv.part", "upload_temporary_name"), ("~$x.xlsx", "upload_temporary_name"),
    ("x.csv.crdownload", "upload_temporary_name"),
    ("a" * 600 + ".csv", "upload_bad_name"),
])
def test_names_ingestion_could_not_take_are_refused_with_the_reason(name, code):
    with pytest.raises(UploadRefused) as e:
        check_upload_name(name)
    assert e.value.code == code and e.value.hint


@pytest.mark.parametrize("name", ["smc_export.csv", "SCH IFX 2026-11.xlsx", "서울_tdm.csv", "a.b-c_d.csv"])
def test_ordinary_export_names_pass_unchanged(name):
    assert check_upload_name(name) == name


async def _chunks(*parts: bytes):
    for p in parts:
        yield p


def _receive(settings, name, parts, limit=1 << 20):
    return asyncio.run(receive_upload(settings, "smc", name, _chunks(*parts), limit))


def test_an_upload_is_written_whole_under_its_name(tmp_path):
    s = load_settings(tmp_path / "home")
    path = _receive(s, "smc_x.csv", [b"a,b\n", b"1,2\n"])
    assert path == s.centre_inbox("smc") / "smc_x.csv" and path.read_bytes() == b"a,b\n1,2\n"
    assert [p.name for p in s.centre_inbox("smc").iterdir()] == ["smc_x.csv"]       # no .part left


def test_a_waiting_file_of_the_same_name_is_never_replaced(tmp_path):
    s = load_settings(tmp_path / "home")
    _receive(s, "smc_x.csv", [b"first\n"])
    with pytest.raises(UploadRefused) as e:
        _receive(s, "smc_x.csv", [b"second\n"])
    assert e.value.status == 409 and (s.centre_inbox("smc") / "smc_x.csv").read_bytes() == b"first\n"
    assert len(list(s.centre_inbox("smc").iterdir())) == 1


def test_an_upload_over_the_limit_leaves_nothing(tmp_path):
    s = load_settings(tmp_path / "home")
    with pytest.raises(UploadRefused) as e:
        _receive(s, "smc_big.csv", [b"x" * 600, b"x" * 600], limit=1000)
    assert e.value.status == 413 and e.value.code == "upload_too_large"
    assert list(s.centre_inbox("smc").iterdir()) == []
