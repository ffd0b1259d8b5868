"""D4RL HDF5 loader: equivalence with a hand-written ``qlearning_dataset`` loop, episode ends, and every bad file."""

from __future__ import annotations

import h5py
import numpy as np
import pytest

from iql_jax.data import DataWarning, load_d4rl_hdf5, load_dataset, read_hdf5_key
from iql_jax.errors import DataError


def write_hdf5(path, attrs=None, **arrays):
    with h5py.File(path, "w") as f:
        for key, value in arrays.items():
            f.create_dataset(key, data=value)
        f.attrs.update(attrs or {})
    return path


def reference_qlearning(data, max_episode_steps=None):
    """d4rl.qlearning_dataset (terminate_on_end=False) and the official dones_float, as plain loops."""
    n = len(data["rewards"])
    out = {k: [] for k in ("observations", "actions", "next_observations", "rewards", "terminals")}
    episode_step = 0
    for i in range(n - 1):
        done = bool(data["terminals"][i])
        if "timeouts" in data:
            final = bool(data["timeouts"][i])
        else:
            final = episode_step == max_episode_steps - 1
        if final:
            episode_step = 0
            continue
        if done or final:
            episode_step = 0
        out["observations"].append(data["observations"][i])
        out["next_observations"].append(data["observations"][i + 1])
        out["actions"].append(data["actions"][i])
        out["rewards"].append(data["rewards"][i])
        out["terminals"].append(done)
        episode_step += 1
    out = {k: np.array(v, dtype=np.float32) for k, v in out.items()}
    ends = np.zeros(len(out["rewards"]), dtype=np.float32)
    for i in range(len(ends) - 1):
        gap = np.linalg.norm(out["observations"][i + 1] - out["next_observations"][i])
        ends[i] = 1.0 if gap > 1e-6 or out["terminals"][i] == 1.0 else 0.0
    if len(ends):
        ends[-1] = 1.0
    out["episode_ends"] = ends
    return out


def raw_data(n=40, obs_dim=3, act_dim=2, seed=0, terminals=(), timeouts=()):
    rng = np.random.default_rng(seed)
    data = {
        "observations": rng.normal(size=(n, obs_dim)).astype(np.float32),
        "actions": rng.uniform(-1, 1, size=(n, act_dim)).astype(np.float32),
        "rewards": rng.normal(size=n).astype(np.float32),
        "terminals": np.isin(np.arange(n), terminals),
        "next_observations": np.full((n, obs_dim), 123.0, np.float32),  # must be ignored, as D4RL does
    }
    if timeouts is not None:
        data["timeouts"] = np.isin(np.arange(n), timeouts)
    return data


def assert_matches_reference(dataset, data, max_episode_steps=None):
    expected = reference_qlearning(data, max_episode_steps)
    t = dataset.transitions
    for key, value in expected.items():
        np.testing.assert_array_equal(np.asarray(getattr(t, key)), value, err_msg=key)
    assert not np.asarray(t.timeouts).any()


def test_matches_qlearning_dataset_with_timeouts_in_awkward_places(tmp_path):
    # first row, adjacent rows, terminal + timeout on one row, last row
    data = raw_data(terminals=(0, 3, 4, 20, 38, 39), timeouts=(0, 6, 7, 20, 39))
    dataset = load_d4rl_hdf5(write_hdf5(tmp_path / "hopper-medium-v2.hdf5", **data))
    assert dataset.transitions.size == 40 - 1 - 4  # rows 0..38, minus timeouts at 0, 6, 7, 20
    assert_matches_reference(dataset, data)


def test_matches_qlearning_dataset_without_timeouts(tmp_path):
    data = raw_data(terminals=(0, 3, 4, 9, 38, 39), timeouts=None)
    dataset = load_d4rl_hdf5(write_hdf5(tmp_path / "old.hdf5", **data), max_episode_steps=4)
    assert_matches_reference(dataset, data, max_episode_steps=4)


