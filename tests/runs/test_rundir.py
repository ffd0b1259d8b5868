"""runs.rundir: a run's checkpoints (atomic writes, keeping the last k), and records written by earlier versions (the
committed run fixture, an older finetune.json) loading, the run resuming into the current schema."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from iql_jax.runs import checkpoint, load_run, resume
from iql_jax.runs.rundir import (SCHEMA, FinetuneRecord, RunRecord, checkpoint_path, list_checkpoints,
                                save_checkpoint)


def test_failed_write_keeps_previous_checkpoint(tmp_path, monkeypatch):
    state = {"w": np.arange(3.0)}
    save_checkpoint(tmp_path, 1, state, {"version": "x"})

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError):
        save_checkpoint(tmp_path, 2, {"w": np.arange(3.0) + 1}, {"version": "x"})
    monkeypatch.undo()
    assert [s for s, _ in list_checkpoints(tmp_path)] == [1]
    assert not [p for p in (tmp_path / "checkpoints").iterdir() if "tmp" in p.name]
    restored, header = checkpoint.load_checkpoint(checkpoint_path(tmp_path, 1), {"w": np.zeros(3)})
    np.testing.assert_array_equal(restored["w"], np.arange(3.0))
    assert header["step"] == 1


def test_keeps_only_the_last_k(tmp_path):
    for step in range(1, 6):
        save_checkpoint(tmp_path, step, {"w": np.ones(1)}, {}, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [4, 5]


FIXTURE = Path(__file__).parents[1] / "fixtures" / "pre-network-config"


def test_a_run_written_before_the_network_config_loads_and_resumes(tmp_path, data_cache_dir):
    # Written by the code before IQLState.config became IQLState.network (2 members, hidden (8, 8), 4 steps).
    run_dir = tmp_path / "old"
    shutil.copytree(FIXTURE, run_dir)
    states, members, record, step = load_run(run_dir)
    assert record.schema == 1 and record.config.data.goal == "conditioned" and record.members[0].hyper is None
    assert step == 4 and [m.label for m in members] == ["seed=0 expectile=0.9", "seed=0 expectile=0.7 beta=0"]
    np.testing.assert_allclose(np.asarray(states.hyper.expectile), [0.9, 0.7])
    assert states.network.hidden_dims == (8, 8)
    result = resume(run_dir, progress=False, steps=6)  # the data fingerprint still matches, too
    assert result.step == 6
    after = RunRecord.read(run_dir)  # rewritten (the new total) in the current schema
    assert after.schema == SCHEMA and after.config.run.steps == 6 and after.relabel is None
    assert after.members[0].hyper is None  # what an old record did not know is not made up
    assert after.steps_changed == ({"at_step": 4, "from": 4, "to": 6},)


def test_a_finetune_record_written_before_the_logger_options_reads_them_as_unset(tmp_path):
    # finetune.json as written before `iql finetune --tensorboard / --wandb` existed (schema 2, no logger keys).
    (tmp_path / "finetune.json").write_text(json.dumps(
        {"schema": 2, "version": "0.1.0", "offline_run": "runs/off", "offline_step": 40, "online_steps": 40,
         "eval_every": 20, "eval_episodes": 1, "checkpoint_every": 20, "updates_per_collect": 1, "capacity": 40}))
    record = FinetuneRecord.read(tmp_path)
    assert (record.offline_step, record.config.capacity) == (40, 40)
    assert record.config.tensorboard is None and record.config.wandb is None  # the offline run's, as then
