"""Hostile and damaged dataset files, written for real with h5py / Minari: each ends in one line and exit 2.

The cases are the issue's second battery: dangling soft and external links, zero-width fields, a declared shape of
10^12 rows, Minari episodes stored as datasets, observation widths that differ between episodes, and recorded time
limits of -1 or 0.
"""

from __future__ import annotations

import json
import shutil

import gymnasium as gym
import h5py
import numpy as np
import pytest

from iql_jax import cli
from iql_jax.data import load_dataset
from iql_jax.errors import DataError
from fault_files import d4rl_file as _d4rl, inspect_error as _inspect, replace_field


@pytest.mark.parametrize("key, link, target", [
    ("actions", lambda f, k: f.__setitem__(k, h5py.SoftLink("/nowhere/actions")), "a soft link to /nowhere/actions"),
    ("rewards", lambda f, k: f.__setitem__(k, h5py.ExternalLink("missing.h5", "/rewards")),
     "an external link to missing.h5:/rewards"),
])
def test_dangling_links_are_named(tmp_path, capsys, key, link, target):
    path = _d4rl(tmp_path / "links.hdf5", **{key: link})
    err = _inspect(capsys, path)
    assert err == f"error: {path}: {key}: expected a dataset or group, found {target}, which does not exist\n"


@pytest.mark.parametrize("key, shape", [("actions", (40, 0)), ("observations", (40, 0))])
def test_zero_width_fields_are_refused(tmp_path, capsys, key, shape):
    path = _d4rl(tmp_path / "zero.hdf5", **{key: np.zeros(shape, np.float32)})
    err = _inspect(capsys, path)
    assert err == (f"error: {path}: {key}: expected at least one column in every axis after the first, "
                   f"found shape {shape}\n")


def test_declared_trillion_rows_refused_before_reading(tmp_path, capsys):
    n = 10 ** 12
    chunked = lambda f, k: f.create_dataset(k, shape=(n, 3), dtype="f4", chunks=(1024, 3))
    path = _d4rl(tmp_path / "huge.hdf5", observations=chunked)
    assert path.stat().st_size < 100_000  # a few KB on disk
    err = _inspect(capsys, path)
    assert err.startswith(f"error: {path}: observations: expected a size that fits in memory") and \
        "declared shape (1000000000000, 3), 12,000,000,000,000 bytes" in err


def test_contiguous_data_larger_than_the_file_is_refused(tmp_path, monkeypatch):
    # Uncompressed contiguous storage must fit in the file, whatever the memory limit says.
    monkeypatch.setenv("IQL_JAX_MAX_LOAD_BYTES", str(1 << 40))
    path = _d4rl(tmp_path / "hollow.hdf5", observations=lambda f, k: f.create_dataset(k, shape=(10 ** 8, 3),
                                                                                       dtype="f4"))
    with pytest.raises(DataError, match=r"observations: expected uncompressed data the file can hold \(\d[\d,]* "
                                        r"bytes\), found declared shape \(100000000, 3\), 1,200,000,000 bytes"):
        load_dataset(str(path))


def _episode(steps, obs_dim=3, act_dim=2, seed=0):
    rng = np.random.default_rng(seed)
    terminations = np.zeros(steps, bool)
    terminations[-1] = True
    return dict(observations=rng.normal(size=(steps + 1, obs_dim)).astype(np.float32),
                actions=rng.uniform(-1, 1, (steps, act_dim)).astype(np.float32),
                rewards=rng.normal(size=steps).astype(np.float32), terminations=terminations,
                truncations=np.zeros(steps, bool))


@pytest.fixture
def minari_dataset(tmp_path, monkeypatch):
    """A real three-episode Minari dataset written by Minari's own writer; returns its directory."""
    import minari
    from minari.data_collector import EpisodeBuffer

    root = tmp_path / "minari"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    buffers = [EpisodeBuffer(id=i, **_episode(10 + i, seed=i)) for i in range(3)]
    with pytest.warns(UserWarning):  # Minari warns about the missing author / permalink fields
        minari.create_dataset_from_buffers(
            dataset_id="local/faults/test-v0", buffer=buffers, algorithm_name="test",
            observation_space=gym.spaces.Box(-np.inf, np.inf, (3,), np.float32),
            action_space=gym.spaces.Box(-1, 1, (2,), np.float32))
    return root / "local" / "faults" / "test-v0"


# Each case rewrites fields of a real Minari file (name -> shape of the float32 zeros written there), then the
# one line the loader must print.
MINARI_FAULTS = {
    "episode_stored_as_a_dataset": ({"episode_1": (11, 3)}, "episode_1: expected an episode group (observations, "
                                    "actions, rewards, terminations, truncations), found a dataset"),
    "observation_widths_differ_between_episodes": (
        {"episode_2/observations": (13, 5)},
        "episode_2/observations: expected shape (T, 3) as in episode_0, found shape (13, 5)"),
    "zero_width_actions": ({f"episode_{i}/actions": (steps, 0) for i, steps in enumerate((10, 11, 12))},
                           "episode_0/actions: expected at least one column in every axis after the first, found "
                           "shape (10, 0)"),
}