@pytest.mark.parametrize("max_episode_steps", [1, 2, 3, 5, 8])
def test_step_counter_matches_reference_on_random_flags(tmp_path, max_episode_steps):
    for seed in range(15):
        rng = np.random.default_rng(seed)
        terminals = np.flatnonzero(rng.random(30) < 0.2)
        data = raw_data(n=30, seed=seed, terminals=terminals, timeouts=None)
        path = write_hdf5(tmp_path / f"r{seed}.hdf5", **data)
        if len(reference_qlearning(data, max_episode_steps)["rewards"]) == 0:  # every row dropped
            with pytest.raises(DataError, match="0 rows"):
                load_d4rl_hdf5(path, max_episode_steps)
            continue
        assert_matches_reference(load_d4rl_hdf5(path, max_episode_steps), data, max_episode_steps)


def test_episode_ends_on_hand_case(tmp_path):
    # one continuous episode 0..3 (terminal at 2 but the data continue), a timeout at 4, then 5..7
    obs = np.arange(8, dtype=np.float32)[:, None].repeat(2, axis=1)
    data = dict(observations=obs, actions=np.zeros((8, 1), np.float32), rewards=np.zeros(8, np.float32),
                terminals=np.isin(np.arange(8), [2]), timeouts=np.isin(np.arange(8), [4]))
    t = load_d4rl_hdf5(write_hdf5(tmp_path / "x.hdf5", **data)).transitions
    # kept rows 0, 1, 2, 3, 5, 6; row 3's s' (obs 4) != row 5's s (obs 5): a break
    np.testing.assert_array_equal(t.observations[:, 0], [0, 1, 2, 3, 5, 6])
    np.testing.assert_array_equal(t.terminals, [0, 0, 1, 0, 0, 0])
    np.testing.assert_array_equal(t.episode_ends, [0, 0, 1, 1, 0, 1])
    np.testing.assert_array_equal(t.masks, [1, 1, 0, 1, 1, 1])


def test_squeezes_columns_and_skips_nested_keys(tmp_path):
    data = raw_data(n=6, timeouts=())
    data["rewards"] = data["rewards"][:, None]
    data["terminals"] = data["terminals"][:, None].astype(np.float32)
    path = tmp_path / "walker2d_medium-v2.hdf5"
    write_hdf5(path, **data)
    with h5py.File(path, "a") as f:
        f.create_dataset("infos/qpos", data=np.ones((6, 9)))
        f.create_dataset("metadata/algorithm", data=b"SAC")
    dataset = load_d4rl_hdf5(path)
    assert dataset.transitions.rewards.shape == (5,)
    np.testing.assert_array_equal(dataset.transitions.rewards, data["rewards"][:5, 0])
    assert "qpos" not in str(dataset.info.extra)
    np.testing.assert_array_equal(read_hdf5_key(path, "infos/qpos"), np.ones((6, 9)))
    assert read_hdf5_key(path, "metadata/algorithm") == b"SAC"
    with pytest.raises(DataError, match="infos/nothing.*infos/qpos"):
        read_hdf5_key(path, "infos/nothing")


def test_transitions_are_float32_read_only_and_actions_kept(tmp_path):
    data = raw_data(n=5, timeouts=())
    data["actions"][0] = [1.0000001, -1.0]
    data["observations"] = data["observations"].astype(np.float64)
    t = load_d4rl_hdf5(write_hdf5(tmp_path / "x.h5", **data)).transitions
    assert all(np.asarray(a).dtype == np.float32 and not a.flags.writeable for a in t)
    # Loaders check the range but never clip: training clips in one place (runs.prepare, data.clip_actions).
    np.testing.assert_array_equal(t.actions[0], np.float32([1.0000001, -1.0]))


@pytest.mark.parametrize("stem, attrs, domain, ref_min", [
    ("hopper_medium-v2", {}, "locomotion", -20.272305),
    ("Ant_maze_big-maze_noisy_multistart_True", {}, "antmaze", 0.0),
    ("maze2d-umaze-sparse-v1", {}, "maze", None),
    ("kitchen_microwave_kettle-v0", {}, "kitchen", 0.0),
    ("pen-human-v1", {}, "adroit", 96.262799),
    ("data", {"env_name": "halfcheetah-random-v2"}, "locomotion", -280.178953),
    ("pendulum", {}, None, None),
])
def test_info_from_name_or_env_name(tmp_path, stem, attrs, domain, ref_min):
    info = load_d4rl_hdf5(write_hdf5(tmp_path / f"{stem}.hdf5", attrs=attrs, **raw_data(n=4, timeouts=()))).info
    assert (info.name, info.domain, info.ref_min_score) == (stem, domain, ref_min)
    assert info.source == str(tmp_path / f"{stem}.hdf5")


