"""Fault class: Minari metadata that contradicts the data it describes (spaces of another width, counts that do not
match). Evaluation would build the wrong network or the wrong env; the load refuses it in one line."""

from __future__ import annotations

import json

import pytest

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
