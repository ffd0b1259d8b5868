"""The ``iql`` command line: generated help, the options that count as explicit, dispatch and ``python -m``."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

import tyro

from iql_jax import cli
from iql_jax.cli.train import TrainArgs
from iql_jax.config import TrainConfig


def _help(capsys, *argv) -> str:
    with pytest.raises(SystemExit) as done:
        cli.main([*argv, "--help"])
    assert done.value.code == 0
    return capsys.readouterr().out


def test_train_and_finetune_help_are_generated_from_the_field_docstrings(capsys):
    train = _help(capsys, "train")
    assert "--agent.expectile" in train and "τ of the value loss" in train and "--data.no-clip-actions" in train
    for flag in ("--agent.beta", "--agent.polyak", "--data.reward-transform", "--run.seeds", "--steps", "--dataset",
                 "--preset", "--resume", "--eval-every"):
        assert flag in train, flag
    assert "resolved" not in train  # set by TrainConfig.resolve, not an option
    finetune = _help(capsys, "finetune")
    for option, doc in (("--online-steps", "Environment steps (and updates) per member"),
                        ("--updates-per-collect", "Collect K steps"), ("RUN_DIR", "The offline run to start from")):
        assert option in finetune and doc in finetune, option


def test_options_given_on_the_command_line_override_the_preset():
    argv = ["--preset", "antmaze", "--agent.expectile", "0.7", "--eval-episodes=3", "--agent.hidden_dims", "8",
            "--data.dataset", "x", "--steps", "5", "--data.no-clip-actions"]
    args = tyro.cli(TrainArgs, args=argv)  # the parse itself says what was typed: preset fields default to None
    config = TrainConfig(agent=args.agent, data=args.data, run=args.run, preset=args.preset)
    assert config.given() == {"agent.expectile", "run.eval_episodes", "agent.hidden_dims"}  # only preset fields
    config = config.resolve(None)
    assert (config.agent.expectile, config.agent.beta, config.run.eval_episodes) == (0.7, 10.0, 3)
    assert config.agent.hidden_dims == (8,) and config.data.clip_actions is False


def test_unknown_and_missing_commands_exit_2(capsys):
    assert cli.main(["nonsense"]) == 2
    assert "unknown command 'nonsense'" in capsys.readouterr().err
    assert cli.main([]) == 2
    assert cli.main(["data"]) == 2


def test_finetune_options_are_checked_before_anything_is_read(tmp_path, capsys):
    assert cli.main(["finetune", str(tmp_path / "none"), "--checkpoint-every", "0"]) == 2
    assert capsys.readouterr().err == "error: --checkpoint-every: expected an integer >= 1, found 0\n"


def test_a_bad_dataset_is_one_line_exit_2(tmp_path, capsys):
    bad = tmp_path / "broken.hdf5"
    bad.write_text("not hdf5")
    assert cli.main(["train", "--dataset", str(bad), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and str(bad) in err and len(err.strip().splitlines()) == 1


def test_python_dash_m_runs_the_same_command():
    out = subprocess.run([sys.executable, "-m", "iql_jax.cli", "presets"], capture_output=True, text=True,
                         env=os.environ.copy(), timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[1].startswith("antmaze ") and "expectile 0.9" in out.stdout
