"""Fault class: command-line values outside their domain. Each is one line on stderr, exit 2, naming the option and
what it takes, through the real CLI entry point, before any data is loaded or any directory written (the dataset
and run directories named do not exist)."""

from __future__ import annotations

import pytest

from iql_jax import cli
from fault_files import d4rl_file

LONG = "n" * 10_000
INSIDE = "expected one directory name that stays inside --out (no '/', '.' or '..'), found"


def one_line(capsys, argv) -> str:
    code = cli.main(argv)
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err and err.count("\n") == 1, err[:600]
    return err.strip()


@pytest.mark.parametrize("args, line", [
    (["--agent.discount", "1.5"], "agent.discount: expected γ in [0, 1], found 1.5"),
    (["--agent.discount", "-0.1"], "agent.discount: expected γ in [0, 1], found -0.1"),
    (["--agent.discount", "nan"], "agent.discount: expected γ in [0, 1], found nan"),
    (["--agent.expectile", "1"], "agent.expectile: expected a value in (0, 1), found 1.0"),
    (["--agent.expectile", "0"], "agent.expectile: expected a value in (0, 1), found 0.0"),
    (["--agent.expectile", "nan"], "agent.expectile: expected a value in (0, 1), found nan"),
    (["--agent.beta", "-1"], "agent.beta: expected β ≥ 0, found -1.0"),
    (["--agent.beta", "inf"], "agent.beta: expected a finite β ≥ 0, found inf"),
    (["--agent.beta", "nan"], "agent.beta: expected a finite β ≥ 0, found nan"),
    (["--agent.polyak", "2"], "agent.polyak: expected a rate in [0, 1], found 2.0"),
    (["--agent.max-exp-adv", "0"], "agent.max_exp_adv: expected a finite value > 0, found 0.0"),
    (["--agent.actor-dropout", "1"], "agent.actor_dropout: expected a rate in [0, 1), found 1.0"),
    (["--agent.actor-lr", "0"], "agent.actor_lr: expected a finite rate > 0, found 0.0"),
    (["--agent.critic-lr", "inf"], "agent.critic_lr: expected a finite rate > 0, found inf"),
    (["--agent.log-std-min", "3", "--agent.log-std-max", "2"],
     "agent.log_std_min/max: expected min < max, found 3.0, 2.0"),
    (["--agent.batch-size", "0"], "agent.batch_size: expected a positive integer, found 0"),
    (["--agent.num-critics", "0"], "agent.num_critics: expected a positive integer, found 0"),
    (["--agent.hidden-dims", "256", "0"], "agent.hidden_dims: expected one or more layer sizes ≥ 1, found (256, 0)"),
    (["--steps", "0"], "run.steps: expected a positive integer, found 0"),
    (["--seeds", "-2"], "run.seeds: expected a positive integer, found -2"),
    (["--seed", "-1"], "run.seed: expected 0 or more, found -1"),
    (["--chunk-size", "0"], "run.chunk_size: expected a positive integer, found 0"),
    (["--eval-episodes", "-1"], "run.eval_episodes: expected 0 or more, found -1"),
    (["--data.dataset-steps", "0"], "data.dataset_steps: expected an integer ≥ 1, found 0"),
    (["--data.dataset-seed", "-3"], "data.dataset_seed: expected an integer ≥ 0, found -3"),
    (["--data.max-episode-steps", "0"], "data.max_episode_steps: expected an integer ≥ 1, found 0"),
    (["--dataset", ""], "data.dataset: expected a dataset (a built-in name, Minari id, directory or .hdf5 file), "
                        "found an empty string"),
    (["--out", ""], "run.out: expected a directory, found an empty string"),
    (["--name", ""], "run.name: expected a directory name, found an empty string"),
    (["--name", "  "], "run.name: expected a directory name, found an empty string"),
    (["--name", "../escape"], f"run.name: {INSIDE} '../escape'"),  # a hostile value under test, not a path read
    (["--name", ".."], f"run.name: {INSIDE} '..'"),
    (["--name", "/tmp/abs"], f"run.name: {INSIDE} '/tmp/abs'"),
    # sweep syntax: each value is checked as its --agent option would be
    (["--sweep", "expectile=0.7,1.5"], "--sweep expectile=0.7,1.5: agent.expectile: expected a value in (0, 1), "
                                       "found 1.5"),
    (["--sweep", "beta=3,x"], "--sweep beta=3,x: beta: expected a number, found 'x'"),
    (["--sweep", "discount=nan"], "--sweep discount=nan: discount: expected a finite number, found 'nan'"),
    (["--sweep", ""], "--sweep : expected NAME=V1,V2,..., e.g. expectile=0.7"),
    (["--sweep", "=0.7"], "--sweep =0.7: expected NAME=V1,V2,..., e.g. expectile=0.7"),
    (["--sweep", "beta="], "--sweep beta=: expected NAME=V1,V2,..., e.g. expectile=0.7"),
    (["--sweep-list", "beta=-1"], "--sweep-list beta=-1: agent.beta: expected β ≥ 0, found -1.0"),
    # upper ends: int32 step counters, uint32 seeds, float32 hyperparameters, one env per evaluation episode
    (["--steps", str(2 ** 31)], "run.steps: expected an integer in [1, 2,147,483,647] (steps are counted in int32), "
                                "found 2,147,483,648"),
    (["--seed", str(2 ** 70)], "run.seed: expected an integer in [0, 4,294,967,295] (seeds are uint32), found "
                               "1,180,591,620,717,411,303,424"),
    (["--agent.beta", "1e308"], "agent.beta: expected a value float32 can hold (|x| ≤ 3.403e+38), found 1e+308"),
    (["--sweep", "beta=1,1e300"], "--sweep beta=1,1e300: agent.beta: expected a value float32 can hold (|x| ≤ "
                                  "3.403e+38), found 1e+300"),
    (["--eval-episodes", "1000000"], "run.eval_episodes: expected an integer in [0, 10,000] (one environment per "
                                     "episode), found 1,000,000"),
    (["--data.dataset-seed", str(2 ** 40)], "data.dataset_seed: expected an integer in [0, 4,294,967,295] (seeds are "
                                            "uint32), found 1,099,511,627,776"),
    (["--name", "a\nb"], "run.name: expected a directory name without control characters (newline, tab, ...), "
                         "found 'a\\nb'"),
    # values tyro cannot parse: its own words, in one line with the option's usage
    (["--steps", "abc"], "iql train: Error parsing --steps/--run.steps: invalid literal for int() with base 10: "
                         "'abc' (expected --steps INT, --run.steps INT); see iql train --help"),
    (["--steps", "1e3"], "iql train: Error parsing --steps/--run.steps: invalid literal for int() with base 10: "
                         "'1e3' (expected --steps INT, --run.steps INT); see iql train --help"),
    (["--agent.beta", "x"], "iql train: Error parsing --agent.beta: no type matching {None}|FLOAT could be "
                            "instantiated from ['x'] (expected --agent.beta {None}|FLOAT); see iql train --help"),
    (["--no-such-option", "1"], "iql train: Unrecognized options: --no-such-option, 1; see iql train --help"),
    (["--steps"], "iql train: Missing value for argument '--steps/--run.steps'. Expected 1 values; see iql train "
                  "--help"),
])
def test_train_options_out_of_domain_are_one_line(tmp_path, capsys, args, line):
    err = one_line(capsys, ["train", "--dataset", str(tmp_path / "absent.hdf5"), "--out", str(tmp_path / "runs"),
                            *args] if "--dataset" not in args else ["train", "--out", str(tmp_path / "runs"), *args])
    assert err.endswith(line), err
    assert not (tmp_path / "runs").exists()


