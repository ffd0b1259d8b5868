"""Fault class: values a file holds that the loader cannot use as they are (a 0-d reward, a reference score that is
not a number, float64 data beyond float32's range). Each ends in one line, exit 2, with the file's own row."""

from __future__ import annotations

import json

import numpy as np

from fault_files import d4rl_file, inspect_error, minari_dataset, replace_field


def test_minari_rewards_0d(tmp_path, monkeypatch, capsys):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    main = directory / "data" / "main_data.hdf5"
    replace_field(main, "episode_1/rewards", np.float32(1.0))
    err = inspect_error(capsys, directory)
    assert err == f"error: {main}: episode_1/rewards: expected shape (T,): one reward per step, found shape ()\n"


def test_reference_score_not_a_number(tmp_path, monkeypatch, capsys):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    meta = directory / "data" / "metadata.json"
    metadata = json.loads(meta.read_text())
    meta.write_text(json.dumps({**metadata, "ref_min_score": "x", "ref_max_score": 10.0}))
    err = inspect_error(capsys, directory)
    assert err == f"error: {meta}: ref_min_score: expected a finite number (or no entry), found 'x'\n"


def test_float64_beyond_float32_in_a_d4rl_file(tmp_path, capsys):
    rewards = np.zeros(40)
    rewards[17] = 1e39  # finite in float64, inf once cast
    path = d4rl_file(tmp_path / "big.hdf5", rewards=rewards)
    err = inspect_error(capsys, path)
    assert err.startswith(f"error: {path}: rewards: expected values within float32's range (|x| <= 3.403e+38), "
                          "found 1e+39 at row 17 (1 rows overflow to inf")


def test_float64_beyond_float32_in_a_minari_episode(tmp_path, monkeypatch, capsys):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    main = directory / "data" / "main_data.hdf5"
    observations = np.zeros((12, 3))
    observations[5, 2] = -3e40
    replace_field(main, "episode_1/observations", observations)
    err = inspect_error(capsys, directory)
    assert err.startswith(f"error: {main}: episode_1/observations: expected values within float32's range "
                          "(|x| <= 3.403e+38), found -3e+40 at row 5 ")


def test_nan_reward_names_the_episode_and_its_own_row(tmp_path, monkeypatch, capsys):
    # episodes of 10, 11 and 12 steps: row 4 of episode_2 is row 25 once concatenated, which the file does not show
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    main = directory / "data" / "main_data.hdf5"
    replace_field(main, "episode_2/rewards", np.where(np.arange(12) == 4, np.nan, 0.0).astype(np.float32))
    err = inspect_error(capsys, directory)
    assert err == (f"error: {main}: episode_2/rewards: expected finite values, found 1 rows with NaN/Inf (first: row "
                   "4, np.float32(nan))\n")


def test_termination_flag_outside_0_1_names_the_episode(tmp_path, monkeypatch, capsys):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    main = directory / "data" / "main_data.hdf5"
    replace_field(main, "episode_1/terminations", np.r_[np.zeros(7, np.int8), 2, np.zeros(3, np.int8)])
    err = inspect_error(capsys, directory)
    assert err == f"error: {main}: episode_1/terminations: expected only 0 and 1, found np.int8(2) at row 7 (1 such " \
                  "rows)\n"
