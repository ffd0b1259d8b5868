"""runs.setup: the library trains what the config names (presets resolved once), and actions are clipped once."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest

from iql_jax.config import DataConfig, RunConfig, TrainConfig
from iql_jax.data import DataWarning
from iql_jax.runs import setup, train


def test_train_with_a_named_preset_trains_that_preset(tmp_path, data_cache_dir):
    # The bug: runs.train(TrainConfig(preset="antmaze")) trained τ 0.7, β 3 while recording "antmaze".
    config = TrainConfig(preset="antmaze", data=DataConfig(dataset="pointmaze-umaze:3000"),
                         run=RunConfig(steps=2, chunk_size=2, eval_every=0, eval_episodes=0, out=str(tmp_path),
                                       name="r", quiet=True))
    result = train(config, progress=False)
    assert float(result.states.hyper.expectile[0]) == pytest.approx(0.9)
    assert float(result.states.hyper.beta[0]) == pytest.approx(10.0)
    recorded = json.loads((tmp_path / "r" / "config.json").read_text())["config"]
    assert (recorded["agent"]["expectile"], recorded["agent"]["beta"], recorded["preset"]) == (0.9, 10.0, "antmaze")


def _noisy_file(tmp_path):
    n = 8
    rng = np.random.default_rng(0)
    actions = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    actions[1, 1] = 1.2  # row 3 ends an episode by timeout, which D4RL loading drops
    path = tmp_path / "noisy.hdf5"
    with h5py.File(path, "w") as f:
        for key, value in {"observations": rng.normal(size=(n, 3)), "actions": actions, "rewards": np.ones(n),
                           "terminals": np.zeros(n), "timeouts": np.arange(n) % 4 == 3}.items():
            f.create_dataset(key, data=value)
    return str(path)


@pytest.mark.parametrize("clip, expected", [(True, np.float32(1 - 1e-5)), (False, np.float32(1.2))])
def test_clip_actions_works_both_ways(tmp_path, clip, expected):
    # The bug: --data.no-clip-actions had no effect, because validation always clipped.
    config = TrainConfig(data=DataConfig(dataset=_noisy_file(tmp_path), reward_transform="none", clip_actions=clip))
    with pytest.warns(DataWarning, match="1 values outside"):  # the range check stays in validation
        prepared = setup.prepare(config, evaluate=False, progress=False)
    assert np.asarray(prepared.transitions.actions).max() == expected
    assert prepared.config.data.clip_actions is clip

