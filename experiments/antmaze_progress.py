"""How far an AntMaze policy gets towards the goal, and whether it stays upright: a graded look where success is 0.

D4RL's AntMaze score is success × 100, so at a small fraction of the paper's budget every method scores 0 and the
table cannot order them. This script rolls out every member of a run's newest checkpoint on the same fixed
start → goal task as the run's own evaluation (same env, same reset seeds as ``iql eval``) and reads, from the
observations alone, per episode:

- the **closest approach**: the fewest maze cells left between the ant and the goal's cell at any step, counted
  along the BFS planner's shortest path (the data driver's own :class:`~iql_jax.data.generate_maze.WaypointController`);
- whether the ant ended **upright** (its torso's up axis pointing up; a flipped ant cannot get up again).

    python experiments/antmaze_progress.py RUN_DIR [RUN_DIR ...] [--episodes 10]

Prints one Markdown row per (run, setting): mean ± Student-t 95 % interval over seeds of each seed's mean.
"""

from __future__ import annotations

import argparse

import numpy as np

from iql_jax import engine
from iql_jax.data.generate_maze import WaypointController
from iql_jax.evaluation import evaluate
from iql_jax.runs.evaluate import eval_spec
from iql_jax.runs.rundir import load_run
from iql_jax.runs.stats import mean_ci95

# The flat AntMaze observation of a relabelled run is (achieved_goal x, y, then Ant's own observation: torso z,
# torso quaternion w, x, y, z, joints, velocities); the run's eval spec records this layout, checked below.
LAYOUT = ("achieved_goal", "observation")


class PathDistance:
    """Cells left to the goal's cell along the planner's shortest path, memoised per cell."""

    def __init__(self, maze, goal_xy):
        self._planner, self._goal = WaypointController(maze), goal_xy
        self._goal_cell = self._planner.cell(*goal_xy)
        self._memo: dict[tuple[int, int], int] = {}

    def __call__(self, x: float, y: float) -> int:
        cell = self._planner.cell(x, y)
        if cell not in self._memo:
            hops, here = 0, cell
            while here != self._goal_cell and hops < 10_000:
                here = self._planner.cell(*self._planner.waypoint(*self._planner.centre(here), self._goal))
                hops += 1
            self._memo[cell] = hops
        return self._memo[cell]


def progress(run_dir: str, episodes: int, seed: int = 12345) -> list[str]:
    states, members, record, step = load_run(run_dir)
    spec = eval_spec(record, run_dir)
    if tuple(spec.observation_layout or ()) != LAYOUT:
        raise SystemExit(f"{run_dir}: expected an AntMaze run evaluated with observation layout {LAYOUT}, "
                         f"found {spec.observation_layout}")
    probe = spec.make()  # the fixed task's maze, goal and a start position (reset noise stays inside the start cell)
    first, _ = probe.reset(seed=seed)
    distance = PathDistance(probe.unwrapped.maze, tuple(float(v) for v in probe.unwrapped.goal[:2]))
    start = distance(float(first[0]), float(first[1]))
    probe.close()
    policy = engine.population_policy(states)
    closest = np.full((len(members), episodes), np.inf)
    upright = np.ones((len(members), episodes), dtype=bool)

    def observed(obs):  # (members, episodes, obs_dim): record, then act
        for m in range(obs.shape[0]):
            for e in range(obs.shape[1]):
                closest[m, e] = min(closest[m, e], distance(float(obs[m, e, 0]), float(obs[m, e, 1])))
                qx, qy = obs[m, e, 4:6]  # torso quaternion (w, x, y, z) at 3:7
                upright[m, e] = 1.0 - 2.0 * (qx * qx + qy * qy) > 0.0
        return policy(obs)

    result = evaluate(observed, spec, len(members), episodes, seed=seed, score=record.score)
    rows = []
    for setting in dict.fromkeys(m.setting for m in members):
        index = [i for i, m in enumerate(members) if m.setting == setting]
        near, up = mean_ci95(closest[index].mean(axis=1)), mean_ci95(upright[index].mean(axis=1))
        reached = mean_ci95((closest[index] < start).mean(axis=1))
        success = mean_ci95(result.success_rate[index]) if result.success_rate is not None else (float("nan"), 0)
        seeds = " / ".join(f"{v:.1f}" for v in closest[index].mean(axis=1))
        rows.append(f"| {record.dataset.name} | {step:,} | {setting or 'default'} | {len(index)} | {start} | "
                    f"{near[0]:.1f} ± {near[1]:.1f} ({seeds}) | {reached[0]:.2f} ± {reached[1]:.2f} | "
                    f"{up[0]:.2f} ± {up[1]:.2f} | {success[0]:.2f} ± {success[1]:.2f} |")
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", help="AntMaze run directories")
    parser.add_argument("--episodes", type=int, default=10, help="episodes per member (default 10)")
    args = parser.parse_args()
    print("| dataset | updates | setting | seeds | cells from start to goal | closest approach, cells (per seed) | "
          "episodes that got closer | upright at the end | success |")
    print("|---|---:|---|---:|---:|---:|---:|---:|---:|")
    for run_dir in args.runs:
        for row in progress(run_dir, args.episodes):
            print(row, flush=True)


if __name__ == "__main__":
    main()
