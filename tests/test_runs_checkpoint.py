"""runs.checkpoint (the file format) and a run's checkpoints (runs.rundir): atomic writes, version warnings, damaged
files, keeping the last k."""

from __future__ import annotations

import os

import numpy as np
import pytest

import iql_jax
from iql_jax.errors import IQLError
from iql_jax.runs import checkpoint
from iql_jax.runs.rundir import checkpoint_path, list_checkpoints, save_checkpoint


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


def test_version_mismatch_warns_and_damage_is_clear(tmp_path):
    path = save_checkpoint(tmp_path, 5, {"w": np.ones(2)}, {"version": "0.0.0"})
    with pytest.warns(UserWarning, match="0.0.0"):
        checkpoint.load_checkpoint(path, {"w": np.zeros(2)}, version=iql_jax.__version__)
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(IQLError, match="not a readable"):
        checkpoint.load_checkpoint(path, {"w": np.zeros(2)})


def test_keeps_only_the_last_k(tmp_path):
    for step in range(1, 6):
        save_checkpoint(tmp_path, step, {"w": np.ones(1)}, {}, keep=2)
    assert [s for s, _ in list_checkpoints(tmp_path)] == [4, 5]
