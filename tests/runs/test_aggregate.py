"""``iql report --aggregate`` and ``iql plot --profile`` (rliable): hand-computed IQM, mean, median and optimality
gap on a tiny score matrix, then a real ``iql sweep`` directory against the scores in its jobs' ``eval.csv``."""

from __future__ import annotations

import dataclasses
import re
import sys

import matplotlib.image as mpimg
import numpy as np
import pytest
from tiny import RUN_DATASET, run_config

from iql_jax import cli
from iql_jax.errors import IQLError
from iql_jax.runs.aggregate import (ScoreMatrices, aggregate, expand_runs, improvement, method_pairs, render_aggregate,
                                    render_improvement, score_matrices)
from iql_jax.runs.logs import read_eval
from iql_jax.sweeps import run_sweep

# 4 seeds x 2 datasets; sorted: 0 10 20 30 40 90 95 120
HAND = np.array([[0.0, 120.0], [10.0, 20.0], [30.0, 90.0], [95.0, 40.0]])


def test_aggregates_of_a_hand_matrix():
    m = ScoreMatrices({"a": HAND, "flat": np.full((3, 2), 50.0)}, {"a": ["x", "y"], "flat": ["x", "y"]},
                      "normalized_score", "last")
    point, interval = aggregate(m, reps=300)
    # IQM: the middle 4 of 8 (20 30 40 90); mean 405/8; median (rliable's): the median over datasets of the mean
    # over seeds, median(33.75, 67.5); optimality gap: the mean of max(100 - s, 0)
    np.testing.assert_allclose(point["a"], [45.0, 50.625, (33.75 + 67.5) / 2,
                                            (100 + 90 + 80 + 70 + 60 + 10 + 5 + 0) / 8])
    lo, hi = interval["a"]
    assert (lo <= point["a"]).all() and (point["a"] <= hi).all() and (hi - lo > 1).all()
    np.testing.assert_allclose(interval["flat"], [[50, 50, 50, 50], [50, 50, 50, 50]])  # nothing to resample
    text = render_aggregate(m, point, interval)
    assert "| a | 2 | 4 | 45.0 [" in text
    assert "last evaluation of each seed (not the best" in text and "0-100 scale" in text


def test_probability_of_improvement_of_a_hand_matrix():
    # dataset u: X (1, 3) vs Y (2, 0): of the 4 seed pairs X wins 1>0, 3>2, 3>0 -> 3/4; dataset v: X (1, 2) vs
    # Y (5, 5) -> 0. P = (3/4 + 0) / 2. Y's columns are stored in the other order (v, u): matched by name, not
    # by position (by position it would be (0 + 2.5/4) / 2).
    x = np.array([[1.0, 1.0], [3.0, 2.0]])
    y = np.array([[5.0, 2.0], [5.0, 0.0]])
    m = ScoreMatrices({"iql expectile=0.9": x, "iql expectile=0.5": y},
                      {"iql expectile=0.9": ["u", "v"], "iql expectile=0.5": ["v", "u"]}, "normalized_score", "last")
    pairs = method_pairs(m, ("0.9", "0.5"))  # parts of the names
    assert pairs == [("iql expectile=0.9", "iql expectile=0.5")] == method_pairs(m)  # two methods: compared anyway
    (p, lo, hi), = improvement(m, pairs, reps=300).values()
    assert p == pytest.approx(0.375) and lo <= p <= hi and hi - lo > 0.05
    (q, _, _), = improvement(m, [pairs[0][::-1]], reps=300).values()
    assert q == pytest.approx(1 - p)  # ties count half, so P(X > Y) + P(Y > X) = 1
    text = render_improvement(m, improvement(m, pairs, reps=300))
    assert "| iql expectile=0.9 | iql expectile=0.5 | 0.38 [" in text and "last evaluation of each seed" in text
    with pytest.raises(IQLError, match="--compare 'expectile'.*several match"):
        method_pairs(m, ("expectile", "0.5"))
    with pytest.raises(IQLError, match="--compare 'beta'.*none matches"):
        method_pairs(m, ("beta", "0.5"))
    other = ScoreMatrices({"a": x, "b": y, "c": y}, {"a": ["u", "v"], "b": ["u", "w"], "c": ["u", "v"]},
                          "normalized_score", "last")
    assert method_pairs(other) == []  # three methods and no --compare: no table
    with pytest.raises(IQLError, match="different datasets"):
        method_pairs(other, ("a", "b"))


