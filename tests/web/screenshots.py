"""Regenerate the README's screenshots of the web app: ``python -m tests.web.screenshots docs/img``.

Builds a throw-away home with the test fixtures (synthetic exports, one account per role), serves it
on loopback and photographs the main pages with headless chromium.  Not a test: run it by hand when
the pages change, and commit the PNGs.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
import time
from pathlib import Path

PAGES = [  # (file, user, path, full page)
    ("web-centre.png", "dm.smc", "/centres/smc", False),
    ("web-file.png", "dm.smc", "/centres/smc/files/{smc_file}", False),
    ("web-queries.png", "dm.smc", "/centres/smc/queries", False),
    ("web-coordinator.png", "coord", "/centres", False),
    ("web-coordinator-queries.png", "coord", "/queries", False),
    ("web-publication.png", "analyst", "/publications/{pid}", False),
]


def _shrink(path: Path) -> None:
    """A 64-colour palette PNG: the pages are flat colours, so this keeps them sharp at a third the size."""
    from PIL import Image

    with Image.open(path) as img:
        img.convert("RGB").quantize(colors=64, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)


def _answer_some(settings) -> None:
    """Answer two of smc's queries, so the coordinator's page has answers waiting."""
    from warehouse import queries as Q

    with Q.write_session(settings) as con:
        open_ = Q.list_queries(con, centre_id="smc", states="open")
        warning = next(q for q in open_ if q.severity == "warning")
        error = next(q for q in open_ if q.severity == "error")
        Q.answer_query(con, warning.query_id, answer="confirmed", reason="checked in the patient's chart",
                       actor="dm.smc (centre data manager)", centre_id="smc")
        Q.answer_query(con, error.query_id, answer="will_correct", reason="corrected export follows",
                       actor="dm.smc (centre data manager)", centre_id="smc")


def main(out: Path) -> None:
    import uvicorn
    from playwright.sync_api import sync_playwright

    from tests.web.conftest import CHROMIUM_FLAGS, HOST, KEY, PASSWORD, _free_port, make_home
    from tdm.web.app import create_app

    os.environ.setdefault("TDM_PSEUDONYM_KEY", KEY)
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        home = make_home(Path(tmp), with_publication=True)
        _answer_some(home.settings)
        port = _free_port()
        server = uvicorn.Server(uvicorn.Config(create_app(home.settings), host=HOST, port=port, log_level="warning"))
        threading.Thread(target=server.run, daemon=True).start()
        while not server.started:
            time.sleep(0.05)
        base = f"http://{HOST}:{port}"
        values = {"smc_file": home.files["smc"]["file_id"], "pid": home.publication_id}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
            for name, user, path, full in PAGES:
                ctx = browser.new_context(viewport={"width": 1440, "height": 800})
                page = ctx.new_page()
                page.goto(f"{base}/login")
                page.fill("#username", user)
                page.fill("#password", PASSWORD)
                page.click("#sign-in")
                page.goto(base + path.format(**values))
                page.screenshot(path=str(out / name), full_page=full)
                _shrink(out / name)
                ctx.close()
                print("wrote", out / name)
            browser.close()
        server.should_exit = True


if __name__ == "__main__":
    if len(sys.argv) != 2 or not re.match(r"^[\w./-]+$", sys.argv[1]):
        sys.exit("usage: python -m tests.web.screenshots OUT_DIR")
    main(Path(sys.argv[1]))