def test_very_long_name_is_one_short_line(tmp_path, capsys):
    err = one_line(capsys, ["train", "--dataset", str(tmp_path / "absent.hdf5"), "--out", str(tmp_path / "runs"),
                            "--name", LONG])
    assert len(err) < 300 and "run.name: expected at most 255 bytes (the file system's limit), found 10,000" in err


@pytest.mark.parametrize("argv, line", [
    (["eval", "RUN", "--episodes", "0"], "--episodes: expected an integer ≥ 1, found 0"),
    (["eval", "RUN", "--seed", "-1"], "--seed: expected an integer ≥ 0, found -1"),
    (["finetune", "RUN", "--online-steps", "0"], "--online-steps: expected an integer >= 1, found 0"),
    (["finetune", "RUN", "--name", "../up"],  # a hostile value under test, not a path read
     "--name: expected one directory name that stays inside --out (no '/', "
     "'.' or '..'), found '../up'"),  # a hostile value under test, not a path read
    (["finetune", "RUN", "--name", LONG], "--name: expected at most 255 bytes (the file system's limit), found "
                                          "10,000: nnnn"),
    (["finetune", "RUN", "--out", ""], "--out: expected a directory, found an empty string"),
    (["sweep", "--datasets", "x", "--cpus-per-job", "0"], "--cpus-per-job: expected a finite number > 0, found 0.0"),
    (["sweep", "--datasets", "x", "--gpus-per-job", "nan"], "--gpus-per-job: expected a finite number ≥ 0, found nan"),
    (["sweep", "--datasets", "x", "--steps", "0"], "run.steps: expected a positive integer, found 0"),
    (["data", "generate", "pointmaze-umaze", "--steps", "0"], "--steps: expected an integer ≥ 1, found 0"),
    (["data", "generate", "pointmaze-umaze", "--seed", "-1"], "--seed: expected an integer ≥ 0, found -1"),
    (["behaviour", "train", "Hopper-v5", "--steps", "0"], "behaviour: steps: expected an integer >= 1, found 0"),
    (["behaviour", "train", "Hopper-v5", "--sac.lr", "inf"], "sac.lr: expected a finite number, found inf"),
    (["behaviour", "train", "Hopper-v5", "--seed", str(2 ** 70)], "--seed: expected an integer in [0, "
                                                                  "4,294,967,295] (seeds are uint32), found "
                                                                  "1,180,591,620,717,411,303,424"),
    (["behaviour", "ship", "RUN", "--key", "hopper", "--replay-snapshots", "0"],
     "--replay-snapshots: expected an integer ≥ 1, found 0"),
    (["eval", "RUN", "--episodes", str(2 ** 70)], "--episodes: expected an integer in [1, 10,000] (one environment "
                                                  "per episode), found 1,180,591,620,717,411,303,424"),
    (["finetune", "RUN", "--online-steps", str(2 ** 31)], "--online-steps: expected an integer in [1, "
                                                          "2,147,483,647] (steps are counted in int32), found "
                                                          "2,147,483,648"),
    (["data", "generate", "hopper-random", "--steps", str(2 ** 70)],
     "--steps: expected an integer in [1, 2,147,483,647] (steps are counted in int32), found "
     "1,180,591,620,717,411,303,424"),
    (["train", "--resume", ""], "--resume: expected a run directory, found an empty string"),
    (["sweep", "--datasets", "x", "--address", ""], "--address: expected a Ray address such as HEAD:6379 (or no "
                                                    "--address: a local Ray), found an empty string"),
    (["eval", "RUN", "--member", "9"], "iql eval: Unrecognized options: --member, 9; see iql eval --help"),
    (["export", "RUN", "--format", "tflite"], "iql export: invalid choice 'tflite' for argument '--format'. Expected "
                                              "one of ('onnx', 'stablehlo'); see iql export --help"),
    (["presets", "extra"], "iql presets: Unrecognized options: extra; see iql presets --help"),
    (["data", "list", "extra"], "iql data list: Unrecognized options: extra; see iql data list --help"),
    # no run named: nothing to tabulate or draw (an empty report.md was written to the current directory)
    (["report"], "RUN_DIR...: expected at least one run directory, found none"),
    (["report", "--aggregate"], "RUN_DIR...: expected at least one run directory, found none"),
    (["plot"], "RUN_DIR...: expected at least one run directory, found none"),
    (["plot", "--profile"], "RUN_DIR...: expected at least one run directory, found none"),
    (["plot", "RUN", "--out", ""], "--out: expected a file, found an empty string"),
    (["report", "RUN", "--out", ""], "--out: expected a file, found an empty string"),
    (["export", "RUN", "--out", ""], "--out: expected a file, found an empty string"),
])
def test_other_commands_out_of_domain_are_one_line(tmp_path, capsys, monkeypatch, argv, line):
    monkeypatch.chdir(tmp_path)  # nothing may be written: the directory stays empty
    err = one_line(capsys, argv)
    assert err.endswith(line) or line.endswith("nnnn") and line in err, err
    assert list(tmp_path.iterdir()) == []


