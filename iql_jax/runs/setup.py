"""From a config and a dataset to everything a run needs: the resolved preset, the transformed transitions, the
evaluation environment and the run directory's ``config.json``.

Both a fresh run and a resume go through :func:`prepare`, so a resumed run sees exactly the same data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import numpy as np

import iql_jax
from iql_jax import engine
from iql_jax.config import TrainConfig, config_from_dict, config_to_dict, get_preset, preset_for_domain
from iql_jax.data import (Dataset, ObservationStats, RewardTransform, clip_actions, fit_observation_stats,
                          fit_reward_transform, load_dataset)
from iql_jax.data.goals import apply_goal_mode, resolve_goal_mode
from iql_jax.data.limits import check_episode_limit
from iql_jax.data.transforms import goal_terminals
from iql_jax.data.transitions import Transitions, read_only
from iql_jax.errors import IQLError
from iql_jax.evaluation import EvalEnvSpec, check_dimensions, reference_scores, resolve_eval_env
from iql_jax.runs.files import write_atomic
from iql_jax.runs.lock import RunLock, claim_dir
from iql_jax.tasks import score_kind

CONFIG_FILE = "config.json"


@dataclass(frozen=True)
class Prepared:
    """A dataset made ready for training under a config."""

    config: TrainConfig
    dataset: Dataset
    transitions: Transitions  # after the reward transform and action clipping
    reward_transform: RewardTransform
    obs_stats: ObservationStats | None
    eval_spec: EvalEnvSpec | None
    ref_scores: tuple[float, float] | None
    score: str  # "return" or "success": how the normalised score is computed (the task catalogue's rule)
    fingerprint: str


def fingerprint(transitions: Transitions) -> str:
    """A short SHA-256 over the arrays, to tell on resume that the data is the same."""
    h = hashlib.sha256()
    for array in transitions:
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


def load(config: TrainConfig, progress: bool = True) -> Dataset:
    d = config.data
    builtin = d.dataset.partition(":")[0] in iql_jax.data.builtin_names()
    hdf5 = Path(d.dataset).suffix.lower() in (".hdf5", ".h5")
    return load_dataset(d.dataset, steps=d.dataset_steps if builtin else None,
                        seed=d.dataset_seed if builtin else None, progress=progress,
                        max_episode_steps=d.max_episode_steps if hdf5 else None, env_id=d.env_id if hdf5 else None)


def prepare(config: TrainConfig, dataset: Dataset | None = None, progress: bool = True,
            evaluate: bool = True, explicit: Iterable[str] | None = None) -> Prepared:
    """Load (unless given) and transform the data, resolve the config and the evaluation env.

    Args:
        config: the config; :meth:`TrainConfig.resolve` applies its preset here (a no-op for a resolved one, such
            as a run's ``config.json``), with the dataset's domain and ``explicit``.
        explicit: the fields that override the preset (see :meth:`TrainConfig.resolve`); None: the library rule.

    Raises:
        IQLError: bad data, an unknown preset, or an evaluation environment whose dimensions do not fit.
    """
    dataset = dataset if dataset is not None else load(config, progress)
    goal, why = resolve_goal_mode(dataset, config.data.goal)
    if progress:
        print(f"goal: {goal} ({why}; --data.goal {'auto' if config.data.goal == 'auto' else goal})", file=sys.stderr)
    dataset = apply_goal_mode(dataset, goal)
    if not config.resolved and progress:
        how = "--preset" if config.preset else f"the dataset's domain ({dataset.info.domain or 'unknown'})"
        preset = get_preset(config.preset) if config.preset else preset_for_domain(dataset.info.domain)
        print(f"preset: {preset.name} from {how}; {preset.source}", file=sys.stderr)
    config = config.resolve(dataset.info.domain, explicit)
    config = dataclasses.replace(config, data=dataclasses.replace(config.data, goal=goal))
    kind = config.data.reward_transform
    raw = dataset.transitions
    if kind == "antmaze":
        raw = goal_terminals(raw)
    transform = fit_reward_transform(kind, raw)
    # The one place actions are clipped (loaders only check their range); config.json's clip_actions says which.
    actions = clip_actions(raw.actions) if config.data.clip_actions else raw.actions
    transitions = raw._replace(rewards=read_only(transform.apply(np.asarray(raw.rewards, np.float64))),
                               actions=read_only(actions))
    stats = fit_observation_stats(raw) if config.data.normalize_observations else None
    spec = None
    if evaluate:
        spec = resolve_eval_env(dataset.info, env_id=config.data.env_id)
        env = spec.make()
        try:
            check_dimensions(env, raw.obs_dim, raw.act_dim, dataset.info.source)
        finally:
            env.close()
    # The fingerprint is over the data as loaders returned it before clip_actions was honoured (actions always
    # clipped), so runs written then still resume; clip_actions itself is fixed by config.json.
    fixed = raw._replace(actions=clip_actions(raw.actions))
    return Prepared(config, dataset, transitions, transform, stats, spec, reference_scores(dataset.info),
                    score_kind(dataset.info.domain), fingerprint(fixed))


def new_run_dir(config: TrainConfig) -> tuple[Path, RunLock]:
    """Create and lock the run directory: ``--run.name`` exactly, else ``<dataset>-<preset>-<time>`` (``-2``, ``-3``,
    … appended when another run took that name in the same second)."""
    if config.run.name:
        return claim_dir(Path(config.run.out) / config.run.name)
    name = "{}-{}-{}".format(Path(config.data.dataset).stem.replace(":", "-"), config.preset,
                             time.strftime("%Y%m%d-%H%M%S"))
    return claim_dir(Path(config.run.out) / name, numbered=True)


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
