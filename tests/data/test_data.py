"""A Minari remote id that is not on this machine is refused in one line that says how to get it and which
built-in stands in for it here."""

from __future__ import annotations

import pytest

from iql_jax import cli
from iql_jax.data import load_dataset
from iql_jax.errors import DataError


@pytest.mark.parametrize("source, stand_in", [("D4RL/pointmaze/umaze-v2", "pointmaze-umaze"),
                                              ("mujoco/hopper/medium-v0", "hopper-medium"),
                                              ("D4RL/antmaze/medium-play-v1", "antmaze-medium-play"),
                                              ("mujoco/walker2d/simple-v0", "walker2d-random")])
def test_remote_id_names_the_download_and_the_stand_in(source, stand_in, tmp_path, monkeypatch):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    with pytest.raises(DataError) as err:
        load_dataset(source)
    msg = str(err.value)
    assert f"`minari download {source}`" in msg and f"the built-in {stand_in} stands in" in msg
    assert f"{stand_in}:200k" in msg and "\n" not in msg


def test_remote_id_without_a_stand_in_and_the_cli_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(tmp_path))
    assert cli.main(["train", "--dataset", "D4RL/kitchen/complete-v2", "--steps", "10"]) == 2
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "minari download D4RL/kitchen/complete-v2" in line and "no built-in stands in for it here" in line
    with pytest.raises(DataError, match="expected a built-in name"):  # a typo is not a remote id
        load_dataset("pointmaze-umazee")


def test_a_builtin_without_a_size_says_its_size_before_generating(tmp_path, monkeypatch, capsys):
    from iql_jax.data import builtin

    monkeypatch.setenv("IQL_JAX_DATA_DIR", str(tmp_path))
    monkeypatch.setattr(builtin, "_write_atomically", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("stop")))
    with pytest.raises(RuntimeError, match="stop"):  # generation itself is not what this test is about
        builtin.load_builtin("hopper-random")
    (line,) = capsys.readouterr().err.strip().splitlines()
    assert "default 1,000,000 environment steps" in line and "hopper-random:200k" in line
    with pytest.raises(RuntimeError, match="stop"):
        builtin.load_builtin("hopper-random", 2000)  # a size given: nothing to say
    assert capsys.readouterr().err == ""
