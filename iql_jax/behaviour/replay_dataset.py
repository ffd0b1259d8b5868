"""D4RL's medium-replay exactly: every transition a behaviour run saw up to a step, in order, as a Minari dataset.

The shipped ``<env>-medium-replay`` built-ins re-collect the training run from a few snapshots, because the run's
buffer is data and the package ships no data. Whoever trains their own policy with ``iql behaviour train`` has the
buffer itself (``RUN/replay/``), so ``iql behaviour replay RUN`` writes it as it is: the recipe's own
medium-replay. Episodes end where the env ended them; the episode that the cut at ``until`` interrupts is marked
truncated. The file is written with Minari's own ``create_dataset_from_buffers`` (the transitions exist already,
so there is nothing for ``DataCollector`` to step), with the env's reference scores where the catalogue has them.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np

from iql_jax.behaviour import rundir
from iql_jax.behaviour.policy import to_bounds
from iql_jax.behaviour.shipped import RECIPES, select
from iql_jax.behaviour.trainer import BehaviourConfig, reference_scores
from iql_jax.data.minari_io import METADATA_PREFIX, minari_datasets_path, minari_root, requirements
from iql_jax.errors import ConfigError


def medium_step(run_dir: Path, config: BehaviourConfig) -> int:
    """The recipe's medium checkpoint of a run: the first whose sampled policy scores inside the env's band."""
    recipe = next((r for r in RECIPES.values() if r.env_id == config.env_id and r.medium_band), None)
    if recipe is None:
        raise ConfigError(f"{run_dir}: {config.env_id} has no medium band in the package's recipes; give --until "
                          "STEP (the step whose policy counts as medium)")
    medium = select(rundir.read_curve(run_dir), recipe.medium_band, config.warmup_steps).medium
    assert medium is not None  # select raises when no checkpoint is in the band
    return medium


def episode_buffers(rows: np.ndarray, space: gym.spaces.Box, obs_dim: int) -> list:
    """Replay rows ``[obs, action, reward, next_obs, terminated, truncated]`` -> Minari ``EpisodeBuffer`` s, with
    the policy's [−1, 1] actions mapped onto the env's bounds (what the env was given)."""
    from minari.data_collector import EpisodeBuffer

    a = obs_dim + space.shape[0]
    r = a + 1
    obs, rewards = rows[:, :obs_dim], rows[:, a]
    actions = to_bounds(rows[:, obs_dim:a], space.low, space.high)
    next_obs, terminated, truncated = rows[:, r:r + obs_dim], rows[:, -2] > 0, rows[:, -1] > 0
    ends = np.flatnonzero(terminated | truncated) + 1
    if not len(ends) or ends[-1] != len(rows):
        ends = np.append(ends, len(rows))  # the cut interrupts the last episode: it counts as truncated
        truncated = truncated.copy()
        truncated[-1] = True
    buffers, start = [], 0
    for i, end in enumerate(ends):
        steps = slice(start, end)
        observations = np.concatenate([obs[steps], next_obs[end - 1:end]]).astype(np.float64)
        buffers.append(EpisodeBuffer(id=i, observations=observations, actions=actions[steps].astype(np.float64),
                                     rewards=rewards[steps].astype(np.float64).tolist(),
                                     terminations=terminated[steps].tolist(), truncations=truncated[steps].tolist()))
        start = end
    return buffers


def write_replay_dataset(run_dir: str | Path, dataset_id: str, until: int | None = None,
                         root: str | Path | None = None) -> Path:
    """Write the run's transitions of steps ``[0, until)`` (default: up to its medium checkpoint) as Minari
    dataset ``dataset_id`` under ``root`` (default: the local Minari root); returns the dataset's directory."""
    from minari import create_dataset_from_buffers

    run_dir = Path(run_dir)
    config = BehaviourConfig.from_json(rundir.read_record(run_dir)["config"])
    until = medium_step(run_dir, config) if until is None else until
    env = gym.make(config.env_id)
    obs_dim = env.observation_space.shape[0]
    rows = rundir.load_rows(run_dir, until)
    if len(rows) < until:
        raise ConfigError(f"{run_dir}: --until {until}: the run has stored {len(rows):,} steps so far")
    refs = reference_scores(config.env_id)
    root = Path(root) if root is not None else minari_root()
    with minari_datasets_path(root), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*author_email.*")
        dataset = create_dataset_from_buffers(
            dataset_id, episode_buffers(rows, env.action_space, obs_dim), env=env.spec, eval_env=env.spec,
            algorithm_name="SAC behaviour run, its replay buffer (D4RL medium-replay)", author="iql-jax",
            code_permalink="iql_jax/behaviour/replay_dataset.py", requirements=requirements(),
            ref_min_score=refs[0] if refs else None, ref_max_score=refs[1] if refs else None,
            description=f"Every transition of {config.env_id} SAC seed {config.seed} up to step {until:,}, in order.")
        source = f"every transition of SAC seed {config.seed} up to step {until:,} ({run_dir.name})"
        dataset.storage.update_metadata({METADATA_PREFIX + "domain": "locomotion", METADATA_PREFIX + "behaviour": {
            "key": config.env_id, "recipe": "medium-replay", "source": source, "until": until}})
    env.close()
    return root / dataset_id
