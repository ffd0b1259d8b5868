"""``iql train``: one tyro parse of :class:`TrainArgs`; presets are resolved by the library (TrainConfig.resolve).

Every field a preset sets defaults to None, so the parse itself says which of them the command line gave: those
keep their values over the preset's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from iql_jax.cli.grouped_help import AGENT, DATA, LOGGING, RUN, Group, print_help_if_asked
from iql_jax.cli.parsing import parse
from iql_jax.cli.sweep_options import SweepOptions
from iql_jax.config import TrainConfig
from iql_jax.errors import IQLError


@dataclass(frozen=True)
class TrainArgs(SweepOptions, TrainConfig):
    """Train IQL on an offline dataset: S seeds (× the --sweep settings) in one vmapped program, evaluated,
    checkpointed and reported.

    With no options it trains on the built-in `pointmaze-umaze` dataset (generated on first use). The preset is
    chosen from the dataset's domain unless --preset is given; any field can still be overridden.
    """

    resume: str | None = None
    """Continue the run in this directory from its newest checkpoint. Options come from the run's config.json; only
    --steps (a new total, e.g. to extend a finished run; a cosine actor lr then stretches to the new total) and
    --quiet may be given, any other option is refused."""


# ``iql train --help``: the options the README's quick start uses first, then run, data, agent and logging.
TRAIN_GROUPS = (Group("common options", ("data.dataset", "run.steps", "run.seeds", "run.eval-every",
                                         "run.eval-episodes", "preset", "run.out", "resume")),
                RUN, DATA, AGENT, LOGGING)

# Options ``iql train --resume`` applies; everything else would change what the checkpoints mean.
RESUME_OPTIONS = {"--steps": "steps", "--run.steps": "steps", "--quiet": "quiet", "--run.quiet": "quiet",
                  "--run.no-quiet": "quiet", "--resume": "resume"}


def _resume_options(argv: Sequence[str]) -> set[str]:
    """The ``RESUME_OPTIONS`` ``argv`` gives; refuses, in one line, any option ``--resume`` would silently ignore."""
    given = [a.split("=", 1)[0] for a in argv if a.startswith("--")]
    refused = [a for a in given if a not in RESUME_OPTIONS]
    if refused:
        raise IQLError(f"iql train --resume: {', '.join(refused)} cannot be changed when resuming (the run's "
                       "config.json fixes it); allowed: --steps N (a new total) and --quiet; start a new run to "
                       "change anything else")
    return {RESUME_OPTIONS[a] for a in given}


def train_command(argv: Sequence[str]) -> int:
    from iql_jax.runs import resume, train

    print_help_if_asked(argv, TrainArgs, "iql train", TRAIN_GROUPS)
    args = parse(TrainArgs, argv, "iql train")
    if args.resume is not None:
        if not args.resume.strip():
            raise IQLError("--resume: expected a run directory, found an empty string")
        steps = args.run.steps if "steps" in _resume_options(argv) else None
        result = resume(args.resume, progress=not args.run.quiet, steps=steps)
    else:
        # The dataset's domain picks the preset; the options given here override it (TrainConfig.resolve).
        config = TrainConfig(agent=args.agent, data=args.data, run=args.run, preset=args.preset)
        result = train(config, sweep=args.settings(config.given()), progress=not args.run.quiet)
    print_result(result)
    return 0


def print_result(result) -> None:
    s = result.summary
    if not s:
        print(f"stopped at step {result.step}; run directory: {result.run_dir}")
        return
    if s.get("score") is not None:
        label = "normalised score" if s["score"] == "normalized_score" else "return"
        for g in s["settings"]:  # one line per setting: a mean across settings means nothing
            setting = f" ({g['setting']})" if g["setting"] else ""
            print(f"final {label}{setting}: {g['last_mean']:.1f} ± {g['last_std']:.1f} (last), "
                  f"{g['best_mean']:.1f} ± {g['best_std']:.1f} (best) over {g['seeds']} seed(s)")
        from iql_jax.runs.meaning import score_meaning
        from iql_jax.runs.rundir import RunRecord

        record = RunRecord.read(result.run_dir)
        print(score_meaning(record.eval_env.env_id if record.eval_env else None, record.ref_scores, record.score,
                            record.references, record.no_score))
    print(f"run directory: {result.run_dir}")
    for name, path in s.get("files", {}).items():
        print(f"{name}: {path}")


