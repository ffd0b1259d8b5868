"""The one driver of every run, offline or online: what happens around the chunks of training.

:func:`drive` consumes :class:`~iql_jax.engine.Chunk` s, from :func:`iql_jax.engine.train_iter` (offline) or
:func:`iql_jax.finetune.finetune_iter` (online), and owns everything else: the finiteness check, the logs (files,
TensorBoard, W&B), the evaluation cadence and seeds, the checkpoints, the progress bar and the end-of-run outputs.
:func:`~iql_jax.runs.trainer.train` and :func:`~iql_jax.runs.finetune_run.finetune_run` only say where the chunks
come from. A run directory has one step clock: a fine-tuning run numbers its rows and checkpoints after the
offline run's steps (``Phase.base``), while the cadences count from the start of its own phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal

import numpy as np
from tqdm.auto import tqdm

from iql_jax import engine, testing
from iql_jax.agent import IQLState
from iql_jax.config import config_to_dict
from iql_jax.errors import DivergenceError, RunError, RunStopped, user_fault
from iql_jax.evaluation import evaluate, make_eval_envs
from iql_jax.runs.logs import RunLogger
from iql_jax.runs.meaning import reference_env
from iql_jax.runs.rundir import RunRecord, latest_checkpoint, save_checkpoint
from iql_jax.runs.stops import stop_signals
from iql_jax.runs.summary import write_outputs


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
            latest = latest_checkpoint(run_dir)
            kept = (f"the newest checkpoint, {latest[1]} (step {latest[0]:,}), is kept" if latest
                    else "no checkpoint had been written yet")
            raise DivergenceError(f"non-finite {name} ({values[bad[0]]}) in the chunk ending at step {step}, "
                                  f"member {m.index} ({m.label}); {kept}; {advice}")


@dataclass(frozen=True)
class Phase:
    """One stretch of a run directory's step clock, as :func:`drive` runs it.

    Attributes:
        kind: ``offline`` (updates) or ``online`` (environment steps, each with its update).
        total: the phase's steps when it is finished (always evaluated and checkpointed there).
        eval_every, checkpoint_every: cadences in steps of this phase (0: evaluation only at ``total``).
        episodes: evaluation episodes per member (0: no evaluation).
        keep: checkpoints kept.
        header: the JSON header of every checkpoint.
        advice: what a divergence message tells the user to do.
        base: the run's step at the start of the phase (0 offline; the offline run's steps when fine-tuning).
    """

    kind: Literal["offline", "online"]
    total: int
    eval_every: int
    checkpoint_every: int
    episodes: int
    keep: int
    header: dict
    advice: str
    base: int = 0

    @property
    def stop(self) -> int:
        """Where this call of the phase ends: ``total``, or earlier under :func:`iql_jax.testing.stopping_at`."""
        at = testing.stop_step()
        return self.total if at is None else min(self.total, at)

    @property
    def align(self) -> tuple[int, int]:
        """The cadences a chunk must end on."""
        return self.eval_every, self.checkpoint_every


def _present(run_dir: Path, at: int) -> None:
    """Refuse to go on writing into a run directory that was deleted under the running process."""
    if not run_dir.is_dir():
        raise RunError(f"{run_dir}: the run directory was deleted while the run was writing it (at step {at:,}); "
                       "nothing more is saved; start the run again")


def _kept(run_dir: Path, phase: Phase) -> str:
    """What a stopped run leaves on disk and how to go on."""
    latest = latest_checkpoint(run_dir)
    how = f"iql finetune {run_dir} --resume" if phase.kind == "online" else f"iql train --resume {run_dir}"
    if latest is None:
        return f"no checkpoint had been written yet; `{how}` starts it from the beginning"
    return (f"the newest checkpoint, {latest[1].name} (step {latest[0]:,}), and the logs up to it are intact; "
            f"`{how}` continues from there")


@dataclass
class RunResult:
    """What a finished (or stopped) run leaves: its directory, final population state and summary."""

    run_dir: Path
    states: IQLState
    members: list
    step: int
    summary: dict


def drive(run_dir: Path, record: RunRecord, members: list, phase: Phase, chunks: Iterable[engine.Chunk], *,
          states: IQLState, step: int = 0, progress: bool = True) -> RunResult:
    """Run ``chunks`` (to ``phase.stop``) in ``run_dir``: after each, check, log, evaluate and checkpoint when due;
    at the end of the phase, write the outputs (:func:`~iql_jax.runs.summary.write_outputs`).

    Args:
        record: the run's record: its config (seed, loggers), evaluation env, reference scores and score rule.
        states, step: the population and the phase's step before the first chunk (returned if none comes).
        progress: show a progress bar.
    """
    run, run_dir = record.config.run, Path(run_dir)
    logger = RunLogger(run_dir, members, run.tensorboard, run.wandb, config_to_dict(record.config))
    envs = None
    if record.eval_env is not None and phase.episodes > 0:
        envs = make_eval_envs(record.eval_env, len(members) * phase.episodes)
    extra = {"phase": "online"} if phase.kind == "online" else {}
    bar = tqdm(total=phase.total, initial=step, disable=not progress, unit="upd" if phase.kind == "offline" else
               "step", dynamic_ncols=True)
    score = None
    try:
        with stop_signals() as stop:
            for chunk in chunks:
                at = phase.base + chunk.step
                check_finite(chunk.metrics, members, at, run_dir, phase.advice)
                stopping = stop.signum is not None and chunk.step != phase.total
                try:
                    _present(run_dir, at)
                    logger.log_metrics(at, {**chunk.metrics, **chunk.observed}, {**chunk.timing, **extra})
                    if envs is not None and (due(chunk.step, phase.eval_every) or chunk.step == phase.total):
                        result = evaluate(engine.population_policy(chunk.states), record.eval_env, len(members),
                                          phase.episodes, seed=eval_seed(run.seed, at),
                                          ref_scores=record.ref_scores, envs=envs, score=record.score)
                        logger.log_eval(at, result, reference_env(record))
                        agg = result.aggregate()
                        score = agg.get("score_mean", agg["return_mean"])
                    # offline, any chunk end is a clean point; online, only a checkpoint (the envs are reset there)
                    if due(chunk.step, phase.checkpoint_every) or chunk.step == phase.stop or (
                            stopping and phase.kind == "offline"):
                        save_checkpoint(run_dir, at, chunk.saved, phase.header, phase.keep)
                except OSError as e:
                    _present(run_dir, at)
                    raise RunError(f"{user_fault(e)}; step {at:,} was not saved; {_kept(run_dir, phase)}") from e
                bar.update(chunk.step - step)
                step, states = chunk.step, chunk.states
                rate = chunk.timing.get("time/updates_per_s")
                bar.set_postfix({**({"upd/s": f"{rate * len(members):,.0f}"} if rate else {}),
                                 **({"score": f"{score:.1f}"} if score is not None else {})})
                if stopping:
                    raise RunStopped(f"stopped by {stop.name} at step {at:,}; {_kept(run_dir, phase)}", stop.signum)
    finally:
        bar.close()
        logger.close()
        if envs is not None:
            envs.close()
    summary = {}
    if step == phase.total:
        online = phase.kind == "online"
        summary = write_outputs(run_dir, value_map=not online, boundary=phase.base if online else None)
    return RunResult(run_dir, states, members, phase.base + step, summary)
