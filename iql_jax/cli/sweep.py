"""``iql sweep``: one tyro parse of :class:`SweepArgs`, then :func:`iql_jax.sweeps.run_sweep` and its summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Sequence

from iql_jax.cli.grouped_help import AGENT, DATA, LOGGING, RUN, Group, print_help_if_asked
from iql_jax.cli.parsing import parse
from iql_jax.cli.sweep_options import SweepOptions
from iql_jax.config import AgentConfig, DataConfig, RunConfig, TrainConfig
from iql_jax.domains import check_share
from iql_jax.errors import ConfigError

# Options of the shared config that each job sets itself.
_PER_JOB = {"--dataset": "--datasets", "--data.dataset": "--datasets", "--name": None, "--run.name": None}


@dataclass(frozen=True)
class SweepArgs(SweepOptions):
    """Train a benchmark suite: one job per (dataset, preset), each job S seeds × the --sweep settings as one
    vmapped program in its own run directory OUT/<dataset>-<preset> (OUT/<dataset> without --presets), run as Ray
    tasks (a local Ray, or a cluster with --address) or, without Ray, one after another in this process.

    Re-running the same command skips finished jobs and resumes interrupted ones bit-exactly; a failed job is
    reported while the others go on. OUT/report.md (.csv) is the Table-1 form over every finished job (mean ± 95 %
    interval over seeds) and OUT/scores.png overlays their score curves.
    """

    datasets: tuple[str, ...] = ()
    """Datasets, one job each (with each preset): built-in names (a size suffix such as :200k allowed), Minari \
dataset ids or directories, or D4RL .hdf5 files; on a cluster every node must be able to read them."""
    presets: tuple[str, ...] = ()
    """Presets (see `iql presets`), one job each per dataset; none: each dataset's domain picks its preset."""
    agent: AgentConfig = field(default_factory=AgentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=lambda: RunConfig(out="sweep"))
    executor: Literal["auto", "ray", "local"] = "auto"
    """'ray' runs the jobs as Ray tasks, 'local' one after another in this process, 'auto' Ray when installed \
(pip install 'iql-jax[ray]'), else local."""
    address: str | None = None
    """An existing Ray cluster to run on (HEAD:6379 from `ray start --head`, or 'auto'); none starts a local Ray \
for this sweep. OUT must then be on a file system every node shares."""
    cpus_per_job: float = 1.0
    """CPUs each job asks Ray for (fewer jobs run at once when higher)."""
    gpus_per_job: float = 0.0
    """GPUs each job asks Ray for (e.g. 1; a fraction such as 0.5 shares one GPU and caps each job's JAX at that \
share of its memory)."""


# ``iql sweep --help``: what a suite is made of first, where its jobs run next, then the shared groups.
SWEEP_GROUPS = (Group("common options", ("datasets", "presets", "run.steps", "run.seeds", "run.eval-every",
                                         "run.eval-episodes", "run.out")),
                Group("job options: where the jobs run", ("executor", "address", "cpus-per-job", "gpus-per-job")),
                RUN, DATA, AGENT, LOGGING)


def sweep_command(argv: Sequence[str]) -> int:
    from iql_jax.sweeps import run_sweep

    print_help_if_asked(argv, SweepArgs, "iql sweep", SWEEP_GROUPS)
    args = parse(SweepArgs, argv, "iql sweep")
    check_share("--cpus-per-job", args.cpus_per_job, positive=True)
    check_share("--gpus-per-job", args.gpus_per_job, positive=False)
    if args.address is not None and not args.address.strip():
        raise ConfigError("--address: expected a Ray address such as HEAD:6379 (or no --address: a local Ray), "
                          "found an empty string")
    for option in (a.split("=", 1)[0] for a in argv if a.startswith("--")):
        if option in _PER_JOB:
            instead = _PER_JOB[option]
            raise ConfigError(f"iql sweep: {option} is set per job; " + (
                f"give the datasets with {instead}" if instead else
                "job directories are named OUT/<dataset>-<preset>; choose OUT with --out"))
    config = TrainConfig(agent=args.agent, data=args.data, run=args.run)
    result = run_sweep(config, args.datasets, args.presets or (None,), sweep=args.settings(config.given()),
                       executor=args.executor, address=args.address, cpus_per_job=args.cpus_per_job,
                       gpus_per_job=args.gpus_per_job, progress=not args.run.quiet)
    print("\n".join(result.summary_lines()))
    if not result.failed:
        return 0
    return 2 if all(o.user_error for o in result.failed) else 1
