"""DuckDB's extensions for the lake, loaded offline from their PyPI packages.

``duckdb-extension-ducklake``, ``-sqlite``, ``-postgres-scanner`` and ``-httpfs`` ship signed binaries
for one DuckDB version each; when the running DuckDB's is installed it is loaded from the package
(no network), else DuckDB's own ``INSTALL`` is tried, and an error says what to install when neither
works.  The sqlite one must be loaded under the file name ``sqlite_scanner.duckdb_extension``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import duckdb

from base.config import LakeSpec
from base.errors import WarehouseError

# extension name -> (PyPI package, the binary's name in it, the name DuckDB must load it under:
# an extension's entry point is named after its file, and the sqlite one's is sqlite_scanner)
EXTENSIONS = {"ducklake": ("duckdb_extension_ducklake", "ducklake", "ducklake"),
              "sqlite": ("duckdb_extension_sqlite", "sqlite", "sqlite_scanner"),
              "postgres": ("duckdb_extension_postgres_scanner", "postgres_scanner", "postgres_scanner"),
              "httpfs": ("duckdb_extension_httpfs", "httpfs", "httpfs")}
NO_AUTOLOAD = {"autoload_known_extensions": False, "autoinstall_known_extensions": False}


def packaged_extension(name: str, version: str = duckdb.__version__) -> Path | None:
    """The binary a PyPI extension package ships for this DuckDB version (None: not installed or
    built for another version)."""
    package, stem, _ = EXTENSIONS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "extensions" / f"v{version}" / f"{stem}.duckdb_extension"
    return path if path.is_file() else None


def loadable(name: str, binary: Path) -> Path:
    """``binary`` under the file name DuckDB derives the entry point from (a symlink in a
    per-user cache folder when the package's name differs)."""
    _, stem, load_name = EXTENSIONS[name]
    if stem == load_name:
        return binary
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "tdm" / f"duckdb-v{duckdb.__version__}"
    link = folder / f"{load_name}.duckdb_extension"
    if not (link.is_symlink() and Path(os.readlink(link)) == binary):
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{load_name}.{os.getpid()}"
        tmp.unlink(missing_ok=True)
        os.symlink(binary, tmp)
        os.replace(tmp, link)
    return link


def needed_extensions(lake: LakeSpec) -> list[str]:
    """ducklake, the catalog's scanner (sqlite, postgres) and httpfs for data in object storage."""
    catalog = ["sqlite"] if lake.url.startswith("ducklake:sqlite:") else ["postgres"] if lake.postgres_dsn else []
    return ["ducklake", *catalog, *(["httpfs"] if lake.remote_data else [])]


def load_extensions(con: duckdb.DuckDBPyConnection, lake: LakeSpec, names: list[str] | None = None) -> None:
    """LOAD the lake's extensions (:func:`needed_extensions`): from the packages, else by ``INSTALL``."""
    for name in needed_extensions(lake) if names is None else names:
        binary = packaged_extension(name)
        try:
            if binary is not None:
                con.execute(f"LOAD '{loadable(name, binary)}'")
            else:
                con.execute(f"INSTALL {name}")
                con.execute(f"LOAD {name}")
        except duckdb.Error as exc:
            package = EXTENSIONS[name][0].replace("_", "-")
            raise WarehouseError(
                f"cannot load DuckDB's {name} extension: no {package}=={duckdb.__version__} package is installed "
                f"and INSTALL {name} failed ({str(exc).splitlines()[0]})", code="lake_extension",
                hint=f"pip install duckdb=={duckdb.__version__} {package}=={duckdb.__version__} "
                     f"(offline), or allow this machine to reach extensions.duckdb.org") from exc


__all__ = ["EXTENSIONS", "NO_AUTOLOAD", "load_extensions", "loadable", "needed_extensions", "packaged_extension"]
