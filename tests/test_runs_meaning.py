"""The end-of-run line that says what the score means, from a run record's env, references and score rule."""

from __future__ import annotations

from iql_jax.runs.meaning import score_meaning


def test_return_scores_name_both_ends_and_the_env():
    line = score_meaning("Hopper-v5", (-20.272305, 3234.3), "return")
    assert line == ("score: 0 = the random policy's return (-20.2723), 100 = the expert's (3234.3) on Hopper-v5, "
                    "linear in between (D4RL-normalised)")


def test_success_and_raw_return():
    assert "100 x the success rate on Hopper-v5" in score_meaning("Hopper-v5", (0, 1), "success")
    assert "raw episode return on Hopper-v5" in score_meaning("Hopper-v5", None, "return")
    assert "on its evaluation environment" in score_meaning(None, None, "return")
