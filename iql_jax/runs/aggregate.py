"""Aggregate comparisons across runs, as modern offline-RL papers report them (Agarwal et al., 2021, with their
``rliable`` library): IQM, mean, median and optimality gap with stratified-bootstrap 95 % intervals, and
performance profiles.

A *method* is a (preset, sweep setting) pair; a *task* is a dataset; a *run* is one seed. Each method's scores form
a (seeds × tasks) matrix, and the bootstrap resamples seeds within each task (stratified). Each seed contributes one
score: its **last** evaluation by default (the honest number: picking each seed's best evaluation uses the
evaluation episodes to choose, so it is optimistic) or its best with ``select="best"``. Scores are on the 0-100
scale of D4RL's normalised score (0 = random policy, 100 = expert) where the run has reference scores; runs without
them are reported in raw return, which is never mixed with normalised scores. rliable's optimality gap is computed
with ``gamma = 100`` on this scale (the mean shortfall below expert).

Two methods are compared by rliable's probability of improvement P(X > Y): the chance that a seed of X scores
higher than a seed of Y on the same dataset (ties count half; the Mann-Whitney U statistic over all seed pairs),
averaged over datasets, with its stratified-bootstrap interval. 0.5 means no difference; it says how often, not by
how much, so it reads beside the IQM.

``iql sweep`` suite directories (an ``OUT`` with ``sweep.json``) count as all of their finished jobs.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Sequence

import numpy as np

from iql_jax.errors import IQLError
from iql_jax.runs.logs import read_eval
from iql_jax.runs.rundir import CONFIG_FILE, RunRecord
from iql_jax.runs.stats import last_and_best, scale_words, score_key

METRICS = ("IQM", "mean", "median", "optimality gap")
INSTALL = "pip install -e '.[aggregate]' (rliable)"


@dataclass(frozen=True)
class ScoreMatrices:
    """Per method, the (seeds × tasks) scores and the task names; with the scale and the selection they use."""

    scores: dict[str, np.ndarray]
    tasks: dict[str, list[str]]
    scale: Literal["normalized_score", "return"]
    select: Literal["last", "best"]

    def scale_line(self) -> str:
        which = ("last evaluation of each seed (not the best over evaluations)" if self.select == "last"
                 else "best evaluation of each seed (optimistic: the evaluation episodes pick it)")
        return f"Scores: {which}; {scale_words(self.scale)}."


def expand_runs(paths: Sequence[str | Path]) -> list[Path]:
    """Run directories; an ``iql sweep`` OUT (``sweep.json``, no ``eval.csv``) stands for its evaluated jobs."""
    runs = []
    for path in map(Path, paths):
        if not (path / "eval.csv").is_file() and (path / "sweep.json").is_file():
            jobs = sorted(p for p in path.iterdir() if (p / "eval.csv").is_file())
            if not jobs:
                raise IQLError(f"{path}: an iql sweep directory with no evaluated job yet")
            runs.extend(jobs)
        elif (path / "eval.csv").is_file():
            runs.append(path)
        else:
            raise IQLError(f"{path}: not a run directory with evaluations (no eval.csv) nor an iql sweep directory "
                           f"(no sweep.json)")
    return runs


def score_matrices(run_dirs: Sequence[str | Path], select: Literal["last", "best"] = "last") -> ScoreMatrices:
    """Collect every seed's score by method and task from the runs' ``eval.csv``.

    Raises:
        IQLError: runs mix normalised scores and raw returns, or a method has different seed counts on its tasks
            (the stratified bootstrap needs a full matrix).
    """
    cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    keys = set()
    for run_dir in expand_runs(run_dirs):
        evals = read_eval(run_dir)
        record = RunRecord.read(run_dir) if (run_dir / CONFIG_FILE).is_file() else None
        key = score_key(evals)
        keys.add(key)
        task = record.dataset.name if record else run_dir.name
        preset = record.config.preset if record else "?"
        by_setting = defaultdict(list)
        for r in evals:
            by_setting[r.get("setting", "") or ""].append(r)
        for setting, rows in by_setting.items():
            method = preset + (f" {setting}" if setting else "")
            cells[method][task].extend(v[0 if select == "last" else 1] for v in last_and_best(rows, key).values())
    if len(keys) > 1:
        raise IQLError("--aggregate: some runs have normalised scores and others only raw returns; aggregate them "
                       "separately")
    scores, tasks = {}, {}
    for method, by_task in cells.items():
        counts = {t: len(v) for t, v in by_task.items()}
        if len(set(counts.values())) > 1:
            raise IQLError(f"--aggregate: method {method!r} has different seed counts per dataset ({counts}); the "
                           f"stratified bootstrap needs the same number of seeds on every dataset")
        tasks[method] = list(by_task)
        scores[method] = np.array([by_task[t] for t in tasks[method]], dtype=float).T  # (seeds, tasks)
    return ScoreMatrices(scores, tasks, keys.pop() if keys else "normalized_score", select)


def aggregate(matrices: ScoreMatrices, reps: int = 2000, seed: int = 0) -> tuple[dict, dict]:
    """Point estimates and 95 % stratified-bootstrap intervals of :data:`METRICS`, per method (rliable)."""
    metrics, rly = _rliable()
    gamma = 100.0 if matrices.scale == "normalized_score" else None

    def all_metrics(x: np.ndarray) -> np.ndarray:
        gap = metrics.aggregate_optimality_gap(x, gamma) if gamma is not None else np.nan
        return np.array([metrics.aggregate_iqm(x), metrics.aggregate_mean(x), metrics.aggregate_median(x), gap])

    return rly.get_interval_estimates(matrices.scores, all_metrics, reps=reps,
                                      random_state=np.random.RandomState(seed))


def render_aggregate(matrices: ScoreMatrices, point: dict, interval: dict) -> str:
    """A Markdown table, one row per method, each metric as ``estimate [low, high]``, with the scale stated."""
    head = ("| method | datasets | seeds | " + " | ".join(METRICS) + " |\n|---|---:|---:|"
            + "---:|" * len(METRICS) + "\n")
    body = ""
    for method, x in matrices.scores.items():
        cells = [("-" if np.isnan(p) else f"{p:.1f} [{lo:.1f}, {hi:.1f}]")
                 for p, lo, hi in zip(point[method], interval[method][0], interval[method][1])]
        body += f"| {method} | {x.shape[1]} | {x.shape[0]} | " + " | ".join(cells) + " |\n"
    return (head + body + f"\n{matrices.scale_line()} Intervals: 95 % stratified bootstrap over seeds within each "
            "dataset (rliable). IQM: mean of the middle 50 % of all seed × dataset scores. Median: median over "
            "datasets of the mean over seeds. Optimality gap: mean shortfall below 100 (lower is better).\n")


def method_pairs(matrices: ScoreMatrices, compare: Sequence[str] | None = None) -> list[tuple[str, str]]:
    """The (X, Y) pairs to compare: ``compare`` names two methods (a method's full name, or text found in exactly
    one name, e.g. ``expectile=0.9``); without it, the two methods when there are exactly two, else none (all
    pairs of a large sweep would bury the table).

    Raises:
        IQLError: a name matches no method or several, or the two methods were not run on the same datasets.
    """
    names = list(matrices.scores)
    if not compare:
        pairs = [(names[0], names[1])] if len(names) == 2 else []
    else:
        def one(text: str) -> str:
            found = [n for n in names if n == text] or [n for n in names if text in n]
            if len(found) != 1:
                raise IQLError(f"--compare {text!r}: expected the name (or part of the name) of one method; "
                               f"{'several match' if found else 'none matches'}; methods: {', '.join(names)}")
            return found[0]

        pairs = [(one(compare[0]), one(compare[1]))]
        if pairs[0][0] == pairs[0][1]:
            raise IQLError(f"--compare {compare[0]!r} {compare[1]!r}: both name method {pairs[0][0]!r}; name two")
    for x, y in pairs:
        if sorted(matrices.tasks[x]) != sorted(matrices.tasks[y]):
            raise IQLError(f"--compare: {x!r} and {y!r} were run on different datasets ({matrices.tasks[x]} vs "
                           f"{matrices.tasks[y]}); compare methods run on the same ones")
    return pairs


def improvement(matrices: ScoreMatrices, pairs: Sequence[tuple[str, str]], reps: int = 2000,
                seed: int = 0) -> dict[tuple[str, str], tuple[float, float, float]]:
    """P(X > Y) and its 95 % stratified-bootstrap interval per pair (rliable), datasets aligned by name."""
    metrics, rly = _rliable()
    result = {}
    for x, y in pairs:
        order = [matrices.tasks[y].index(t) for t in matrices.tasks[x]]
        pair = {"p": (matrices.scores[x], matrices.scores[y][:, order])}
        point, interval = rly.get_interval_estimates(pair, metrics.probability_of_improvement, reps=reps,
                                                     random_state=np.random.RandomState(seed))
        p, (lo, hi) = np.ravel(point["p"])[0], np.ravel(interval["p"])
        result[(x, y)] = (float(p), float(lo), float(hi))
    return result


def render_improvement(matrices: ScoreMatrices, probabilities: dict) -> str:
    """A Markdown table of P(X > Y) [low, high], with what it means and the scores it uses."""
    if not probabilities:
        return ""
    rows = "".join(f"| {x} | {y} | {p:.2f} [{lo:.2f}, {hi:.2f}] |\n" for (x, y), (p, lo, hi) in probabilities.items())
    return ("\n| X | Y | P(X > Y) |\n|---|---|---:|\n" + rows + f"\n{matrices.scale_line()} P(X > Y): the "
            "probability that a seed of X scores higher than a seed of Y on the same dataset (ties count half), "
            "averaged over datasets; 0.5 = no difference. Interval: 95 % stratified bootstrap (rliable).\n")


def plot_profiles(matrices: ScoreMatrices, out: str | Path, reps: int = 2000) -> Path:
    """Performance profiles (fraction of seed × dataset scores above tau) with 95 % bootstrap bands."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    _, rly = _rliable()
    from rliable import plot_utils

    top = max(100.0, max(float(x.max()) for x in matrices.scores.values()))
    low = min(0.0, min(float(x.min()) for x in matrices.scores.values()))
    taus = np.linspace(low, top, 101)
    profiles, cis = rly.create_performance_profile(matrices.scores, taus, reps=reps)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    plot_utils.plot_performance_profiles(profiles, taus, performance_profile_cis=cis, ax=ax,
                                         xlabel=r"score $\tau$", ylabel=r"fraction of runs with score $> \tau$")
    ax.legend(list(profiles), loc="upper right", fontsize=8)
    ax.set_title(matrices.scale_line().replace("; ", ";\n"), fontsize=8)
    fig.tight_layout()
    out = Path(out)
    fig.savefig(out, dpi=120)
    plt.close(fig)
    return out


def _rliable():
    try:
        from rliable import library as rly
        from rliable import metrics
    except ImportError as e:
        raise IQLError(f"--aggregate/--profile need rliable: {INSTALL}") from e
    return metrics, rly
