"""Where a sweep's jobs run: Ray tasks (a local Ray started for the sweep, or an existing cluster at ``address``),
or one after another in this process.

Ray is the standard executor for RL sweeps, runs locally with no setup and scales to a cluster with the same code;
it is an optional extra (``pip install 'iql-jax[ray]'``). Each job is one task asking for ``cpus`` CPUs and
``gpus`` GPUs; Ray sets ``CUDA_VISIBLE_DEVICES`` for it. Tasks are not retried: a worker that dies (killed,
out of memory, a lost node) fails its job, and the next run of the sweep resumes it from its checkpoint.

Progress: the driver follows each Ray job through its run directory (the newest ``metrics.jsonl`` step), one bar per
job on a terminal; in-process jobs show their own bar. Either way a line is printed as each job ends.
"""

from __future__ import annotations

import importlib
import socket
import sys
from typing import Callable

from tqdm.auto import tqdm

from iql_jax.errors import ConfigError, IQLError
from iql_jax.runs.logs import last_logged_step
from iql_jax.sweeps.job import JobOutcome, run_job
from iql_jax.sweeps.plan import Job

INSTALL_RAY = "pip install 'iql-jax[ray]'"
Report = Callable[[JobOutcome], None]
JobArgs = Callable[[Job], dict]  # a job's keyword arguments of run_job


def ray_available() -> bool:
    try:
        importlib.import_module("ray")
    except ImportError:
        return False
    return True


def run_local(jobs: list[Job], job_args: JobArgs, progress: bool, report: Report) -> list[JobOutcome]:
    """Run the jobs one after another in this process."""
    outcomes = []
    for i, job in enumerate(jobs, 1):
        if progress:
            print(f"[{i}/{len(jobs)}] {job.name}", file=sys.stderr)
        outcomes.append(run_job(job, **job_args(job), progress=progress))
        report(outcomes[-1])
    return outcomes


def run_ray(jobs: list[Job], job_args: JobArgs, progress: bool, report: Report, *, address: str | None = None,
            cpus: float = 1.0, gpus: float = 0.0) -> list[JobOutcome]:
    """Run every job as a Ray task and wait for all of them, reporting each as it ends.

    Args:
        address: an existing cluster (``HEAD:6379``, ``ray://HEAD:10001`` or ``auto``); None starts a local Ray for
            this sweep and shuts it down after. A Ray this process has already started (``ray.init``) is used as is.
        cpus, gpus: resources each job asks for; a fractional ``gpus`` shares a GPU, and each job's JAX is then
            limited to that fraction of its memory (``XLA_PYTHON_CLIENT_MEM_FRACTION``).
    """
    import ray

    if cpus <= 0 or gpus < 0:
        raise ConfigError(f"--cpus-per-job {cpus}, --gpus-per-job {gpus}: expected CPUs > 0 and GPUs >= 0")
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(address=address or "local", include_dashboard=False, configure_logging=False)
        except ConnectionError as e:  # an OSError, but no file is involved
            raise IQLError(f"--address {address}: {str(e).strip().splitlines()[0]} (is it started, with "
                           "`ray start --head`? Its token authentication needs RAY_AUTH_MODE=token and its token "
                           "here); or leave out --address for a local Ray") from None
    try:
        env = {"env_vars": {"XLA_PYTHON_CLIENT_MEM_FRACTION": f"{0.9 * gpus:.3f}"}} if 0 < gpus < 1 else None
        task = ray.remote(run_job).options(num_cpus=cpus, num_gpus=gpus, max_retries=0, runtime_env=env)
        pending = {task.remote(job, **job_args(job), in_worker=True): job for job in jobs}
        bars = _Bars(jobs, progress and sys.stderr.isatty())
        outcomes = {}
        try:
            while pending:
                finished, _ = ray.wait(list(pending), num_returns=1, timeout=1.0)
                for ref in finished:
                    job = pending.pop(ref)
                    outcomes[job.name] = _result(ray, ref, job)
                    bars.close(job, outcomes[job.name])
                    report(outcomes[job.name])
                bars.poll()
        finally:
            bars.close_all()
        return [outcomes[job.name] for job in jobs]
    finally:
        if started:
            ray.shutdown()


def check_reachable(address: str | None, timeout: float = 5.0) -> None:
    """Refuse a ``HOST:PORT`` (or ``ray://HOST:PORT``) where nothing listens: ``ray.init`` would retry for ever."""
    if not address or address in ("auto", "local"):
        return
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(f"--address {address}: expected HOST:PORT (e.g. 10.0.0.1:6379), ray://HOST:PORT or auto")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise IQLError(f"--address {address}: nothing answers there ({e.strerror or type(e).__name__}); start the "
                       "head with `ray start --head --port PORT`, or leave out --address for a local Ray") from None


def _result(ray, ref, job: Job) -> JobOutcome:
    try:
        return ray.get(ref)
    except ray.exceptions.RayError as e:  # the worker died (killed, out of memory, node lost): not retried
        first = (str(e).strip().splitlines() or [""])[0][:200]
        return JobOutcome(job.name, "failed", last_logged_step(job.run_dir),
                          error=f"its Ray worker died ({type(e).__name__}: {first}); run the sweep again to "
                                "resume it from its newest checkpoint")


class _Bars:
    """One tqdm bar per job, driven by the newest step each run directory has logged."""

    def __init__(self, jobs: list[Job], enabled: bool):
        self.bars = {} if not enabled else {
            job.name: tqdm(total=job.config.run.steps, desc=job.name, position=i, unit="upd", dynamic_ncols=True,
                           leave=True) for i, job in enumerate(jobs)}
        self.dirs = {job.name: job.run_dir for job in jobs}

    def poll(self) -> None:
        for name, bar in self.bars.items():
            step = last_logged_step(self.dirs[name])
            if step > bar.n:
                bar.update(step - bar.n)

    def close(self, job: Job, outcome: JobOutcome) -> None:
        bar = self.bars.pop(job.name, None)
        if bar is not None:
            bar.update(max(outcome.step - bar.n, 0))
            bar.set_postfix_str(outcome.status)
            bar.close()

    def close_all(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars = {}