def test_population_too_large_for_memory_is_refused_before_allocating(tmp_path, capsys):
    # 10^5 x 10^5 layers: about 4e10 parameters per network, terabytes with Adam's moments, beyond any limit here.
    data = d4rl_file(tmp_path / "hopper-medium-v2.hdf5", obs_dim=11, act_dim=3)
    err = one_line(capsys, ["train", "--dataset", str(data), "--out", str(tmp_path / "runs"), "--seeds", "3", "--data.reward-transform", "none",
                            "--agent.hidden-dims", "100000", "100000", "--quiet"])
    assert "--seeds 3 = 3 member(s) with --agent.hidden-dims 100000 100000: training needs about" in err, err
    assert "use fewer seeds or settings, or smaller layers" in err
    assert not (tmp_path / "runs").exists()


def test_member_count_is_what_is_charged(tmp_path, capsys, monkeypatch):
    # Hand count for Hopper's obs 11, act 3, 32x32, two critics, batch 1: 22,109 floats = 88,436 bytes per member,
    # so two members fit in 200,000 bytes and 4 seeds x 3 settings = 12 members (1,061,232 bytes) do not.
    from iql_jax.config import SHARED
    from iql_jax.domains import population_bytes
    import dataclasses

    agent = dataclasses.replace(SHARED, hidden_dims=(32, 32), batch_size=1)
    one = population_bytes(agent, 11, 3)
    actor, critic, value = (11 * 32 + 32) + (32 * 32 + 32) + (32 * 3 + 3) + 3, \
        (14 * 32 + 32) + (32 * 32 + 32) + (32 + 1), (11 * 32 + 32) + (32 * 32 + 32) + (32 + 1)
    assert one == 4 * (3 * actor + 4 * 2 * critic + 3 * value + 2 * 64 * 4) == 88_436
    monkeypatch.setenv("IQL_JAX_MAX_LOAD_BYTES", str(200_000))
    data = d4rl_file(tmp_path / "hopper-medium-v2.hdf5", obs_dim=11, act_dim=3)
    err = one_line(capsys, ["train", "--dataset", str(data), "--out", str(tmp_path / "runs"), "--seeds", "4",
                            "--sweep", "beta=1,2,3", "--agent.hidden-dims", "32", "32", "--agent.batch-size", "1",
                            "--data.reward-transform", "none", "--quiet"])
    assert f"--seeds 4 × 3 sweep settings = 12 member(s) with --agent.hidden-dims 32 32: training needs about " \
           f"{12 * one:,} bytes, at most 200,000 bytes more: $IQL_JAX_MAX_LOAD_BYTES" in err, err
    assert not (tmp_path / "runs").exists()
