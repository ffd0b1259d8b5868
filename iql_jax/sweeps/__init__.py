"""Sweeps and benchmark suites: one job per (dataset, preset), each job one vmapped population (seeds × sweep
settings) in an ``iql train`` run directory, run as Ray tasks (locally or on a cluster) or one after another in
this process, resumable, with one combined report.

``plan`` (jobs, ``sweep.json``), ``job`` (skip / train / resume one job), ``executors`` (Ray, in-process) and
``run`` (:func:`run_sweep`, the combined report).
"""

from iql_jax.sweeps.job import JobOutcome
from iql_jax.sweeps.plan import SWEEP_FILE, Job, plan_jobs
from iql_jax.sweeps.run import SweepResult, run_sweep

__all__ = ["SWEEP_FILE", "Job", "JobOutcome", "SweepResult", "plan_jobs", "run_sweep"]
