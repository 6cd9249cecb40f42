"""Ingestion: every file, clean or not, large or small, through one pipeline (docs/ONE_PATH.md).

``discovery``  inbox files that are complete (size and mtime stable), skipping temporary names,
               symlinks and anything outside a configured centre's inbox; held centres; order.
``pipeline``   ``prepare`` (lock-free: still as discovered, checksum, export pattern) and the per-file
               pipeline: read + harmonise -> checks -> set-wise decision, each stage on DuckDB tables.
``writer``     ``commit``, the single-writer stage: under the lock, in ONE transaction, claim the file, run the
               pipeline with the live warehouse as context, write the report, load, record.
``passes``     ``setup`` and ``run_pass`` with plain calls (the Prefect flow wires the same stages).
``files``, ``context``, ``read``: file identity and outcomes, the warehouse context, the reading bridge.

A file that fails anywhere ends as a row in ``ingest.files`` with a specific message and a report;
one bad file never stops the others.
"""

from ingestion.writer import WRITE_LOCK, commit, process_file, write_report
from ingestion.context import load_context, other_centre_patients, unit_reference
from ingestion.discovery import (DEFAULT_STABLE_SECONDS, KIND_ORDER, TEMPORARY_PATTERNS, Candidate, Discovery, Held,
                                  discover, group_by_centre, held_centres, is_temporary, order_candidates, plan_pass)
from ingestion.files import (DIRECT_IDENTIFIER, MAX_NAME_BYTES, Committed, archive_file, deferred, report_stem,
                              sha256_file, short_name, unchanged_since_discovery)
from ingestion.passes import process_file_guarded, publish_held, run_pass, setup
from ingestion.pipeline import Prepared, decide_file, dry_run, prepare

__all__ = ["Candidate", "Committed", "DEFAULT_STABLE_SECONDS", "DIRECT_IDENTIFIER", "Discovery", "Held", "KIND_ORDER",
           "MAX_NAME_BYTES", "Prepared", "TEMPORARY_PATTERNS", "WRITE_LOCK", "archive_file", "commit", "decide_file",
           "deferred", "discover", "dry_run", "group_by_centre", "held_centres", "is_temporary", "load_context",
           "order_candidates", "other_centre_patients", "plan_pass", "prepare", "process_file",
           "process_file_guarded", "publish_held", "report_stem", "run_pass", "setup", "sha256_file", "short_name",
           "unchanged_since_discovery", "unit_reference", "write_report"]
