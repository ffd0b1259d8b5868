"""IQL paper, Fig. 2 claim: on a maze with 1 optimal and 99 random trajectories, a high expectile recovers the optimal
path, expectile 0.5 (one-step / SARSA) does not.

Dataset `pointmaze-umaze-fig2` (PointMaze U-maze, fixed start (3, 1) and goal (1, 1), 1 controller trajectory + 99
random ones, normalised score = success x 100). The antmaze preset (r - 1, goal terminal, beta 10) with expectile
0.5, 0.7, 0.9 and behaviour cloning (beta 0), every seed of every setting trained as ONE vmapped program.

Besides success, it reads V(start) back from the checkpoints and compares it with the value of the optimal path and
with the behaviour policy's value, both computed from the (reward-transformed) data: the cleanest evidence of the
claim at small budgets (shared/reference/mazes.md section 3).

    python experiments/fig2.py            # reduced CPU settings (hidden 32x32, 50k updates, 5 seeds)
    python experiments/fig2.py --full     # paper size (hidden 256x256, 1M updates, 10 seeds, 100 episodes): GPU
"""

from __future__ import annotations

import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

import common  # noqa: E402  (applies the init work-around before any training)
from iql_jax.runs.plots import plot_scores  # noqa: E402
from iql_jax.runs.prepare import prepare  # noqa: E402
from iql_jax.runs.value_maps import plot_value_maps  # noqa: E402
from iql_jax.runs.stats import mean_ci95  # noqa: E402

NAME = "fig2"
DATASET = "pointmaze-umaze-fig2"
SETTINGS = [{"expectile": 0.5}, {"expectile": 0.7}, {"expectile": 0.9}, {"beta": 0.0}]
LABELS = {"expectile=0.5": "IQL τ=0.5 (one-step)", "expectile=0.7": "IQL τ=0.7", "expectile=0.9": "IQL τ=0.9",
          "beta=0": "BC (β=0)"}
REDUCED = dict(hidden=(32, 32), steps=50_000, seeds=5, eval_every=10_000, eval_episodes=20)
FULL = dict(hidden=(256, 256), steps=1_000_000, seeds=10, eval_every=50_000, eval_episodes=100)


def reference_values(transitions, discount: float):
    """Start observations, the optimal path's value and the behaviour value, from the trained-on transitions.

    Each trajectory's discounted return of the (transformed) rewards; a trajectory that ends without reaching the
    goal (time limit) is continued as never reaching it, i.e. a tail of gamma^L * (-1 / (1 - gamma)).
    """
    ends = np.flatnonzero(np.asarray(transitions.episode_ends) > 0)
    starts = np.concatenate([[0], ends[:-1] + 1])
    rewards, terminals = np.asarray(transitions.rewards, np.float64), np.asarray(transitions.terminals)
    returns, lengths, reached = [], [], []
    for s, e in zip(starts, ends):
        r = rewards[s:e + 1]
        g = float(np.sum(r * discount ** np.arange(len(r))))
        if not terminals[e]:
            g += discount ** len(r) * (-1.0 / (1.0 - discount))
        returns.append(g)
        lengths.append(len(r))
        reached.append(bool(terminals[e]))
    optimal = [g for g, ok in zip(returns, reached) if ok]
    return {
        "start_obs": np.asarray(transitions.observations)[starts],
        "optimal": float(np.max(optimal)),
        "optimal_length": int(lengths[int(np.argmax([g if ok else -np.inf for g, ok in zip(returns, reached)]))]),
        "behaviour": float(np.mean(returns)),
        "trajectories": len(starts),
        "reaching": int(sum(reached)),
    }


