"""Built-in AntMaze datasets made the D4RL way, with a walking ant: the package's directional ant steered along
BFS waypoints, with N(0, 0.2) action noise (``shared/reference/behaviour-data.md`` §1.2).

The driver (:class:`AntDriver`): each step it asks the maze planner (the PointMaze generator's
:class:`~iql_jax.data.generate_maze.WaypointController`, the same BFS over cells) for the next waypoint, feeds
the shipped ``antdir`` policy the ant's own observation plus the unit direction to it (through
:func:`~iql_jax.behaviour.directional.steer`, which turns the world so every direction is one the policy walks
well), samples an action and adds N(0, 0.2) noise, clipped to [−1, 1], as D4RL's ``--noisy`` collection did.

The variants, on gymnasium-robotics ``AntMaze_{UMaze,Medium,Large}-v4`` (``continuing_task=True,
reset_target=False``; episodes of 700 steps on the U-maze, 1000 elsewhere, as D4RL's timeouts):

* ``antmaze-umaze``: D4RL's fixed start and goal (the catalogue's evaluation cells); the goal never moves, and the
  ant stays near it once there;
* ``*-diverse``: a random free start cell and random goals anywhere; a reached goal is replaced at once by another,
  so the goal moves within episodes;
* ``*-play``: random starts outside the goal cells and goals from D4RL's hand-picked cells (the catalogue's
  ``play_goals``), replaced when reached.

Data go through Minari's ``DataCollector`` in the layout of Minari's ``D4RL/antmaze``: dict observations
(``observation`` 27, ``achieved_goal``, ``desired_goal``) and the env's own sparse rewards (1 within 0.45 m of the
goal). The evaluation env is the catalogue's fixed-goal map (terminal at the goal), scored by success, with the
reference scores 0 and 1 (normalised = success × 100). The metadata records the driver's own success rate on that
evaluation task (start → goal, measured at generation) and the data's coverage of the maze.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from iql_jax.behaviour.directional import steer
from iql_jax.behaviour.policy import BehaviourPolicy
from iql_jax.behaviour.shipped import load_shipped
from iql_jax.data.generate_maze import WaypointController, make_env
from iql_jax.data.minari_io import METADATA_PREFIX, minari_datasets_path, requirements
from iql_jax.tasks import ANTMAZE_REFS, TASKS, Maze

ACTION_NOISE_STD = 0.2  # D4RL's --noisy
POLICY = ("antdir", "expert")
DRIVER_EPISODES = 20


@dataclass(frozen=True)
class Variant:
    maze: str  # umaze, medium, large
    goals: str  # "fixed" (one goal, one start), "diverse" (any free cell), "play" (the maze's play goals)

    @property
    def task_key(self) -> str:
        return f"antmaze-{self.maze}"


VARIANTS: dict[str, Variant] = {
    "antmaze-umaze": Variant("umaze", "fixed"), "antmaze-umaze-diverse": Variant("umaze", "diverse"),
    "antmaze-medium-play": Variant("medium", "play"), "antmaze-medium-diverse": Variant("medium", "diverse"),
    "antmaze-large-play": Variant("large", "play"), "antmaze-large-diverse": Variant("large", "diverse"),
}


class AntDriver:
    """Waypoints from the BFS planner, turned into unit directions for the directional ant, plus action noise."""

    def __init__(self, maze, policy: BehaviourPolicy, rng: np.random.Generator, noise_std: float = ACTION_NOISE_STD):
        self.planner, self.policy, self.rng, self.noise_std = WaypointController(maze), policy, rng, noise_std

    def direction(self, xy, goal) -> np.ndarray:
        """The unit vector from ``xy`` to the next waypoint towards ``goal`` (zero on it)."""
        wx, wy = self.planner.waypoint(float(xy[0]), float(xy[1]), goal)
        d = np.array([wx - float(xy[0]), wy - float(xy[1])])
        norm = math.hypot(d[0], d[1])
        return d / norm if norm > 1e-8 else np.zeros(2)

    def __call__(self, obs: dict, goal) -> np.ndarray:
        z = self.direction(obs["achieved_goal"], goal)
        act_dim = self.policy.act_dim
        if not z.any():  # on the goal itself: any heading, the goal is reached
            z = np.array([1.0, 0.0])
        action = steer(self.policy, obs["observation"], z, self.rng.standard_normal(act_dim))
        return np.clip(action + self.rng.normal(0.0, self.noise_std, act_dim), -1.0, 1.0).astype(np.float32)


def _cells(maze: Maze, variant: Variant):
    """(start cells, goal cells) a variant draws from."""
    free = maze.free_cells()
    if variant.goals == "fixed":
        return [maze.start], [maze.goal]
    if variant.goals == "play":
        return [c for c in free if c not in maze.play_goals], list(maze.play_goals)
    return free, free


def _draw(rng, cells, avoid=None):
    choices = [c for c in cells if c != avoid] or cells
    return choices[int(rng.integers(len(choices)))]


def collect_antmaze(name: str, steps: int, seed: int, root, dataset_id: str, progress: bool = False,
                    policy: BehaviourPolicy | None = None) -> Path:
    """Collect ``steps`` steps of variant ``name`` through ``DataCollector`` and write Minari dataset ``dataset_id``.

    ``policy`` replaces the shipped directional ant (tests use an untrained one). Identical arguments give
    identical arrays.
    """
    import minari

    from iql_jax.behaviour.trainer import episode_seed

    variant = VARIANTS[name]
    task = TASKS[variant.task_key]
    maze = task.maze
    policy = policy or load_shipped(*POLICY)
    env = make_env(task.env_id, maze_map=[list(r) for r in maze.walls], continuing_task=True, reset_target=False,
                max_episode_steps=task.max_episode_steps)
    inner = env.unwrapped
    collector = minari.DataCollector(env, record_infos=False)
    rng = np.random.default_rng(seed)
    driver = AntDriver(inner.maze, policy, rng)
    planner = driver.planner
    starts, goals = _cells(maze, variant)
    visits: dict[str, int] = {}
    goal_counts: dict[str, int] = {}
    reached, episode, t = 0, 0, 0

    def new_goal(avoid):
        cell = _draw(rng, goals, avoid)
        goal_counts[str(cell)] = goal_counts.get(str(cell), 0) + 1
        return cell

    with tqdm(total=steps, desc=name, unit="step", disable=not progress) as bar:
        while t < steps:
            start = _draw(rng, starts)
            goal = new_goal(start)
            obs, _ = collector.reset(seed=episode_seed(seed, episode),
                                     options={"reset_cell": np.array(start), "goal_cell": np.array(goal)})
            episode += 1
            while t < steps:
                obs, _, terminated, truncated, info = collector.step(driver(obs, inner.goal))
                t += 1
                bar.update(1)
                cell = planner.cell(*obs["achieved_goal"])
                visits[str(cell)] = visits.get(str(cell), 0) + 1
                if terminated or truncated:
                    break
                if info["success"] and variant.goals != "fixed":
                    reached += 1
                    goal = new_goal(cell)
                    inner.goal = inner.add_xy_position_noise(inner.maze.cell_rowcol_to_xy(np.array(goal)))
                    inner.update_target_site_pos()
    coverage = {"cells_visited": sum(1 for c in maze.free_cells() if str(c) in visits),
                "free_cells": len(maze.free_cells()), "visits": visits, "goals": goal_counts,
                "goals_reached_and_replaced": reached, "episodes": episode}
    success = driver_success(variant.maze, policy, seed)
    eval_env = make_env(task.env_id, **task.eval_kwargs(), max_episode_steps=task.max_episode_steps)
    record = {"variant": name, "goals": variant.goals, "policy": {"fingerprint": policy.fingerprint,
                                                                  "step": policy.record.get("step")},
              "action_noise_std": ACTION_NOISE_STD, "driver_success": success, "coverage": coverage}
    with minari_datasets_path(root), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*author_email.*")
        dataset = collector.create_dataset(
            dataset_id=dataset_id, eval_env=eval_env.spec, algorithm_name="directional SAC ant + BFS waypoints, "
            "N(0, 0.2) action noise", author="iql-jax", code_permalink="iql_jax/data/generate_antmaze.py",
            ref_min_score=ANTMAZE_REFS[0], ref_max_score=ANTMAZE_REFS[1], requirements=requirements(),
            description=f"{task.env_id} {name} (D4RL recipe, goals: {variant.goals}); {steps} steps, seed {seed}; "
                        f"the driver reaches the evaluation goal in {success['rate']:.0%} of "
                        f"{success['episodes']} attempts.")
        dataset.storage.update_metadata({METADATA_PREFIX + "domain": "antmaze", METADATA_PREFIX + "antmaze": record})
    collector.close()
    eval_env.close()
    return Path(root) / dataset_id


def driver_success(maze_name: str, policy: BehaviourPolicy, seed: int, episodes: int = DRIVER_EPISODES) -> dict:
    """How often the driver itself walks the evaluation task (fixed start → goal, terminal at the goal)."""
    task = TASKS[f"antmaze-{maze_name}"]
    env = make_env(task.env_id, **task.eval_kwargs(), max_episode_steps=task.max_episode_steps)
    driver = AntDriver(env.unwrapped.maze, policy, np.random.default_rng([seed, 7]))
    successes, lengths = 0, []
    for e in range(episodes):
        obs, _ = env.reset(seed=int(np.random.SeedSequence([seed, 7, e]).generate_state(1)[0]))
        for step in range(task.max_episode_steps):
            obs, _, terminated, truncated, _ = env.step(driver(obs, env.unwrapped.goal))
            if terminated or truncated:
                break
        successes += int(terminated)
        lengths.append(step + 1)
    env.close()
    return {"episodes": episodes, "rate": successes / episodes, "mean_length": float(np.mean(lengths)),
            "start": list(task.maze.start), "goal": list(task.maze.goal)}
