"""The paper's headline: the AntMaze rows of Table 1 on D4RL-recipe data made here, IQL vs one-step vs BC.

The datasets are the package's built-ins ``antmaze-{umaze, umaze-diverse, medium-play, medium-diverse, large-play,
large-diverse}`` (``iql data list``): the shipped directional ant steered along BFS waypoints with N(0, 0.2) action
noise, written through Minari's ``DataCollector``. Training follows D4RL's protocol: ``--data.goal relabel`` (no goal
in the input; rewards and goal terminals relabelled against the fixed evaluation goal) and the antmaze preset (r − 1,
τ 0.9, β 10, cosine actor lr). Per dataset ONE vmapped program trains every seed of IQL (τ 0.9), one-step (τ 0.5,
V is the behaviour value) and BC (β 0). The score is D4RL's: success × 100 on the fixed start → goal task.
Beside each row: the paper's number and the driver's own success on that task (measured when the data was made,
from the dataset's metadata) — a dataset is only as good as the driver that walked it. Value maps are drawn for
the medium and large mazes.

    python experiments/antmaze_table.py                  # CPU: 200k-step data, 256x256, 3 seeds (state the budget)
    python experiments/antmaze_table.py --datasets antmaze-umaze antmaze-medium-diverse --steps 50000
    python experiments/antmaze_table.py --full           # paper protocol: 1M-step data, 1M updates, 10 seeds,
                                                         # 100 evaluation episodes (a GPU job)

Long CPU runs split over sessions with ``--stop-at N`` and continue with ``--reuse``.
"""

from __future__ import annotations

import time
from pathlib import Path

import common  # noqa: F401  (applies the init work-around before any training)
from iql_jax.data import load_dataset
from iql_jax.runs.plots import plot_scores
from iql_jax.runs.stats import mean_ci95
from iql_jax.runs.value_maps import plot_value_maps

NAME = "antmaze_table"
DATASETS = ("antmaze-umaze", "antmaze-umaze-diverse", "antmaze-medium-play", "antmaze-medium-diverse",
            "antmaze-large-play", "antmaze-large-diverse")
SETTINGS = [{"expectile": 0.9}, {"expectile": 0.5}, {"beta": 0.0}]
LABELS = {"expectile=0.9": "IQL (τ 0.9, β 10)", "expectile=0.5": "one-step (τ 0.5, β 10)", "beta=0": "BC (β 0)"}
# The paper's Table 1 (iql-paper.md §2, antmaze-v0): BC, Onestep RL, IQL.
PAPER = {"antmaze-umaze": (54.6, 64.3, 87.5), "antmaze-umaze-diverse": (45.6, 60.7, 62.2),
         "antmaze-medium-play": (0.0, 0.3, 71.2), "antmaze-medium-diverse": (0.0, 0.0, 70.0),
         "antmaze-large-play": (0.0, 0.0, 39.6), "antmaze-large-diverse": (0.0, 0.0, 47.5)}
REDUCED = dict(data="200k", hidden=(256, 256), steps=20_000, seeds=3, eval_every=5_000, eval_episodes=10)
FULL = dict(data="1M", hidden=(256, 256), steps=1_000_000, seeds=10, eval_every=100_000, eval_episodes=100)


def driver_success(dataset: str) -> str:
    """The data-collecting driver's own success on the evaluation task, as the dataset records it."""
    record = load_dataset(dataset, progress=False).info.extra.get("antmaze", {}).get("driver_success")
    return f"{record['rate']:.0%} of {record['episodes']}" if record else "not recorded"


def main():
    args, size = common.parse_args(NAME, __doc__, REDUCED, FULL, DATASETS)
    t0 = time.perf_counter()
    out = Path(args.out)
    lines = ["| dataset | driver success | method | seeds | last (× 100) | best (× 100) | paper |",
             "|---|---:|---|---:|---:|---:|---:|"]
    sweeps, figures, verdicts = common.Sweeps(args), [], []
    for name in args.datasets:
        dataset = f"{name}:{size['data']}"
        config = common.sized_config(dataset, "antmaze", size, out=out / "runs", name=name, goal="relabel")
        result = sweeps.run(name, config, SETTINGS)
        if result is None:
            continue
        figures.append(plot_scores([result.run_dir], out / f"{NAME}_{name}.png"))
        if "medium" in name or "large" in name:
            figures.append(plot_value_maps(result.run_dir, out / f"{NAME}_{name}_values.png", by="setting"))
        scores = common.setting_scores(result.run_dir)
        paper = dict(zip(("beta=0", "expectile=0.5", "expectile=0.9"), PAPER[name]))
        driver = driver_success(dataset)
        lines += common.score_rows(f"{name} | {driver}", scores, LABELS,
                                   lambda s: [f"{paper.get(s, float('nan')):.1f}"])
        verdicts.append(verdict(name, scores))
    if not sweeps.results:
        return
    wall = time.perf_counter() - t0
    note = common.settings_note(args, size, len(SETTINGS), " per dataset", "antmaze preset (r − 1, goal terminal, "
                                "--data.goal relabel, batch 256, Adam 3e-4, cosine actor lr, γ 0.99, polyak 0.005)")
    text = (sweeps.header("AntMaze rows of Table 1 on D4RL-recipe data made here: IQL vs one-step vs BC", note, wall)
            + "Normalised score = success × 100 on the fixed start → goal task (D4RL's AntMaze score); last and best "
              "evaluation, mean ± Student-t 95 % interval over seeds. 'driver success' is how often the "
              "data-collecting driver itself reached that goal when the data was made. 'paper' is Table 1 on "
              "antmaze-v0 after 1M updates on 1M-step data.\n\n" + "\n".join(lines) + "\n\n"
            + common.orderings(verdicts))
    common.finish(out, NAME, text, sweeps.run_dirs, figures, args.figures, wall)


def verdict(name: str, scores: dict) -> str:
    """IQL against the better of one-step and BC, beside the paper's ordering of the same row."""
    stats = {s: mean_ci95(sc["last"]) for s, sc in scores.items()}
    iql = stats["expectile=0.9"]
    rival = max(("expectile=0.5", "beta=0"), key=lambda s: stats[s][0])
    paper_bc, paper_one, paper_iql = PAPER[name]
    ours = "IQL > " if iql[0] > stats[rival][0] else "IQL = " if iql[0] == stats[rival][0] else "IQL < "
    theirs = "IQL > both" if paper_iql > max(paper_bc, paper_one) else "IQL ≤ one of them"
    return (f"{name}: ours {ours}{LABELS[rival]} ({iql[0]:.1f} vs {stats[rival][0]:.1f}, "
            f"{common.apart(iql, stats[rival])}); paper {theirs} "
            f"(IQL {paper_iql}, one-step {paper_one}, BC {paper_bc})")


if __name__ == "__main__":
    main()
