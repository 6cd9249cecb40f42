"""Only transient failures are retried: a busy warehouse is, bad input is not."""

from __future__ import annotations

from types import SimpleNamespace

from flows.retry import only_transient
from base.errors import FileRejected, WarehouseBusy


def _state(exc):
    def result():
        raise exc
    return SimpleNamespace(result=result)


def test_retry_only_transient_errors():
    assert only_transient(None, None, _state(WarehouseBusy("locked"))) is True
    assert only_transient(None, None, _state(FileRejected("bad file"))) is False
    assert only_transient(None, None, _state(KeyError("bug"))) is False
