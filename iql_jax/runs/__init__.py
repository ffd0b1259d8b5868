"""Runs: the run directory (``rundir``), the one driver (``loop``), offline training and fine-tuning as runs,
evaluation of saved runs, logs, plots and reports."""

from iql_jax.runs.evaluate import RunEvaluation, evaluate_run
from iql_jax.runs.finetune_run import finetune_run, resume_finetune
from iql_jax.runs.loop import RunResult
from iql_jax.runs.report import write_report
from iql_jax.runs.rundir import (FinetuneRecord, LoadedRun, RunRecord, latest_checkpoint, list_checkpoints,
                                 load_member, load_run)
from iql_jax.runs.summary import summarize, write_outputs
from iql_jax.runs.trainer import Population, fit, resume, train

__all__ = ["FinetuneRecord", "LoadedRun", "Population", "RunEvaluation", "RunRecord", "RunResult", "evaluate_run",
           "finetune_run", "fit", "latest_checkpoint", "list_checkpoints", "load_member", "load_run", "resume",
           "resume_finetune", "summarize", "train", "write_outputs", "write_report"]
