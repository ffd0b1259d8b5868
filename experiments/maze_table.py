"""Maze table: IQL vs behaviour cloning vs one-step on the three built-in PointMaze datasets.

`pointmaze-umaze`, `pointmaze-medium`, `pointmaze-large` (scripted controller with noise, moving collection goals;
trained with `--data.goal relabel`: rewards relabelled to one fixed goal, D4RL maze2d style; normalised score 100 (R - random) / (controller - random), R = steps at the goal).
Per maze, ONE vmapped program trains every seed of three settings of the antmaze preset (r - 1, goal terminal):
IQL (expectile 0.9, beta 10), BC (beta 0) and one-step (expectile 0.5, beta 10). Last and best normalised score
with 95 % intervals over seeds, and the wall time per maze.

    python experiments/maze_table.py           # reduced CPU settings (200k-step data, hidden 32x32, 20k updates)
    python experiments/maze_table.py --full    # paper size (1M-step data, hidden 256x256, 1M updates, 10 seeds)
"""

from __future__ import annotations

import time
from pathlib import Path

import common  # noqa: F401  (applies the init work-around before any training)
from iql_jax.runs.plots import plot_scores

NAME = "maze_table"
MAZES = ("umaze", "medium", "large")
SETTINGS = [{"expectile": 0.9}, {"beta": 0.0}, {"expectile": 0.5}]
LABELS = {"expectile=0.9": "IQL (τ 0.9, β 10)", "beta=0": "BC (β 0)", "expectile=0.5": "one-step (τ 0.5, β 10)"}
REDUCED = dict(data="200k", hidden=(32, 32), steps=20_000, seeds=5, eval_every=10_000, eval_episodes=10)
FULL = dict(data="1M", hidden=(256, 256), steps=1_000_000, seeds=10, eval_every=50_000, eval_episodes=100)


def main():
    p = common.parser(NAME, __doc__)
    p.add_argument("--mazes", nargs="+", default=list(MAZES), choices=MAZES)
    args = p.parse_args()
    size = common.budget(args, REDUCED, FULL)
    t0 = time.perf_counter()
    out = Path(args.out)
    sweeps, rates, plots = common.Sweeps(args), {}, []
    for maze in args.mazes:
        dataset = f"pointmaze-{maze}:{size['data']}"
        config = common.sized_config(dataset, "antmaze", size, out=out / "runs", name=f"pointmaze-{maze}",
                                     goal="relabel")
        result = sweeps.run(maze, config, SETTINGS)  # its wall time includes generating the data
        if result is None:
            return
        rates[maze] = common.engine_updates_per_s(result.run_dir)
        plots.append(plot_scores([result.run_dir], out / f"{NAME}_{maze}.png"))

    lines = ["| maze | setting | seeds | last | best | wall time (min) |", "|---|---|---:|---:|---:|---:|"]
    for maze, run_dir in zip(args.mazes, sweeps.run_dirs):
        lines += common.score_rows(maze, common.setting_scores(run_dir), LABELS,
                                   lambda s: [f"{sweeps.walls[maze] / 60:.1f}"])
    wall = time.perf_counter() - t0
    note = common.settings_note(args, size, len(SETTINGS), " per maze", "antmaze preset (r − 1, goal terminal, batch "
                                "256, Adam 3e-4, cosine actor lr, γ 0.99, polyak 0.005)")
    text = (sweeps.header("Maze table: IQL vs BC vs one-step on PointMaze", note, wall)
            + "Normalised score 100·(R − random)/(controller − random), R = steps spent at the goal; last = at the "
              "final evaluation, best = best evaluation of each seed; mean ± Student-t 95 % interval over seeds. "
              "The wall time of a maze covers generating its dataset (first use only), compiling, training and "
              "evaluating.\n\n"
            + "\n".join(lines) + "\n\n"
            + "Engine throughput (member-updates/s, compiled chunks only): "
            + ", ".join(f"{m} {rates[m]:,.0f}" for m in args.mazes) + ".\n\n")
    common.finish(out, NAME, text, sweeps.run_dirs, plots, args.figures, wall)


if __name__ == "__main__":
    main()
