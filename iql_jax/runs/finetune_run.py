"""Online fine-tuning as a run: offline checkpoint → online steps, with evaluation, logs, checkpoints and resume.

The fine-tuning run lives in its own directory. Its ``eval.csv`` starts with the offline run's rows, and online
steps are numbered after the offline ones, so the score plot shows both phases with the boundary marked. The data
goes through the same :func:`prepare` as offline (one reward transform, applied once to offline and online
rewards), and the actor lr becomes constant (the ``antmaze-finetune`` preset).
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np

import iql_jax
from iql_jax import engine
from iql_jax.config import FinetuneConfig
from iql_jax.errors import ConfigError, IQLError
from iql_jax.evaluation import online_env
from iql_jax.finetune import FinetuneState, constant_actor_lr, finetune_iter, init_finetune
from iql_jax.runs import checkpoint, records
from iql_jax.runs.files import write_atomic
from iql_jax.runs.lock import RunLock, claim_dir
from iql_jax.runs.logs import RunLogger, read_eval
from iql_jax.runs.loop import HostLoop
from iql_jax.runs.prepare import prepare
from iql_jax.runs.stats import last_and_best, score_key
from iql_jax.runs.summary import write_outputs
from iql_jax.runs.trainer import RunResult, load_run

FINETUNE_FILE = "finetune.json"
FINETUNE_ADVICE = ("fine-tuning is deterministic, so a resume would diverge again: retrain the offline run with "
                   "smaller learning rates or rewards, then fine-tune that")


def finetune_run(offline_dir: str | Path, config: FinetuneConfig = FinetuneConfig(), *, progress: bool = True,
                 stop_at: int | None = None) -> RunResult:
    """Fine-tune every member of an offline run online; a new run directory ``<offline>-finetune`` by default.

    The options were checked when ``config`` was built, and the offline run is loaded before the new directory is
    created, so a mistake leaves nothing behind.
    """
    c = config
    offline_dir = Path(offline_dir)
    states, members, record, offline_step = load_run(offline_dir)
    run_dir = Path(c.out or offline_dir.parent) / (c.name or f"{offline_dir.name}-finetune")
    if (run_dir / FINETUNE_FILE).exists():
        raise IQLError(f"{run_dir}: a fine-tuning run already exists; continue it with "
                       f"`iql finetune {run_dir} --resume`")
    episodes = c.eval_episodes if c.eval_episodes is not None else record["config"].run.eval_episodes
    plan = {"offline_run": str(offline_dir), "offline_step": offline_step, "online_steps": c.online_steps,
            "eval_every": c.eval_every, "eval_episodes": episodes, "checkpoint_every": c.checkpoint_every,
            "updates_per_collect": c.updates_per_collect, "capacity": c.capacity or c.online_steps,
            "version": iql_jax.__version__}
    online = constant_actor_lr(states)
    run_dir, lock = claim_dir(run_dir, hint=f"continue a fine-tuning run with `iql finetune {run_dir} --resume`")
    with lock:
        write_atomic(run_dir / records.CONFIG_FILE, _online_record(offline_dir, members, online))
        return _start(run_dir, offline_dir, plan, online, members, record, progress, stop_at)


def _online_record(offline_dir: Path, members, states) -> str:
    """The offline run's ``config.json`` with what fine-tuning changes: the constant actor lr, in the config and in
    every member's recorded hyperparameters."""
    record = json.loads((offline_dir / records.CONFIG_FILE).read_text())
    record["config"]["agent"]["actor_lr_schedule"] = "constant"
    record["members"] = records.member_records(members, states)
    return json.dumps(record, indent=2) + "\n"


def _start(run_dir: Path, offline_dir: Path, plan: dict, states, members, record, progress, stop_at) -> RunResult:
    write_atomic(run_dir / FINETUNE_FILE, json.dumps(plan, indent=2) + "\n")
    logger = RunLogger(run_dir, members)
    logger.start_eval_with(read_eval(offline_dir))
    if progress:
        lrs = sorted({float(v) for v in np.asarray(states.hyper.actor_lr)})
        print(f"online actor lr: constant {', '.join(f'{v:g}' for v in lrs)} (the offline start value; the offline "
              f"run's {record['config'].agent.actor_lr_schedule} schedule ends here)", file=sys.stderr)
    fstate = init_finetune(states, capacity=plan["capacity"], env_seed=record["config"].run.seed)
    return _online_loop(run_dir, plan, record, members, fstate, progress, stop_at)


def resume_finetune(run_dir: str | Path, *, progress: bool = True, stop_at: int | None = None) -> RunResult:
    """Continue a fine-tuning run from its newest checkpoint, bit-exactly.

    Raises:
        IQLError: ``run_dir`` holds no fine-tuning record (an offline run, or a directory of something else), the
            record is damaged, or another process is writing the run.
    """
    run_dir = Path(run_dir)
    plan = _read_plan(run_dir)
    with RunLock(run_dir):
        return _resume(run_dir, plan, progress, stop_at)


