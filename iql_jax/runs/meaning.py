"""What a run's score means, in one line for the end-of-run summary: what 0 and 100 are, and on which env."""

from __future__ import annotations

from typing import Sequence


def score_meaning(env_id: str | None, ref_scores: Sequence[float] | None, score: str) -> str:
    """One line from a run record's evaluation env, reference scores and score rule (``return`` or ``success``)."""
    env = env_id or "its evaluation environment"
    if not ref_scores:
        return f"score: the raw episode return on {env} (this dataset has no reference scores, so no 0-100 scale)"
    low, high = ref_scores
    if score == "success":
        return (f"score: 100 x the success rate on {env} (0 = never reaches the goal, 100 = always; D4RL's rule, "
                f"reference {low:g} to {high:g})")
    return (f"score: 0 = the random policy's return ({low:g}), 100 = the expert's ({high:g}) on {env}, "
            f"linear in between (D4RL-normalised)")
