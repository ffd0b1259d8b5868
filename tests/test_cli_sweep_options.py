"""``--sweep`` / ``--sweep-list``: parsed into the library's sweep object, refused in one line when wrong, and
``iql train --sweep`` equal to separate runs of each setting."""

from __future__ import annotations

import csv

import jax
import numpy as np
import pytest

from iql_jax import cli
from iql_jax.cli.sweep_options import SWEEPABLE, parse_sweep
from iql_jax.runs import load_run
from iql_jax.runs.plots import _member_settings  # the losses plot's lines, one per setting
from tiny import RUN_DATASET, learned


def test_grid_and_list_forms_parse_into_the_library_sweep_object():
    assert parse_sweep(["expectile=0.5,0.7,0.9", "beta=3,10"]) == {"expectile": [0.5, 0.7, 0.9], "beta": [3.0, 10.0]}
    assert parse_sweep(listed=["expectile=0.9,beta=10", "expectile=0.7,beta=3"]) == [
        {"expectile": 0.9, "beta": 10.0}, {"expectile": 0.7, "beta": 3.0}]
    assert parse_sweep(["max-exp-adv=50,100"]) == {"max_exp_adv": [50.0, 100.0]}  # dashes as in --agent options
    assert parse_sweep() is None
    assert "actor_decay_steps" not in SWEEPABLE and "expectile" in SWEEPABLE


def test_the_command_line_and_the_engine_sweep_the_same_hyperparameters():
    """One owner: both take SWEEPABLE from agent.Hyper, so every name one accepts the other accepts."""
    from iql_jax import agent, engine
    from iql_jax.errors import ConfigError

    assert SWEEPABLE is agent.SWEEPABLE and set(SWEEPABLE) == set(agent.Hyper._fields) - {"actor_decay_steps"}
    grid = parse_sweep([f"{name}={0.5 if name != 'beta' else 3}" for name in SWEEPABLE])
    assert [dict(s) for s in engine.expand_sweep(grid)] == [{k: v[0] for k, v in grid.items()}]
    for refused in (["actor_decay_steps=10"], ["hidden_dims=8"]):
        with pytest.raises(ConfigError, match="not a traced hyperparameter"):
            parse_sweep(refused)
        with pytest.raises(ConfigError, match="unknown hyperparameters"):
            engine.expand_sweep({refused[0].split("=")[0]: [10.0]})


@pytest.mark.parametrize("argv, message", [
    (["--sweep", "tau=0.5,0.9"], "--sweep tau=0.5,0.9: 'tau' is not a traced hyperparameter; expected one of "
                                 "expectile, beta,"),
    (["--sweep", "expectile=0.5,1.5"], "--sweep expectile=0.5,1.5: agent.expectile: expected a value in (0, 1), "
                                       "found 1.5"),
    (["--sweep", "beta=3,x"], "--sweep beta=3,x: beta: expected a number, found 'x'"),
    (["--sweep", "beta"], "--sweep beta: expected NAME=V1,V2,..."),
    (["--sweep", "beta=3", "--sweep", "beta=10"], "--sweep beta=10: beta is already an axis"),
    (["--sweep", "beta=3,3"], "--sweep beta=3,3: a value is repeated"),
    (["--sweep-list", "beta=3", "beta=3.0"], "--sweep-list beta=3.0: the same setting is listed twice"),
    (["--sweep", "beta=3", "--sweep-list", "beta=3"], "--sweep and --sweep-list: give one"),
    (["--sweep", "beta=3,10", "--agent.beta", "5"], "--agent.beta and a sweep over beta: give one"),
])
def test_bad_sweep_options_are_one_line_exit_2(tmp_path, capsys, argv, message):
    assert cli.main(["train", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and len(err.strip().splitlines()) == 1, err
    assert not list(tmp_path.iterdir())  # refused before any run directory or data


def test_sweep_is_refused_on_resume(tmp_path, capsys):
    assert cli.main(["train", "--resume", str(tmp_path), "--sweep", "beta=3,10"]) == 2
    assert "--sweep cannot be changed when resuming" in capsys.readouterr().err


COMMON = ["--dataset", RUN_DATASET, "--preset", "antmaze", "--steps", "40", "--seeds", "1", "--chunk-size", "20",
          "--eval-every", "0", "--eval-episodes", "1", "--run.checkpoint-every", "20", "--agent.hidden-dims", "16",
          "16", "--agent.batch-size", "32", "--quiet"]


def test_cli_sweep_equals_separate_runs(tmp_path, data_cache_dir, capsys):
    out = ["--out", str(tmp_path)]
    assert cli.main(["train", *COMMON, *out, "--name", "grid", "--sweep", "expectile=0.7,0.9",
                     "--sweep", "beta=0,3"]) == 0
    printed = capsys.readouterr().out
    settings = [(e, b) for e in ("0.7", "0.9") for b in ("0", "3")]
    for e, b in settings:  # one result line per setting, never a mean across them
        assert f"(expectile={e} beta={b}): " in printed
    grid, members, record, step = load_run(tmp_path / "grid")
    assert step == 40 and [m.label for m in members] == [f"seed=0 expectile={e} beta={b}" for e, b in settings]
    assert record.sweep == tuple({"expectile": float(e), "beta": float(b)} for e, b in settings)
    assert list(_member_settings(tmp_path / "grid").values()) == [f"expectile={e} beta={b}" for e, b in settings]
    with open(tmp_path / "grid" / "report.csv") as f:
        assert [r["setting"] for r in csv.DictReader(f)] == [f"expectile={e} beta={b}" for e, b in settings]
    for i, (e, b) in enumerate(settings):
        assert cli.main(["train", *COMMON, *out, "--name", f"alone-{i}", "--agent.expectile", e,
                         "--agent.beta", b]) == 0
        alone = load_run(tmp_path / f"alone-{i}")[0]
        mine = jax.tree_util.tree_map(lambda x: x[i:i + 1], grid)  # the grid's member i, kept as a population
        for a, b_ in zip(learned(mine), learned(alone)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b_), rtol=1e-5, atol=1e-6)
    # and the settings really train differently
    v = [np.asarray(x) for x in (grid.value.params["params"]["MLP_0"]["Dense_2"]["bias"][i] for i in (0, 3))]
    assert not np.allclose(v[0], v[1])
