"""Built-in PointMaze datasets, collected exactly as Minari's ``D4RL/pointmaze`` data, and the paper's Fig. 2 data.

``pointmaze-{umaze,medium,large}`` (``shared/reference/d4rl-and-envs.md`` §8): gymnasium-robotics
``PointMaze_*-v3`` with ``continuing_task=True, reset_target=True, max_episode_steps=1e6``, stepped through Minari's
own ``DataCollector``; a BFS-waypoint PD controller (``a = clip(10·(waypoint − xy) − 1·v + N(0, 0.5²))``) chases
the current goal; every goal reach truncates the episode (a step-data callback, as Minari's script does) and the env
draws a new goal without a reset, so the next episode starts where the last one ended. Observations stay dicts
(``observation``, ``achieved_goal``, ``desired_goal``) and rewards are the env's own sparse ones, earned for goals that
keep moving: the loader's goal handling (:mod:`iql_jax.data.goals`) turns them into a well-posed task, conditioned on
the goal or relabelled to the fixed evaluation goal.

The evaluation env is the same id with the catalogue's fixed-goal map (:mod:`iql_jax.tasks`: one ``g`` cell,
``continuing_task=True, reset_target=False``, 300/600/800 steps), so its return is the number of steps spent at the
goal, as in D4RL maze2d. Reference scores are measured on it: the mean return of uniform random actions (min) and of
the noise-free controller (max), over ``REF_EPISODES`` seeded episodes.

``pointmaze-umaze-fig2`` is the paper's Fig. 2 setup (``mazes.md`` §3): start cell (3, 1), goal cell (1, 1),
``continuing_task=False``; one noise-free controller trajectory (terminal at the goal) and 99 trajectories of 300
uniform random actions from the same start, stored with flat observations and fixed-goal rewards. Its reference
scores are fixed to 0 and 1, so the normalised score is success x 100.
"""

from __future__ import annotations

import functools
import math
import warnings
from collections import deque
from pathlib import Path

import numpy as np
from tqdm import tqdm

from iql_jax.data.minari_io import (METADATA_PREFIX, EpisodeArrays, GeneratedDataset, minari_datasets_path,
                                    requirements)
from iql_jax.registry import register_robotics
from iql_jax.tasks import TASKS, Task

ACTION_NOISE_STD = 0.5  # Minari's D4RL pointmaze recipe
COLLECTION_LIMIT = 1_000_000  # Minari collects with max_episode_steps=1e6: episodes end at goal reaches
REF_EPISODES = 50
REF_SEED = 0  # reference scores do not depend on the dataset seed, so scores compare across seeds
FIG2_START_CELL, FIG2_GOAL_CELL, FIG2_HORIZON, FIG2_RANDOM_EPISODES = (3, 1), (1, 1), 300, 99


def maze_task(maze: str) -> Task:
    """The catalogue's PointMaze task of a maze size (``umaze``, ``medium``, ``large``)."""
    return TASKS[f"pointmaze-{maze}"]


class WaypointController:
    """BFS waypoints + PD control: ``a = clip(kp (waypoint - xy) - kd v + noise, -1, 1)``.

    A BFS over free cells from the goal's cell gives each cell its next cell towards the goal; the waypoint is that
    cell's centre, or the goal itself inside the goal's cell. Plain-float arithmetic: it runs once per env step.
    """

    def __init__(self, maze, kp: float = 10.0, kd: float = 1.0):
        self._map, self._scale = maze.maze_map, maze.maze_size_scaling
        self._x_centre, self._y_centre = maze.x_map_center, maze.y_map_center
        self._kp, self._kd = kp, kd
        self._waypoints: dict[tuple[int, int], dict] = {}

    def cell(self, x: float, y: float) -> tuple[int, int]:
        return (math.floor((self._y_centre - y) / self._scale), math.floor((x + self._x_centre) / self._scale))

    def centre(self, cell) -> np.ndarray:
        i, j = cell
        return np.array([(j + 0.5) * self._scale - self._x_centre, self._y_centre - (i + 0.5) * self._scale])

    def waypoint(self, x: float, y: float, goal) -> tuple[float, float]:
        """Where to head from (x, y): the centre of the next cell on a shortest path to ``goal``'s cell, or the goal
        itself inside that cell (D4RL's ``create_navigation_policy``; the AntMaze driver steers the ant with it)."""
        goal_x, goal_y = float(goal[0]), float(goal[1])
        goal_cell = self.cell(goal_x, goal_y)
        table = self._waypoints.get(goal_cell) or self._bfs(goal_cell)
        cell = self.cell(x, y)
        return (goal_x, goal_y) if cell == goal_cell else table.get(cell, (goal_x, goal_y))

    def __call__(self, obs, goal, noise_x: float = 0.0, noise_y: float = 0.0) -> np.ndarray:
        x, y, vx, vy = (float(v) for v in obs)
        wx, wy = self.waypoint(x, y, goal)
        ax = self._kp * (wx - x) - self._kd * vx + noise_x
        ay = self._kp * (wy - y) - self._kd * vy + noise_y
        return np.array([min(1.0, max(-1.0, ax)), min(1.0, max(-1.0, ay))], dtype=np.float32)

    def _bfs(self, goal_cell) -> dict:
        table, frontier = {goal_cell: None}, deque([goal_cell])
        while frontier:
            i, j = frontier.popleft()
            for cell in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
                inside = 0 <= cell[0] < len(self._map) and 0 <= cell[1] < len(self._map[0])
                if inside and cell not in table and self._map[cell[0]][cell[1]] != 1:
                    table[cell] = tuple(self.centre((i, j)))  # step from ``cell`` towards (i, j)
                    frontier.append(cell)
        self._waypoints[goal_cell] = table
        return table


