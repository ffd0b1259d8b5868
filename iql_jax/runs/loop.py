"""The host side of every run, offline or online: what happens after each compiled chunk.

:class:`HostLoop` owns the evaluation cadence, the metrics and evaluation logs, the checkpoints, the finiteness
check and the eval-seed rule, so offline training (:mod:`iql_jax.runs.trainer`) and fine-tuning
(:mod:`iql_jax.runs.finetune_run`) differ only in how they produce a chunk. A run directory has one step clock: a
fine-tuning run numbers its rows and checkpoints after the offline run's steps (``base``), while the cadences count
from the start of its own phase.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from iql_jax import engine
from iql_jax.errors import DivergenceError
from iql_jax.evaluation import EvalEnvSpec, evaluate, make_eval_envs
from iql_jax.runs import checkpoint
from iql_jax.runs.logs import RunLogger


def eval_seed(run_seed: int, step: int) -> int:
    """The reset seed of the evaluation at ``step`` (the run's clock): a function of the config and the step only, so
    a resumed run evaluates exactly as an uninterrupted one."""
    return run_seed * 1_000_003 + step


def due(step: int, every: int) -> bool:
    """Whether a cadence of ``every`` steps (0: never) falls on ``step``."""
    return every > 0 and step % every == 0


def check_finite(metrics: dict, members, step: int, run_dir: Path, advice: str) -> None:
    """Stop at the first non-finite metric, saying what is on disk and how to go on.

    Args:
        run_dir: where the run's checkpoints are (the message names the newest, or says there is none).
        advice: the way forward, for the message.
    """
    for name, values in metrics.items():
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            m = members[int(bad[0])]
            latest = checkpoint.latest_checkpoint(run_dir)
            kept = (f"the newest checkpoint, {latest[1]} (step {latest[0]:,}), is kept" if latest
                    else "no checkpoint had been written yet")
            raise DivergenceError(f"non-finite {name} ({values[bad[0]]}) in the chunk ending at step {step}, "
                                  f"member {m.index} ({m.label}); {kept}; {advice}")


class HostLoop:
    """After each chunk: check, log, evaluate when due, checkpoint when due (see the module docstring).

    Args:
        run_dir, members, logger: the run directory, its population's members and its :class:`RunLogger`.
        spec, episodes: the evaluation environment and episodes per member (no evaluation if None or 0).
        ref_scores, score: the normalised-score references and rule.
        eval_every, checkpoint_every: cadences in steps of this phase (0: evaluation only at ``total``).
        total: the phase's last step (always evaluated and checkpointed).
        run_seed: the run's first seed, for :func:`eval_seed`.
        keep: checkpoints kept.
        header: the JSON header written into every checkpoint.
        advice: what a divergence message tells the user to do.
        base: the run's step at the start of this phase (0 offline; the offline run's steps when fine-tuning).
    """

    def __init__(self, run_dir: Path, members, logger: RunLogger, *, spec: EvalEnvSpec | None, episodes: int,
                 ref_scores, score: str, eval_every: int, checkpoint_every: int, total: int, run_seed: int,
                 keep: int, header: dict, advice: str, base: int = 0):
        self.run_dir, self.members, self.logger = Path(run_dir), list(members), logger
        self.spec, self.episodes, self.ref_scores, self.score = spec, episodes, ref_scores, score
        self.eval_every, self.checkpoint_every, self.total = eval_every, checkpoint_every, total
        self.run_seed, self.keep, self.header, self.advice, self.base = run_seed, keep, header, advice, base
        m = len(self.members)
        self.envs = make_eval_envs(spec, m * episodes) if spec is not None and episodes > 0 else None

    def after_chunk(self, step: int, metrics: dict, *, states, save, stop: int, extra: dict | None = None,
                    checked: dict | None = None) -> float | None:
        """Handle the chunk that ended at ``step`` of this phase; returns the evaluation's mean score, if any.

        Args:
            metrics: per-member ``(M,)`` metrics to log.
            states: the population to evaluate.
            save: the pytree to checkpoint (the population, or a fine-tuning state around it).
            stop: the step this call of the loop ends at (checkpointed even off the cadence).
            extra: scalars added to every metrics row.
            checked: the metrics the finiteness check reads (default: all of ``metrics``).
        """
        step_run = self.base + step
        check_finite(metrics if checked is None else checked, self.members, step_run, self.run_dir, self.advice)
        self.logger.log_metrics(step_run, metrics, extra)
        score = None
        if self.envs is not None and (due(step, self.eval_every) or step == self.total):
            result = evaluate(engine.population_policy(states), self.spec, len(self.members), self.episodes,
                              seed=eval_seed(self.run_seed, step_run), ref_scores=self.ref_scores, envs=self.envs,
                              score=self.score)
            self.logger.log_eval(step_run, result)
            agg = result.aggregate()
            score = agg.get("score_mean", agg["return_mean"])
        if due(step, self.checkpoint_every) or step == stop:
            checkpoint.save_checkpoint(self.run_dir, step_run, save, self.header, self.keep)
        return score

    def close(self) -> None:
        self.logger.close()
        if self.envs is not None:
            self.envs.close()