def test_ragged_seed_counts_and_non_runs_are_refused(tmp_path):
    with pytest.raises(IQLError, match="not a run directory with evaluations .* nor an iql sweep directory"):
        expand_runs([tmp_path])


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)


@pytest.fixture
def suite(tmp_path, data_cache_dir, no_ray):
    base = run_config(tmp_path / "out", None, steps=40)
    base = dataclasses.replace(base, preset=None, run=dataclasses.replace(base.run, seeds=4))
    result = run_sweep(base, [RUN_DATASET], sweep={"expectile": [0.5, 0.9]}, progress=False)
    assert [o.status for o in result.outcomes] == ["done"]
    return tmp_path / "out"


def test_aggregate_and_profile_over_a_sweep_directory(suite, tmp_path, capsys):
    out = tmp_path / "agg.md"
    assert cli.main(["report", "--aggregate", str(suite), "--out", str(out), "--reps", "200"]) == 0
    text = capsys.readouterr().out
    (job,) = expand_runs([suite])
    rows = read_eval(job)
    for setting in ("expectile=0.5", "expectile=0.9"):
        last = {}
        for r in sorted(rows, key=lambda r: r["step"]):
            if r["setting"] == setting:
                last[r["member"]] = r["normalized_score"]
        scores = np.sort(list(last.values()))
        assert len(scores) == 4
        iqm = (scores[1] + scores[2]) / 2  # the middle two of four
        line = next(line for line in text.splitlines() if setting in line)
        shown = float(re.search(r"\| 1 \| 4 \| (-?[\d.]+) \[", line).group(1))
        assert shown == pytest.approx(iqm, abs=0.051)
    assert "Scores: last evaluation" in text and out.read_text() in text
    # Two methods: P(expectile=0.5 > expectile=0.9) over the 4 x 4 seed pairs of the one dataset, ties half.
    last = {s: [] for s in ("expectile=0.5", "expectile=0.9")}
    for s in last:
        by_member = {r["member"]: r["normalized_score"] for r in sorted(rows, key=lambda r: r["step"])
                     if r["setting"] == s}
        last[s] = list(by_member.values())
    wins = sum((a > b) + 0.5 * (a == b) for a in last["expectile=0.5"] for b in last["expectile=0.9"]) / 16
    line = next(line for line in text.splitlines() if line.count("expectile=") == 2)
    assert float(re.search(r"\| (\d\.\d\d) \[", line).group(1)) == pytest.approx(wins, abs=0.0051)
    assert line.index("expectile=0.5") < line.index("expectile=0.9")
    assert cli.main(["report", "--aggregate", str(suite), "--out", str(out), "--reps", "50", "--compare",
                     "expectile=0.9", "expectile=0.5"]) == 0
    line = next(line for line in capsys.readouterr().out.splitlines() if line.count("expectile=") == 2)
    assert float(re.search(r"\| (\d\.\d\d) \[", line).group(1)) == pytest.approx(1 - wins, abs=0.0051)
    assert cli.main(["report", str(suite), "--compare", "a", "b"]) == 2
    assert "--compare: only with --aggregate" in capsys.readouterr().err
    m = score_matrices([suite], "best")
    assert m.select == "best" and all(x.shape == (4, 1) for x in m.scores.values())

    png = tmp_path / "profile.png"
    assert cli.main(["plot", "--profile", str(suite), "--out", str(png)]) == 0
    assert capsys.readouterr().out.strip() == str(png)
    assert mpimg.imread(png).shape[1] > 500
