"""A run directory's record: claiming the directory, and writing and reading its ``config.json`` (the resolved
config, the members with their hyperparameters, the dataset's fingerprint, the reward transform, the evaluation
environment and reference scores).
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

import iql_jax
from iql_jax import engine
from iql_jax.config import TrainConfig, config_from_dict, config_to_dict
from iql_jax.data.limits import check_episode_limit
from iql_jax.errors import IQLError
from iql_jax.evaluation import EvalEnvSpec
from iql_jax.runs.files import write_atomic
from iql_jax.runs.lock import RunLock, claim_dir
from iql_jax.runs.prepare import Prepared

CONFIG_FILE = "config.json"


def new_run_dir(config: TrainConfig) -> tuple[Path, RunLock]:
    """Create and lock the run directory: ``--run.name`` exactly, else ``<dataset>-<preset>-<time>`` (``-2``, ``-3``,
    … appended when another run took that name in the same second)."""
    if config.run.name:
        return claim_dir(Path(config.run.out) / config.run.name)
    name = "{}-{}-{}".format(dataset_stem(config.data.dataset), config.preset, time.strftime("%Y%m%d-%H%M%S"))
    return claim_dir(Path(config.run.out) / name, numbered=True)


def dataset_stem(source: str) -> str:
    """A dataset source as a directory-name part: the file stem, ``:`` made ``-`` (``pointmaze-umaze:200k`` →
    ``pointmaze-umaze-200k``, ``/data/hopper-medium-v2.hdf5`` → ``hopper-medium-v2``)."""
    return Path(source).stem.replace(":", "-")


def member_records(members: list, states) -> list[dict]:
    """``config.json``'s members: index, seed, sweep overrides and the hyperparameters each really trains with."""
    return [{**dataclasses.asdict(m), "hyper": engine.member_hyper(states, m.index)} for m in members]


def write_run_config(run_dir: Path, prepared: Prepared, sweep: list, members: list, states) -> None:
    p = prepared
    record = {
        "version": iql_jax.__version__,
        "config": config_to_dict(p.config),
        "sweep": sweep,
        "members": member_records(members, states),
        "dataset": {"name": p.dataset.info.name, "source": p.dataset.info.source, "domain": p.dataset.info.domain,
                    "fingerprint": p.fingerprint, "transitions": p.transitions.size,
                    "obs_dim": p.transitions.obs_dim, "act_dim": p.transitions.act_dim},
        "reward_transform": p.reward_transform._asdict(),
        "eval_env": None if p.eval_spec is None else dataclasses.asdict(p.eval_spec),
        "ref_scores": p.ref_scores,
        "score": p.score,
        "goal": {"mode": p.config.data.goal, **{k: p.dataset.info.extra[k] for k in ("relabel_goal", "relabel_radius")
                                                if k in p.dataset.info.extra}},
    }
    write_record(run_dir, record)


def write_record(run_dir: Path, record: dict) -> None:
    """Write ``config.json`` atomically (``record["config"]`` may be a :class:`TrainConfig`)."""
    if isinstance(record.get("config"), TrainConfig):
        record = {**record, "config": config_to_dict(record["config"])}
    write_atomic(Path(run_dir) / CONFIG_FILE, json.dumps(record, indent=2, default=list) + "\n")


def read_run_config(run_dir: str | Path) -> dict:
    """The run's ``config.json`` with ``"config"`` rebuilt as a :class:`TrainConfig`."""
    path = Path(run_dir) / CONFIG_FILE
    if not path.is_file():
        raise IQLError(f"{run_dir}: not a run directory (no {CONFIG_FILE})")
    try:
        record = json.loads(path.read_text())
        record["config"] = config_from_dict(record["config"])
    except (ValueError, KeyError, TypeError, AttributeError) as e:
        raise IQLError(f"{path}: unreadable run configuration ({type(e).__name__}: {e})") from e
    except IQLError as e:  # a field the config classes refuse (e.g. an edited run.steps of 0)
        raise IQLError(f"{path}: {e}") from e
    if not isinstance(record.get("dataset"), dict) or not isinstance(record.get("members"), list):
        raise IQLError(f"{path}: unreadable run configuration (expected 'dataset' and 'members' entries)")
    return record


def eval_spec_from_record(record: dict) -> EvalEnvSpec | None:
    env = record.get("eval_env")
    if env is None:
        return None
    check_episode_limit(CONFIG_FILE, "eval_env", env.get("max_episode_steps"))
    layout = env.get("observation_layout")
    return EvalEnvSpec(env["env_id"], env.get("kwargs") or {}, env.get("max_episode_steps"),
                       tuple(layout) if layout else None)
