"""Evaluating a saved run: the logic of ``iql eval``, as a library function.

Every member of the run's newest (or a named) checkpoint is rolled out deterministically in the run's evaluation
environment, or in another registered environment with the same observation layout and reference scores.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from iql_jax import engine
from iql_jax.errors import IQLError
from iql_jax.evaluation import EvalEnvSpec, EvalResult, check_dimensions, evaluate
from iql_jax.evaluation.references import mismatch
from iql_jax.runs.lock import writer_pid
from iql_jax.runs.rundir import load_run


@dataclass(frozen=True)
class RunEvaluation:
    """What :func:`evaluate_run` measured: per-member results at ``step`` on ``env_id``."""

    result: EvalResult
    members: list
    step: int
    env_id: str
    episodes: int
    reference_env: str = ""  # the env the references of the normalised score were measured in
    no_score: str | None = None  # why there is no normalised score although the run has references


def evaluate_run(run_dir: str | Path, episodes: int = 10, checkpoint: str | Path | None = None, seed: int = 12345,
                 env: str | None = None) -> RunEvaluation:
    """Evaluate every member of a run's checkpoint.

    Args:
        run_dir: the run directory.
        episodes: episodes per member.
        checkpoint: a checkpoint file; the newest one by default.
        seed: seed of the evaluation resets.
        env: a registered environment id to evaluate in instead of the run's (its dimensions are checked).

    Raises:
        IQLError: no checkpoint, no recorded evaluation environment, or ``env`` does not fit the run's data.
    """
    if (pid := writer_pid(run_dir)) is not None:
        print(f"warning: {run_dir} is still being written by another iql process (pid "
              f"{pid if pid > 0 else 'unknown'}): this evaluates its newest checkpoint so far, not a finished run",
              file=sys.stderr)
    states, members, record, step = load_run(run_dir, checkpoint)
    spec = eval_spec(record, run_dir, env)
    pair, no_score, where = references_for(record, spec, env is not None)
    result = evaluate(engine.population_policy(states), spec, len(members), episodes, seed=seed,
                      ref_scores=pair, score=record.score)
    return RunEvaluation(result, members, step, spec.env_id, episodes, where, no_score)


def references_for(record, spec: EvalEnvSpec, other_env: bool) -> tuple[tuple | None, str | None, str]:
    """The reference pair that normalises scores in ``spec``, why there is none, and the env it belongs to.

    A record that names the env of its references is matched against ``spec``; an older record (a bare pair) only
    normalises in its own evaluation env.
    """
    if record.references is not None:
        why = mismatch(record.references, spec)
        return (None, why, "") if why else (record.references.pair, None, record.references.describe())
    if record.ref_scores is None:
        return None, record.no_score, ""
    if other_env:
        return None, (f"no normalised score: the run records its reference scores without the env they were "
                      f"measured in, so they apply only to its own evaluation env, not {spec.env_id}; reporting "
                      "return and success"), ""
    return record.ref_scores, None, record.eval_env.env_id


def eval_spec(record, run_dir, env: str | None = None) -> EvalEnvSpec:
    """The environment a run is evaluated in: the one it records, or ``env`` instead (its dimensions checked).

    Raises:
        IQLError: the run records no evaluation environment, or ``env`` does not fit the run's data.
    """
    spec = record.eval_env
    if spec is None:
        raise IQLError(f"{run_dir}: the run records no evaluation environment")
    if env is not None:
        spec = EvalEnvSpec(env, observation_layout=spec.observation_layout)
        made = spec.make()
        try:
            check_dimensions(made, record.dataset.obs_dim, record.dataset.act_dim, str(run_dir))
        finally:
            made.close()
    return spec
