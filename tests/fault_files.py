"""Real damaged files for the fault test modules: a D4RL-layout file, a Minari dataset written by Minari's own
writer, and the CLI's one-line answer to them."""

from __future__ import annotations

import gymnasium as gym
import h5py
import numpy as np
import pytest

from iql_jax import cli


def d4rl_file(path, n=40, obs_dim=3, act_dim=2, **replace):
    """A valid D4RL-layout file, with some keys replaced by ``replace`` (a callable writes the key itself)."""
    rng = np.random.default_rng(0)
    data = {"observations": rng.normal(size=(n, obs_dim)).astype(np.float32),
            "actions": rng.uniform(-1, 1, (n, act_dim)).astype(np.float32),
            "rewards": rng.normal(size=n).astype(np.float32), "terminals": np.zeros(n, bool),
            "timeouts": np.zeros(n, bool)}
    with h5py.File(path, "w") as f:
        for key, value in {**data, **replace}.items():
            if callable(value):
                value(f, key)
            elif value is not None:
                f.create_dataset(key, data=value)
    return path


def inspect_error(capsys, source) -> str:
    """``iql data inspect SOURCE`` through the real CLI entry point: asserts exit 2, one line, no traceback."""
    assert cli.main(["data", "inspect", str(source)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") == 1, err
    return err


def minari_dataset(root, monkeypatch, episodes=3, obs_dim=3, act_dim=2):
    """A real Minari dataset (episodes of 10, 11, ... steps) under ``root``; returns its directory."""
    import minari
    from minari.data_collector import EpisodeBuffer

    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    buffers = []
    for i in range(episodes):
        rng, steps = np.random.default_rng(i), 10 + i
        terminations = np.zeros(steps, bool)
        terminations[-1] = True
        buffers.append(EpisodeBuffer(
            id=i, observations=rng.normal(size=(steps + 1, obs_dim)).astype(np.float32),
            actions=rng.uniform(-1, 1, (steps, act_dim)).astype(np.float32),
            rewards=rng.normal(size=steps).astype(np.float32), terminations=terminations,
            truncations=np.zeros(steps, bool)))
    with pytest.warns(UserWarning):  # Minari warns about the missing author / permalink fields
        minari.create_dataset_from_buffers(
            dataset_id="local/faults/test-v0", buffer=buffers, algorithm_name="test",
            observation_space=gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32),
            action_space=gym.spaces.Box(-1, 1, (act_dim,), np.float32))
    return root / "local" / "faults" / "test-v0"


def replace_field(main, field, value) -> None:
    """Rewrite ``field`` (``"episode_1/rewards"``) of a Minari data file with ``value``."""
    with h5py.File(main, "r+") as f:
        del f[field]
        f[field] = value
