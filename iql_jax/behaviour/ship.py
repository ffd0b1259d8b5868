"""From a training run to the package's policies: choose the recipe's checkpoints and write them with the record.

``iql behaviour ship RUN --key hopper`` copies the chosen policy files into ``iql_jax/behaviour/policies/hopper/``
and writes ``record.json`` beside them. The record is the training record the datasets cite: the SAC config and
seed, the steps trained, the learning curve (both evaluations at every checkpoint), the chosen steps with their
evaluated returns and scores, and the versions of the simulator stack that produced them.
"""

from __future__ import annotations

import importlib.metadata
import json
import shutil
from pathlib import Path

from iql_jax.behaviour import rundir
from iql_jax.behaviour.policy import load_policy_file
from iql_jax.behaviour.shipped import RECIPES, RECORD, select, shipped_dir
from iql_jax.behaviour.trainer import BehaviourConfig
from iql_jax.errors import ConfigError
from iql_jax.runs.files import write_atomic

_CURVE_FIELDS = ("step", "deterministic_return", "stochastic_return", "deterministic_score", "stochastic_score",
                 "train_return", "alpha_value")
_VERSIONS = ("iql-jax", "mujoco", "gymnasium", "gymnasium-robotics", "jax", "flax")


def ship(run_dir: str | Path, key: str, replay_snapshots: int = 4, dest: str | Path | None = None) -> Path:
    """Write the recipe's policies of ``run_dir`` under ``dest`` (default: the package's folder for ``key``).

    Raises:
        ConfigError: an unknown key, or a run in another environment than the key's.
        IQLError: the run has no checkpoint inside the medium band yet.
    """
    if key not in RECIPES:
        raise ConfigError(f"iql behaviour ship: --key: expected one of {', '.join(RECIPES)}, found {key!r}")
    recipe, run_dir = RECIPES[key], Path(run_dir)
    run = rundir.read_record(run_dir)
    config = BehaviourConfig.from_json(run["config"])
    if config.env_id != recipe.env_id:
        raise ConfigError(f"{run_dir}: trained on {config.env_id}, but {key} policies act in {recipe.env_id}")
    curve = rundir.read_curve(run_dir)
    chosen = select(curve, recipe.medium_band, config.warmup_steps, replay_snapshots)
    dest = Path(dest) if dest is not None else shipped_dir(key)
    dest.mkdir(parents=True, exist_ok=True)
    for old in dest.glob("*.msgpack"):
        old.unlink()
    files = {"expert": chosen.expert}
    if chosen.medium is not None:
        files["medium"] = chosen.medium
    files.update({f"replay-{i}": step for i, step in enumerate(chosen.replay)})
    policies = {}
    for name, step in files.items():
        shutil.copyfile(rundir.policy_path(run_dir, step), dest / f"{name}.msgpack")
        policy = load_policy_file(dest / f"{name}.msgpack")
        policies[name] = {"step": step, "fingerprint": policy.fingerprint, **{
            k: policy.record[k] for k in ("returns", "scores")}}
    record = {
        "key": key, "env_id": config.env_id, "seed": config.seed, "config": config.to_json(),
        "trained_steps": curve[-1]["step"], "wall_s": curve[-1].get("wall_s"),
        "medium_band": list(recipe.medium_band) if recipe.medium_band else None,
        "policies": policies,
        "replay_schedule": _schedule(config.warmup_steps, chosen),
        "curve": [{k: r.get(k) for k in _CURVE_FIELDS} for r in curve],
        "versions": {p: _version(p) for p in _VERSIONS},
    }
    write_atomic(dest / RECORD, json.dumps(record, indent=1, sort_keys=True))
    return dest


def _schedule(warmup: int, chosen) -> list[dict]:
    """medium-replay as segments: uniform actions for [0, warmup), then each snapshot until the next one."""
    if chosen.medium is None:
        return []
    ends = [*chosen.replay[1:], chosen.medium]
    segments = [{"policy": None, "start": 0, "stop": chosen.replay[0] if chosen.replay else chosen.medium}]
    segments += [{"policy": f"replay-{i}", "start": s, "stop": e} for i, (s, e) in enumerate(zip(chosen.replay, ends))]
    return [s for s in segments if s["stop"] > s["start"]]


def _version(package: str) -> str | None:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return None