def _read_plan(run_dir: Path) -> dict:
    path = run_dir / FINETUNE_FILE
    if not path.is_file():
        hint = (f"; it is an offline run: start fine-tuning with `iql finetune {run_dir}` (without --resume)"
                if (run_dir / records.CONFIG_FILE).is_file() else "")
        raise IQLError(f"{run_dir}: not a fine-tuning run (no {FINETUNE_FILE}){hint}")
    try:
        plan = json.loads(path.read_text())
        FinetuneConfig(**{k: plan[k] for k in ("online_steps", "eval_every", "eval_episodes", "checkpoint_every",
                                                "updates_per_collect", "capacity")})
        plan["offline_run"], plan["offline_step"] = str(plan["offline_run"]), int(plan["offline_step"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError, ConfigError) as e:
        raise IQLError(f"{path}: damaged fine-tuning record ({type(e).__name__}: {e})") from e
    return plan


def _resume(run_dir: Path, plan: dict, progress: bool, stop_at: int | None) -> RunResult:
    states, members, record, _ = load_run(plan["offline_run"])
    template = init_finetune(constant_actor_lr(states), capacity=plan["capacity"], env_seed=record["config"].run.seed)
    latest = checkpoint.latest_checkpoint(run_dir)
    fstate = template
    if latest is not None:
        fstate, _ = checkpoint.load_checkpoint(latest[1], template, iql_jax.__version__)
        # The state's own online step, not the file name: directories written before the one step clock named
        # their checkpoints by online step, newer ones by the run's step.
        RunLogger(run_dir, members).truncate_after(plan["offline_step"] + int(fstate.online_step))
    return _online_loop(run_dir, plan, record, members, fstate, progress, stop_at)


def _online_loop(run_dir: Path, plan: dict, record: dict, members, fstate: FinetuneState, progress: bool,
                 stop_at: int | None) -> RunResult:
    config = record["config"]
    prepared = prepare(config, progress=False)
    if prepared.fingerprint != record["dataset"]["fingerprint"]:
        raise IQLError(f"{plan['offline_run']}: its dataset changed since the offline run")
    offline = engine.device_data(prepared.transitions)
    base = plan["offline_step"]
    total = plan["online_steps"] if stop_at is None else min(plan["online_steps"], stop_at)
    done = int(fstate.online_step)
    host = HostLoop(run_dir, members, RunLogger(run_dir, members), spec=prepared.eval_spec,
                    episodes=plan["eval_episodes"], ref_scores=prepared.ref_scores, score=prepared.score,
                    eval_every=plan["eval_every"], checkpoint_every=plan["checkpoint_every"],
                    total=plan["online_steps"], run_seed=config.run.seed, keep=config.run.keep_checkpoints,
                    header={"version": iql_jax.__version__, "phase": "online"}, advice=FINETUNE_ADVICE, base=base)
    chunk = math.gcd(plan["eval_every"] or plan["checkpoint_every"], plan["checkpoint_every"])
    envs = online_env(prepared.eval_spec, prepared.dataset.info.domain)
    try:
        for fstate, metrics in finetune_iter(fstate, offline, envs, total - done,
                                             reward_transform=prepared.reward_transform,
                                             segment_steps=plan["checkpoint_every"],
                                             updates_per_collect=plan["updates_per_collect"], chunk_steps=chunk,
                                             progress=progress):
            step = int(fstate.online_step)
            per_member = {k: np.asarray(v) for k, v in metrics.items() if np.ndim(v) == 1}
            host.after_chunk(step, per_member, states=fstate.states, save=fstate, stop=total,
                             extra={"phase": "online"},
                             checked={k: v for k, v in per_member.items() if not k.startswith("online/")})
            done = step
    finally:
        host.close()
    summary = {}
    if done == plan["online_steps"]:
        summary = write_outputs(run_dir, boundaries=[base])
        summary["offline_to_online"] = offline_vs_online(run_dir, base)
        write_atomic(run_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
        report = run_dir / "report.md"
        write_atomic(report, report.read_text() + render_table2([summary["offline_to_online"]]))
    return RunResult(run_dir, fstate.states, members, base + done, summary)


def offline_vs_online(run_dir: Path, boundary: int) -> dict:
    """Mean over members of the last offline evaluation and the last online one (the paper's Table 2 cells)."""
    rows = read_eval(run_dir)
    key = score_key(rows)
    before = last_and_best([r for r in rows if r["step"] <= boundary], key)
    after = last_and_best([r for r in rows if r["step"] > boundary], key)
    record = json.loads((run_dir / records.CONFIG_FILE).read_text())
    return {"dataset": record["dataset"]["name"], "score": key,
            "offline": float(np.mean([v[0] for v in before.values()])) if before else None,
            "online": float(np.mean([v[0] for v in after.values()])) if after else None}


def render_table2(rows: list[dict]) -> str:
    lines = ["\n| dataset | offline → fine-tuned |\n|---|---|\n"]
    for r in rows:
        fmt = lambda v: "-" if v is None else f"{v:.1f}"
        lines.append(f"| {r['dataset']} | {fmt(r['offline'])} → {fmt(r['online'])} |\n")
    return "".join(lines)
