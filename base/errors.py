"""One small hierarchy of user-facing errors.

Every error carries structured context (file, line, column, value, a stable ``code``) so callers
branch on codes, not message text, and the CLI turns any of them into one clear message.
Errors are split into *terminal* (bad input: retrying cannot help) and *transient* (a lock, a
file still being written: retry later).  They pickle, so they cross process boundaries intact.
"""

from __future__ import annotations

from typing import Any


class TdmError(Exception):
    """Base class: a problem a user can understand and act on."""

    code: str = "tdm_error"
    transient: bool = False

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        value: Any = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.file = file
        self.line = line
        self.column = column
        self.value = value
        self.hint = hint

    def __reduce__(self):  # keep context when pickled (Prefect, multiprocessing)
        return (
            _rebuild,
            (type(self), self.message, self.code, self.file, self.line, self.column, self.value, self.hint),
        )

    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(str(self.file))
        if self.line is not None:
            parts.append(f"line {self.line}")
        if self.column:
            parts.append(f"column '{self.column}'")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{where}: {self.message}" if where else self.message
        if self.value is not None:
            text += f" (value: {self.value!r})"
        if self.hint:
            text += f". Fix: {self.hint}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "value": None if self.value is None else str(self.value),
            "hint": self.hint,
        }


def _rebuild(cls, message, code, file, line, column, value, hint):
    return cls(message, code=code, file=file, line=line, column=column, value=value, hint=hint)


class ConfigError(TdmError):
    """A centre profile or setting is invalid."""

    code = "config_error"


class HomeNotFound(ConfigError):
    """The TDM home is missing or was never initialised (only ``tdm init`` creates one)."""

    code = "no_home"

    def __init__(self, home, **kwargs) -> None:
        super().__init__(f"no TDM home at {home} (run 'tdm init' first)", **kwargs)
        self.home = str(home)

    def __reduce__(self):
        return (HomeNotFound, (self.home,))


class FileRejected(TdmError):
    """A whole file cannot be used (unreadable, wrong centre, required column missing...)."""

    code = "file_rejected"


class MappingError(FileRejected):
    """A column or code in a centre's export cannot be mapped to the harmonised schema."""

    code = "mapping_error"


class PrivacyError(FileRejected):
    """A file carries direct identifiers; it is rejected before anything is stored."""

    code = "direct_identifier"


class WarehouseError(TdmError):
    """The warehouse cannot be opened, migrated or written."""

    code = "warehouse_error"


class WarehouseBusy(WarehouseError):
    """Another writer holds the lake (its lock, or a conflicting commit); retry later."""

    code = "warehouse_busy"
    transient = True


class FileNotReady(TdmError):
    """A file is still being written; pick it up on a later pass."""

    code = "file_not_ready"
    transient = True


class ReadOnlyViolation(TdmError):
    """An analyst query tried to write."""

    code = "read_only"


class QueryError(TdmError):
    """A data-clarification query cannot be found or changed as asked."""

    code = "query_error"


class QueryNotFound(QueryError):
    """No such query (or not one of the asking centre's)."""

    code = "query_not_found"


class QueryStateError(QueryError):
    """The change is not allowed from the query's current state (e.g. closing an open query)."""

    code = "query_state"


class AnalysisError(TdmError):
    """An analysis cannot be computed on the given data (too few cases, one class only...)."""

    code = "analysis_error"


__all__ = [
    "TdmError",
    "ConfigError",
    "HomeNotFound",
    "FileRejected",
    "MappingError",
    "PrivacyError",
    "WarehouseError",
    "WarehouseBusy",
    "FileNotReady",
    "ReadOnlyViolation",
    "QueryError",
    "QueryNotFound",
    "QueryStateError",
    "AnalysisError",
]
