"""One-off: record the pandas reference path's outcome over every input of ``tests.one_path.recording``
(run before the pandas harmonise was deleted: ``python -m tests.one_path.record_reference``)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from tests.one_path.differential import reference
from tests.one_path.recording import (KEY, PROFILES, corpus_inputs, outcome_record, save_recording,
                                      synthetic_inputs, synthetic_runs)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        inputs = corpus_inputs(folder / "corpus") + synthetic_inputs(synthetic_runs(folder / "synth")[1])
        records = {}
        for label, path, centre in inputs:
            profile = PROFILES[centre]
            spec = profile.match(path.name)
            if spec is None:
                continue
            o = reference(path, spec, profile, KEY)
            records[label] = outcome_record(o.frames, o.findings, o.error)
        save_recording(records)
        print(len(records), "outcomes recorded", file=sys.stderr)


if __name__ == "__main__":
    main()
