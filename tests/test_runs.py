"""Run directories: exact resume, crash safety, atomic checkpoints, divergence guard, plots and reports."""

from __future__ import annotations

import csv
import dataclasses
import json
import os
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

import iql_jax
from iql_jax.config import DataConfig, RunConfig, TrainConfig, get_preset
from iql_jax.errors import DivergenceError, IQLError
from iql_jax.runs import checkpoint, load_run, resume, setup, train
from iql_jax.runs.logs import read_eval
from tiny import tiny_config

DATASET = "pointmaze-umaze:3000"


def _config(tmp_path, name, steps=60, **run):
    agent = dataclasses.replace(get_preset("antmaze").agent, hidden_dims=(16, 16), batch_size=32)
    run_cfg = RunConfig(steps=steps, seeds=2, chunk_size=20, eval_every=20, eval_episodes=2, checkpoint_every=20,
                        out=str(tmp_path), name=name, quiet=True, **run)
    return TrainConfig(agent=agent, data=DataConfig(dataset=DATASET), run=run_cfg, preset="antmaze")


def _learned(states):
    return jax.tree_util.tree_leaves((states.actor, states.critic, states.value, states.target_critic_params,
                                      states.key, states.step))


SWEEP = [{"expectile": 0.9}, {"expectile": 0.7, "beta": 0.0}]


def test_resume_is_bit_exact(tmp_path, data_cache_dir):
    whole = train(_config(tmp_path, "whole"), progress=False, sweep=SWEEP)
    part = train(_config(tmp_path, "part"), progress=False, sweep=SWEEP, stop_at=20)
    assert part.step == 20 and not part.summary
    resumed = resume(tmp_path / "part", progress=False)
    assert resumed.step == whole.step == 60
    assert [m.label for m in resumed.members] == [m.label for m in whole.members] == [
        "seed=0 expectile=0.9", "seed=0 expectile=0.7 beta=0", "seed=1 expectile=0.9", "seed=1 expectile=0.7 beta=0"]
    for a, b in zip(_learned(whole.states), _learned(resumed.states)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    strip = lambda rows: [{k: v for k, v in r.items()} for r in rows]
    assert strip(read_eval(tmp_path / "whole")) == strip(read_eval(tmp_path / "part"))
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path / "part")] == [20, 40, 60]


def test_outputs_report_and_plot_match_eval_csv(tmp_path, data_cache_dir):
    result = train(_config(tmp_path, "r", steps=40), progress=False)
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
    record = json.loads((run_dir / "config.json").read_text())
    assert record["version"] == iql_jax.__version__ and len(record["dataset"]["fingerprint"]) == 16
    assert record["config"]["data"]["reward_transform"] == "antmaze"
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    assert len(lines) == 2 * 2 and "value/loss" in json.loads(lines[0])


def test_failed_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    state = {"w": np.arange(3.0)}
    checkpoint.save_checkpoint(tmp_path, 1, state, {"version": "x"})

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        checkpoint.save_checkpoint(tmp_path, 2, {"w": np.arange(3.0) + 1}, {"version": "x"})
    monkeypatch.undo()
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path)] == [1]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if "tmp" in p.name]
    restored, header = checkpoint.load_checkpoint(checkpoint.checkpoint_path(tmp_path, 1), {"w": np.zeros(3)})
    np.testing.assert_array_equal(restored["w"], np.arange(3.0))
    assert header["step"] == 1


def test_version_mismatch_warns_and_damage_is_clear(tmp_path):
    path = checkpoint.save_checkpoint(tmp_path, 5, {"w": np.ones(2)}, {"version": "0.0.0"})
    with pytest.warns(UserWarning, match="0.0.0"):
        checkpoint.load_checkpoint(path, {"w": np.zeros(2)}, version=iql_jax.__version__)
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(IQLError, match="not a readable"):
        checkpoint.load_checkpoint(path, {"w": np.zeros(2)})


def test_keeps_only_the_last_k(tmp_path):
    for step in range(1, 6):
        checkpoint.save_checkpoint(tmp_path, step, {"w": np.ones(1)}, {}, keep=2)
    assert [s for s, _ in checkpoint.list_checkpoints(tmp_path)] == [4, 5]


