"""Analysis flow: rerun the study's analyses on the current cohort and publish a new version."""

from __future__ import annotations

from prefect import flow, get_run_logger, task

from base.config import load_settings
from flows.artifacts import publish_cutoff_artifact
from flows.retry import only_transient
from flows.run_options import FLOW_OPTIONS, TASK_OPTIONS
from publication import build_publication


@task(name="build-publication", retries=3, retry_delay_seconds=[2, 5, 10], retry_condition_fn=only_transient,
      **TASK_OPTIONS)
def publication_task(home: str | None, parameters: dict):
    return build_publication(load_settings(home), parameters=parameters)


@flow(name="tdm-analyse", **FLOW_OPTIONS)
def analyse_flow(home: str | None = None, seed: int | None = None, target_specificity: float = 0.8,
                 bootstrap_resamples: int = 2000, publish_artifacts: bool = True):
    """Build the analysis cohort snapshot, run the analytics and publish them (tables, files, figures).

    ``seed`` seeds the bootstrap; when None one is drawn and recorded with the publication."""
    logger = get_run_logger()
    params = {"seed": seed, "target_specificity": target_specificity, "bootstrap_resamples": bootstrap_resamples}
    summary = publication_task(home, params)
    if publish_artifacts:
        cutoffs = getattr(summary, "cutoff_table", None)
        if cutoffs is not None:
            publish_cutoff_artifact(summary.publication_id, cutoffs, getattr(summary, "report_path", None))
    logger.info("published %s", getattr(summary, "publication_id", "?"))
    return summary