def collect_pointmaze(maze: str, steps: int, seed: int, root, dataset_id: str, progress: bool = False) -> Path:
    """Collect ``steps`` moving-goal steps through ``DataCollector`` and write them as Minari dataset ``dataset_id``.

    Identical ``(maze, steps, seed)`` give identical arrays. Returns the dataset directory under ``root``.
    """
    import minari

    task = maze_task(maze)
    env = make_env(task.env_id, continuing_task=True, reset_target=True, max_episode_steps=COLLECTION_LIMIT)
    collector = minari.DataCollector(env, step_data_callback=_truncate_on_success(), record_infos=False)
    controller = WaypointController(env.unwrapped.maze)
    noise = np.random.default_rng(seed).normal(0.0, ACTION_NOISE_STD, size=(steps, 2))
    obs, _ = collector.reset(seed=seed)
    with tqdm(total=steps, desc=f"pointmaze-{maze}", unit="step", disable=not progress) as bar:
        for t in range(steps):
            action = controller(obs["observation"], env.unwrapped.goal, noise[t, 0], noise[t, 1])
            obs, _, terminated, truncated, _ = collector.step(action)
            if terminated or truncated:  # the 1e6-step limit: reset, seeded so the data stay reproducible
                obs, _ = collector.reset(seed=seed + t + 1)
            if (t + 1) % 1000 == 0:
                bar.update(1000)
        bar.update(steps % 1000)
    ref_min, ref_max = reference_scores(maze)
    with minari_datasets_path(root), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*author_email.*")
        dataset = collector.create_dataset(
            dataset_id=dataset_id, eval_env=_eval_env(task).spec, algorithm_name=_ALGORITHM, author="iql-jax",
            code_permalink="iql_jax/data/generate_maze.py", ref_min_score=ref_min, ref_max_score=ref_max,
            num_episodes_average_score=REF_EPISODES, requirements=requirements(),
            description=f"{task.env_id} collected as Minari's D4RL/pointmaze: moving goals (re-drawn at each reach, "
                        f"which truncates the episode), dict observations, sparse rewards; {steps} steps, seed {seed}.")
        dataset.storage.update_metadata({METADATA_PREFIX + "domain": "maze"})
    collector.close()
    return Path(root) / dataset_id


_ALGORITHM = "BFS waypoints + PD controller, N(0, 0.5) action noise"

# Stitching datasets: short segments between nearby cells; the evaluation start and goal (the far ends of the maze)
# are never joined by one segment, so reaching the goal needs segments stitched together (AntMaze "diverse").
STITCH_ENDS = {"umaze": ((3, 1), (1, 1)), "medium": ((1, 1), (6, 6)),  # evaluation (start, goal) cells
               "large": ((1, 1), (7, 9))}
SEGMENT_CELLS = 2  # a segment's goal is 1 or 2 cells (BFS) from its start
SEGMENT_LIMIT = 60  # steps after which an unreached segment is cut (a truncation)


