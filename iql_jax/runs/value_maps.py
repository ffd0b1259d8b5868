"""Value maps of maze runs: the learned V(s) over the maze's free cells at rest (the paper's Fig. 2).

The geometry comes from the run's own evaluation env (``config.json`` → ``eval_env``: id and kwargs, built with
``gymnasium.make(...).unwrapped.maze``), so the map, the goal and the starts are exactly those the run was
evaluated on. A cell (i, j) has its centre at x = (j + ½)·s − x_c, y = y_c − (i + ½)·s (s: ``maze_size_scaling``,
(x_c, y_c): the map centre; rows grow downwards, y upwards). V is evaluated at ``per_cell``² points per free cell with
(vx, vy) = 0; wall points are NaN (drawn dark). For a goal-conditioned observation ``[x, y, vx, vy, goal_x, goal_y]``
the goal part is the env's fixed goal. The goal is a star, the reset locations (the starts) are white dots.
AntMaze observations in the D4RL layout (x, y, then the 27 of ``observation``) take the ant's state just after a
reset for those 27: the body upright, joints at their initial angles, nearly still.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import matplotlib

matplotlib.use("Agg")
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from iql_jax import agent  # noqa: E402
from iql_jax.errors import ConfigError  # noqa: E402
from iql_jax.runs.rundir import VALUES_PLOT, RunRecord, load_run  # noqa: E402


@dataclass(frozen=True)
class MazeGeometry:
    """A maze layout in world coordinates: walls, cell size, centre, goal and reset (start) locations, and the
    body's state at rest (what the observation holds besides x, y: PointMaze's zero velocity; the ant's pose
    and velocities just after reset), so V can be drawn over x, y alone."""

    maze_map: tuple[tuple, ...]  # rows of 1 (wall), 0 (free), "g" / "r" / "c" (free, goal / reset / both)
    scale: float
    x_centre: float
    y_centre: float
    goals: np.ndarray  # (G, 2) goal cell centres
    starts: np.ndarray  # (R, 2) reset cell centres
    rest: np.ndarray = field(default_factory=lambda: np.zeros(2))  # the observation after x, y, at rest

    @classmethod
    def from_env(cls, env_id: str, kwargs: dict | None = None) -> "MazeGeometry":
        import gymnasium as gym

        from iql_jax.registry import register_robotics

        register_robotics()
        env = gym.make(env_id, **(kwargs or {}))
        try:
            maze = env.unwrapped.maze
            observation = env.reset(seed=0)[0]["observation"]
            # PointMaze's observation starts with x, y (then velocity: zero); AntMaze's holds no x, y at all
            rest = np.zeros(2) if env_id.startswith("PointMaze") else np.asarray(observation, np.float64)
            return cls(tuple(tuple(row) for row in maze.maze_map), float(maze.maze_size_scaling),
                       float(maze.x_map_center), float(maze.y_map_center),
                       np.asarray(maze.unique_goal_locations, np.float64).reshape(-1, 2),
                       np.asarray(maze.unique_reset_locations, np.float64).reshape(-1, 2), rest)
        finally:
            env.close()

    def is_wall(self, i: int, j: int) -> bool:
        inside = 0 <= i < len(self.maze_map) and 0 <= j < len(self.maze_map[0])
        return not inside or self.maze_map[i][j] == 1

    def grid(self, per_cell: int = 8) -> tuple[np.ndarray, np.ndarray]:
        """World points ``(H, W, 2)`` at the centres of a ``per_cell`` × ``per_cell`` grid in every cell (row 0 at
        the top, as the map prints) and the free mask ``(H, W)``."""
        rows, cols = len(self.maze_map), len(self.maze_map[0])
        offsets = (np.arange(per_cell) + 0.5) / per_cell  # position inside a cell, 0..1
        col_pos, row_pos = np.arange(cols)[:, None] + offsets, np.arange(rows)[:, None] + offsets  # in cells
        xs = col_pos.reshape(-1) * self.scale - self.x_centre
        ys = self.y_centre - row_pos.reshape(-1) * self.scale
        points = np.stack(np.meshgrid(xs, ys), axis=-1)
        cells_i, cells_j = np.repeat(np.arange(rows), per_cell), np.repeat(np.arange(cols), per_cell)
        free = np.array([[not self.is_wall(i, j) for j in cells_j] for i in cells_i])
        return points, free

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) of the whole map, for ``imshow``."""
        width, height = len(self.maze_map[0]) * self.scale, len(self.maze_map) * self.scale
        return (-self.x_centre, width - self.x_centre, self.y_centre - height, self.y_centre)


