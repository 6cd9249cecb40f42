"""report.pdf: the report printed by headless Chromium (its print stylesheet lays out A4 pages).

Chromium is a system program (Debian's ``chromium``), not a Python dependency: when it is absent
or fails, :func:`write_pdf` says so in its result and the publication goes on without a PDF.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class PdfResult:
    """``path`` of the written PDF, or None with ``message`` saying why there is none."""

    path: Path | None
    message: str


def find_chromium(chromium: str | None = None) -> str | None:
    """``chromium`` (``settings.chromium``, TDM_CHROMIUM) if given ("" disables the PDF), else the
    first Chromium on PATH."""
    if chromium is not None:
        return chromium or None
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def write_pdf(html: Path, pdf: Path, chromium: str | None = None) -> PdfResult:
    """Print ``html`` to ``pdf`` with headless Chromium (``chromium``: as :func:`find_chromium`)."""
    exe = find_chromium(chromium)
    if exe is None:
        return PdfResult(None, "report.pdf not written: no Chromium found (TDM_CHROMIUM, or one of "
                               f"{', '.join(CANDIDATES)} on PATH). Install it (Debian: apt-get install chromium) "
                               "and publish again to get the PDF; report.html has the same content.")
    with tempfile.TemporaryDirectory(prefix="tdm-chromium-") as profile:
        cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--no-first-run", f"--user-data-dir={profile}",
               "--no-pdf-header-footer", f"--print-to-pdf={pdf}", html.resolve().as_uri()]
        try:
            r = subprocess.run(cmd, capture_output=True, text=True, timeout=TIMEOUT_SECONDS)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return PdfResult(None, f"report.pdf not written: {exe} could not print the report ({exc})")
    if r.returncode != 0 or not pdf.exists() or pdf.stat().st_size == 0:
        tail = (r.stderr or "").strip().splitlines()[-3:]
        return PdfResult(None, f"report.pdf not written: {exe} exited with {r.returncode}: {' | '.join(tail)}")
    return PdfResult(pdf, f"report.pdf written by {exe}")
