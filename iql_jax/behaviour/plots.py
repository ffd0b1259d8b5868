"""The learning curve of a behaviour run: evaluated returns (or D4RL-normalised scores) against environment steps."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from iql_jax.behaviour import rundir  # noqa: E402
from iql_jax.runs.files import write_atomic  # noqa: E402


def plot_curve(run_dir: str | Path, out: str | Path | None = None, bands: dict | None = None) -> Path | None:
    """Deterministic and sampled evaluations, and the mean return of training episodes, against steps.

    Args:
        out: the figure's path (default ``RUN/curve.png``).
        bands: ``{"medium": (lo, hi)}`` score bands to shade (in the plotted unit).

    Returns:
        The path written, or ``None`` before the first evaluation.
    """
    rows = rundir.read_curve(Path(run_dir))
    if not rows:
        return None
    scored = all(np.isfinite(r["stochastic_score"]) for r in rows)
    unit = "score" if scored else "return"
    steps = [r["step"] for r in rows]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for mode, style in (("deterministic", "-"), ("stochastic", "--")):
        ax.plot(steps, [r[f"{mode}_{unit}"] for r in rows], style, marker="o", markersize=2,
                label=f"{'tanh(mean)' if mode == 'deterministic' else 'sampled'} policy")
    if not scored:
        ax.plot(steps, [r["train_return"] for r in rows], ":", label="training episodes")
    for name, (lo, hi) in (bands or {}).items():
        ax.axhspan(lo, hi, alpha=0.15, color="tab:green", label=f"{name} band")
    ax.set_xlabel("environment steps")
    ax.set_ylabel("D4RL-normalised score" if scored else "episode return")
    ax.set_title(f"{Path(run_dir).name}: SAC evaluations")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return write_atomic(Path(out) if out else Path(run_dir) / rundir.PLOT, buf.getvalue())
