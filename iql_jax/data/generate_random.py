"""Built-in ``<env>-random`` datasets: uniform random actions on gymnasium MuJoCo ``<Env>-v5``, like D4RL ``*-random``.

Terminations (the robot fell) are ``terminations``; the 1000-step time limit is a ``truncation`` followed by a reset.
The data's end truncates the last episode. Reference scores are D4RL's constants for the task (random / expert
returns, ``reference/d4rl-and-envs.md`` §1), not measured here: v5 returns are only approximately comparable to them
(§8). The raw env (``env.unwrapped``) is stepped in a plain loop that applies the time limit itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from iql_jax.data.minari_io import EpisodeArrays, GeneratedDataset


@dataclass(frozen=True)
class LocomotionTask:
    env_id: str
    ref_min_score: float  # D4RL REF_MIN_SCORE (a random policy's return)
    ref_max_score: float  # D4RL REF_MAX_SCORE (an expert's return)


TASKS = {
    "hopper": LocomotionTask("Hopper-v5", -20.272305, 3234.3),
    "halfcheetah": LocomotionTask("HalfCheetah-v5", -280.178953, 12135.0),
    "walker2d": LocomotionTask("Walker2d-v5", 1.629008, 4592.3),
    "ant": LocomotionTask("Ant-v5", -325.6, 3879.7),
}


def generate_random(task_name: str, steps: int, seed: int, progress: bool = True) -> GeneratedDataset:
    """Collect ``steps`` uniform-random transitions on ``TASKS[task_name]`` and describe them for ``write_minari``."""
    task = TASKS[task_name]
    episodes, spec = collect_random(task_name, steps, seed, progress)
    return GeneratedDataset(
        episodes=episodes, env_spec=spec, eval_env_spec=spec, ref_min_score=task.ref_min_score,
        ref_max_score=task.ref_max_score, ref_episodes=0, algorithm_name="uniform random actions",
        description=f"{task.env_id}, uniform random actions (D4RL *-random style); {steps} steps, seed {seed}. "
                    "Reference scores are D4RL's constants.",
        code_permalink="iql_jax/data/generate_random.py",
        extra={"domain": "locomotion"})


def collect_random(task_name: str, steps: int, seed: int, progress: bool = False):
    """The episodes of :func:`generate_random` and the env spec; identical for identical arguments."""
    import gymnasium as gym

    wrapped = gym.make(TASKS[task_name].env_id)
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
