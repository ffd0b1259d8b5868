"""Online fine-tuning as a run: offline checkpoint → online steps, with evaluation, logs, checkpoints and resume.

The fine-tuning run lives in its own directory. Its ``eval.csv`` starts with the offline run's rows, and online
steps are numbered after the offline ones, so the score plot shows both phases with the boundary marked. The data
goes through the same :func:`prepare` as offline (one reward transform, applied once to offline and online
rewards), and the actor lr becomes constant (the ``antmaze-finetune`` preset). The chunks come from
:func:`iql_jax.finetune.finetune_iter`; everything else is the one driver's (:func:`iql_jax.runs.loop.drive`).
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import sys
from pathlib import Path

import numpy as np

import iql_jax
from iql_jax import engine
from iql_jax.config import FinetuneConfig
from iql_jax.domains import check_buffer_memory
from iql_jax.errors import IQLError
from iql_jax.evaluation import online_env
from iql_jax.finetune import FinetuneState, constant_actor_lr, finetune_iter, init_finetune
from iql_jax.runs import checkpoint
from iql_jax.runs.lock import RunLock, claim_dir, writer_pid
from iql_jax.runs.logs import RunLogger, read_eval
from iql_jax.runs.loop import Phase, RunResult, drive
from iql_jax.runs.prepare import prepare
from iql_jax.runs.rundir import FINETUNE_FILE, FinetuneRecord, RunRecord, latest_checkpoint, load_run, member_records

FINETUNE_ADVICE = ("fine-tuning is deterministic, so a resume would diverge again: retrain the offline run with "
                   "smaller learning rates or rewards, then fine-tune that")


def finetune_run(offline_dir: str | Path, config: FinetuneConfig = FinetuneConfig(), *,
                 progress: bool = True) -> RunResult:
    """Fine-tune every member of an offline run online; a new run directory ``<offline>-finetune`` by default.

    The options were checked when ``config`` was built, and the offline run is loaded before the new directory is
    created; a failure before the first checkpoint removes the new directory, so a mistake leaves nothing behind.
    """
    offline_dir = Path(offline_dir)
    if (pid := writer_pid(offline_dir)) is not None:
        raise IQLError(f"{offline_dir}: another iql process (pid {pid if pid > 0 else 'unknown'}) is still writing "
                       "this run; fine-tune it once it has finished (or stop it: it checkpoints on SIGTERM)")
    states, members, record, offline_step = load_run(offline_dir)
    run_dir = Path(config.out or offline_dir.parent) / (config.name or f"{offline_dir.name}-finetune")
    if (run_dir / FINETUNE_FILE).exists():
        raise IQLError(f"{run_dir}: a fine-tuning run already exists; continue it with "
                       f"`iql finetune {run_dir} --resume`")
    run = record.config.run
    filled = dataclasses.replace(
        config, capacity=config.capacity or config.online_steps,
        eval_episodes=run.eval_episodes if config.eval_episodes is None else config.eval_episodes,
        tensorboard=run.tensorboard if config.tensorboard is None else config.tensorboard,
        wandb=run.wandb if config.wandb is None else config.wandb)
    check_buffer_memory(len(members), filled.capacity, record.dataset.obs_dim, record.dataset.act_dim)
    plan = FinetuneRecord(str(offline_dir), offline_step, filled)
    online = constant_actor_lr(states)
    run_dir, lock = claim_dir(run_dir, hint=f"continue a fine-tuning run with `iql finetune {run_dir} --resume`")
    try:
        with lock:
            schedule = record.config.agent.actor_lr_schedule
            # The offline record with what fine-tuning changes: the constant actor lr, in the config and in every
            # member's recorded hyperparameters, and the loggers (the driver reads them from the record).
            agent = dataclasses.replace(record.config.agent, actor_lr_schedule="constant")
            run = dataclasses.replace(run, tensorboard=filled.tensorboard, wandb=filled.wandb)
            record = dataclasses.replace(record, config=dataclasses.replace(record.config, agent=agent, run=run),
                                         members=member_records(members, online))
            record.write(run_dir)
            plan.write(run_dir)
            RunLogger(run_dir, members).start_eval_with(read_eval(offline_dir))
            if progress:
                lrs = sorted({float(v) for v in np.asarray(online.hyper.actor_lr)})
                print(f"online actor lr: constant {', '.join(f'{v:g}' for v in lrs)} (the offline start value; the "
                      f"offline run's {schedule} schedule ends here)", file=sys.stderr)
            fstate = init_finetune(online, capacity=filled.capacity, env_seed=record.config.run.seed)
            return _online(run_dir, plan, record, members, fstate, progress)
    except Exception:
        # Failed before its first checkpoint (damaged offline records, a dataset gone): the new directory holds
        # nothing to resume, and left behind it would turn the retry into "already exists; --resume".
        if latest_checkpoint(run_dir) is None:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


def resume_finetune(run_dir: str | Path, *, progress: bool = True) -> RunResult:
    """Continue a fine-tuning run from its newest checkpoint, bit-exactly.

    Raises:
        IQLError: ``run_dir`` holds no fine-tuning record (an offline run, or a directory of something else), the
            record is damaged, or another process is writing the run.
    """
    run_dir = Path(run_dir)
    plan = FinetuneRecord.read(run_dir)
    with RunLock(run_dir):
        states, members, record, _ = load_run(plan.offline_run)
        fstate = init_finetune(constant_actor_lr(states), capacity=plan.config.capacity,
                               env_seed=record.config.run.seed)
        if (latest := latest_checkpoint(run_dir)) is not None:
            fstate, _ = checkpoint.load_checkpoint(latest[1], fstate, iql_jax.__version__)
            # The state's own online step, not the file name: directories written before the one step clock named
            # their checkpoints by online step, newer ones by the run's step.
            RunLogger(run_dir, members).truncate_after(plan.offline_step + int(fstate.online_step))
        return _online(run_dir, plan, RunRecord.read(run_dir), members, fstate, progress)


def _online(run_dir: Path, plan: FinetuneRecord, record: RunRecord, members, fstate: FinetuneState,
            progress: bool) -> RunResult:
    c = plan.config
    prepared = prepare(record.config, progress=False)
    if prepared.fingerprint != record.dataset.fingerprint:
        raise IQLError(f"{plan.offline_run}: its dataset changed since the offline run")
    phase = Phase("online", c.online_steps, c.eval_every, c.checkpoint_every, c.eval_episodes,
                  record.config.run.keep_checkpoints, {"version": iql_jax.__version__, "phase": "online"},
                  FINETUNE_ADVICE, base=plan.offline_step)
    done = int(fstate.online_step)
    chunks = finetune_iter(fstate, engine.device_data(prepared.transitions),
                           online_env(prepared.eval_spec, record.dataset.domain), phase.stop - done,
                           reward_transform=prepared.reward_transform, segment_steps=c.checkpoint_every,
                           updates_per_collect=c.updates_per_collect,
                           chunk_steps=math.gcd(c.eval_every or c.checkpoint_every, c.checkpoint_every))
    return drive(run_dir, record, members, phase, chunks, states=fstate.states, step=done, progress=progress)
