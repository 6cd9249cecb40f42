"""Fixtures shared by the validator tests."""

from __future__ import annotations

import time

import pytest

from tests.validators.factory import ctx, make_frames


@pytest.fixture(scope="session")
def big_result():
    """A 100,000-line wide file (no labs) with 5 % bad lines (SES-CD 99), validated once: (result, seconds)."""
    from validators import validate_file

    f = make_frames(100_000, labs=False)
    a = f["assessment"].copy()
    a.loc[a.index[::20], "ses_cd_total"] = 99
    f["assessment"] = a
    t0 = time.perf_counter()
    r = validate_file(f, None, ctx())
    return r, time.perf_counter() - t0
