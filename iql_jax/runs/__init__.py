"""Runs: run directories, the training loop, checkpoints with exact resume, evaluation of saved runs, logs, plots and
reports."""

from iql_jax.runs.checkpoint import latest_checkpoint, list_checkpoints, load_checkpoint, save_checkpoint
from iql_jax.runs.evaluate import RunEvaluation, evaluate_run
from iql_jax.runs.report import write_report
from iql_jax.runs.summary import summarize, write_outputs
from iql_jax.runs.trainer import RunResult, load_run, resume, train

__all__ = ["RunEvaluation", "RunResult", "evaluate_run", "latest_checkpoint", "list_checkpoints", "load_checkpoint",
           "load_run", "resume", "save_checkpoint", "summarize", "train", "write_outputs", "write_report"]
