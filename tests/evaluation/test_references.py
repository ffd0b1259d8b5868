"""Reference scores belong to an env: a real moving-goal Minari PointMaze dataset whose references (0.28, 4.34) were
recorded with its own ``eval_env_spec`` (``reset_target=True``). A goal-conditioned policy is scored there by
default; evaluated on the fixed-goal map (``reset_target=False``) or any other env, the run reports return and
success and one line saying why there is no normalised score. Every record names the env the references belong to.
"""

from __future__ import annotations

import csv
import json

import gymnasium as gym
import minari
import numpy as np
import pytest

from iql_jax import cli
from iql_jax.data.minari_io import minari_datasets_path
from iql_jax.evaluation import EvalEnvSpec
from iql_jax.evaluation.references import References, mismatch
from iql_jax.registry import register_robotics
from iql_jax.runs.report import write_report

REFS = (0.28, 4.34)
WHERE = "PointMaze_UMaze-v3 (continuing_task=True, reset_target=True, reward_type=sparse), 100 steps"
TINY = ["--steps", "20", "--seeds", "1", "--chunk-size", "10", "--eval-every", "20", "--eval-episodes", "2",
        "--run.checkpoint-every", "20", "--agent.hidden-dims", "32", "32", "--agent.batch-size", "32",
        "--agent.expectile", "0.9", "--quiet"]


@pytest.fixture(scope="module")
def moving_goal(tmp_path_factory):
    """400 random steps on the moving-goal U-maze (a new goal every 100-step episode), references recorded."""
    root = tmp_path_factory.mktemp("minari")
    register_robotics()
    env = gym.make("PointMaze_UMaze-v3", continuing_task=True, reset_target=True, max_episode_steps=100)
    collector = minari.DataCollector(env, record_infos=False)
    actions = np.random.default_rng(0).uniform(-1, 1, (400, 2)).astype(np.float32)
    collector.reset(seed=1)
    for a in actions:
        _, _, terminated, truncated, _ = collector.step(a)
        if terminated or truncated:
            collector.reset()
    with minari_datasets_path(root):
        collector.create_dataset("local/pm/moving-v0", eval_env=env.spec, algorithm_name="random", author="test",
                                 code_permalink="x", ref_min_score=REFS[0], ref_max_score=REFS[1])
    collector.close()
    return root / "local" / "pm" / "moving-v0"