def observations(geometry: MazeGeometry, points: np.ndarray, obs_dim: int) -> np.ndarray:
    """Flat observations ``(N, obs_dim)`` at ``points`` ``(N, 2)``: [x, y, rest] (the D4RL layout, x, y first) plus
    the fixed goal if present."""
    n = len(points)
    obs = np.concatenate([points, np.broadcast_to(geometry.rest, (n, len(geometry.rest)))], axis=1)
    plain = 2 + len(geometry.rest)
    if obs_dim == plain + 2:
        if len(geometry.goals) != 1:
            raise ConfigError(f"value map: a goal-conditioned observation needs one fixed goal; the evaluation env "
                              f"has {len(geometry.goals)} goal cells")
        obs = np.concatenate([obs, np.broadcast_to(geometry.goals[0], (n, 2))], axis=1)
    elif obs_dim != plain:
        raise ConfigError(f"value map: expected a maze observation of {plain} values (x, y and {len(geometry.rest)} "
                          f"more; + [goal_x, goal_y]), found obs_dim {obs_dim}")
    return obs.astype(np.float32)


def value_grid(value_fn: Callable[[np.ndarray], np.ndarray], geometry: MazeGeometry, obs_dim: int,
               per_cell: int = 8) -> np.ndarray:
    """``value_fn`` (``(N, obs_dim) → (K, N)`` or ``(N,)``) on the free grid points → ``(K, H, W)``, NaN on walls."""
    points, free = geometry.grid(per_cell)
    values = np.asarray(value_fn(observations(geometry, points[free], obs_dim)), np.float64)
    values = values.reshape(-1, int(free.sum()))
    grid = np.full((len(values), *free.shape), np.nan)
    grid[:, free] = values
    return grid


def population_values(states) -> Callable[[np.ndarray], np.ndarray]:
    """V of every member of a stacked population: ``(N, obs_dim) → (M, N)``."""
    fn = jax.jit(jax.vmap(agent.values, in_axes=(0, None)))
    return lambda obs: np.asarray(fn(states, jnp.asarray(obs)))


def run_value_maps(run_dir: str | Path, by: Literal["member", "setting"] = "member", per_cell: int = 8,
                   checkpoint: str | Path | None = None):
    """The value maps of a maze run: ``(geometry, [(title, (H, W) grid), ...], step)``.

    Args:
        by: one panel per member, or per hyperparameter setting (V averaged over its seeds).

    Raises:
        ConfigError: the run has no PointMaze or AntMaze evaluation env.
    """
    states, members, record, step = load_run(run_dir, checkpoint)
    if not is_maze_run(record):
        raise ConfigError(f"{run_dir}: value maps need a PointMaze or AntMaze run; its evaluation env is "
                          f"{record.eval_env.env_id if record.eval_env else 'none'}")
    geometry = MazeGeometry.from_env(record.eval_env.env_id, dict(record.eval_env.kwargs))
    grids = value_grid(population_values(states), geometry, record.dataset.obs_dim, per_cell)
    if by == "member":
        return geometry, [(m.label, grids[m.index]) for m in members], step
    settings: dict[str, list[int]] = {}
    for m in members:
        settings.setdefault(m.setting or "default", []).append(m.index)
    panels = [(f"{name} (mean of {len(idx)} seed{'s' * (len(idx) > 1)})", grids[idx].mean(0))
              for name, idx in settings.items()]
    return geometry, panels, step


def plot_value_maps(run_dir: str | Path, out: str | Path | None = None, by: Literal["member", "setting"] = "member",
                    per_cell: int = 8) -> Path:
    """Draw :func:`run_value_maps` side by side (at most 4 per row), each with its own colour bar; returns the PNG
    (default ``<run_dir>/values.png``)."""
    run_dir = Path(run_dir)
    geometry, panels, step = run_value_maps(run_dir, by, per_cell)
    cols = min(4, len(panels))
    rows = -(-len(panels) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.6 * cols, 3.3 * rows), squeeze=False)
    cmap = plt.get_cmap("viridis").with_extremes(bad="#333333")  # NaN = walls
    for ax, (title, grid) in zip(axes.flat, panels):
        im = ax.imshow(grid, extent=geometry.extent, origin="upper", cmap=cmap, interpolation="nearest")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04, label="V(s)")
        ax.scatter(*geometry.starts.T, s=14, c="white", edgecolors="black", linewidths=0.5, label="start", zorder=3)
        ax.scatter(*geometry.goals.T, s=160, marker="*", c="red", edgecolors="white", label="goal", zorder=4)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    axes.flat[0].legend(loc="lower left", fontsize=7, framealpha=0.8)
    at_rest = "at zero velocity" if len(geometry.rest) == 2 else "in the pose after reset"
    fig.suptitle(f"{run_dir.name}: V(x, y) {at_rest}, step {step:,}", fontsize=10)
    fig.tight_layout()
    path = Path(out) if out is not None else run_dir / VALUES_PLOT
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def is_maze_run(record: RunRecord) -> bool:
    """Whether a run's record names a maze evaluation env (the runs that get a value map at the end)."""
    return record.eval_env is not None and record.eval_env.env_id.startswith(("PointMaze", "AntMaze"))
