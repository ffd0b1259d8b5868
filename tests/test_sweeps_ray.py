"""iql_jax.sweeps on a real local Ray (2 CPUs), started once for this module: two tiny datasets × two seeds as Ray
tasks, a job whose worker process dies after its first checkpoint, and the next sweep resuming it to exactly the
state of an uninterrupted job."""

from __future__ import annotations

import csv
import dataclasses
import os

import numpy as np
import pytest

from iql_jax.runs import list_checkpoints, load_run
from iql_jax.runs.lock import owner_pid
from iql_jax.runs.logs import read_eval
from iql_jax.testing import crashing
from iql_jax.sweeps import run_sweep
from tiny import learned, run_config

ray = pytest.importorskip("ray", reason="needs the ray extra (pip install 'iql-jax[ray]'; the test extra has it)")

DATASETS = ["pointmaze-umaze:3000", "pointmaze-medium:3000"]
UMAZE, MEDIUM = "pointmaze-umaze-3000", "pointmaze-medium-3000"


@pytest.fixture(scope="module")
def cluster(data_cache_dir):
    """One local Ray for the module (its workers inherit the session's dataset cache from this process)."""
    ray.init(address="local", num_cpus=2, include_dashboard=False, configure_logging=False)
    yield
    ray.shutdown()


def _base(out):
    c = run_config(out, None, steps=200)
    return dataclasses.replace(c, preset=None, run=dataclasses.replace(c.run, chunk_size=100, eval_every=0,
                                                                       checkpoint_every=100))


def test_two_datasets_on_ray_and_a_killed_job_resumed_exactly(cluster, tmp_path):
    out, ref = tmp_path / "out", tmp_path / "ref"
    with crashing({MEDIUM: 100}):
        first = run_sweep(_base(out), DATASETS, progress=False)
    assert first.executor == "Ray"
    umaze, medium = first.outcomes
    assert (umaze.name, umaze.status, umaze.step) == (UMAZE, "done", 200)
    assert medium.status == "failed" and "its Ray worker died" in medium.error and medium.step == 100
    assert [s for s, _ in list_checkpoints(out / MEDIUM)] == [100]
    for job in (UMAZE, MEDIUM):  # trained in Ray's worker processes, not here
        assert owner_pid(out / job) not in (None, os.getpid())

    second = run_sweep(_base(out), DATASETS, progress=False)
    assert [(o.status, o.step) for o in second.outcomes] == [("skipped", 200), ("resumed", 200)]
    whole = run_sweep(_base(ref), DATASETS[1:], progress=False)  # the same job, never interrupted
    assert [o.status for o in whole.outcomes] == ["done"]
    resumed, uninterrupted = load_run(out / MEDIUM), load_run(ref / MEDIUM)
    assert resumed[3] == uninterrupted[3] == 200
    for a, b in zip(learned(resumed[0]), learned(uninterrupted[0])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert read_eval(out / MEDIUM) == read_eval(ref / MEDIUM)

    # Both run directories and one report with a row for each (2 seeds, 200 updates) and Table 1's total.
    for job in (UMAZE, MEDIUM):
        assert (out / job / "summary.json").is_file() and (out / job / "config.json").is_file()
    with open(second.report_csv) as f:
        rows = list(csv.DictReader(f))
    assert [(r["run"], r["dataset"], r["preset"], r["seeds"], r["steps"]) for r in rows] == [
        (UMAZE, "pointmaze-umaze", "antmaze", "2", "200"), (MEDIUM, "pointmaze-medium", "antmaze", "2", "200")]
    last = [np.mean([r["normalized_score"] for r in read_eval(out / job) if r["step"] == 200])
            for job in (UMAZE, MEDIUM)]
    assert [float(r["last_mean"]) for r in rows] == pytest.approx(last)
    assert f"| **total** | |  |  | | | **{sum(last):.1f}** |" in second.report.read_text()
    assert second.plot.stat().st_size > 0
    assert "1 resumed, 1 skipped, 0 failed" in second.summary_lines()[2]
