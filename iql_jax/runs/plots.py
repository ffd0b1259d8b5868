"""Headless matplotlib figures: score vs updates (mean and 95 % band over seeds, runs overlaid) and loss curves."""

from __future__ import annotations

import io
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from iql_jax.errors import IQLError  # noqa: E402
from iql_jax.runs.files import write_atomic  # noqa: E402
from iql_jax.runs.logs import read_eval, read_metrics  # noqa: E402
from iql_jax.runs.rundir import RunRecord  # noqa: E402
from iql_jax.runs.stats import histories, mean_ci95, score_key  # noqa: E402

LOSSES = ("value/loss", "critic/loss", "actor/loss", "actor/adv_mean")


def _label(run_dir: Path, setting: str = "") -> str:
    return f"{run_dir.name} {setting}".strip()


def plot_scores(run_dirs: Sequence[str | Path], out: str | Path, boundaries: Sequence[int] = ()) -> Path:
    """Score vs updates: one line per run (and per hyperparameter setting) with a 95 % band over seeds.

    Args:
        boundaries: steps to mark with a vertical line (e.g. the offline → online switch).
    """
    fig, ax = plt.subplots(figsize=(7, 4.2))
    key = "return"
    for run_dir in map(Path, run_dirs):
        rows = read_eval(run_dir)
        if not rows:
            continue
        key = score_key(rows)
        groups = defaultdict(list)
        for r in rows:
            groups[r.get("setting", "")].append(r)
        # in member order: the settings in the order the sweep gave them
        for setting, group in groups.items():
            curves = list(histories(group, key).values())
            steps = curves[0][0]
            curves = [v for s, v in curves if len(s) == len(steps)]
            stats = np.array([mean_ci95(col) for col in np.stack(curves).T])
            ax.plot(steps, stats[:, 0], marker="o", markersize=3, label=f"{_label(run_dir, setting)} (n={len(curves)})")
            ax.fill_between(steps, stats[:, 0] - stats[:, 1], stats[:, 0] + stats[:, 1], alpha=0.2)
    for b in boundaries:
        ax.axvline(b, color="grey", linestyle="--", linewidth=1)
    ax.set_xlabel("updates")
    ax.set_ylabel("normalised score" if key == "normalized_score" else "return")
    ax.set_title("evaluation (mean, 95% interval over seeds)")
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=8)
    return _save(fig, out)


def plot_losses(run_dir: str | Path, out: str | Path) -> Path:
    """Training losses against updates, one panel each: the mean over seeds, one labelled line per setting."""
    rows = read_metrics(Path(run_dir))
    setting = _member_settings(Path(run_dir))
    fig, axes = plt.subplots(1, len(LOSSES), figsize=(3.2 * len(LOSSES), 3))
    for ax, name in zip(axes, LOSSES):
        curves = defaultdict(lambda: defaultdict(list))  # setting -> step -> values over its seeds
        for r in rows:
            if r.get(name) is not None:
                curves[setting.get(r["member"], "")][r["step"]].append(r[name])
        for label, by_step in curves.items():
            steps = sorted(by_step)
            ax.plot(steps, [np.mean(by_step[s]) for s in steps], label=label or None)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("updates", fontsize=8)
        ax.grid(alpha=0.3)
    if len(curves) > 1:
        axes[0].legend(fontsize=7)
    return _save(fig, out)


def _member_settings(run_dir: Path) -> dict[int, str]:
    """member index -> its setting, from ``config.json`` (empty when there is none to read)."""
    try:
        return {m.index: m.member.setting for m in RunRecord.read(run_dir).members}
    except IQLError:
        return {}


def _save(fig, out) -> Path:
    fig.tight_layout()
    buffer = io.BytesIO()
    try:
        fig.savefig(buffer, format="png", dpi=110)
    finally:
        plt.close(fig)
    return write_atomic(out, buffer.getvalue())