def train(tmp_path, capsys, dataset, name, *extra):
    code = cli.main(["train", "--dataset", str(dataset), "--out", str(tmp_path), "--name", name, *TINY, *extra])
    out, err = capsys.readouterr()
    assert code == 0, err[-2000:]
    run = tmp_path / name
    with open(run / "eval.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return run, json.loads((run / "config.json").read_text()), rows, out, err


def test_conditioned_policy_is_scored_in_the_datasets_own_env(tmp_path, capsys, moving_goal):
    run, record, rows, out, _ = train(tmp_path, capsys, moving_goal, "own")
    assert record["config"]["data"]["goal"] == "conditioned"
    assert record["eval_env"]["env_id"] == "PointMaze_UMaze-v3" and record["eval_env"]["kwargs"]["reset_target"]
    assert record["ref_scores"] == list(REFS) and record["no_normalised_score"] is None
    refs = record["references"]
    assert (refs["min"], refs["max"], refs["source"]) == (*REFS, "dataset metadata")
    assert refs["env"]["kwargs"]["reset_target"] is True and refs["env"]["max_episode_steps"] == 100
    where = WHERE
    for row in rows:  # the normalised score is D4RL's formula on this env's return, and names the env
        assert float(row["normalized_score"]) == pytest.approx(100 * (float(row["return"]) - 0.28) / (4.34 - 0.28))
        assert row["reference_env"] == where
    assert f"on {where}, where the references were measured (dataset metadata)" in out
    # hyperparameters as typed, not as float32 prints them
    text = (run / "config.json").read_text()
    assert record["members"][0]["hyper"]["expectile"] == 0.9 and "0.8999999" not in text

    code = cli.main(["eval", str(run), "--episodes", "1"])
    out = capsys.readouterr().out
    assert code == 0 and f"score: D4RL-normalised with reference scores measured on {where}" in out
    code = cli.main(["eval", str(run), "--episodes", "1", "--env", "PointMaze_UMaze-v3"])  # registered defaults
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[1].startswith("no normalised score: the reference scores (0.28, 4.34; dataset metadata)")
    assert "(reset_target=False here, True for the references; time limit 300 here, 100 for the references)" in out[1]
    assert out[2].split()[2] == "score" and out[3].split()[2] == "-"  # the member has no score


def test_fixed_goal_map_gives_return_and_one_line_why(tmp_path, capsys, moving_goal):
    run, record, rows, out, err = train(tmp_path, capsys, moving_goal, "fixed", "--data.eval-goal", "fixed")
    why = [line for line in err.splitlines() if line.startswith("no normalised score")]
    assert len(why) == 1 and "reset_target=False here, True for the references" in why[0], err
    assert f"were measured on {WHERE}, not on the evaluation env" in why[0]
    assert record["eval_env"]["kwargs"]["reset_target"] is False
    assert record["ref_scores"] is None and record["no_normalised_score"] == why[0]
    assert record["references"]["env"]["kwargs"]["reset_target"] is True  # still named, with its env
    assert all(r["normalized_score"] == "" and r["reference_env"] == "" and r["return"] != "" for r in rows)
    assert "final return: " in out and f"score: the raw episode return on PointMaze_UMaze-v3; {why[0]}" in out

    md, table = write_report([run], tmp_path / "report.md")
    assert f"- fixed: {why[0]}" in md.read_text()
    assert next(csv.DictReader(open(table)))["references"] == why[0]


def test_user_pair_belongs_to_the_evaluation_env_it_was_given_for(tmp_path, capsys, moving_goal):
    """--data.ref-scores on the fixed-goal map: the map's own pair, recorded as the user's with that env."""
    run, record, rows, out, err = train(tmp_path, capsys, moving_goal, "user", "--data.eval-goal", "fixed",
                                        "--data.ref-scores", "-5", "200")
    refs = record["references"]
    assert (refs["min"], refs["max"], refs["source"]) == (-5.0, 200.0, "user")
    assert refs["env"]["kwargs"]["reset_target"] is False and refs["env"] == {k: record["eval_env"][k] for k in refs["env"]}
    assert record["ref_scores"] == [-5.0, 200.0] and record["no_normalised_score"] is None
    assert "no normalised score" not in err
    for row in rows:
        assert float(row["normalized_score"]) == pytest.approx(100 * (float(row["return"]) + 5) / 205)
    code = cli.main(["eval", str(run), "--episodes", "1", "--env", "PointMaze_Medium-v3"])
    out = capsys.readouterr().out.splitlines()
    assert code == 0 and out[1].startswith("no normalised score: the reference scores (-5, 200; user)")


@pytest.mark.parametrize("pair", [("3", "3"), ("4", "1"), ("0", "inf")])
def test_user_pair_out_of_order_is_one_line(capsys, pair):
    assert cli.main(["train", "--data.ref-scores", *pair]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: data.ref_scores: expected two finite returns, random below expert, found "
                   f"{float(pair[0])} {float(pair[1])}"], err


def test_inspect_names_the_env_and_whether_it_normalises(capsys, moving_goal):
    assert cli.main(["data", "inspect", str(moving_goal)]) == 0
    out = capsys.readouterr().out
    assert (f"reference scores: min 0.28, max 4.34, measured on {WHERE} (dataset metadata); scores are normalised "
            "only there") in out
    assert f"evaluation env (--data.goal conditioned): {WHERE}; normalised score: the references belong to this env" \
        in out


def test_same_env_means_same_id_kwargs_over_defaults_and_time_limit():
    register_robotics()
    refs = References(0.0, 1.0, EvalEnvSpec("Hopper-v5", {}, None), "task catalogue")
    assert mismatch(refs, EvalEnvSpec("Hopper-v5", {}, 1000)) is None  # 1000 is the registered limit
    assert mismatch(refs, EvalEnvSpec("Hopper-v5", {"healthy_reward": 1.0}, None)) is None  # a default, spelt out
    assert "healthy_reward=2.0 here, 1.0 for the references" in mismatch(
        refs, EvalEnvSpec("Hopper-v5", {"healthy_reward": 2.0}))
    assert "time limit 500 here, 1000 for the references" in mismatch(refs, EvalEnvSpec("Hopper-v5", {}, 500))
    assert "env Walker2d-v5 here, Hopper-v5 for the references" in mismatch(refs, EvalEnvSpec("Walker2d-v5"))
    assert "record no env" in mismatch(References(0.0, 1.0, None, "user"), EvalEnvSpec("Hopper-v5"))