def collect_stitch(maze: str, steps: int, seed: int, root, dataset_id: str, progress: bool = False) -> Path:
    """Collect ``steps`` steps of short segments (random free start cell, goal 1–2 cells away) through
    ``DataCollector`` and write them as Minari dataset ``dataset_id``; coverage goes into the metadata."""
    import minari

    task = maze_task(maze)
    env = make_env(task.env_id, continuing_task=True, reset_target=False, max_episode_steps=COLLECTION_LIMIT)
    collector = minari.DataCollector(env, step_data_callback=_truncate_on_success(), record_infos=False)
    controller = WaypointController(env.unwrapped.maze)
    free = task.maze.free_cells()
    near = {c: [g for g in free if 1 <= _cell_distance(task.maze, c, g) <= SEGMENT_CELLS] for c in free}
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, ACTION_NOISE_STD, size=(steps, 2))
    starts: dict[str, int] = {}
    t = 0
    with tqdm(total=steps, desc=f"pointmaze-{maze}-stitch", unit="step", disable=not progress) as bar:
        while t < steps:
            start = free[rng.integers(len(free))]
            goal = near[start][rng.integers(len(near[start]))]
            starts[str(start)] = starts.get(str(start), 0) + 1
            obs, _ = collector.reset(seed=int(rng.integers(2**31)), options={"reset_cell": np.array(start),
                                                                             "goal_cell": np.array(goal)})
            for _ in range(SEGMENT_LIMIT):
                action = controller(obs["observation"], env.unwrapped.goal, noise[t, 0], noise[t, 1])
                obs, _, terminated, truncated, info = collector.step(action)  # the env's own flags
                t += 1
                bar.update(1)
                if terminated or truncated or info["success"] or t == steps:  # success: the callback truncated
                    break
    start_cell, goal_cell = STITCH_ENDS[maze]
    ref_min, ref_max = reference_scores(maze, "stitch")
    coverage = {"segments": sum(starts.values()), "start_cells": starts, "segment_cells": SEGMENT_CELLS,
                "segment_limit": SEGMENT_LIMIT, "eval_start_cell": list(start_cell), "eval_goal_cell": list(goal_cell)}
    with minari_datasets_path(root), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*author_email.*")
        dataset = collector.create_dataset(
            dataset_id=dataset_id, eval_env=_stitch_eval_env(maze).spec, algorithm_name=_ALGORITHM,
            author="iql-jax", code_permalink="iql_jax/data/generate_maze.py", ref_min_score=ref_min,
            ref_max_score=ref_max, num_episodes_average_score=REF_EPISODES, requirements=requirements(),
            description=f"{task.env_id} stitching data: {coverage['segments']} segments from random free cells to a "
                        f"goal {SEGMENT_CELLS} cells away at most; evaluation from cell {start_cell} to {goal_cell}, "
                        f"which no segment joins; {steps} steps, seed {seed}.")
        dataset.storage.update_metadata({METADATA_PREFIX + "domain": "maze", METADATA_PREFIX + "coverage": coverage})
    collector.close()
    return Path(root) / dataset_id


def _cell_distance(maze, a, b) -> int:
    """Steps between two free cells through free cells (BFS)."""
    frontier, seen = deque([(a, 0)]), {a}
    while frontier:
        (i, j), d = frontier.popleft()
        if (i, j) == b:
            return d
        for cell in ((i - 1, j), (i + 1, j), (i, j - 1), (i, j + 1)):
            if cell not in seen and maze.walls[cell[0]][cell[1]] == 0:
                seen.add(cell)
                frontier.append((cell, d + 1))
    return 10**9


def _stitch_eval_env(maze: str):
    task = maze_task(maze)
    start, goal = STITCH_ENDS[maze]
    cells = [list(row) for row in task.maze.walls]
    cells[start[0]][start[1]], cells[goal[0]][goal[1]] = "r", "g"
    return make_env(task.env_id, maze_map=cells, continuing_task=True, reset_target=False,
                 max_episode_steps=task.max_episode_steps)


def generate_fig2(seed: int, progress: bool = True) -> GeneratedDataset:
    """The Fig. 2 U-maze data: 1 controller trajectory + 99 random ones, all from start cell (3, 1)."""
    wrapped = _fig2_env()
    env = wrapped.unwrapped
    controller = WaypointController(env.maze)
    goal = np.array(maze_task("umaze").maze.centre(FIG2_GOAL_CELL))
    rng = np.random.default_rng(seed)
    obs = env.reset(seed=seed)[0]["observation"]
    episodes = [_rollout(env, obs, lambda o: controller(o, goal), goal, FIG2_HORIZON)]
    for _ in tqdm(range(FIG2_RANDOM_EPISODES), desc="pointmaze-umaze-fig2", unit="episode", disable=not progress):
        obs = env.reset()[0]["observation"]
        episodes.append(_rollout(env, obs, lambda o: rng.uniform(-1.0, 1.0, 2), goal, FIG2_HORIZON))
    return GeneratedDataset(
        episodes=episodes, env_spec=wrapped.spec, eval_env_spec=wrapped.spec,
        ref_min_score=0.0, ref_max_score=1.0, ref_episodes=0,
        algorithm_name="1 noise-free BFS/PD controller trajectory + 99 uniform random-action trajectories",
        description="IQL paper Fig. 2 setup on PointMaze_UMaze-v3: start cell (3, 1), goal cell (1, 1), "
                    "sparse reward 1 with a terminal at the goal; normalised score = success x 100.",
        code_permalink="iql_jax/data/generate_maze.py",
        extra={"domain": "maze"})


