"""Fault class: Minari metadata that contradicts the data it describes (spaces of another width, counts that do not
match). Evaluation would build the wrong network or the wrong env; the load refuses it in one line."""

from __future__ import annotations

import json

import pytest

from iql_jax import cli
from fault_files import inspect_error, minari_dataset


@pytest.mark.parametrize("field, space, found", [
    ("observation_space", {"type": "Box", "dtype": "float32", "shape": [4], "low": [-1] * 4, "high": [1] * 4},
     "shape (4,)"),
    ("action_space", {"type": "Box", "dtype": "float32", "shape": [5], "low": [-1] * 5, "high": [1] * 5},
     "shape (5,)")])
def test_space_width_contradicts_the_data(tmp_path, monkeypatch, capsys, field, space, found):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    meta = directory / "data" / "metadata.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), field: json.dumps(space)}))
    rows = "(3,)" if field == "observation_space" else "(2,)"
    err = inspect_error(capsys, directory)
    assert err == f"error: {meta}: {field}: expected a space matching main_data.hdf5 (its rows have shape {rows}), " \
                  f"found a space of {found}\n"


@pytest.mark.parametrize("field, value", [("total_steps", 99)])
def test_counts_contradict_the_data(tmp_path, monkeypatch, capsys, field, value):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    meta = directory / "data" / "metadata.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), field: value}))
    held = 33
    err = inspect_error(capsys, directory)
    assert err == f"error: {meta}: {field}: expected {held} (what main_data.hdf5 holds), found {value}\n"


SPEC = "a gymnasium env spec as a JSON string (an object with an 'id')"


@pytest.mark.parametrize("edit, line", [
    ({"total_episodes": 7}, "total_episodes: expected 3 (what main_data.hdf5 holds), found 7"),
    ({"env_spec": [1, 2]}, f"env_spec: expected {SPEC}, found [1, 2]"),
    ({"eval_env_spec": 17}, f"eval_env_spec: expected {SPEC}, found 17"),
    ({"eval_env_spec": "{garbage"}, f"eval_env_spec: expected {SPEC}, found '{{garbage'"),
    ({"iql_jax_observation_layout": 5}, "iql_jax_observation_layout: expected a list of key names, found 5"),
    ({"iql_jax_domain": 5}, "iql_jax_domain: expected a domain name (a string), found 5"),
    ({"ref_min_score": 1.0}, "ref_max_score: expected both ref_min_score and ref_max_score, or neither, found only "
                             "the other"),
    # equal references would divide by zero at the first evaluation, after the training time is spent
    ({"ref_min_score": 5.0, "ref_max_score": 5.0}, "ref_min_score: expected a random return below ref_max_score "
                                                   "(5.0), found 5.0"),
])
def test_hand_edited_metadata_is_refused_at_load(tmp_path, monkeypatch, capsys, edit, line):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    meta = directory / "data" / "metadata.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), **edit}))
    assert inspect_error(capsys, directory) == f"error: {meta}: {line}\n"


def _train_on(directory, tmp_path, capsys, spec: dict) -> str:
    meta = directory / "data" / "metadata.json"
    meta.write_text(json.dumps({**json.loads(meta.read_text()), "eval_env_spec": json.dumps(spec)}))
    code = cli.main(["train", "--dataset", str(directory), "--steps", "10", "--out", str(tmp_path / "runs"),
                     "--quiet", "--preset", "locomotion"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())
    return err.splitlines()[-1]


def test_a_time_limit_no_episode_reaches_is_refused(tmp_path, monkeypatch, capsys):
    # 10^30 steps never truncates: evaluation of an env that never terminates would never end, as with -1 or 0.
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    line = _train_on(directory, tmp_path, capsys, {"id": "Pendulum-v1", "max_episode_steps": 10 ** 30, "kwargs": {}})
    assert line == (f"error: {directory}: eval_env_spec: max_episode_steps: expected at most 2,147,483,647 steps (or "
                    "none), found 1,000,000,000,000,000,000,000,000,000,000")


def test_recorded_env_kwargs_the_env_does_not_take(tmp_path, monkeypatch, capsys):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    line = _train_on(directory, tmp_path, capsys, {"id": "Pendulum-v1", "max_episode_steps": 200,
                                                   "kwargs": {"no_such_kwarg": 1}})
    assert line.startswith("error: Pendulum-v1: the environment does not take the recorded kwargs ['no_such_kwarg'] (")
    assert line.endswith("); check the dataset's eval_env_spec, or pass --env-id")
