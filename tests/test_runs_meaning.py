"""The end-of-run line that says what the score means, from a run's config.json."""

from __future__ import annotations

import json

from iql_jax.runs.meaning import score_meaning


def _run(tmp_path, **record):
    (tmp_path / "config.json").write_text(json.dumps({"eval_env": {"env_id": "Hopper-v5"}, **record}))
    return tmp_path


def test_return_scores_name_both_ends_and_the_env(tmp_path):
    line = score_meaning(_run(tmp_path, ref_scores=[-20.272305, 3234.3], score="return"))
    assert line == ("score: 0 = the random policy's return (-20.2723), 100 = the expert's (3234.3) on Hopper-v5, "
                    "linear in between (D4RL-normalised)")


def test_success_and_raw_return_and_no_record(tmp_path):
    assert "100 x the success rate on Hopper-v5" in score_meaning(_run(tmp_path, ref_scores=[0, 1], score="success"))
    assert "raw episode return on Hopper-v5" in score_meaning(_run(tmp_path, ref_scores=None))
    assert score_meaning(tmp_path / "nothing") is None
