"""The end of a run: ``summary.json`` (last and best score per seed, mean ± std), the plots and the report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from iql_jax.runs.files import write_atomic
from iql_jax.runs.logs import read_eval
from iql_jax.runs.plots import plot_losses, plot_scores
from iql_jax.runs.report import write_report
from iql_jax.runs.stats import last_and_best, score_key

SUMMARY_FILE = "summary.json"


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


def write_outputs(run_dir: str | Path, boundaries=(), value_map: bool = False) -> dict:
    """Write ``summary.json``, ``score.png``, ``losses.png`` and ``report.md``/``.csv`` into the run directory, and
    with ``value_map`` for a PointMaze run ``values.png`` (V over the maze from the newest checkpoint)."""
    run_dir = Path(run_dir)
    summary = summarize(run_dir)
    summary["files"] = {
        "score_plot": str(plot_scores([run_dir], run_dir / "score.png", boundaries)),
        "loss_plot": str(plot_losses(run_dir, run_dir / "losses.png")),
        "report": str(write_report([run_dir], run_dir / "report.md")[0]),
    }
    if value_map:
        from iql_jax.runs.records import read_run_config
        from iql_jax.runs.value_maps import is_maze_run, plot_value_maps

        if is_maze_run(read_run_config(run_dir)):
            summary["files"]["value_map"] = str(plot_value_maps(run_dir))
    write_atomic(run_dir / SUMMARY_FILE, json.dumps(summary, indent=2) + "\n")
    return summary
