"""prefect.yaml deploys: it parses, every entrypoint resolves to a flow, schedules are valid."""

from __future__ import annotations

import importlib
from pathlib import Path

import yaml
from cronsim import CronSim

ROOT = Path(__file__).resolve().parents[2]


def test_every_deployment_entrypoint_resolves_to_a_flow():
    from prefect.flows import Flow

    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    names = set()
    for dep in spec["deployments"]:
        path, func = dep["entrypoint"].split(":")
        assert (ROOT / path).is_file(), path
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        flow = getattr(module, func)
        assert isinstance(flow, Flow), dep["entrypoint"]
        assert dep["work_pool"]["name"] == "tdm-process"
        assert dep["concurrency_limit"] == 1  # one DuckDB writer
        for sched in dep["schedules"]:
            if "cron" in sched:
                CronSim(sched["cron"], __import__("datetime").datetime.now())
            else:
                assert sched["interval"] > 0
        names.add(dep["name"])
    assert {"ingest-every-minute", "analyse-nightly"} <= names
