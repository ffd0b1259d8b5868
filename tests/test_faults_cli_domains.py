"""Fault class: command-line values outside their domain. Each is one line on stderr, exit 2, naming the option and
what it takes, before any data is loaded or any directory written (the dataset named does not exist)."""

from __future__ import annotations

import pytest

from iql_jax import cli

LONG = "n" * 10_000


@pytest.mark.parametrize("args, line", [
    (["--agent.discount", "1.5"], "agent.discount: expected γ in [0, 1], found 1.5"),
    (["--agent.discount", "-0.1"], "agent.discount: expected γ in [0, 1], found -0.1"),
    (["--agent.expectile", "1"], "agent.expectile: expected a value in (0, 1), found 1.0"),
    (["--agent.expectile", "0"], "agent.expectile: expected a value in (0, 1), found 0.0"),
    (["--agent.expectile", "nan"], "agent.expectile: expected a value in (0, 1), found nan"),
    (["--agent.beta", "-1"], "agent.beta: expected β ≥ 0, found -1.0"),
    (["--agent.beta", "inf"], "agent.beta: expected a finite β ≥ 0, found inf"),
    (["--agent.beta", "nan"], "agent.beta: expected a finite β ≥ 0, found nan"),
    (["--agent.actor-lr", "0"], "agent.actor_lr: expected a finite rate > 0, found 0.0"),
    (["--agent.batch-size", "0"], "agent.batch_size: expected a positive integer, found 0"),
    (["--agent.hidden-dims", "256", "0"], "agent.hidden_dims: expected one or more layer sizes ≥ 1, found (256, 0)"),
    (["--steps", "0"], "run.steps: expected a positive integer, found 0"),
    (["--seeds", "-2"], "run.seeds: expected a positive integer, found -2"),
    (["--seed", "-1"], "run.seed: expected 0 or more, found -1"),
    (["--out", ""], "run.out: expected a directory, found an empty string"),
    (["--name", ""], "run.name: expected a directory name, found an empty string"),
    (["--name", "../escape"], "run.name: expected one directory name that stays inside --out (no '/', '.' or '..'), "
                              "found '../escape'"),
    (["--name", ".."], "run.name: expected one directory name that stays inside --out (no '/', '.' or '..'), "
                       "found '..'"),
    (["--name", "/tmp/abs"], "run.name: expected one directory name that stays inside --out (no '/', '.' or '..'), "
                             "found '/tmp/abs'"),
])
def test_out_of_domain_values_are_one_line(tmp_path, capsys, args, line):
    code = cli.main(["train", "--dataset", str(tmp_path / "absent.hdf5"), "--out", str(tmp_path / "runs"), *args])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err
    assert err.strip().splitlines()[-1].endswith(line), err
    assert not (tmp_path / "runs").exists()


def test_very_long_name_is_one_short_line(tmp_path, capsys):
    code = cli.main(["train", "--dataset", str(tmp_path / "absent.hdf5"), "--out", str(tmp_path / "runs"),
                     "--name", LONG])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and len(err) < 300, err[:400]
    assert "run.name: expected at most 255 bytes (the file system's limit), found 10,000" in err
