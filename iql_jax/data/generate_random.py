"""Built-in ``<env>-random`` datasets: uniform random actions on gymnasium MuJoCo ``<Env>-v5``, like D4RL ``*-random``.

Terminations (the robot fell) are ``terminations``; the 1000-step time limit is a ``truncation`` followed by a reset.
The data's end truncates the last episode. Reference scores are D4RL's constants for the task (random / expert
returns, ``reference/d4rl-and-envs.md`` §1), not measured here: v5 returns are only approximately comparable to them
(§8). The raw env (``env.unwrapped``) is stepped in a plain loop that applies the time limit itself.
"""

from __future__ import annotations

import numpy as np
from tqdm import tqdm

from iql_jax.data.minari_io import EpisodeArrays, GeneratedDataset
from iql_jax.tasks import TASKS


# Built-in random datasets run on gymnasium's v5 MuJoCo envs (Ant-v5's 105-dim observation, not D4RL's 111).
ENV_IDS = {"hopper": "Hopper-v5", "halfcheetah": "HalfCheetah-v5", "walker2d": "Walker2d-v5", "ant": "Ant-v5"}


def generate_random(task_name: str, steps: int, seed: int, progress: bool = True) -> GeneratedDataset:
    """Collect ``steps`` uniform-random transitions on ``ENV_IDS[task_name]`` and describe them for ``write_minari``."""
    ref_min, ref_max = TASKS[task_name].ref_scores
    episodes, spec = collect_random(task_name, steps, seed, progress)
    return GeneratedDataset(
        episodes=episodes, env_spec=spec, eval_env_spec=spec, ref_min_score=ref_min,
        ref_max_score=ref_max, ref_episodes=0, algorithm_name="uniform random actions",
        description=f"{ENV_IDS[task_name]}, uniform random actions (D4RL *-random style); {steps} steps, seed {seed}. "
                    "Reference scores are D4RL's constants.",
        code_permalink="iql_jax/data/generate_random.py",
        extra={"domain": "locomotion"})


def collect_random(task_name: str, steps: int, seed: int, progress: bool = False):
    """The episodes of :func:`generate_random` and the env spec; identical for identical arguments."""
    import gymnasium as gym

    wrapped = gym.make(ENV_IDS[task_name])
    env, horizon = wrapped.unwrapped, wrapped.spec.max_episode_steps
    space = env.action_space
    actions = np.random.default_rng(seed).uniform(space.low, space.high, size=(steps, space.shape[0]))
    obs = env.reset(seed=seed)[0]
    episodes, observations, rewards, terminals = [], [obs], [], []
    with tqdm(total=steps, desc=f"{task_name}-random", unit="step", disable=not progress) as bar:
        for t in range(steps):
            obs, reward, terminated, _, _ = env.step(actions[t])
            observations.append(obs)
            rewards.append(reward)
            terminals.append(terminated)
            if terminated or len(rewards) >= horizon or t == steps - 1:
                truncations = np.zeros(len(rewards), dtype=bool)
                truncations[-1] = not terminated
                episodes.append(EpisodeArrays(
                    np.asarray(observations, dtype=np.float32), actions[t + 1 - len(rewards): t + 1].astype(np.float32),
                    np.asarray(rewards, dtype=np.float32), np.asarray(terminals, dtype=bool), truncations))
                obs = env.reset()[0]
                observations, rewards, terminals = [obs], [], []
            if (t + 1) % 1000 == 0:
                bar.update(1000)
        bar.update(steps % 1000)
    return episodes, wrapped.spec
