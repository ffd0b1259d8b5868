"""The SAC trainer end to end on a tiny task: it learns, a killed run resumes bit-exactly, the run's files agree
with each other, and the NumPy policy that collects data equals the Flax actor that was trained."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import tiny_envs
from iql_jax.behaviour import programs, rundir, sac
from iql_jax.behaviour.policy import load_policy_file, to_bounds
from iql_jax.behaviour.sac import SACConfig
from iql_jax.behaviour.trainer import BehaviourConfig, train_behaviour
from iql_jax.errors import ConfigError

ENV = tiny_envs.register()
SMALL = BehaviourConfig(ENV, steps=2000, warmup_steps=200, eval_every=500, eval_episodes=2,
                        sac=SACConfig(hidden_dims=(16, 16), batch_size=16))


def _curve_without_time(run):
    return [{k: v for k, v in r.items() if k != "wall_s"} for r in rundir.read_curve(run)]


def test_sac_learns_the_tiny_task(tmp_path):
    config = BehaviourConfig(ENV, steps=2500, warmup_steps=300, eval_every=500, eval_episodes=10,
                             sac=SACConfig(hidden_dims=(32, 32), batch_size=64, lr=1e-3))
    run = train_behaviour(config, tmp_path / "run", progress=False)
    curve = rundir.read_curve(run)
    first, best_late = curve[0]["deterministic_return"], max(r["deterministic_return"] for r in curve[-2:])
    # walking to 0 scores about -0.6 per episode, uniform actions about -3.5, the untrained policy about -2.6
    assert best_late > -1.5 and best_late > first + 1.0, [r["deterministic_return"] for r in curve]
    assert curve[-1]["alpha_value"] < 0.5  # the temperature fell towards the target entropy


def test_killed_run_resumes_bit_exactly(tmp_path):
    whole = train_behaviour(SMALL, tmp_path / "whole", progress=False)
    killed = tmp_path / "killed"
    script = textwrap.dedent(f"""
        import os, signal
        import tiny_envs
        tiny_envs.register()
        from iql_jax.behaviour import rundir, trainer
        from iql_jax.behaviour.sac import SACConfig
        save = rundir.save_segment
        def save_then_die(run_dir, start, rows):  # killed after the replay rows, before the checkpoint of 1500
            save(run_dir, start, rows)
            if start == 1000:
                os.kill(os.getpid(), signal.SIGKILL)
        rundir.save_segment = save_then_die
        config = trainer.BehaviourConfig({ENV!r}, steps=2000, warmup_steps=200, eval_every=500, eval_episodes=2,
                                         sac=SACConfig(hidden_dims=(16, 16), batch_size=16))
        trainer.train_behaviour(config, {str(killed)!r}, progress=False)
    """)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path(tiny_envs.__file__).parent),
                                                         os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert (killed / "replay" / "rows_0000001000_0000001500.npy").exists()  # written after the last checkpoint
    train_behaviour(SMALL, killed, progress=False)
    for step in (1500, 2000):
        a, b = (load_policy_file(rundir.policy_path(r, step)) for r in (whole, killed))
        assert a.fingerprint == b.fingerprint
    np.testing.assert_equal(_curve_without_time(whole), _curve_without_time(killed))  # NaN scores: no refs
    np.testing.assert_array_equal(rundir.load_rows(whole, 2000), rundir.load_rows(killed, 2000))


def test_a_different_run_in_the_same_directory_is_refused_and_steps_extend(tmp_path):
    short = BehaviourConfig(ENV, steps=600, warmup_steps=200, eval_every=300, eval_episodes=1,
                            sac=SACConfig(hidden_dims=(8, 8), batch_size=8))
    run = train_behaviour(short, tmp_path / "run", progress=False)
    with pytest.raises(ConfigError, match="another configuration"):
        train_behaviour(BehaviourConfig(ENV, steps=600, seed=1, warmup_steps=200, eval_every=300, eval_episodes=1,
                                        sac=short.sac), run, progress=False)
    longer = BehaviourConfig(**{**short.__dict__, "steps": 900})
    train_behaviour(longer, run, progress=False)
    assert [r["step"] for r in rundir.read_curve(run)] == [300, 600, 900]
    assert [s for s, _ in rundir.list_policies(run)] == [300, 600, 900]
    rows = rundir.load_rows(run, 900)
    o, a = 1, 1
    # the replay rows chain: each next observation is the following row's observation unless an episode ended
    ends = rows[:, -1] + rows[:, -2]
    np.testing.assert_array_equal(rows[1:, :o][ends[:-1] == 0], rows[:-1, o + a + 1:2 * o + a + 1][ends[:-1] == 0])
    assert int(ends.sum()) == 900 // 10  # 10-step episodes, no terminal: every 10th row is a time limit


def test_numpy_policy_equals_the_flax_actor(tmp_path):
    state = sac.init(SACConfig(hidden_dims=(32, 24)), jax.random.PRNGKey(3), 5, 2)
    from iql_jax.behaviour.policy import save_policy

    save_policy(tmp_path / "p.msgpack", state.actor.params, {"env_id": "x"})
    policy = load_policy_file(tmp_path / "p.msgpack")
    obs = np.random.default_rng(0).normal(size=(7, 5)).astype(np.float32)
    noise = np.random.default_rng(1).normal(size=(7, 2)).astype(np.float32)
    deterministic = programs.compiled_policy((32, 24), 2, False)(state.actor.params, jnp.asarray(obs), None)
    np.testing.assert_allclose(policy.act(obs), deterministic, rtol=1e-5, atol=1e-6)
    mean, log_std = state.actor.apply_fn(state.actor.params, jnp.asarray(obs))
    np.testing.assert_allclose(policy.act(obs, noise), np.tanh(mean + np.exp(log_std) * noise), rtol=1e-5,
                               atol=1e-6)
    assert policy.record == {"env_id": "x"} and (policy.obs_dim, policy.act_dim) == (5, 2)


def test_actions_map_onto_the_bounds():
    low, high = np.array([-2.0, 0.0], np.float32), np.array([2.0, 1.0], np.float32)
    np.testing.assert_allclose(to_bounds(np.array([-1.0, 1.0]), low, high), [-2.0, 1.0])
    np.testing.assert_allclose(to_bounds(np.array([0.0, 0.0]), low, high), [0.0, 0.5])
    unit = np.array([0.3, -0.7], np.float32)
    assert to_bounds(unit, -np.ones(2), np.ones(2)) is unit  # exactly the policy's numbers on [-1, 1]


def test_replay_dataset_is_the_runs_buffer_exactly(tmp_path, monkeypatch):
    """``iql behaviour replay``: the Minari file holds every stored transition up to the cut, in order, with the
    env's actions (PointLine's bounds are ±2), episodes split where the env ended them, the cut one truncated."""
    import minari

    from iql_jax.cli import main

    run = tmp_path / "run"
    train_behaviour(BehaviourConfig(ENV, steps=600, warmup_steps=200, eval_every=300, eval_episodes=1,
                                    sac=SACConfig(hidden_dims=(16, 16), batch_size=16)), run, progress=False)
    assert main(["behaviour", "replay", str(run), "--dataset-id", "local/pl-replay-v0", "--until", "455",
                 "--root", str(tmp_path / "minari")]) == 0
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path / "minari"))
    episodes = list(minari.load_dataset("local/pl-replay-v0").iterate_episodes())
    rows = rundir.load_rows(run, 455)
    assert [len(e.rewards) for e in episodes] == [10] * 45 + [5]  # 10-step episodes, then the cut at 455
    obs = np.concatenate([e.observations[:-1, 0] for e in episodes])
    next_obs = np.concatenate([e.observations[1:, 0] for e in episodes])
    np.testing.assert_allclose(obs, rows[:, 0])
    env_actions = to_bounds(rows[:, 1:2], np.float32([-2.0]), np.float32([2.0]))[:, 0]  # what the env was given
    np.testing.assert_array_equal(np.concatenate([e.actions[:, 0] for e in episodes]), env_actions)
    np.testing.assert_allclose(env_actions, 2.0 * rows[:, 1], atol=1e-6)
    np.testing.assert_allclose(np.concatenate([e.rewards for e in episodes]), rows[:, 2], rtol=1e-6)
    np.testing.assert_allclose(next_obs, rows[:, 3])
    assert all(e.truncations[-1] and not e.terminations.any() for e in episodes)
    assert main(["behaviour", "replay", str(run), "--dataset-id", "local/pl-more-v0", "--until", "900",
                 "--root", str(tmp_path / "minari")]) == 2
