"""cli.data: the ``iql data`` command functions, what they print and what they raise."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from iql_jax.cli.data import data_generate, data_inspect, data_list
from iql_jax.errors import ConfigError, DataError


def test_list_shows_builtins_cache_state_and_local_minari(data_cache_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    data_generate("pointmaze-umaze", steps=3000)
    data_list()
    out = capsys.readouterr().out
    assert "pointmaze-umaze-s3000-seed0-v0" in out and "ant-random" in out
    assert f"Local Minari datasets in {tmp_path / 'minari'}: none" in out
    assert "cached: no" in out  # e.g. pointmaze-large
    # moving-goal data: its episodes count goals reached, its references steps at the fixed goal: no normalised score
    line = next(x for x in out.splitlines() if "pointmaze-umaze-s3000-seed0-v0:" in x)
    assert "mean episode return" in line and "(not normalised: its references belong to another env, " \
        "PointMaze_UMaze-v3 (continuing_task=True, reset_target=False" in line, line


def test_generate_reports_cache_hit(data_cache_dir, capsys):
    data_generate("pointmaze-umaze", steps=3000)
    out = capsys.readouterr().out
    assert out.startswith("Already cached: iql-jax/pointmaze-umaze-s3000-seed0-v0")
    with pytest.raises(ConfigError):
        data_generate("pointmaze-umaze-fig2", steps=5)


def test_inspect_hdf5_with_warning_and_verdict(tmp_path, capsys):
    rng = np.random.default_rng(0)
    path = tmp_path / "hopper-medium-v2.hdf5"
    with h5py.File(path, "w") as f:
        f["observations"] = rng.normal(size=(10, 11))
        f["actions"] = np.clip(rng.normal(size=(10, 3)), -1.2, 1.2)
        f["rewards"] = np.arange(10.0)
        f["terminals"] = np.isin(np.arange(10), [4])
        f["timeouts"] = np.zeros(10, bool)
    data_inspect(str(path))
    out = capsys.readouterr().out
    assert "transitions: 9" in out and "episodes (trajectories split at episode_ends): 2" in out
    assert "trajectory return: min 10, mean 18, max 26" in out  # 0+1+2+3+4 and 5+6+7+8
    assert "domain: locomotion -> preset 'locomotion' (reward transform 'locomotion'" in out
    assert "reference scores: min -20.2723, max 3234.3, measured on Hopper-v5, 1000 steps (task catalogue)" in out
    assert "evaluation env (--data.goal none): Hopper-v5, 1000 steps; normalised score: the references belong to " \
           "this env" in out
    assert "validation: passed with 1 warning(s):" in out and "actions:" in out


def test_inspect_bad_source_raises(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        data_inspect(str(tmp_path / "missing.hdf5"))


def test_inspect_names_the_env_the_references_belong_to(tmp_path, monkeypatch, capsys):
    # A moving-goal PointMaze dataset's references count goals reached in its own env: inspect says which env.
    import json

    from fault_files import minari_dataset

    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    meta = directory / "data" / "metadata.json"
    spec = {"id": "PointMaze_UMaze-v3", "max_episode_steps": 300,
            "kwargs": {"maze_map": [[1, 1], [1, 0]], "continuing_task": True, "reset_target": True}}
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "eval_env_spec": json.dumps(spec),
                                "ref_min_score": 0.28, "ref_max_score": 4.34}))
    data_inspect(str(directory))
    out = capsys.readouterr().out
    assert "reference scores: min 0.28, max 4.34, measured on PointMaze_UMaze-v3 (continuing_task=True, " \
           "reset_target=True), 300 steps (dataset metadata)" in out
    # flat observations: the policy cannot see the goal, so it is judged on the fixed-goal map, where they do not apply
    assert "evaluation env (--data.goal none): PointMaze_UMaze-v3 (continuing_task=True, reset_target=False, " \
           "reward_type=sparse), 300 steps; no normalised score: " in out \
        and "; reset_target=False here, True for the references)" in out
