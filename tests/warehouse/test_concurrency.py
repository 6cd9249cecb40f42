"""An analyst's query in a second process succeeds while a long ingestion holds the writer, and sees
every file the writer has committed (no read copy in between)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

from warehouse.readonly import run_readonly_query

WRITER = """
import os, sys, time
sys.path.insert(0, {root!r})
from warehouse.lake import open_writer
from warehouse.load import load_file, reserve_file_id
from tests.factories import accepted_result, file_meta, frame, patient
from base.config import load_settings
s = load_settings({home!r})
with open_writer(s.lake, home=s.home) as con:
    for batch in range(300):   # bounded: about a minute at most
        if os.path.exists({stop!r}):
            break
        rows = [patient(f"B{{batch}}P{{i}}") for i in range(500)]
        load_file(con, reserve_file_id(con), file_meta(checksum=str(batch)), accepted_result({{"patient": frame("patient", rows)}}))
        print("loaded", batch, flush=True)
        time.sleep(0.2)
"""

READER = """
import sys
sys.path.insert(0, {root!r})
from base.config import load_settings
from warehouse.readonly import run_readonly_query
print(int(run_readonly_query(load_settings({home!r}).lake, "SELECT count(*) AS n FROM core.patients")["n"].iloc[0]))
"""


def test_query_during_ingestion_succeeds(warehouse, tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    home, stop = str(warehouse.home), str(tmp_path / "stop")
    code = textwrap.dedent(WRITER.format(root=root, home=home, stop=stop))
    writer = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout.readline().startswith("loaded 0")  # the writer holds the file now
        seen = []
        committed = 1
        for _ in range(3):
            out = subprocess.run([sys.executable, "-c", textwrap.dedent(READER.format(root=root, home=home))],
                                 capture_output=True, text=True, timeout=60)
            assert out.returncode == 0, out.stderr
            seen.append(int(out.stdout.strip()))
            assert seen[-1] >= 500 * committed      # at least every batch committed before the query began
            committed = 1 + int(writer.stdout.readline().split()[1])
            time.sleep(0.3)
        assert writer.poll() is None, "the writer should still be running during the queries"
        assert all(n % 500 == 0 and n >= 500 for n in seen)
        assert seen == sorted(seen)
    finally:
        open(stop, "w").close()
        out, _ = writer.communicate(timeout=60)
    assert writer.returncode == 0
    last = [int(line.split()[1]) for line in out.splitlines() if line.startswith("loaded")]
    batches = 1 + (last[-1] if last else committed - 1)
    n = int(run_readonly_query(warehouse.lake, "SELECT count(*) AS n FROM core.patients")["n"].iloc[0])
    assert n == 500 * batches