def _malformed(name):
    """Each case: (description, field named in the error, mutation of the raw arrays)."""
    def drop(key):
        return lambda d: d.pop(key)

    def put(key, value):
        return lambda d: d.__setitem__(key, value(d))

    cases = {
        "missing observations": ("observations", drop("observations")),
        "missing actions": ("actions", drop("actions")),
        "missing rewards": ("rewards", drop("rewards")),
        "missing terminals": ("terminals", drop("terminals")),
        "length mismatch": ("actions", put("actions", lambda d: d["actions"][:-1])),
        "rewards (N, 2)": ("rewards", put("rewards", lambda d: np.zeros((len(d["rewards"]), 2)))),
        "1-D observations": ("observations", put("observations", lambda d: d["observations"][:, 0])),
        "NaN reward": ("rewards", put("rewards", lambda d: np.r_[np.nan, d["rewards"][1:]])),
        "Inf observation": ("observations", put("observations", lambda d: np.where(
            np.arange(len(d["observations"]))[:, None] == 2, np.inf, d["observations"]))),
        "string actions": ("actions", put("actions", lambda d: np.array([[b"a", b"b"]] * len(d["actions"])))),
        "terminal = 2": ("terminals", put("terminals", lambda d: np.r_[2.0, np.zeros(len(d["terminals"]) - 1)])),
        "timeout = 0.5": ("timeouts", put("timeouts", lambda d: np.r_[0.5, np.zeros(len(d["timeouts"]) - 1)])),
        "actions far outside": ("actions", put("actions", lambda d: d["actions"] * 3.0)),
        "no timeouts, no max steps": ("timeouts", drop("timeouts")),
        "zero transitions": ("observations", lambda d: d.update({k: v[:1] for k, v in d.items()})),
        "nothing at all": ("observations", lambda d: d.update({k: v[:0] for k, v in d.items()})),
    }
    return cases[name]


@pytest.mark.parametrize("case", [
    "missing observations", "missing actions", "missing rewards", "missing terminals", "length mismatch",
    "rewards (N, 2)", "1-D observations", "NaN reward", "Inf observation", "string actions", "terminal = 2",
    "timeout = 0.5", "actions far outside", "no timeouts, no max steps", "zero transitions", "nothing at all",
])
def test_malformed_file_error_names_file_and_field(tmp_path, case):
    field, mutate = _malformed(case)
    data = raw_data(n=8, timeouts=(3,))
    data["actions"] = data["actions"] * 0.9
    mutate(data)
    path = write_hdf5(tmp_path / "bad.hdf5", **data)
    with pytest.raises(DataError) as error:
        load_d4rl_hdf5(path)
    assert error.value.source == str(path) and error.value.field == field
    assert str(path) in str(error.value) and f": {field}: expected" in str(error.value)


def test_moderately_outside_actions_warn_and_are_kept(tmp_path):
    data = raw_data(n=6, timeouts=())
    data["actions"][1, 0] = 1.2
    path = write_hdf5(tmp_path / "noisy.hdf5", **data)
    with pytest.warns(DataWarning, match=r"noisy\.hdf5: actions: 1 values outside"):
        t = load_d4rl_hdf5(path).transitions
    assert t.actions[1, 0] == np.float32(1.2)


def test_missing_file_directory_non_hdf5_and_truncated(tmp_path):
    with pytest.raises(DataError, match="no such file"):
        load_d4rl_hdf5(tmp_path / "absent.hdf5")
    (tmp_path / "dir.hdf5").mkdir()
    with pytest.raises(DataError, match="a directory"):
        load_d4rl_hdf5(tmp_path / "dir.hdf5")
    (tmp_path / "text.hdf5").write_text("not an HDF5 file\n" * 100)
    with pytest.raises(DataError, match=r"text\.hdf5: expected a readable HDF5 file"):
        load_d4rl_hdf5(tmp_path / "text.hdf5")
    path = write_hdf5(tmp_path / "cut.hdf5", **raw_data(n=5000, obs_dim=20, timeouts=()))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(DataError, match=r"cut\.hdf5: expected a readable HDF5 file"):
        load_d4rl_hdf5(path)
    with pytest.raises(DataError, match="no such file"):
        load_dataset(str(tmp_path / "absent.h5"))
