"""One rule registry: every code the adapters, the dictionary checks and the rules can emit is
registered, every registered code is emitted somewhere, and an unknown code fails."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from centres.cells import CELL_RULES as ADAPTER_CELL_CODES
from base.errors import FileRejected
from validators.registry import RULES, get_rule
from validators.dictionary_checks import CHECK_RULES
from validators.setwise import QUERIES
from validators.setwise.files import FILE_CODES

ROOT = Path(__file__).resolve().parents[2]


def _codes(pattern: str, *globs: str, exclude: tuple[str, ...] = ()) -> dict[str, set[str]]:
    """code -> files, for every match of ``pattern`` (first group) in the files of ``globs``."""
    out: dict[str, set[str]] = {}
    for g in globs:
        for path in ROOT.glob(g):
            if path.name in exclude:
                continue
            for m in re.finditer(pattern, path.read_text(encoding="utf-8")):
                out.setdefault(m.group(1), set()).add(str(path.relative_to(ROOT)))
    return out


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def emitted_codes() -> dict[str, set[str]]:
    """Every rule code the code base can emit, with where it is emitted."""
    found: dict[str, set[str]] = {}

    def add(codes: dict[str, set[str]]) -> None:
        for k, v in codes.items():
            found.setdefault(k, set()).update(v)

    adapters = ("centres/*.py",)
    add(_codes(r'\brule="(\w+)"', *adapters))                                     # cell findings
    add({k: {"centres/cells.py"} for k in ADAPTER_CELL_CODES})
    # file errors of the adapters and of ingestion (a profile's own errors and a missing pseudonym key are configuration)
    add(_codes(r'\bcode="(\w+)"', *adapters, "ingestion/*.py", "validators/*.py", exclude=("profile.py", "privacy.py")))
    add({c.code: {"base/errors.py"} for c in [FileRejected, *_subclasses(FileRejected)]})
    # dictionary checks (pandera failures mapped to rules by check name), the frame assembly in core,
    # the whole-file checks and the set-wise rules
    add({k: {"validators/dictionary_checks.py"} for k in CHECK_RULES.values()})
    add(_codes(r'\bto_issues\("(\w+)"', "validators/core.py", "validators/checks.py", "ingestion/*.py"))
    add({k: {"validators/setwise/files.py"} for k in FILE_CODES})
    add({k: {"validators/setwise"} for k in QUERIES})
    return found


def test_every_emitted_code_is_registered():
    unregistered = {c: sorted(w) for c, w in emitted_codes().items() if c not in RULES}
    assert not unregistered, f"emitted but not registered (add them to validators/registry.py): {unregistered}"


def test_every_registered_code_is_emitted_somewhere():
    never = sorted(set(RULES) - set(emitted_codes()))
    assert not never, f"registered but never emitted (remove them, or emit them): {never}"


def test_the_adapter_cell_codes_are_the_registered_adapter_rules():
    assert set(ADAPTER_CELL_CODES) == {r.name for r in RULES.values() if r.origin == "adapter"}


def test_the_collection_finds_codes_in_each_kind_of_emitter():
    """Guards the greps above: each source of codes yields the codes it is known to emit."""
    found = emitted_codes()
    for code in ("not_a_number", "unknown_unit", "encoding", "field_count", "direct_identifier", "required",
                 "dtype", "not_future", "allowed_codes", "unit_mixup", "missing_column", "date_order",
                 "duplicate_key"):
        assert code in found, code


def test_an_unknown_code_fails():
    with pytest.raises(KeyError, match="unknown rule code 'no_such_rule'"):
        get_rule("no_such_rule")
    assert get_rule("not_a_number").severity == "error"
