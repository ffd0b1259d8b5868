"""runs.trainer: exact resume (also after SIGKILL), the outputs a finished run writes, the divergence guard."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import iql_jax
from iql_jax.errors import DivergenceError
from iql_jax.runs import evaluate_run, load_run, resume, train
from iql_jax.runs.logs import read_eval
from iql_jax.runs.loop import eval_seed
from iql_jax.runs.prepare import load as load_data
from iql_jax.runs.rundir import RunRecord, latest_checkpoint, list_checkpoints
from iql_jax.testing import stopping_at
from tiny import RUN_DATASET, learned, run_config

SWEEP = [{"expectile": 0.9}, {"expectile": 0.7, "beta": 0.0}]

def test_resume_is_bit_exact(tmp_path, data_cache_dir):
    whole = train(run_config(tmp_path, "whole"), progress=False, sweep=SWEEP)
    with stopping_at(20):
        part = train(run_config(tmp_path, "part"), progress=False, sweep=SWEEP)
    assert part.step == 20 and not part.summary
    resumed = resume(tmp_path / "part", progress=False)
    assert resumed.step == whole.step == 60
    assert [m.label for m in resumed.members] == [m.label for m in whole.members] == [
        "seed=0 expectile=0.9", "seed=0 expectile=0.7 beta=0", "seed=1 expectile=0.9", "seed=1 expectile=0.7 beta=0"]
    for a, b in zip(learned(whole.states), learned(resumed.states)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert read_eval(tmp_path / "whole") == read_eval(tmp_path / "part")
    assert [s for s, _ in list_checkpoints(tmp_path / "part")] == [20, 40, 60]
    # summary.json: mean ± std per setting, over its seeds; no mean across the two settings
    summary = json.loads((tmp_path / "whole" / "summary.json").read_text())
    assert "last_mean" not in summary and [g["setting"] for g in summary["settings"]] == [
        "expectile=0.9", "expectile=0.7 beta=0"]
    for g in summary["settings"]:
        last = [r["normalized_score"] for r in read_eval(tmp_path / "whole")
                if r["step"] == 60 and r["setting"] == g["setting"]]
        assert g["seeds"] == 2 and g["last_mean"] == pytest.approx(np.mean(last))
        assert g["last_std"] == pytest.approx(np.std(last))

def test_fit_trains_in_memory_what_train_trains_and_writes_nothing(tmp_path, data_cache_dir, monkeypatch):
    config = run_config(tmp_path / "out", "r", steps=40)
    dataset = load_data(config, progress=False)
    monkeypatch.chdir(tmp_path)
    before = sorted(p for p in tmp_path.rglob("*")), sorted(p for p in data_cache_dir.rglob("*"))
    fitted = iql_jax.fit(dataset, config, sweep=SWEEP)  # the public name: loaded lazily from iql_jax.runs
    assert (sorted(p for p in tmp_path.rglob("*")), sorted(p for p in data_cache_dir.rglob("*"))) == before
    assert [step for step, _ in fitted.history] == [20, 40] and fitted.config.resolved
    assert fitted.history[-1][1]["value/loss"].shape == (4,)  # per member
    trained = train(config, progress=False, sweep=SWEEP)
    assert [m.label for m in fitted.members] == [m.label for m in trained.members]
    for a, b in zip(learned(fitted.states), learned(trained.states)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_outputs_report_and_plot_match_eval_csv(tmp_path, data_cache_dir):
    result = train(run_config(tmp_path, "r", steps=40), progress=False)
    run_dir = tmp_path / "r"
    for name in ("config.json", "metrics.jsonl", "eval.csv", "summary.json", "score.png", "losses.png",
                 "report.md", "report.csv"):
        assert (run_dir / name).stat().st_size > 0, name
    rows = read_eval(run_dir)
    assert sorted({(r["step"], r["member"]) for r in rows}) == [(s, m) for s in (20, 40) for m in (0, 1)]
    last = [r["normalized_score"] for r in rows if r["step"] == 40]
    best = [max(r["normalized_score"] for r in rows if r["member"] == m) for m in (0, 1)]
    with open(run_dir / "report.csv") as f:
        (row,) = list(csv.DictReader(f))
    assert float(row["last_mean"]) == pytest.approx(np.mean(last))
    assert float(row["best_mean"]) == pytest.approx(np.mean(best))
    assert result.summary["last_mean"] == pytest.approx(np.mean(last))
    md = (run_dir / "report.md").read_text()
    assert f"{np.mean(last):.1f}" in md and "**total**" in md
    record = RunRecord.read(run_dir)
    assert record.version == iql_jax.__version__ and len(record.dataset.fingerprint) == 16
    assert record.config.data.reward_transform == "antmaze"
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 2 and "value/loss" in json.loads(lines[0])
    # iql eval's logic as a library call: the newest checkpoint, every member, the recorded environment.
    measured = evaluate_run(run_dir, episodes=2, seed=eval_seed(0, 40))  # the seed the run evaluated step 40 with
    assert measured.step == 40 and [m.label for m in measured.members] == ["seed=0", "seed=1"]
    assert measured.env_id == record.eval_env.env_id and measured.result.returns.shape == (2, 2)
    np.testing.assert_allclose(measured.result.normalized_score, last)  # the run's own last evaluation, re-run

def test_divergence_stops_with_step_member_and_metric(tmp_path, data_cache_dir):
    dataset = load_data(run_config(tmp_path, "x"), progress=False)
    t = dataset.transitions
    poisoned = t._replace(rewards=np.full_like(np.asarray(t.rewards), 3e38))
    bad = dataclasses.replace(dataset, transitions=poisoned)
    with pytest.raises(DivergenceError, match=r"non-finite .* step 20, member 0 \(seed=0\)"):
        train(run_config(tmp_path, "nan"), dataset=bad, progress=False)
    assert list_checkpoints(tmp_path / "nan") == []

def _cli(*args, timeout=240, **kw):
    env = os.environ.copy()
    return subprocess.run([sys.executable, "-m", "iql_jax.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def test_cli_sigkill_then_resume_finishes(tmp_path, data_cache_dir):
    args = ["train", "--dataset", RUN_DATASET, "--steps", "1500", "--seeds", "2", "--chunk-size", "100",
            "--eval-every", "0", "--run.checkpoint-every", "100", "--agent.hidden-dims", "16", "16", "--out",
            str(tmp_path), "--name", "k", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "iql_jax.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=os.environ.copy())
    run_dir = tmp_path / "k"
    deadline = time.time() + 180
    while time.time() < deadline and len(list_checkpoints(run_dir)) < 2:
        time.sleep(0.2)
    proc.kill()  # SIGKILL: no cleanup runs
    proc.wait()
    done = latest_checkpoint(run_dir)
    assert done is not None and done[0] < 1500
    states, _, _, step = load_run(run_dir)  # the newest checkpoint on disk is complete
    assert step == done[0]
    finish = _cli("train", "--resume", str(run_dir))
    assert finish.returncode == 0, finish.stderr
    assert latest_checkpoint(run_dir)[0] == 1500
    steps = [json.loads(ln)["step"] for ln in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) * 2  # no duplicated rows after the resume
    table = _cli("eval", str(run_dir), "--episodes", "2")
    assert table.returncode == 0, table.stderr
    assert "step 1,500" in table.stdout and "seed=0" in table.stdout and "seed=1" in table.stdout
    assert "the checkpoint at step 1,500 (the newest, not the best)" in table.stdout
