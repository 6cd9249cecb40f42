"""``tdm status``: what arrived, what loaded, what was rejected, and the last publication."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from rich.console import Console
from rich.table import Table

from base.config import Settings
from ingestion import held_centres
from warehouse.lake import lake_exists, open_reader


@dataclass(frozen=True)
class Status:
    home: str
    centres: list[str]
    files: pd.DataFrame
    last_publication: dict | None
    warehouse_ready: bool
    held: tuple[str, ...] = ()      # centres whose profile is invalid: their files wait (one line each)


def collect_status(settings: Settings) -> Status:
    centres = sorted(p.stem for p in settings.centres_dir.glob("*.yaml")) if settings.centres_dir.exists() else []
    held = tuple(h.line() for h in held_centres(settings))
    if not lake_exists(settings.lake):
        return Status(str(settings.home), centres, pd.DataFrame(), None, False, held)
    con = open_reader(settings.lake)
    try:
        files = con.execute(
            """SELECT centre_id,
                      count(*) AS files,
                      count(*) FILTER (WHERE status IN ('loaded', 'loaded_with_rejections')) AS loaded,
                      count(*) FILTER (WHERE status = 'rejected') AS rejected,
                      count(*) FILTER (WHERE status = 'duplicate') AS duplicates,
                      CAST(coalesce(sum(rows_loaded), 0) AS BIGINT) AS rows_loaded,
                      CAST(coalesce(sum(rows_rejected), 0) AS BIGINT) AS rows_rejected,
                      strftime(max(received_at), '%Y-%m-%d %H:%M') AS last_received
               FROM ingest.files GROUP BY centre_id ORDER BY centre_id"""
        ).df()
        pub = con.execute(
            "SELECT publication_id, created_at, n_patients, folder FROM published.publications "
            "ORDER BY created_at DESC LIMIT 1"
        ).df()
    finally:
        con.close()
    last = None if pub.empty else pub.iloc[0].to_dict()
    return Status(str(settings.home), centres, files, last, True, held)


def render_status(status: Status) -> None:
    console = Console(highlight=False)
    console.print(f"home: {status.home}", soft_wrap=True)
    if not status.warehouse_ready:
        console.print("warehouse: not initialised (run 'tdm init')")
        return
    console.print(f"centres configured: {', '.join(status.centres) or 'none'}")
    for line in status.held:
        console.print(f"held: {line}", highlight=False, markup=False, soft_wrap=True)
    table = Table(title="files by centre")
    for col in ["centre", "files", "loaded", "rejected", "duplicates", "rows loaded", "rows rejected", "last received"]:
        table.add_column(col, overflow="fold")   # fold, never truncate
    for row in status.files.itertuples(index=False):
        table.add_row(*[str(x) for x in row])
    console.print(table)
    if status.last_publication:
        p = status.last_publication
        console.print(f"last publication: {p['publication_id']} at {p['created_at']} "
                      f"({p['n_patients']} patients) in {p['folder']}")
    else:
        console.print("last publication: none yet")
