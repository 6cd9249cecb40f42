"""Fixtures for the centre adapter tests: built-in profiles, a key, synthetic exports."""

from __future__ import annotations

import pytest

KEY = b"test-pseudonym-key-0123456789abcdef"


@pytest.fixture(scope="session")
def profiles():
    from centres import builtin_profiles

    return builtin_profiles()


@pytest.fixture(scope="session")
def key():
    return KEY


@pytest.fixture(scope="session")
def clean_exports(tmp_path_factory, profiles):
    """A clean synthetic cohort (all three centres) written in each centre's format."""
    from synth import generate_cohort, write_exports

    cohort = generate_cohort(240, ("smc", "sch", "knuh"), seed=11)
    out = tmp_path_factory.mktemp("clean")
    manifest = write_exports(cohort, profiles, out, error_rate=0.0)
    return cohort, manifest