def test_divergence_stops_with_step_member_and_metric(tmp_path, data_cache_dir):
    dataset = setup.load(_config(tmp_path, "x"), progress=False)
    t = dataset.transitions
    poisoned = t._replace(rewards=np.full_like(np.asarray(t.rewards), 3e38))
    bad = dataclasses.replace(dataset, transitions=poisoned)
    with pytest.raises(DivergenceError, match=r"non-finite .* step 20, member 0 \(seed=0\)"):
        train(_config(tmp_path, "nan"), dataset=bad, progress=False)
    assert checkpoint.list_checkpoints(tmp_path / "nan") == []


def _cli(*args, timeout=240, **kw):
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "iql_jax.cli", *args], capture_output=True, text=True,
                          timeout=timeout, env=env, **kw)


def test_cli_help_lists_config_fields():
    out = _cli("train", "--help").stdout
    for flag in ("--agent.expectile", "--agent.beta", "--agent.polyak", "--data.reward-transform", "--run.seeds",
                 "--steps", "--dataset", "--preset", "--resume", "--eval-every"):
        assert flag in out, flag


def test_cli_bad_dataset_exit_2_without_traceback(tmp_path):
    bad = tmp_path / "broken.hdf5"
    bad.write_text("not hdf5")
    proc = _cli("train", "--dataset", str(bad), "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and str(bad) in proc.stderr


def test_cli_sigkill_then_resume_finishes(tmp_path, data_cache_dir):
    args = ["train", "--dataset", DATASET, "--steps", "1500", "--seeds", "2", "--chunk-size", "100",
            "--eval-every", "0", "--run.checkpoint-every", "100", "--agent.hidden-dims", "16", "16", "--out",
            str(tmp_path), "--name", "k", "--quiet"]
    proc = subprocess.Popen([sys.executable, "-m", "iql_jax.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    run_dir = tmp_path / "k"
    deadline = time.time() + 180
    while time.time() < deadline and len(checkpoint.list_checkpoints(run_dir)) < 2:
        time.sleep(0.2)
    proc.kill()  # SIGKILL: no cleanup runs
    proc.wait()
    done = checkpoint.latest_checkpoint(run_dir)
    assert done is not None and done[0] < 1500
    states, _, _, step = load_run(run_dir)  # the newest checkpoint on disk is complete
    assert step == done[0]
    finish = _cli("train", "--resume", str(run_dir))
    assert finish.returncode == 0, finish.stderr
    assert checkpoint.latest_checkpoint(run_dir)[0] == 1500
    steps = [json.loads(ln)["step"] for ln in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert steps == sorted(steps) and len(steps) == len(set(steps)) * 2  # no duplicated rows after the resume
    table = _cli("eval", str(run_dir), "--episodes", "2")
    assert table.returncode == 0, table.stderr
    assert "step 1,500" in table.stdout and "seed=0" in table.stdout and "seed=1" in table.stdout


def test_finetune_run_resumes_bit_exactly_and_marks_the_boundary(tmp_path, data_cache_dir):
    from iql_jax.runs.finetune_run import finetune_run, resume_finetune

    train(_config(tmp_path, "off", steps=40), progress=False)
    kw = dict(eval_every=20, eval_episodes=1, checkpoint_every=20, progress=False)
    whole = finetune_run(tmp_path / "off", 40, name="ft-whole", **kw)
    part = finetune_run(tmp_path / "off", 40, name="ft-part", stop_at=20, **kw)
    assert part.step == 40 + 20 and not part.summary
    resumed = resume_finetune(tmp_path / "ft-part", progress=False)
    assert resumed.step == whole.step == 80
    for a, b in zip(_learned(whole.states), _learned(resumed.states)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    rows = read_eval(tmp_path / "ft-whole")
    assert sorted({r["step"] for r in rows}) == [20, 40, 60, 80]  # offline rows first, then online
    assert read_eval(tmp_path / "ft-part") == rows
    t2 = whole.summary["offline_to_online"]
    assert t2["offline"] == pytest.approx(np.mean([r["normalized_score"] for r in rows if r["step"] == 40]))
    assert "offline → fine-tuned" in (tmp_path / "ft-whole" / "report.md").read_text()
    # The bug: the fine-tune run's config.json still said "cosine" after constant_actor_lr.
    record = json.loads((tmp_path / "ft-whole" / "config.json").read_text())
    assert record["config"]["agent"]["actor_lr_schedule"] == "constant"
    assert [m["hyper"]["actor_decay_steps"] for m in record["members"]] == [0.0, 0.0]
    offline = json.loads((tmp_path / "off" / "config.json").read_text())
    assert [m["hyper"]["actor_decay_steps"] for m in offline["members"]] == [40.0, 40.0]
