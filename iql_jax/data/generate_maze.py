"""Built-in PointMaze datasets: a scripted controller on gymnasium-robotics ``PointMaze_*-v3``, D4RL maze2d style.

Design: the D4RL-style fixed goal (``reference/mazes.md`` §1, design 2). Data are collected as Minari's D4RL
pointmaze data are (``continuing_task=True, reset_target=True``: a reached goal is re-drawn; an episode is cut with a
truncation at each goal reach and, with a reset, after ``max_episode_steps``). Then:

* the observation is the flat ``observation`` (x, y, vx, vy), without the goal (maze2d's 4-vector);
* rewards and terminals are relabelled against ONE fixed evaluation goal, the centre of ``eval_goal_cell``:
  ``reward = terminal = 1[||xy(s') - goal|| <= 0.45]`` (the data keep going past a terminal, as in D4RL AntMaze);
* the evaluation env is the same id with a ``maze_map`` holding one ``g`` cell, ``continuing_task=True,
  reset_target=False`` and ``max_episode_steps`` 300/600/800, so its return is the number of steps spent at the
  goal, as in D4RL maze2d. Its goal carries gymnasium-robotics' ±0.25 reset noise around the same cell centre.
* reference scores are measured on that env: the mean return of uniform random actions (min) and of the noise-free
  controller (max), over ``REF_EPISODES`` seeded episodes.

Goal cells: umaze (1, 1), the far end of the U (maze2d's and the Fig. 2 goal); medium (6, 6) and large (7, 9), the
goal cells of D4RL maze2d and of Minari's evaluation maps.

``pointmaze-umaze-fig2`` is the paper's Fig. 2 setup (``mazes.md`` §3): start cell (3, 1), goal cell (1, 1),
``continuing_task=False``; one noise-free controller trajectory (terminal at the goal) and 99 trajectories of 300
uniform random actions from the same start. Its reference scores are fixed to 0 and 1, so the normalised score is
success x 100.

Speed: the raw env (``env.unwrapped``) is stepped in a plain loop; the semantics of the wrappers (time limit, order
enforcement) are kept by the loop itself.
"""

from __future__ import annotations

import copy
import functools
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from tqdm import tqdm

from iql_jax.data.minari_io import EpisodeArrays, GeneratedDataset
from iql_jax.registry import register_robotics

GOAL_RADIUS = 0.45  # gymnasium-robotics' success radius (D4RL used 0.5)
ACTION_NOISE_STD = 0.5  # Minari's D4RL pointmaze recipe
REF_EPISODES = 50
REF_SEED = 0  # reference scores do not depend on the dataset seed, so scores compare across seeds
FIG2_START_CELL, FIG2_GOAL_CELL, FIG2_HORIZON, FIG2_RANDOM_EPISODES = (3, 1), (1, 1), 300, 99


@dataclass(frozen=True)
class MazeTask:
    env_id: str
    eval_goal_cell: tuple[int, int]
    max_episode_steps: int


MAZES = {
    "umaze": MazeTask("PointMaze_UMaze-v3", (1, 1), 300),
    "medium": MazeTask("PointMaze_Medium-v3", (6, 6), 600),
    "large": MazeTask("PointMaze_Large-v3", (7, 9), 800),
}


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

    def __call__(self, obs, goal, noise_x: float = 0.0, noise_y: float = 0.0) -> np.ndarray:
        x, y, vx, vy = (float(v) for v in obs)
        goal_x, goal_y = float(goal[0]), float(goal[1])
        goal_cell = self.cell(goal_x, goal_y)
        table = self._waypoints.get(goal_cell) or self._bfs(goal_cell)
        cell = self.cell(x, y)
        wx, wy = (goal_x, goal_y) if cell == goal_cell else table.get(cell, (goal_x, goal_y))
        ax = self._kp * (wx - x) - self._kd * vx + noise_x
        ay = self._kp * (wy - y) - self._kd * vy + noise_y
        return np.array([min(1.0, max(-1.0, ax)), min(1.0, max(-1.0, ay))])

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


def generate_pointmaze(maze: str, steps: int, seed: int, progress: bool = True) -> GeneratedDataset:
    """Collect ``steps`` transitions on ``MAZES[maze]`` and describe them for :func:`write_minari`."""
    task = MAZES[maze]
    episodes = collect_pointmaze(maze, steps, seed, progress)
    ref_min, ref_max = reference_scores(maze)
    goal_cell = task.eval_goal_cell
    return GeneratedDataset(
        episodes=episodes, env_spec=_collection_env(task).spec, eval_env_spec=_eval_env(task).spec,
        ref_min_score=ref_min, ref_max_score=ref_max, ref_episodes=REF_EPISODES,
        algorithm_name="BFS waypoints + PD controller, N(0, 0.5) action noise",
        description=f"{task.env_id}, moving collection goals, rewards relabelled against the fixed goal cell "
                    f"{goal_cell} (D4RL maze2d style); {steps} steps, seed {seed}.",
        code_permalink="iql_jax/data/generate_maze.py",
        extra=_goal_metadata(task.env_id, goal_cell))


