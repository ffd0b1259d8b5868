"""One job of a sweep, where it runs (a Ray worker or the sweep's own process): skip it, start it or resume it.

The job's directory says what to do:

* ``summary.json`` and a checkpoint at the last step: the job is finished and **skipped**;
* ``config.json`` but not finished: it is **resumed** with :func:`iql_jax.runs.resume`, bit-exactly, from its
  newest checkpoint (from step 0 when it died before the first one: the same run, since training is a function of
  the config alone);
* nothing, or a directory holding only the lock of a process that died before writing ``config.json``: it is
  trained from scratch (**done**).

Every failure is caught here and returned as a :class:`JobOutcome` with its one-line message, so one bad job never
stops the others.
"""

from __future__ import annotations

import os
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from iql_jax.errors import IQLError, RunStopped, user_fault
from iql_jax.runs import resume, train
from iql_jax.runs.lock import RunLock
from iql_jax.runs.rundir import CONFIG_FILE, LOCK_FILE, SUMMARY_FILE, RunRecord, latest_checkpoint
from iql_jax.sweeps.plan import Job
from iql_jax.testing import stopping_at


@dataclass(frozen=True)
class JobOutcome:
    """How a job ended: ``status`` is ``done`` (trained now), ``resumed``, ``skipped`` (finished before) or
    ``failed`` (``error`` says why; ``user_error`` False marks a bug, whose ``traceback`` is kept)."""

    name: str
    status: str
    step: int = 0
    seconds: float = 0.0
    error: str | None = None
    user_error: bool = True
    traceback: str | None = None


class SimulatedKill(IQLError):
    """Raised in-process by the ``crash_at`` fault hook, where exiting would end the whole sweep."""


def job_status(run_dir: Path) -> str:
    """``"finished"``, ``"unfinished"`` (has ``config.json``) or ``"new"`` (see the module docstring)."""
    if not (run_dir / CONFIG_FILE).is_file():
        return "new"
    latest = latest_checkpoint(run_dir)
    steps = RunRecord.read(run_dir).config.run.steps
    done = latest is not None and latest[0] == steps and (run_dir / SUMMARY_FILE).is_file()
    return "finished" if done else "unfinished"


def run_job(job: Job, sweep: list[dict], *, progress: bool = False, crash_at: int | None = None,
            in_worker: bool = False) -> JobOutcome:
    """Skip, train or resume ``job`` (see the module docstring) and say how it went; never raises.

    Args:
        sweep: the settings every job trains (``runs.train``'s ``sweep``).
        progress: show the run's own progress bar (in-process jobs; Ray jobs are followed by the driver).
        crash_at: the test hook :func:`iql_jax.testing.crashing` sets for this job: stop right after the checkpoint
            at this step, as if killed there. In a worker the process exits at once (``os._exit``, no cleanup),
            in-process :class:`SimulatedKill` is raised.
        in_worker: the job runs in a process of its own (a Ray worker).
    """
    start = time.perf_counter()
    run_dir = job.run_dir
    try:
        status = job_status(run_dir)
        if status == "finished":
            return JobOutcome(job.name, "skipped", job.config.run.steps, time.perf_counter() - start)
        with stopping_at(crash_at):
            if status == "new":
                _clear_unwritten(run_dir)
                result = train(job.config, sweep=sweep, progress=progress)
            else:
                result = resume(run_dir, progress=progress)
        if result.step < job.config.run.steps:  # only the fault hook stops a run early
            if in_worker:
                os._exit(70)
            raise SimulatedKill(f"stopped after the checkpoint at step {result.step} by the crash_at fault hook "
                                "(iql_jax.testing.crashing)")
        return JobOutcome(job.name, "done" if status == "new" else "resumed", result.step,
                          time.perf_counter() - start)
    except RunStopped:  # SIGTERM / SIGINT stop the whole sweep, not just this job
        raise
    except Exception as e:  # noqa: BLE001 - every failure becomes this job's outcome; the other jobs go on
        message = str(e) if isinstance(e, IQLError) else user_fault(e)
        bug = message is None
        return JobOutcome(job.name, "failed", _done_steps(run_dir), time.perf_counter() - start,
                          error=f"unexpected {type(e).__name__}: {e}" if bug else message, user_error=not bug,
                          traceback=traceback.format_exc() if bug else None)


def _clear_unwritten(run_dir: Path) -> None:
    """Remove a directory claimed by a run that died before writing ``config.json`` (it holds nothing but the
    lock), so the job can claim it afresh; anything else there is left alone and refused."""
    if not run_dir.exists():
        return
    if set(os.listdir(run_dir)) - {LOCK_FILE}:
        raise IQLError(f"{run_dir}: exists but is not a run directory (no {CONFIG_FILE}); move it away or "
                       "choose another --out")
    RunLock(run_dir).release()  # refused, naming the pid, while the process that claimed it still runs
    (run_dir / LOCK_FILE).unlink(missing_ok=True)
    run_dir.rmdir()


def _done_steps(run_dir: Path) -> int:
    try:
        latest = latest_checkpoint(run_dir)
    except OSError:
        return 0
    return 0 if latest is None else latest[0]
