"""runs.prepare: the library trains what the config names (presets resolved once), and actions are clipped once."""

from __future__ import annotations

import shutil
from pathlib import Path

import h5py
import numpy as np
import pytest

from iql_jax.config import AgentConfig, DataConfig, RunConfig, TrainConfig
from iql_jax.data import DataWarning
from iql_jax.runs import load_run, resume, train
from iql_jax.runs.prepare import prepare
from iql_jax.runs.rundir import SCHEMA, RunRecord


def test_train_with_a_named_preset_trains_that_preset(tmp_path, data_cache_dir):
    # The bug: runs.train(TrainConfig(preset="antmaze")) trained τ 0.7, β 3 while recording "antmaze".
    config = TrainConfig(preset="antmaze", data=DataConfig(dataset="pointmaze-umaze:3000"),
                         run=RunConfig(steps=2, chunk_size=2, eval_every=0, eval_episodes=0, out=str(tmp_path),
                                       name="r", quiet=True))
    result = train(config, progress=False)
    assert float(result.states.hyper.expectile[0]) == pytest.approx(0.9)
    assert float(result.states.hyper.beta[0]) == pytest.approx(10.0)
    recorded = RunRecord.read(tmp_path / "r").config
    assert (recorded.agent.expectile, recorded.agent.beta, recorded.preset) == (0.9, 10.0, "antmaze")


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
        prepared = prepare(config, evaluate=False, progress=False)
    assert np.asarray(prepared.transitions.actions).max() == expected
    assert prepared.config.data.clip_actions is clip


def test_config_json_records_each_members_hyperparameters(tmp_path, data_cache_dir):
    # The bug: the state kept one static copy of expectile etc., wrong for every sweep member but the first.
    config = TrainConfig(agent=AgentConfig(hidden_dims=(8, 8), batch_size=16), preset="antmaze",
                         data=DataConfig(dataset="pointmaze-umaze:3000"),
                         run=RunConfig(steps=2, chunk_size=2, eval_every=0, eval_episodes=0, out=str(tmp_path),
                                       name="s", quiet=True))
    result = train(config, progress=False, sweep=[{"expectile": 0.8}, {"beta": 0.0, "actor_lr": 1e-3}])
    members = RunRecord.read(tmp_path / "s").members
    assert [m.hyper["expectile"] for m in members] == [pytest.approx(0.8), pytest.approx(0.9)]
    assert [m.hyper["beta"] for m in members] == [10.0, 0.0]
    assert [m.hyper["actor_lr"] for m in members] == [pytest.approx(3e-4), pytest.approx(1e-3)]
    assert [m.hyper["actor_decay_steps"] for m in members] == [2.0, 2.0]
    assert not hasattr(result.states.network, "expectile")  # the state keeps only static network settings
    assert result.states.network == config.resolve(None).agent.network()


FIXTURE = Path(__file__).parent / "fixtures" / "pre-network-config"


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
