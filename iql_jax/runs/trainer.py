"""Offline training: a thin Python loop over compiled chunks around :class:`~iql_jax.runs.loop.HostLoop`, and resume.

``train`` starts a run directory; ``resume`` continues one from its last checkpoint, bit-exactly: the data, the
keys inside the state and the evaluation seeds are all functions of the config and the step, so N updates, a crash
and M more give the same state as N + M uninterrupted updates.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import jax
import numpy as np
from tqdm.auto import tqdm

import iql_jax
from iql_jax import engine
from iql_jax.config import TrainConfig, config_to_dict
from iql_jax.data import Dataset
from iql_jax.errors import IQLError
from iql_jax.runs import checkpoint, records
from iql_jax.runs.lock import RunLock
from iql_jax.runs.logs import RunLogger
from iql_jax.runs.loop import HostLoop
from iql_jax.runs.prepare import Prepared, prepare
from iql_jax.runs.summary import write_outputs


@dataclass
class RunResult:
    """What a finished (or stopped) run leaves: its directory, final population state and summary."""

    run_dir: Path
    states: iql_jax.IQLState
    members: list
    step: int
    summary: dict


def _template(prepared: Prepared, members_seeds: Sequence[int], sweep, sequential: bool = False) -> tuple:
    c, t, s = prepared.config, prepared.transitions, prepared.obs_stats
    return engine.init_population(c.agent, members_seeds, t.obs_dim, t.act_dim, decay_steps=c.run.steps,
                                  sweep=sweep, obs_mean=None if s is None else s.mean,
                                  obs_std=None if s is None else s.std, sequential=sequential)


def train(config: TrainConfig, *, dataset: Dataset | None = None, sweep=None,
          progress: bool = True, stop_at: int | None = None, explicit: Iterable[str] | None = None,
          sequential_init: bool = False) -> RunResult:
    """Train ``config.run.seeds`` seeds (× the ``sweep`` grid) as one vmapped population in a new run directory.

    Args:
        config: the configuration; its preset (named, else the dataset domain's) is applied by
            :meth:`TrainConfig.resolve`, the fields that differ from the defaults (or ``explicit``) overriding it.
        dataset: an already loaded dataset; by default ``config.data.dataset`` is loaded.
        sweep: optional settings of traced hyperparameters, a grid ``{"expectile": [0.5, 0.9]}`` or a list
            ``[{"expectile": 0.9}, {"beta": 0.0}]`` (see :func:`engine.init_population`).
        progress: show a progress bar (``config.run.quiet`` also turns it off).
        stop_at: stop (after checkpointing) once this many updates are done; for tests and staged runs.
        explicit: the fields (dotted names) that override the preset, e.g. those given on a command line.
        sequential_init: initialise the members one at a time (see :func:`engine.init_population`).
    """
    prepared = prepare(config, dataset, progress=progress and not config.run.quiet, explicit=explicit)
    seeds = [prepared.config.run.seed + i for i in range(prepared.config.run.seeds)]
    states, members = _template(prepared, seeds, sweep, sequential_init)
    run_dir, lock = records.new_run_dir(prepared.config)
    with lock:
        records.write_run_config(run_dir, prepared, [dict(s) for s in engine.expand_sweep(sweep)], members, states)
        return _loop(run_dir, prepared, states, members, 0, progress, stop_at)


def resume(run_dir: str | Path, *, progress: bool = True, stop_at: int | None = None,
           steps: int | None = None) -> RunResult:
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
    record = records.read_run_config(run_dir)
    with RunLock(run_dir):
        return _resume_locked(run_dir, record, progress, stop_at, steps)


def _resume_locked(run_dir: Path, record: dict, progress: bool, stop_at: int | None, steps: int | None):
    config: TrainConfig = record["config"]
    prepared = prepare(config, progress=progress and not config.run.quiet)
    if prepared.fingerprint != record["dataset"]["fingerprint"]:
        raise IQLError(f"{run_dir}: the dataset {config.data.dataset!r} differs from the one this run was trained "
                       f"on (fingerprint {prepared.fingerprint} vs {record['dataset']['fingerprint']})")
    seeds, sweep = _population_of(record)
    template, members = _template(prepared, seeds, sweep)
    latest = checkpoint.latest_checkpoint(run_dir)
    if latest is None:
        step, states = 0, template
    else:
        states, header = checkpoint.load_checkpoint(latest[1], template, iql_jax.__version__)
        step = int(header["step"])
    if steps is not None and steps != config.run.steps:
        prepared = _record_new_steps(run_dir, record, prepared, step, steps)
    states = _cosine_horizon(states, prepared.config.run.steps, step)
    RunLogger(run_dir, members).truncate_after(step)
    return _loop(run_dir, prepared, states, members, step, progress, stop_at)


def _record_new_steps(run_dir: Path, record: dict, prepared: Prepared, step: int, steps: int):
    """Apply a new ``--steps`` on resume (see :func:`resume`): checked, then recorded in ``config.json``."""
    config: TrainConfig = record["config"]
    if steps < step:
        raise IQLError(f"--steps {steps}: expected at least the {step:,} updates {run_dir} has already done")
    config = dataclasses.replace(config, run=dataclasses.replace(config.run, steps=steps))
    history = record.get("steps_changed", []) + [{"at_step": step, "from": record["config"].run.steps, "to": steps}]
    members = [{**m, "hyper": {**m["hyper"], "actor_decay_steps": float(steps)}}
               if m.get("hyper", {}).get("actor_decay_steps", 0) > 0 else m for m in record["members"]]
    records.write_record(run_dir, {**record, "config": config, "members": members, "steps_changed": history})
    return dataclasses.replace(prepared, config=config)


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


def _population_of(record: dict) -> tuple[list[int], list[dict]]:
    """Seeds and settings of a saved run, in the original member order."""
    seeds = list(dict.fromkeys(m["seed"] for m in record["members"]))
    settings = list(dict.fromkeys(tuple(map(tuple, m["overrides"])) for m in record["members"]))
    return seeds, [dict(s) for s in settings]


def _to_next(step: int, every: int) -> int:
    return every - step % every if every > 0 else math.inf


TRAIN_ADVICE = ("training is deterministic, so a resume would diverge again: start a new run with smaller learning "
                "rates (--agent.actor-lr, --agent.critic-lr, --agent.value-lr) or smaller rewards "
                "(--data.reward-transform), or without this member's setting")


def _loop(run_dir: Path, prepared: Prepared, states, members, step: int, progress: bool,
          stop_at: int | None) -> RunResult:
    cfg = prepared.config
    run = cfg.run
    data = engine.device_data(prepared.transitions)
    logger = RunLogger(run_dir, members, run.tensorboard, run.wandb, config_to_dict(cfg))
    host = HostLoop(run_dir, members, logger, spec=prepared.eval_spec, episodes=run.eval_episodes,
                    ref_scores=prepared.ref_scores, score=prepared.score, eval_every=run.eval_every,
                    checkpoint_every=run.checkpoint_every, total=run.steps, run_seed=run.seed,
                    keep=run.keep_checkpoints, header=_header(cfg), advice=TRAIN_ADVICE)
    end = run.steps if stop_at is None else min(run.steps, stop_at)
    last_score = None
    bar = tqdm(total=run.steps, initial=step, disable=not progress or run.quiet, unit="upd", dynamic_ncols=True)
    try:
        while step < end:
            n = int(min(run.chunk_size, end - step, _to_next(step, run.eval_every),
                        _to_next(step, run.checkpoint_every)))
            t0 = time.perf_counter()
            states, metrics = engine.train_chunk(states, data, n)
            metrics = jax.device_get(metrics)
            elapsed = time.perf_counter() - t0
            step += n
            score = host.after_chunk(step, metrics, states=states, save=states, stop=end,
                                     extra={"time/updates_per_s": n / elapsed})
            last_score = last_score if score is None else score
            bar.update(n)
            bar.set_postfix({"upd/s": f"{n / elapsed * len(members):,.0f}",
                             **({"score": f"{last_score:.1f}"} if last_score is not None else {})})
    finally:
        bar.close()
        host.close()
    summary = write_outputs(run_dir, value_map=True) if step == run.steps else {}
    return RunResult(run_dir, states, members, step, summary)


def _header(config: TrainConfig) -> dict:
    return {"version": iql_jax.__version__, "config": config_to_dict(config)}


def load_run(run_dir: str | Path, checkpoint_path: str | Path | None = None, sequential_init: bool = False):
    """The population state of a run (newest checkpoint, or ``checkpoint_path``) with its record and members.

    ``sequential_init`` builds the restore template one member at a time (see :func:`engine.init_population`).
    """
    run_dir = Path(run_dir)
    record = records.read_run_config(run_dir)
    config: TrainConfig = record["config"]
    d = record["dataset"]
    try:
        seeds, sweep = _population_of(record)
        obs_dim, act_dim = int(d["obs_dim"]), int(d["act_dim"])
    except (KeyError, TypeError, ValueError) as e:
        raise IQLError(f"{run_dir / records.CONFIG_FILE}: unreadable run configuration (members or dataset "
                       f"dimensions: {type(e).__name__}: {e})") from e
    template, members = engine.init_population(config.agent, seeds, obs_dim, act_dim,
                                               decay_steps=config.run.steps, sweep=sweep, sequential=sequential_init)
    if checkpoint_path is None:
        latest = checkpoint.latest_checkpoint(run_dir)
        if latest is None:
            raise IQLError(f"{run_dir}: no checkpoint yet")
        checkpoint_path = latest[1]
    states, header = checkpoint.load_checkpoint(checkpoint_path, template, iql_jax.__version__)
    return states, members, record, int(header["step"])
