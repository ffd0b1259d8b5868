"""The end of a run: ``summary.json`` (last and best score per seed, mean ± std), the plots and the report; for a
fine-tuning run also the paper's Table 2 cells (offline → fine-tuned)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from iql_jax.errors import ConfigError
from iql_jax.runs.files import write_atomic
from iql_jax.runs.logs import read_eval
from iql_jax.runs.plots import plot_losses, plot_scores
from iql_jax.runs.report import write_report
from iql_jax.runs.rundir import LOSS_PLOT, REPORT_FILE, SCORE_PLOT, SUMMARY_FILE, VALUES_PLOT, RunRecord
from iql_jax.runs.stats import last_and_best, scale_words, score_key
from iql_jax.runs.value_maps import is_maze_run, plot_value_maps


def summarize(run_dir: str | Path) -> dict:
    """Per-member last/best scores and, per hyperparameter setting, their mean ± std over seeds, from ``eval.csv``.

    A run with one setting also has them at the top level (``last_mean`` …); a sweep run does not, since a mean
    across settings means nothing.
    """
    rows = read_eval(Path(run_dir))
    if not rows:
        return {"score": None, "members": [], "settings": []}
    key = score_key(rows)
    lb = last_and_best(rows, key)
    seeds = {r["member"]: (r["seed"], r.get("setting", "")) for r in rows}
    members = [{"member": m, "seed": seeds[m][0], "setting": seeds[m][1], "last": v[0], "best": v[1]}
               for m, v in sorted(lb.items())]
    groups: dict[str, list[dict]] = {}
    for m in members:
        groups.setdefault(m["setting"], []).append(m)
    settings = [{"setting": name, "seeds": len(group), **_mean_std(group)} for name, group in groups.items()]
    return {"score": key, "members": members, "settings": settings,
            **({k: v for k, v in settings[0].items() if k.endswith(("_mean", "_std"))} if len(settings) == 1 else {}),
            "final_step": max(r["step"] for r in rows)}


def _mean_std(members: list[dict]) -> dict:
    last, best = np.array([m["last"] for m in members]), np.array([m["best"] for m in members])
    return {"last_mean": float(last.mean()), "last_std": float(last.std()),
            "best_mean": float(best.mean()), "best_std": float(best.std())}


def write_outputs(run_dir: str | Path, value_map: bool = False, boundary: int | None = None) -> dict:
    """Write ``summary.json``, ``score.png``, ``losses.png`` and ``report.md``/``.csv`` into the run directory.

    Args:
        value_map: for a PointMaze run, also ``values.png`` (V over the maze from the newest checkpoint).
        boundary: a fine-tuning run's first online step: marked on the score plot, and the offline → fine-tuned
            means (Table 2) go into the summary and below the report.
    """
    run_dir = Path(run_dir)
    summary = summarize(run_dir)
    summary["files"] = {
        "score_plot": str(plot_scores([run_dir], run_dir / SCORE_PLOT, () if boundary is None else (boundary,))),
        "loss_plot": str(plot_losses(run_dir, run_dir / LOSS_PLOT)),
        "report": str(write_report([run_dir], run_dir / REPORT_FILE)[0]),
    }
    if value_map and is_maze_run(RunRecord.read(run_dir)):
        try:
            summary["files"]["value_map"] = str(plot_value_maps(run_dir))
        except ConfigError as e:  # e.g. a goal-conditioned run scored in a moving-goal env: no one goal to draw
            print(f"{VALUES_PLOT} not drawn: {e}", file=sys.stderr)
    if boundary is not None:
        summary["offline_to_online"] = offline_vs_online(run_dir, boundary)
        report = run_dir / REPORT_FILE
        write_atomic(report, report.read_text() + render_table2([summary["offline_to_online"]]))
    write_atomic(run_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary


def offline_vs_online(run_dir: Path, boundary: int) -> dict:
    """Mean over members of the last offline evaluation and the last online one (the paper's Table 2 cells)."""
    rows = read_eval(run_dir)
    key = score_key(rows)
    before = last_and_best([r for r in rows if r["step"] <= boundary], key)
    after = last_and_best([r for r in rows if r["step"] > boundary], key)
    mean = lambda lb: float(np.mean([v[0] for v in lb.values()])) if lb else None
    return {"dataset": RunRecord.read(run_dir).dataset.name, "score": key, "offline": mean(before),
            "online": mean(after)}


def render_table2(rows: list[dict]) -> str:
    """The paper's Table 2 cells, with the rule (last evaluations, not best) and the scale stated under them."""
    fmt = lambda v: "-" if v is None else f"{v:.1f}"
    scales = "; ".join(sorted({scale_words(r["score"]) for r in rows}))
    return "\n| dataset | offline → fine-tuned |\n|---|---|\n" + "".join(
        f"| {r['dataset']} | {fmt(r['offline'])} → {fmt(r['online'])} |\n" for r in rows) + (
        f"\noffline → fine-tuned: the mean over members of the last offline evaluation and of the last online one "
        f"(last, not best); {scales}.\n")
