"""Locomotion sanity check: IQL vs behaviour cloning on `hopper-random` and `halfcheetah-random`.

Exercises the locomotion preset end to end: the reward scaling r * 1000 / (R_max - R_min) fitted on the data's
trajectory returns, expectile 0.7, beta 3, evaluation on the gymnasium v5 environment with D4RL's reference scores.
Per dataset, ONE vmapped program trains every seed of IQL (beta 3) and BC (beta 0). A short run: the point is that
the whole path works and gives sane numbers, not the paper's (which has no *-random rows).

    python experiments/locomotion.py           # reduced CPU settings (100k-step data, hidden 64x64, 10k updates)
    python experiments/locomotion.py --full    # paper size (1M-step data, hidden 256x256, 1M updates, 10 seeds)
"""

from __future__ import annotations

import time
from pathlib import Path

import common  # noqa: F401  (applies the init work-around before any training)
from iql_jax.runs.plots import plot_scores
from iql_jax.runs.rundir import RunRecord

NAME = "locomotion"
DATASETS = ("hopper-random", "halfcheetah-random")
SETTINGS = [{"beta": 3.0}, {"beta": 0.0}]
LABELS = {"beta=3": "IQL (τ 0.7, β 3)", "beta=0": "BC (β 0)"}
REDUCED = dict(data="100k", hidden=(64, 64), steps=10_000, seeds=5, eval_every=5_000, eval_episodes=5)
FULL = dict(data="1M", hidden=(256, 256), steps=1_000_000, seeds=10, eval_every=50_000, eval_episodes=10)


def main():
    args = common.parser(NAME, __doc__).parse_args()
    size = common.budget(args, REDUCED, FULL)
    t0 = time.perf_counter()
    out = Path(args.out)
    lines = ["| dataset | reward scale (fitted) | setting | seeds | last | best | raw return, last | wall (min) |",
             "|---|---:|---|---:|---:|---:|---:|---:|"]
    run_dirs, plots, train_s, results = [], [], 0.0, []
    for name in DATASETS:
        config = common.sized_config(f"{name}:{size['data']}", "locomotion", size, out=out / "runs", name=name)
        result, wall, _ = common.run_sweep(config, SETTINGS, reuse=args.reuse)
        train_s += wall
        results.append(result)
        run_dirs.append(result.run_dir)
        plots.append(plot_scores([result.run_dir], out / f"{NAME}_{name}.png"))
        scale = RunRecord.read(result.run_dir).reward_transform.scale
        returns = _last_returns(result.run_dir)
        for setting, sc in common.setting_scores(result.run_dir).items():
            lines.append(f"| {name} | ×{scale:.4f} | {LABELS.get(setting, setting)} | {len(sc['last'])} | "
                         f"{common.fmt_ci(sc['last'])} | {common.fmt_ci(sc['best'])} | "
                         f"{common.fmt_ci(returns[setting])} | {wall / 60:.1f} |")
    wall = time.perf_counter() - t0
    note = common.settings_note(args, size, len(SETTINGS), " per dataset", "locomotion preset (τ 0.7, β 3, rewards × "
                                "1000/(R_max − R_min), batch 256, Adam 3e-4, cosine actor lr, γ 0.99, polyak 0.005)")
    text = (common.header("Locomotion sanity check: IQL vs BC on *-random data", common.command_line(), note, wall,
                          train_s if common.reused(results) else None)
            + "D4RL-normalised score (D4RL's reference returns for the task, on gymnasium v5 environments, so only "
              "approximately comparable to D4RL); mean ± Student-t 95 % interval over seeds. The reward scale is "
              "the factor the locomotion transform fitted on the dataset (1000 / (R_max − R_min) over its "
              "trajectories), read back from the run's config.json.\n\n"
            + "\n".join(lines) + "\n\n")
    common.finish(out, NAME, text, run_dirs, plots, args.figures, wall)


def _last_returns(run_dir: Path) -> dict[str, list[float]]:
    from iql_jax.runs.logs import read_eval

    rows = read_eval(run_dir)
    final = max(r["step"] for r in rows)
    out: dict[str, list[float]] = {}
    for r in rows:
        if r["step"] == final:
            out.setdefault(r["setting"], []).append(r["return"])
    return out


if __name__ == "__main__":
    main()