@pytest.mark.parametrize("case", MINARI_FAULTS)
def test_minari_episode_fault(minari_dataset, capsys, case):
    fields, message = MINARI_FAULTS[case]
    main = minari_dataset / "data" / "main_data.hdf5"
    for field, shape in fields.items():
        replace_field(main, field, np.zeros(shape, np.float32))
    assert _inspect(capsys, minari_dataset) == f"error: {main}: {message}\n"


@pytest.mark.parametrize("limit", [-1, 0])
def test_nonpositive_time_limit_in_the_dataset_spec_is_refused(minari_dataset, tmp_path, capsys, limit):
    # Evaluation with a limit of -1 or 0 never truncates, so it would never end: refuse before training.
    meta_path = minari_dataset / "data" / "metadata.json"
    metadata = json.loads(meta_path.read_text())
    metadata["eval_env_spec"] = json.dumps({"id": "Pendulum-v1", "max_episode_steps": limit, "kwargs": {}})
    meta_path.write_text(json.dumps(metadata))
    code = cli.main(["train", "--dataset", str(minari_dataset), "--steps", "10", "--out", str(tmp_path / "runs"),
                     "--quiet", "--preset", "locomotion"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert err.splitlines()[-1] == (f"error: {minari_dataset}: eval_env_spec: max_episode_steps: expected a "
                                    f"positive integer (or none), found {limit}")
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_valid_files_still_load(tmp_path, minari_dataset):
    # The checks refuse only what is broken: the unmodified files load as before.
    assert load_dataset(str(_d4rl(tmp_path / "ok.hdf5"))).transitions.size == 39
    shutil.copytree(minari_dataset, tmp_path / "copy")
    assert load_dataset(str(tmp_path / "copy")).transitions.size == 10 + 11 + 12


@pytest.mark.parametrize("key, expected", [("observations", "an array"), ("rewards", "an array")])
def test_null_dataspace_field_is_named(tmp_path, capsys, key, expected):
    # h5py writes a dataset with a type and no shape (HDF5's null dataspace) for create_dataset(k, dtype=...).
    path = _d4rl(tmp_path / "null.hdf5", **{key: lambda f, k: f.create_dataset(k, dtype="f4")})
    assert _inspect(capsys, path) == (f"error: {path}: {key}: expected {expected}, found an empty dataset (HDF5 "
                                      "null dataspace, no shape)\n")


def test_null_dataspace_in_a_minari_episode_is_named(minari_dataset, capsys):
    main = minari_dataset / "data" / "main_data.hdf5"
    with h5py.File(main, "r+") as f:
        del f["episode_0/observations"]
        f["episode_0"].create_dataset("observations", dtype="f4")
    assert _inspect(capsys, minari_dataset) == (f"error: {main}: episode_0/observations: expected an array, found an "
                                                "empty dataset (HDF5 null dataspace, no shape)\n")


def test_scalar_observations_say_the_shape_expected(tmp_path, capsys):
    path = _d4rl(tmp_path / "scalar.hdf5", observations=np.float32(3))
    assert _inspect(capsys, path) == f"error: {path}: observations: expected shape (N, obs_dim), found shape () " \
                                     "(a scalar)\n"


def test_every_row_a_timeout_says_qlearning_dataset_drops_them(tmp_path, capsys):
    path = _d4rl(tmp_path / "all-timeouts.hdf5", timeouts=np.ones(40, bool))
    assert _inspect(capsys, path) == (f"error: {path}: timeouts: expected at least one row that qlearning_dataset "
                                      "keeps (it drops the last row and rows with timeouts = 1), found all 40 rows "
                                      "dropped\n")


@pytest.mark.parametrize("value, found", [(np.bytes_(b"\xff\xfehopper"), r"bytes b'\xff\xfehopper'"),
                                          (5, "int64 5"), (np.arange(3), "ndarray [0 1 2]")])
def test_env_name_attribute_edited_to_a_non_string(tmp_path, capsys, value, found):
    path = _d4rl(tmp_path / "attrs.hdf5")
    with h5py.File(path, "r+") as f:
        f.attrs["env_name"] = value
    what = "a UTF-8 string" if isinstance(value, bytes) else "a string"
    assert _inspect(capsys, path) == (f"error: {path}: env_name (attribute): expected {what} naming the "
                                      f"environment, found {found}\n")


def test_episode_that_is_a_loop_of_soft_links(minari_dataset, capsys):
    main = minari_dataset / "data" / "main_data.hdf5"
    with h5py.File(main, "r+") as f:
        del f["episode_1"]
        f["episode_1"] = h5py.SoftLink("/episode_1")  # HDF5 gives up after 16 hops with RuntimeError
    assert _inspect(capsys, minari_dataset) == (
        f"error: {main}: episode_1: expected an episode group (observations, actions, rewards, terminations, "
        "truncations), found SoftLink that resolves to nothing (a missing target or a loop of links)\n")
