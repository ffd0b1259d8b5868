"""The end-of-run line that says what the score means, from a run record's env, references and score rule."""

from __future__ import annotations

from iql_jax.runs.meaning import short_online_phase, score_meaning


def test_return_scores_name_both_ends_and_the_env():
    line = score_meaning("Hopper-v5", (-20.272305, 3234.3), "return")
    assert line == ("score: 0 = the random policy's return (-20.2723), 100 = the expert's (3234.3) on Hopper-v5, "
                    "linear in between (D4RL-normalised)")


def test_success_and_raw_return():
    assert "100 x the success rate on Hopper-v5" in score_meaning("Hopper-v5", (0, 1), "success")
    assert "raw episode return on Hopper-v5" in score_meaning("Hopper-v5", None, "return")
    assert "on its evaluation environment" in score_meaning(None, None, "return")


def test_a_short_online_phase_is_named_by_its_share_of_the_sampled_data():
    # The trial: 2,000 online steps after the quick start's 200k dataset: 2000 / 202000 = 0.99 % of the data.
    line = short_online_phase(200_000, 2_000)
    assert line == ("note: a short online phase, not expected to gain: its 2,000 online transitions are 0.9 % of the "
                    "data each update samples (200,000 offline), under 10 %; about 22,223 online steps reach 10 % "
                    "(the paper: 1M)")
    # 10 % needs n / (200000 + n) >= 0.1, n >= 22,222.2: the boundary on both sides.
    assert short_online_phase(200_000, 22_223) is None and short_online_phase(200_000, 22_222) is not None
    assert short_online_phase(1_000_000, 1_000_000) is None  # the paper's Table 2: a 50 % share
    capped = short_online_phase(200_000, 100_000, capacity=1_000)  # only 1,000 kept: the buffer caps the share
    assert "its 1,000 online transitions are 0.4 %" in capped and "with --capacity at least that" in capped
