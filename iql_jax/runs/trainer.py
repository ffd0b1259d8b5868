"""Offline training: ``train`` starts a run directory, ``resume`` continues one, ``fit`` trains in memory.

All three take their chunks from :func:`iql_jax.engine.train_iter`; ``train`` and ``resume`` hand them to the one
driver (:func:`iql_jax.runs.loop.drive`). A resume is bit-exact: the data, the keys inside the state and the
evaluation seeds are all functions of the config and the step, so N updates, a crash and M more give the same
state as N + M uninterrupted updates.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import jax
import numpy as np

import iql_jax
from iql_jax import engine
from iql_jax.agent import IQLState
from iql_jax.config import TrainConfig, config_to_dict
from iql_jax.data import Dataset
from iql_jax.domains import check_population_memory
from iql_jax.errors import IQLError
from iql_jax.runs import checkpoint
from iql_jax.runs.lock import RunLock, new_run_dir
from iql_jax.runs.logs import RunLogger
from iql_jax.runs.loop import Phase, RunResult, drive
from iql_jax.runs.prepare import Prepared, prepare
from iql_jax.runs.rundir import RunRecord, latest_checkpoint, new_record, template

TRAIN_ADVICE = ("training is deterministic, so a resume would diverge again: start a new run with smaller learning "
                "rates (--agent.actor-lr, --agent.critic-lr, --agent.value-lr) or smaller rewards "
                "(--data.reward-transform), or without this member's setting")


def _population(prepared: Prepared, seeds, sweep) -> tuple[IQLState, list[engine.Member]]:
    c, t, s = prepared.config, prepared.transitions, prepared.obs_stats
    return engine.init_population(c.agent, seeds, t.obs_dim, t.act_dim, decay_steps=c.run.steps, sweep=sweep,
                                  obs_mean=None if s is None else s.mean, obs_std=None if s is None else s.std)


def _seeds(config: TrainConfig) -> list[int]:
    return [config.run.seed + i for i in range(config.run.seeds)]


def train(config: TrainConfig, *, dataset: Dataset | None = None, sweep=None, progress: bool = True) -> RunResult:
    """Train ``config.run.seeds`` seeds (× the ``sweep`` settings) as one vmapped population in a new run directory.

    Args:
        config: the configuration; its preset (named, else the dataset domain's) fills the fields left None
            (:meth:`TrainConfig.resolve`).
        dataset: an already loaded dataset; by default ``config.data.dataset`` is loaded.
        sweep: optional settings of traced hyperparameters, a grid ``{"expectile": [0.5, 0.9]}`` or a list
            ``[{"expectile": 0.9}, {"beta": 0.0}]`` (see :func:`engine.init_population`).
        progress: show a progress bar (``config.run.quiet`` also turns it off).
    """
    progress = progress and not config.run.quiet
    prepared = prepare(config, dataset, progress=progress)
    t = prepared.transitions
    check_population_memory(prepared.config.agent, t.obs_dim, t.act_dim, prepared.config.run.seeds,
                            len(engine.expand_sweep(sweep)))
    states, members = _population(prepared, _seeds(prepared.config), sweep)
    run_dir, lock = new_run_dir(prepared.config)
    with lock:
        record = new_record(prepared, [dict(s) for s in engine.expand_sweep(sweep)], members, states)
        record.write(run_dir)
        return _offline(run_dir, record, prepared, states, members, 0, progress)


def resume(run_dir: str | Path, *, progress: bool = True, steps: int | None = None) -> RunResult:
    """Continue a run from its newest checkpoint (data fingerprint checked; logs past the checkpoint dropped).

    The run directory is locked for the whole resume: a second process writing it is refused, naming its pid.

    Args:
        steps: a new total number of updates, to extend a finished run (or lengthen or shorten an unfinished one;
            never below the updates already done). It is recorded in ``config.json``. With the cosine actor-lr
            schedule the cosine horizon becomes ``steps``: from the resume step t on the actor lr is
            lr·½(1 + cos(π·t/steps)), a jump up from the old curve (which had reached 0 at the old end). The result
            is then neither the original run continued nor a run started with ``steps``; a constant actor lr (and
            the value and critic lrs, always constant) continue unchanged. Without ``steps`` a resume is bit-exact.
    """
    run_dir = Path(run_dir)
    record = RunRecord.read(run_dir)
    with RunLock(run_dir):
        progress = progress and not record.config.run.quiet
        prepared = prepare(record.config, progress=progress)
        if prepared.fingerprint != record.dataset.fingerprint:
            raise IQLError(f"{run_dir}: the dataset {record.config.data.dataset!r} differs from the one this run was "
                           f"trained on (fingerprint {prepared.fingerprint} vs {record.dataset.fingerprint})")
        s = prepared.obs_stats
        states, members = template(record, None if s is None else s.mean, None if s is None else s.std)
        step = 0
        if (latest := latest_checkpoint(run_dir)) is not None:
            states, header = checkpoint.load_checkpoint(latest[1], states, iql_jax.__version__)
            step = int(header["step"])
        if steps is not None and steps != record.config.run.steps:
            record = _record_new_steps(run_dir, record, step, steps)
            prepared = dataclasses.replace(prepared, config=record.config)
        states = _cosine_horizon(states, record.config.run.steps, step)
        RunLogger(run_dir, members).truncate_after(step)
        return _offline(run_dir, record, prepared, states, members, step, progress)


def _record_new_steps(run_dir: Path, record: RunRecord, step: int, steps: int) -> RunRecord:
    """Apply a new ``--steps`` on resume (see :func:`resume`): checked, then recorded in ``config.json``."""
    if steps < step:
        raise IQLError(f"--steps {steps}: expected at least the {step:,} updates {run_dir} has already done")
    config = dataclasses.replace(record.config, run=dataclasses.replace(record.config.run, steps=steps))
    members = tuple(dataclasses.replace(m, hyper={**m.hyper, "actor_decay_steps": float(steps)})
                    if (m.hyper or {}).get("actor_decay_steps", 0) > 0 else m for m in record.members)
    changed = {"at_step": step, "from": record.config.run.steps, "to": steps}
    record = dataclasses.replace(record, config=config, members=members,
                                 steps_changed=(*record.steps_changed, changed))
    record.write(run_dir)
    return record


def _cosine_horizon(states, steps: int, step: int):
    """Members with a cosine actor lr get the horizon ``config.json`` records (a no-op unless --steps changed it,
    now or in a resume that crashed before its first checkpoint)."""
    old = np.asarray(states.hyper.actor_decay_steps)
    if not (old > 0).any() or np.all(old[old > 0] == steps):
        return states
    print(f"--steps {steps}: the cosine actor-lr horizon moves from {int(old.max()):,} to {steps:,} updates; from "
          f"step {step:,} the actor lr follows the new schedule", file=sys.stderr)
    horizon = np.where(old > 0, float(steps), 0.0).astype(old.dtype)
    return states.replace(hyper=states.hyper._replace(actor_decay_steps=jax.numpy.asarray(horizon)))


def _offline(run_dir: Path, record: RunRecord, prepared: Prepared, states, members, step: int,
             progress: bool) -> RunResult:
    run = record.config.run
    phase = Phase("offline", run.steps, run.eval_every, run.checkpoint_every, run.eval_episodes,
                  run.keep_checkpoints, {"version": iql_jax.__version__, "config": config_to_dict(record.config)},
                  TRAIN_ADVICE)
    chunks = engine.train_iter(states, engine.device_data(prepared.transitions), phase.stop, start=step,
                               chunk_size=run.chunk_size, align=phase.align)
    return drive(run_dir, record, members, phase, chunks, states=states, step=step, progress=progress)


@dataclass(frozen=True)
class Population:
    """What :func:`fit` trained: the population, its members, the resolved config, and after each chunk its step
    and per-member metrics."""

    states: IQLState
    members: list[engine.Member]
    config: TrainConfig
    history: list[tuple[int, dict]]


def fit(dataset: Dataset | str, config: TrainConfig = TrainConfig(), *, sweep=None) -> Population:
    """Train in memory and write nothing: ``config.run.seeds`` seeds (× ``sweep``) for ``config.run.steps`` updates.

    No evaluation, logs or checkpoints (:func:`train` makes a run directory). ``dataset`` is a loaded
    :class:`~iql_jax.data.Dataset` or a source for :func:`~iql_jax.data.load_dataset` (with ``config.data``'s
    options); the preset is resolved as for :func:`train`.
    """
    if isinstance(dataset, str):
        config = dataclasses.replace(config, data=dataclasses.replace(config.data, dataset=dataset))
        dataset = None
    prepared = prepare(config, dataset, progress=False, evaluate=False)
    run = prepared.config.run
    states, members = _population(prepared, _seeds(prepared.config), sweep)
    history = []
    for chunk in engine.train_iter(states, engine.device_data(prepared.transitions), run.steps,
                                   chunk_size=run.chunk_size):
        states = chunk.states
        history.append((chunk.step, {**chunk.metrics, **chunk.timing}))
    return Population(states, members, prepared.config, history)