def collect_pointmaze(maze: str, steps: int, seed: int, progress: bool = False) -> list[EpisodeArrays]:
    """The episodes of :func:`generate_pointmaze`, relabelled; identical for identical ``(maze, steps, seed)``."""
    task = MAZES[maze]
    env = _collection_env(task).unwrapped
    controller = WaypointController(env.maze)
    goal = controller.centre(task.eval_goal_cell)
    noise = np.random.default_rng(seed).normal(0.0, ACTION_NOISE_STD, size=(steps, 2))
    obs = env.reset(seed=seed)[0]["observation"]
    episodes, observations, actions = [], [obs], []
    with tqdm(total=steps, desc=f"pointmaze-{maze}", unit="step", disable=not progress) as bar:
        for t in range(steps):
            action = controller(obs, env.goal, noise[t, 0], noise[t, 1])  # the goal the reward is computed for
            obs_dict, _, _, _, info = env.step(action)
            obs = obs_dict["observation"]
            actions.append(action)
            observations.append(obs)
            timed_out = len(actions) >= task.max_episode_steps
            if info["success"] or timed_out or t == steps - 1:
                episodes.append(_episode(observations, actions, goal, terminal_stops=False))
                if timed_out and not info["success"]:
                    obs = env.reset()[0]["observation"]
                observations, actions = [obs], []
            if (t + 1) % 1000 == 0:
                bar.update(1000)
        bar.update(steps % 1000)
    return episodes


def generate_fig2(seed: int, progress: bool = True) -> GeneratedDataset:
    """The Fig. 2 U-maze data: 1 controller trajectory + 99 random ones, all from start cell (3, 1)."""
    wrapped = _fig2_env()
    env = wrapped.unwrapped
    controller = WaypointController(env.maze)
    goal = controller.centre(FIG2_GOAL_CELL)
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
        extra=_goal_metadata("PointMaze_UMaze-v3", FIG2_GOAL_CELL))


@functools.lru_cache(maxsize=None)
def reference_scores(maze: str) -> tuple[float, float]:
    """Mean evaluation return of uniform random actions and of the noise-free controller (deterministic)."""
    task = MAZES[maze]
    env = _eval_env(task).unwrapped
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


def goal_rewards(next_observations: np.ndarray, goal) -> np.ndarray:
    """``1[||xy(s') - goal|| <= GOAL_RADIUS]`` in float64 on the stored float32 values (float32 result)."""
    xy = np.asarray(next_observations, dtype=np.float32)[:, :2].astype(np.float64)
    return (np.linalg.norm(xy - np.asarray(goal, dtype=np.float64), axis=1) <= GOAL_RADIUS).astype(np.float32)


def _episode(observations, actions, goal, terminal_stops: bool) -> EpisodeArrays:
    obs = np.asarray(observations, dtype=np.float32)
    rewards = goal_rewards(obs[1:], goal)
    truncations = np.zeros(len(rewards), dtype=bool)
    truncations[-1] = not (terminal_stops and rewards[-1] > 0)
    return EpisodeArrays(obs, np.asarray(actions, dtype=np.float32), rewards, rewards > 0, truncations)


def _rollout(env, obs, policy, goal, horizon: int) -> EpisodeArrays:
    """One episode that stops at the (relabelled) goal with a terminal, or after ``horizon`` steps."""
    observations, actions = [obs], []
    for _ in range(horizon):
        action = policy(obs)
        obs = env.step(action)[0]["observation"]
        observations.append(obs)
        actions.append(action)
        if goal_rewards(obs[None], goal)[0] > 0:  # the very test the stored rewards use
            break
    return _episode(observations, actions, goal, terminal_stops=True)


def _goal_metadata(env_id: str, goal_cell) -> dict:
    import gymnasium as gym

    register_robotics()
    maze_map = gym.spec(env_id).kwargs["maze_map"]  # PointMaze: maze_size_scaling 1, centred at (0, 0)
    i, j = goal_cell
    goal = (j + 0.5 - len(maze_map[0]) / 2, len(maze_map) / 2 - (i + 0.5))
    return {"domain": "maze", "observation_layout": ["observation"], "goal": [float(v) for v in goal],
            "goal_cell": list(goal_cell), "goal_radius": GOAL_RADIUS}


def _with_cells(env_id: str, cells: dict) -> list:
    import gymnasium as gym

    register_robotics()
    maze_map = copy.deepcopy(gym.spec(env_id).kwargs["maze_map"])
    for (i, j), value in cells.items():
        maze_map[i][j] = value
    return maze_map


def _collection_env(task: MazeTask):
    return _make(task.env_id, continuing_task=True, reset_target=True, max_episode_steps=task.max_episode_steps)


def _eval_env(task: MazeTask):
    return _make(task.env_id, maze_map=_with_cells(task.env_id, {task.eval_goal_cell: "g"}), continuing_task=True,
                 reset_target=False, max_episode_steps=task.max_episode_steps)


def _fig2_env():
    cells = {FIG2_START_CELL: "r", FIG2_GOAL_CELL: "g"}
    return _make("PointMaze_UMaze-v3", maze_map=_with_cells("PointMaze_UMaze-v3", cells), continuing_task=False,
                 max_episode_steps=FIG2_HORIZON)


def _make(env_id: str, **kwargs):
    import gymnasium as gym

    register_robotics()
    return gym.make(env_id, **kwargs)


