"""Built-in D4RL-recipe datasets collected with the package's own SAC behaviour policies: no training, minutes.

``<key>-medium``, ``<key>-expert``, ``<key>-medium-replay`` and ``<key>-medium-expert`` for each key the package
ships policies for (:mod:`iql_jax.behaviour.shipped`), made as D4RL made theirs
(``shared/reference/behaviour-data.md`` §1.1):

* **medium** / **expert**: the chosen checkpoint's *sampled* actions, a = tanh(μ + σ·ε), for the requested steps.
* **medium-expert**: medium for the first half of the steps, expert for the rest. The split is an episode
  boundary: the medium part's last episode is cut there (a truncation) and the expert part starts with a reset,
  so no episode mixes the two policies (D4RL cut its first file at its last episode end).
* **medium-replay**: what the trainer collected up to the medium checkpoint, step for step in count: uniform
  actions during the warm-up, then each shipped snapshot for the stretch of training it stands for (the training
  record's ``replay_schedule``). The trainer's own buffer changed policy at every update; the shipped snapshots
  change at a few checkpoints, which keeps the package small. Its size is fixed: the medium checkpoint's step.

Every episode ``e`` resets with a seed derived from ``(seed, e)`` and the action noise comes from one seeded NumPy
generator, so a seed gives identical data. Data goes through Minari's ``DataCollector``; the metadata records
D4RL's reference scores for the environment, the recipe, and each policy's fingerprint and evaluated returns.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from tqdm import tqdm

from iql_jax.behaviour.policy import to_bounds
from iql_jax.behaviour.shipped import RECIPES, load_shipped, shipped_record
from iql_jax.data.minari_io import METADATA_PREFIX, minari_datasets_path, requirements
from iql_jax.errors import ConfigError

RECIPE_NAMES = ("medium", "expert", "medium-replay", "medium-expert")
DEFAULT_STEPS = {"medium": 1_000_000, "expert": 1_000_000, "medium-expert": 2_000_000, "medium-replay": None}


def segments(key: str, recipe: str, steps: int | None) -> list[tuple[str | None, int]]:
    """The recipe as ``(policy name or None for uniform actions, steps)`` segments, each starting an episode."""
    if recipe == "medium-replay":
        return [(s["policy"], s["stop"] - s["start"]) for s in shipped_record(key)["replay_schedule"]]
    if steps is None or steps < 1:
        raise ConfigError(f"{key}-{recipe}: steps: expected an integer >= 1, found {steps}")
    if recipe == "medium-expert":
        if steps < 2:
            raise ConfigError(f"{key}-medium-expert: steps: expected >= 2 (one per policy), found {steps}")
        return [("medium", steps // 2), ("expert", steps - steps // 2)]
    if recipe in ("medium", "expert"):
        return [(recipe, steps)]
    raise ConfigError(f"{key}: unknown recipe {recipe!r}; expected one of {', '.join(RECIPE_NAMES)}")


def collect_behaviour(key: str, recipe: str, steps: int | None, seed: int, root, dataset_id: str,
                      progress: bool = False) -> Path:
    """Collect the ``recipe`` data of ``key`` through ``DataCollector`` and write Minari dataset ``dataset_id``."""
    import gymnasium as gym
    import minari

    from iql_jax.behaviour.trainer import episode_seed, reference_scores
    from iql_jax.evaluation.envs import _ensure_registered

    env_id = RECIPES[key].env_id
    plan = segments(key, recipe, steps)
    record = shipped_record(key)
    _ensure_registered(env_id)
    collector = minari.DataCollector(gym.make(env_id), record_infos=False)
    space = collector.action_space
    rng = np.random.default_rng(seed)
    episode, used = 0, {}
    with tqdm(total=sum(n for _, n in plan), desc=f"{key}-{recipe}", unit="step", disable=not progress) as bar:
        for name, n in plan:
            policy = load_shipped(key, name) if name else None
            if policy is not None:
                used[name] = {"fingerprint": policy.fingerprint, **{k: record["policies"][name][k] for k in (
                    "step", "returns", "scores")}}
            obs, _ = collector.reset(seed=episode_seed(seed, episode))  # cuts the previous segment's last episode
            for i in range(n):
                if policy is None:
                    action = rng.uniform(space.low, space.high).astype(np.float32)
                else:
                    action = to_bounds(policy.act(obs, rng.standard_normal(space.shape[0])), space.low, space.high)
                obs, _, terminated, truncated, _ = collector.step(action)
                if terminated or truncated:
                    episode += 1
                    if i + 1 < n:
                        obs, _ = collector.reset(seed=episode_seed(seed, episode))
                if (i + 1) % 1000 == 0:
                    bar.update(1000)
            bar.update(n % 1000)
            episode += 1
    refs = reference_scores(env_id)
    chosen = ", ".join(f"{name} at step {u['step']}" for name, u in used.items())
    behaviour = {"key": key, "recipe": recipe, "policies": used, "segments": [[p, n] for p, n in plan],
                 "medium_band": record.get("medium_band"), "trained_steps": record.get("trained_steps"),
                 "training_seed": record.get("seed")}
    with minari_datasets_path(root), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*author_email.*")
        dataset = collector.create_dataset(
            dataset_id=dataset_id, eval_env=collector.env.spec, algorithm_name=f"SAC behaviour policy ({recipe})",
            author="iql-jax", code_permalink="iql_jax/data/generate_behaviour.py",
            ref_min_score=refs[0] if refs else None, ref_max_score=refs[1] if refs else None,
            requirements=requirements(),
            description=f"{env_id}, D4RL-style {recipe} data from the package's SAC behaviour policies "
                        f"({chosen}); seed {seed}. "
                        "Reference scores are D4RL's constants for the environment.")
        dataset.storage.update_metadata({METADATA_PREFIX + "domain": "locomotion",
                                         METADATA_PREFIX + "behaviour": behaviour})
    collector.close()
    return Path(root) / dataset_id
