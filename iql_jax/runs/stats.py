"""Per-member score histories and the statistics reports and plots share."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
from scipy import stats


def score_key(rows: list[dict]) -> str:
    """``normalized_score`` when the run has reference scores, else the raw ``return``."""
    return "normalized_score" if rows and all(r["normalized_score"] is not None for r in rows) else "return"


def scale_words(key: str) -> str:
    """The scale of ``key``'s numbers, for the note under every table: normalised scores are 0-100, never 0-1."""
    if key == "normalized_score":
        return "D4RL-normalised score on a 0-100 scale (0 = random policy, 100 = expert; not 0-1)"
    return "raw episode return (no reference scores, so not on a 0-100 scale)"


def histories(rows: list[dict], key: str) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """member -> (steps, values), sorted by step."""
    by_member = defaultdict(list)
    for r in rows:
        by_member[r["member"]].append((r["step"], r[key]))
    return {m: tuple(np.array(v, dtype=float) for v in zip(*sorted(pairs))) for m, pairs in by_member.items()}


def mean_ci95(values) -> tuple[float, float]:
    """Mean and the half-width of a Student-t 95 % interval over independent seeds (0 for one seed)."""
    values = np.asarray(values, dtype=float)
    if values.size < 2:
        return float(values.mean()) if values.size else float("nan"), 0.0
    sem = values.std(ddof=1) / np.sqrt(values.size)
    return float(values.mean()), float(stats.t.ppf(0.975, values.size - 1) * sem)


def last_and_best(rows: list[dict], key: str) -> dict[int, tuple[float, float]]:
    """member -> (score at the last evaluation, best score over evaluations)."""
    return {m: (float(v[-1]), float(v.max())) for m, (_, v) in histories(rows, key).items()}
