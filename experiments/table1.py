"""The locomotion rows of the paper's Table 1 on D4RL-recipe data made here: IQL vs one-step vs BC.

The datasets are the package's built-ins ``<env>-{medium,medium-replay,medium-expert}`` (hopper, halfcheetah,
walker2d), collected with its own SAC behaviour policies (``iql behaviour list``). Per dataset ONE vmapped program
trains every seed of three settings of the locomotion preset (τ 0.7 / β 3, rewards × 1000/(R_max − R_min),
cosine actor lr): IQL; one-step (τ 0.5: V is the behaviour value, SARSA); BC (β 0: uniform AWR weights). The table
gives the D4RL-normalised score (last and best evaluation, mean ± 95 % interval over seeds), beside the dataset's
own behaviour score (the mean normalised return of its trajectories) and the paper's numbers; a plot per dataset
shows the curves.

    python experiments/table1.py                     # CPU: 256x256, 3 seeds, 20k updates (state the budget)
    python experiments/table1.py --datasets hopper-medium-expert --steps 50000
    python experiments/table1.py --full              # the paper's protocol: 1M updates, 10 seeds (a GPU job)

Long runs split over sessions with ``--stop-at N`` and continue with ``--reuse``.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

import common  # noqa: F401  (applies the init work-around before any training)
from iql_jax.data import load_dataset
from iql_jax.data.transforms import trajectory_returns
from iql_jax.evaluation.scores import normalized_score
from iql_jax.runs.plots import plot_scores
from iql_jax.runs.stats import mean_ci95
from iql_jax.tasks import LOCOMOTION_REFS

NAME = "table1"
ENVS = ("hopper", "halfcheetah", "walker2d")
RECIPES = ("medium", "medium-replay", "medium-expert")
DATASETS = tuple(f"{e}-{r}" for e in ENVS for r in RECIPES)
SETTINGS = [{"expectile": 0.7, "beta": 3.0}, {"expectile": 0.5, "beta": 3.0}, {"expectile": 0.7, "beta": 0.0}]
LABELS = {"expectile=0.7 beta=3": "IQL (τ 0.7)", "expectile=0.5 beta=3": "one-step (τ 0.5)",
          "expectile=0.7 beta=0": "BC (β 0)"}
# The paper's Table 1 (iql-paper.md §2, v2 datasets): BC, Onestep RL, IQL.
PAPER = {"halfcheetah-medium": (42.6, 48.4, 47.4), "hopper-medium": (52.9, 59.6, 66.3),
         "walker2d-medium": (75.3, 81.8, 78.3), "halfcheetah-medium-replay": (36.6, 38.1, 44.2),
         "hopper-medium-replay": (18.1, 97.5, 94.7), "walker2d-medium-replay": (26.0, 49.5, 73.9),
         "halfcheetah-medium-expert": (55.2, 93.4, 86.7), "hopper-medium-expert": (52.5, 103.3, 91.5),
         "walker2d-medium-expert": (107.5, 113.0, 109.6)}
REDUCED = dict(data=None, hidden=(256, 256), steps=20_000, seeds=3, eval_every=5_000, eval_episodes=5)
FULL = dict(data=None, hidden=(256, 256), steps=1_000_000, seeds=10, eval_every=50_000, eval_episodes=10)


def behaviour_score(name: str) -> tuple[float, int]:
    """The dataset's own score: mean D4RL-normalised return over its trajectories, and how many there are."""
    dataset = load_dataset(name)
    returns = trajectory_returns(dataset.transitions)
    refs = LOCOMOTION_REFS[name.split("-")[0]]
    return float(np.mean(normalized_score(returns, *refs))), len(returns)


def main():
    args, size = common.parse_args(NAME, __doc__, REDUCED, FULL, DATASETS)
    t0 = time.perf_counter()
    out = Path(args.out)
    lines = ["| dataset | behaviour | method | seeds | last | best | paper |", "|---|---:|---|---:|---:|---:|---:|"]
    sweeps, plots, verdicts = common.Sweeps(args), [], []
    for name in args.datasets:
        config = common.sized_config(name, "locomotion", size, out=out / "runs", name=name)
        result = sweeps.run(name, config, SETTINGS)
        if result is None:
            continue
        plots.append(plot_scores([result.run_dir], out / f"{NAME}_{name}.png"))
        behaviour, episodes = behaviour_score(name)
        scores = common.setting_scores(result.run_dir)
        paper = dict(zip(("expectile=0.7 beta=0", "expectile=0.5 beta=3", "expectile=0.7 beta=3"), PAPER[name]))
        lines += common.score_rows(f"{name} | {behaviour:.1f} ({episodes} traj.)", scores, LABELS,
                                   lambda s: [f"{paper.get(s, float('nan')):.1f}"])
        verdicts.append(_verdict(name, scores))
    if not sweeps.results:
        return
    wall = time.perf_counter() - t0
    note = common.settings_note(args, size, len(SETTINGS), " per dataset", "locomotion preset (τ 0.7, β 3, rewards "
                                "× 1000/(R_max − R_min), batch 256, Adam 3e-4, cosine actor lr, γ 0.99, polyak 0.005)",
                                data=False)
    text = (sweeps.header("Table 1, locomotion rows, on D4RL-recipe data made here: IQL vs one-step vs BC", note, wall)
            + "D4RL-normalised score (D4RL's reference returns, on gymnasium v5 environments: only approximately "
              "comparable to D4RL); last and best evaluation, mean ± Student-t 95 % interval over seeds. "
              "'behaviour' is the dataset's own mean normalised trajectory return; 'paper' is Table 1 on D4RL v2 "
              "after 1M updates.\n\n" + "\n".join(lines) + "\n\n" + common.orderings(verdicts))
    common.finish(out, NAME, text, sweeps.run_dirs, plots, args.figures, wall)


def _verdict(name: str, scores: dict) -> str:
    stats = {LABELS.get(s, s): mean_ci95(sc["last"]) for s, sc in scores.items()}
    iql, bc = stats["IQL (τ 0.7)"], stats["BC (β 0)"]
    paper_bc, _, paper_iql = PAPER[name]
    ours = "IQL > BC" if iql[0] > bc[0] else "IQL ≤ BC"
    theirs = "IQL > BC" if paper_iql > paper_bc else "IQL ≤ BC"
    return (f"{name}: ours {ours} ({iql[0]:.1f} vs {bc[0]:.1f}, {common.apart(iql, bc)}); paper {theirs} "
            f"({paper_iql} vs {paper_bc})")


if __name__ == "__main__":
    main()
