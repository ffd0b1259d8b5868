"""Policy export: onnxruntime and the StableHLO round trip against ``iql_jax.act``; load_policy; CLI errors."""

from __future__ import annotations

import dataclasses
import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import onnx
import onnxruntime as ort
import pytest

import iql_jax
from iql_jax import cli
from iql_jax.config import DataConfig, RunConfig, TrainConfig, get_preset
from iql_jax.errors import ExportError, RunError
from iql_jax.export import actor_layers, export_policy, load_stablehlo, stablehlo_program
from iql_jax.runs.rundir import load_member
from iql_jax.runs import train
from iql_jax.runs.prepare import prepare

DATASET = "pointmaze-umaze:3000"


@pytest.fixture(scope="module")
def run(tmp_path_factory, data_cache_dir):
    """A finished two-seed run with observation normalisation on (so the exported graphs must apply it)."""
    out = tmp_path_factory.mktemp("export-runs")
    agent = dataclasses.replace(get_preset("antmaze").agent, hidden_dims=(32, 32), batch_size=64)
    config = TrainConfig(agent=agent, data=DataConfig(dataset=DATASET, normalize_observations=True),
                         run=RunConfig(steps=200, seeds=2, chunk_size=100, eval_every=0, eval_episodes=1,
                                       checkpoint_every=100, out=str(out), name="r", quiet=True), preset="antmaze")
    result = train(config, progress=False)
    observations = np.asarray(prepare(config, evaluate=False, progress=False).transitions.observations)
    return result, observations[:1000]


def _act(result, index, obs):
    return np.asarray(jax.jit(iql_jax.act)(iql_jax.engine.member(result.states, index), jnp.asarray(obs)))


def test_onnx_equals_act_on_1000_dataset_observations(run, tmp_path):
    result, obs = run
    assert obs.shape == (1000, 6)  # goal-conditioned: [x, y, vx, vy, goal_x, goal_y]
    state = iql_jax.engine.member(result.states, 1)
    assert not np.allclose(np.asarray(state.obs_std), 1.0)  # normalisation really is part of the function
    exported = export_policy(result.run_dir, member=1, format="onnx", out=tmp_path / "p.onnx")
    onnx.checker.check_model(onnx.load(str(exported.path)))
    session = ort.InferenceSession(str(exported.path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["observations"]
    got = session.run(["actions"], {"observations": obs})[0]
    want = _act(result, 1, obs)
    assert got.shape == want.shape == (1000, 2) and got.dtype == np.float32
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)
    assert want.std(0).min() > 1e-3  # a policy that varies, so equality says something
    assert not np.allclose(want, _act(result, 0, obs), atol=1e-3)  # and the member index matters


def test_stablehlo_round_trip_is_exact(run, tmp_path):
    result, obs = run
    exported = export_policy(result.run_dir, member=0, format="stablehlo", out=tmp_path / "p.stablehlo")
    program = load_stablehlo(exported.path)
    before = stablehlo_program(load_member(result.run_dir, 0))
    assert program.in_avals[0].shape[1] == 6 and program.platforms == before.platforms
    reloaded = np.asarray(program.call(jnp.asarray(obs)))
    np.testing.assert_array_equal(reloaded, np.asarray(before.call(jnp.asarray(obs))))
    # Against act (parameters as arguments, not constants) XLA may fuse differently: float32 rounding only.
    np.testing.assert_allclose(reloaded, _act(result, 0, obs), atol=1e-6, rtol=0)
    assert np.asarray(program.call(jnp.asarray(obs[:3]))).shape == (3, 2)  # the batch size is free


def test_sidecar_describes_the_member(run, tmp_path):
    result, _ = run
    exported = export_policy(result.run_dir, member=1, format="onnx", out=tmp_path / "m1.onnx")
    meta = json.loads((tmp_path / "m1.onnx.json").read_text())
    assert exported.sidecar == tmp_path / "m1.onnx.json" and meta == exported.metadata
    assert meta["file"] == "m1.onnx" and meta["format"] == "onnx"
    assert (meta["obs_dim"], meta["act_dim"], meta["step"]) == (6, 2, 200)
    assert meta["member"] == {"index": 1, "seed": 1, "label": "seed=1", "overrides": {}}
    assert meta["input"]["observation_layout"] == ["observation", "desired_goal"]
    assert meta["input"]["shape"] == ["batch", 6] and meta["output"]["shape"] == ["batch", 2]
    np.testing.assert_allclose(meta["input"]["obs_std"], np.asarray(result.states.obs_std[1]))
    assert meta["action_bounds"] == {"low": [-1.0, -1.0], "high": [1.0, 1.0]}
    assert meta["dataset"]["name"] == "pointmaze-umaze" and meta["eval_env"]["env_id"] == "PointMaze_UMaze-v3"
    assert meta["iql_jax_version"] == iql_jax.__version__


def test_load_policy_is_numpy_in_numpy_out(run):
    result, obs = run
    policy = iql_jax.load_policy(result.run_dir, member=1)
    batch = policy(obs[:5].astype(np.float64))
    assert isinstance(batch, np.ndarray) and batch.shape == (5, 2) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch, _act(result, 1, obs[:5]))
    np.testing.assert_allclose(policy(obs[0]), batch[0], atol=1e-6, rtol=0)  # one row: another CPU kernel
    assert policy.member.seed == 1 and policy.step == 200
    with pytest.raises(RunError, match=r"shape \(6,\) or \(B, 6\)"):
        policy(obs[:5, :3])


def test_a_changed_network_is_refused_not_exported_wrongly(run):
    result, _ = run
    loaded = load_member(result.run_dir, 0)
    params = jax.device_get(loaded.state.actor.params)
    params = {"params": {**params["params"], "LayerNorm_0": {"scale": np.ones(32)}}}
    changed = dataclasses.replace(loaded, state=loaded.state.replace(
        actor=loaded.state.actor.replace(params=params)))
    assert len(actor_layers(loaded)) == 3
    with pytest.raises(ExportError, match="--format stablehlo"):
        actor_layers(changed)


def test_cli_exports_both_formats(run, tmp_path, capsys):
    result, _ = run
    assert cli.main(["export", str(result.run_dir), "--member", "1", "--out", str(tmp_path / "a.onnx")]) == 0
    assert cli.main(["export", str(result.run_dir), "--format", "stablehlo"]) == 0
    assert (tmp_path / "a.onnx").is_file() and (tmp_path / "a.onnx.json").is_file()
    assert (result.run_dir / "export" / "policy-m0.stablehlo").is_file()
    assert "seed=1 at step 200" in capsys.readouterr().out


def _one_error_line(capsys, argv) -> str:
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in captured.err
    return lines[0]


def test_bad_member_and_missing_checkpoints_give_one_line_exit_2(run, tmp_path, capsys):
    result, _ = run
    line = _one_error_line(capsys, ["export", str(result.run_dir), "--member", "2"])
    assert "member 2 does not exist" in line and "0 (seed=0), 1 (seed=1)" in line
    assert "member -1 does not exist" in _one_error_line(capsys, ["export", str(result.run_dir), "--member", "-1"])
    empty = tmp_path / "untrained"
    empty.mkdir()
    shutil.copy(result.run_dir / "config.json", empty / "config.json")
    assert "no checkpoint" in _one_error_line(capsys, ["export", str(empty), "--format", "stablehlo"])
    assert "not a run directory" in _one_error_line(capsys, ["export", str(tmp_path / "nowhere")])
    with pytest.raises(RunError):
        iql_jax.load_policy(empty)