def main():
    p = common.parser(NAME, __doc__)
    p.add_argument("--tag", default="", help="suffix of the table and plot file names, e.g. -50k")
    args = p.parse_args()
    stem = NAME + args.tag
    size = common.budget(args, REDUCED, FULL)
    t0 = time.perf_counter()
    out = Path(args.out)
    config = common.sized_config(DATASET, "antmaze", size, out=out / "runs", name=DATASET)
    ref = reference_values(prepare(config, evaluate=False, progress=False).transitions, config.agent.discount)
    result, train_wall, finished = common.run_sweep(config, SETTINGS, reuse=args.reuse, stop_at=args.stop_at)
    if not finished:
        return common.stopped(args)
    run_dir = result.run_dir

    scores = common.setting_scores(run_dir)
    steps, values, members = common.values_over_training(run_dir, ref["start_obs"])
    label_of = [" ".join(f"{k}={v:g}" for k, v in m.overrides) for m in members]
    v_by_setting = {s: values[:, [i for i, lab in enumerate(label_of) if lab == s]] for s in scores}

    # ---- table ----
    lines = ["| setting | seeds | success, last eval | normalised score, last | best | V(start), last | "
             "V(start) − optimal |", "|---|---:|---:|---:|---:|---:|---:|"]
    for s, sc in scores.items():
        v_last = v_by_setting[s][-1]
        lines.append(f"| {LABELS.get(s, s)} | {len(sc['last'])} | {common.fmt_ci(sc['success_last'])} | "
                     f"{common.fmt_ci(sc['last'])} | {common.fmt_ci(sc['best'])} | {common.fmt_ci(v_last)} | "
                     f"{common.fmt_ci(v_last - ref['optimal'])} |")
    per_seed = ["| setting | " + " | ".join(f"seed {m.seed}" for m in members if label_of[m.index] == label_of[0])
                + " |", "|---|" + "---:|" * size["seeds"]]
    for s, sc in scores.items():
        cells = [f"{x:.2f} / {v:.1f}" for x, v in zip(sc["success_last"], v_by_setting[s][-1])]
        per_seed.append(f"| {LABELS.get(s, s)} | " + " | ".join(cells) + " |")
    value_rows = ["| updates | " + " | ".join(LABELS.get(s, s) for s in scores) + " |",
                  "|---:|" + "---:|" * len(scores)]
    for i, step in enumerate(steps):
        value_rows.append(f"| {step:,} | " + " | ".join(common.fmt_ci(v_by_setting[s][i]) for s in scores) + " |")

    same = "beta=0" in v_by_setting and "expectile=0.9" in v_by_setting and np.array_equal(
        v_by_setting["beta=0"], v_by_setting["expectile=0.9"])
    same_note = ("BC's V(start) equals τ=0.9's bit for bit: same seeds, and V and Q never read the policy, so β "
                 "changes only the actor. " if same else "")
    plot = plot_fig2(out / f"{stem}.png", scores, steps, v_by_setting, ref)
    curves = out / f"{stem}_scores.png"
    plot_scores([run_dir], curves)
    # The paper's Fig. 2 picture: V over the maze per setting (τ 0.5 / 0.7 / 0.9, BC), averaged over seeds.
    value_map = plot_value_maps(run_dir, out / f"{stem}_values.png", by="setting")
    wall = time.perf_counter() - t0

    note = common.settings_note(args, size, len(SETTINGS), "", "antmaze preset (τ 0.9, β 10, r − 1, goal terminal, "
                                "batch 256, Adam 3e-4, cosine actor lr, γ 0.99, polyak 0.005)", data=False)
    text = (common.header("Fig. 2: a high expectile recovers the optimal path", common.command_line(), note, wall,
                          train_wall if common.reused([result]) else None)
            + f"Data: {ref['trajectories']} trajectories, {ref['reaching']} reaching the goal (the controller, "
              f"{ref['optimal_length']} steps). Reference values of the start state under r − 1, γ = "
              f"{config.agent.discount}: **optimal path {ref['optimal']:.1f}**, **behaviour policy "
              f"{ref['behaviour']:.1f}** (mean discounted return of the 100 trajectories; a trajectory that times out "
              f"is continued as never reaching the goal). V(start) is the learned V averaged over the "
              f"{len(ref['start_obs'])} start observations; success is the fraction of evaluation episodes that "
              f"reach the goal (normalised score = success × 100). ± is a Student-t 95 % interval over seeds. "
              f"{same_note}\n\n"
            + "\n".join(lines) + "\n\nPer seed (success at the last evaluation / V(start)):\n\n"
            + "\n".join(per_seed) + "\n\nV(start) during training (mean ± 95 % interval over seeds):\n\n"
            + "\n".join(value_rows) + "\n\n"
            + f"Training alone (compile, updates, evaluations): {train_wall / 60:.1f} min; the engine ran "
              f"{common.engine_updates_per_s(run_dir):,.0f} member-updates/s.\n\n"
            + f"![Fig. 2]({plot.name}) ![score curves]({curves.name})\n\n"
            + "V(x, y) at zero velocity per setting, mean over seeds (walls dark, goal ★, start ○):\n\n"
            + f"![value maps]({value_map.name})\n")
    common.write_markdown(out, stem, text)
    common.copy_figures([plot, curves, value_map], args.figures)
    print(f"[wall] {wall:.0f} s")


def plot_fig2(path: Path, scores: dict, steps, v_by_setting: dict, ref: dict) -> Path:
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = list(scores)
    for i, s in enumerate(names):
        for key, offset, colour in (("success_last", -0.15, "C0"), ("best", 0.15, "C1")):
            vals = np.asarray(scores[s][key], float) * (100.0 if key == "success_last" else 1.0)
            m, h = mean_ci95(vals)
            ax1.bar(i + offset, m, width=0.3, yerr=h, capsize=4, color=colour,
                    label=None if i else ("success × 100, last eval" if key == "success_last" else "best score"))
            ax1.scatter(np.full(len(vals), i + offset), vals, color="k", s=8, zorder=3)
    ax1.set_xticks(range(len(names)), [LABELS.get(s, s) for s in names], fontsize=8)
    ax1.set_ylabel("normalised score (= success × 100)")
    ax1.set_ylim(-5, 105)
    ax1.set_title("success per setting (mean, 95% interval; dots: seeds)", fontsize=10)
    ax1.legend(fontsize=8)
    for i, s in enumerate(names):
        v = v_by_setting[s]
        stats = np.array([mean_ci95(row) for row in v])
        bc = s == "beta=0"  # drawn dashed: its V is the τ=0.9 one (V and Q do not depend on β)
        ax2.plot(steps, stats[:, 0], marker="o", markersize=3, color=f"C{i}", linestyle="--" if bc else "-",
                 label=LABELS.get(s, s) + (" (V as τ=0.9)" if bc else ""))
        ax2.fill_between(steps, stats[:, 0] - stats[:, 1], stats[:, 0] + stats[:, 1], color=f"C{i}", alpha=0.2)
    ax2.axhline(ref["optimal"], color="k", linestyle="--", linewidth=1, label=f"optimal path {ref['optimal']:.1f}")
    ax2.axhline(ref["behaviour"], color="grey", linestyle=":", linewidth=1.5,
                label=f"behaviour policy {ref['behaviour']:.1f}")
    ax2.set_xlabel("updates")
    ax2.set_ylabel("V(start)")
    ax2.set_title("learned V(start) vs the optimal-path and behaviour values", fontsize=10)
    ax2.grid(alpha=0.3)
    ax2.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


if __name__ == "__main__":
    main()
