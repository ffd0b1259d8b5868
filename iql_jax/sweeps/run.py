"""``run_sweep``: plan the jobs, check them against ``sweep.json``, run them (Ray, or in-process), then write the
combined report and score plot of every finished job in OUT."""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

from tqdm.auto import tqdm

from iql_jax.config import TrainConfig
from iql_jax.errors import ConfigError
from iql_jax.runs.plots import plot_scores
from iql_jax.runs.report import write_report
from iql_jax.runs.rundir import SUMMARY_FILE
from iql_jax.sweeps.executors import INSTALL_RAY, check_reachable, ray_available, run_local, run_ray
from iql_jax.sweeps.job import JobOutcome
from iql_jax.sweeps.plan import Job, plan_jobs, record_sweep, settings_of, shared_options
from iql_jax.testing import crash_step

REPORT_FILE, PLOT_FILE = "report.md", "scores.png"


@dataclass
class SweepResult:
    """What a sweep did: every job's outcome (in job order), the executor used, and the combined outputs (None when
    no job has finished)."""

    out: Path
    executor: str
    outcomes: list[JobOutcome]
    seconds: float
    report: Path | None = None
    report_csv: Path | None = None
    plot: Path | None = None

    @property
    def failed(self) -> list[JobOutcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    def summary_lines(self) -> list[str]:
        """The final summary: one line per job, the counts, and where the results are."""
        width = max(len(o.name) for o in self.outcomes)
        lines = [f"{o.status:<8} {o.name:<{width}}  {o.step:>9,} updates  {o.seconds:>7.1f} s"
                 + (f"  error: {o.error}" if o.error else "") for o in self.outcomes]
        counts = ", ".join(f"{sum(o.status == s for o in self.outcomes)} {s}"
                           for s in ("done", "resumed", "skipped", "failed"))
        lines.append(f"{len(self.outcomes)} jobs ({self.executor}, {self.seconds:.1f} s): {counts}")
        if self.report is not None:
            lines.append(f"report: {self.report} and {self.report_csv}; score plot: {self.plot}")
        return lines


def run_sweep(config: TrainConfig, datasets: Sequence[str], presets: Sequence[str | None] = (None,), *,
              sweep=None, executor: Literal["auto", "ray", "local"] = "auto", address: str | None = None,
              cpus_per_job: float = 1.0, gpus_per_job: float = 0.0, progress: bool = True) -> SweepResult:
    """Train one job per (dataset, preset) into ``config.run.out``, each one ``runs.train`` population (seeds × the
    ``sweep`` settings), skipping finished jobs and resuming interrupted ones; then write ``OUT/report.md``/``.csv``
    and ``OUT/scores.png`` over every finished job of OUT.

    Args:
        config: the options every job shares; its dataset, preset and run name are set per job (see
            :func:`~iql_jax.sweeps.plan.plan_jobs`), and ``run.out`` is the sweep's directory, OUT.
        datasets, presets: the jobs' datasets and presets (None: the dataset domain's preset).
        sweep: as in :func:`iql_jax.runs.train`, for every job.
        executor: ``ray``, ``local`` (in this process, one job after another) or ``auto`` (Ray when it is
            installed, else local, saying so).
        address: an existing Ray cluster; None starts a local Ray for the sweep.
        cpus_per_job, gpus_per_job: the Ray resources of each job.
        progress: progress bars and a line per job as it ends.

    Raises:
        IQLError: bad options, or ``OUT/sweep.json`` records other options; job failures are outcomes instead.
    """
    start = time.perf_counter()
    out = Path(config.run.out)
    jobs = plan_jobs(config, datasets, presets)
    settings = settings_of(sweep)
    kind = _executor(executor, address)
    recorded = record_sweep(out, shared_options(config, settings), jobs)

    def job_args(job: Job) -> dict:
        return {"sweep": settings, "crash_at": crash_step(job.name)}

    def report(outcome: JobOutcome) -> None:
        if progress:
            tqdm.write(f"{outcome.name}: {outcome.status}" + (f" ({outcome.error})" if outcome.error else ""),
                       file=sys.stderr)
        if outcome.traceback:
            tqdm.write(outcome.traceback, file=sys.stderr)

    if kind == "local":
        if progress:
            print(f"running {len(jobs)} job(s) one after another in this process"
                  + ("" if executor == "local" else f" (Ray is not installed: {INSTALL_RAY} to run them in "
                                                     "parallel or on a cluster)"), file=sys.stderr)
        outcomes = run_local(jobs, job_args, progress, report)
    else:
        outcomes = run_ray(jobs, job_args, progress, report, address=address, cpus=cpus_per_job,
                           gpus=gpus_per_job)
    result = SweepResult(out, "Ray" if kind == "ray" else "in-process", outcomes, 0.0)
    _write_combined(result, recorded, out)
    result.seconds = time.perf_counter() - start
    return result


def _executor(executor: str, address: str | None) -> str:
    if executor not in ("auto", "ray", "local"):
        raise ConfigError(f"--executor: expected auto, ray or local, found {executor!r}")
    if executor == "local":
        if address:
            raise ConfigError("--address needs the Ray executor; leave out --executor local")
        return "local"
    if ray_available():
        check_reachable(address)  # before sweep.json is written: nothing is left behind by a mistyped address
        return "ray"
    if executor == "ray" or address:
        raise ConfigError(f"{'--address' if address else '--executor ray'}: Ray is not installed; {INSTALL_RAY}")
    return "local"


def _write_combined(result: SweepResult, recorded: list[dict], out: Path) -> None:
    """The report and plot over every finished job OUT has had, with the jobs that failed now named below."""
    dirs = [out / j["name"] for j in recorded if (out / j["name"] / SUMMARY_FILE).is_file()]
    if not dirs:
        return
    failed = [o.name for o in result.failed]
    note = f"Not in the table (failed in the last run, re-run the sweep to resume): {', '.join(failed)}.\n" \
        if failed else ""
    result.report, result.report_csv = write_report(dirs, out / REPORT_FILE, note)
    result.plot = plot_scores(dirs, out / PLOT_FILE)