@functools.lru_cache(maxsize=None)
def reference_scores(maze: str, kind: str = "eval") -> tuple[float, float]:
    """Mean return of uniform random actions and of the noise-free controller (deterministic) over ``REF_EPISODES``
    episodes, cut at the evaluation time limit, in the env of ``kind``: ``"eval"``, the fixed-goal map (return =
    steps at the goal); ``"collection"``, goals re-drawn at every reach (return = goals reached); ``"stitch"``, the
    stitching datasets' map with a fixed start and goal."""
    task = maze_task(maze)
    env = {"eval": lambda: _eval_env(task), "stitch": lambda: _stitch_eval_env(maze),
           "collection": lambda: make_env(task.env_id, continuing_task=True, reset_target=True)}[kind]().unwrapped
    controller = WaypointController(env.maze)
    rng = np.random.default_rng(REF_SEED)
    policies = (lambda obs: rng.uniform(-1.0, 1.0, 2), lambda obs: controller(obs, env.goal))
    scores = []
    for policy in policies:
        returns = []
        for episode in range(REF_EPISODES):
            obs = env.reset(seed=REF_SEED if episode == 0 else None)[0]["observation"]
            total = 0.0
            for _ in range(task.max_episode_steps):
                obs_dict, reward, terminated, _, _ = env.step(policy(obs))
                obs, total = obs_dict["observation"], total + float(reward)
                if terminated:
                    break
            returns.append(total)
        scores.append(float(np.mean(returns)))
    return scores[0], scores[1]


def goal_rewards(next_observations: np.ndarray, goal, radius: float) -> np.ndarray:
    """``1[||xy(s') - goal|| <= radius]`` in float64 on the stored float32 values (float32 result)."""
    xy = np.asarray(next_observations, dtype=np.float32)[:, :2].astype(np.float64)
    return (np.linalg.norm(xy - np.asarray(goal, dtype=np.float64), axis=1) <= radius).astype(np.float32)


def _rollout(env, obs, policy, goal, horizon: int) -> EpisodeArrays:
    """One episode that stops at the goal with a terminal, or after ``horizon`` steps (then truncated)."""
    radius = maze_task("umaze").maze.radius
    observations, actions = [obs], []
    for _ in range(horizon):
        action = policy(obs)
        obs = env.step(action)[0]["observation"]
        observations.append(obs)
        actions.append(action)
        if goal_rewards(obs[None], goal, radius)[0] > 0:  # the very test the stored rewards use
            break
    obs = np.asarray(observations, dtype=np.float32)
    rewards = goal_rewards(obs[1:], goal, radius)
    truncations = np.zeros(len(rewards), dtype=bool)
    truncations[-1] = not rewards[-1] > 0
    return EpisodeArrays(obs, np.asarray(actions, dtype=np.float32), rewards, rewards > 0, truncations)


def _truncate_on_success():
    """A DataCollector step callback: a reached goal ends the episode (Minari's pointmaze recipe)."""
    from minari.data_collector.callbacks import StepDataCallback

    class TruncateOnSuccess(StepDataCallback):
        def __call__(self, env, **kwargs):
            data = super().__call__(env, **kwargs)
            data["truncated"] = bool(data["truncated"]) or bool(kwargs["info"].get("success", False))
            return data

    return TruncateOnSuccess


def _eval_env(task: Task):
    return make_env(task.env_id, **task.eval_kwargs(), max_episode_steps=task.max_episode_steps)


def _fig2_env():
    cells = maze_task("umaze").maze.maze_map()
    cells[FIG2_START_CELL[0]][FIG2_START_CELL[1]] = "r"
    return make_env("PointMaze_UMaze-v3", maze_map=cells, continuing_task=False, max_episode_steps=FIG2_HORIZON)


def make_env(env_id: str, **kwargs):
    """``gym.make`` for the maze generators, quiet about AntMaze v4 being older than v5: v4 is the version
    Minari's D4RL/antmaze data were collected in (v5 only adds contact forces to the observation)."""
    import gymnasium as gym

    register_robotics()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is out of date.*")
        return gym.make(env_id, **kwargs)
