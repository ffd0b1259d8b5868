"""What a run's score means, in one line for the end-of-run summary: what 0 and 100 are, and on which env."""

from __future__ import annotations

import json
from pathlib import Path


def score_meaning(run_dir: str | Path) -> str | None:
    """One line from the run's ``config.json`` (reference scores, score rule, evaluation env); ``None`` if absent."""
    try:
        record = json.loads((Path(run_dir) / "config.json").read_text())
    except (OSError, ValueError):
        return None
    env = (record.get("eval_env") or {}).get("env_id", "its evaluation environment")
    ref = record.get("ref_scores")
    if not ref:
        return f"score: the raw episode return on {env} (this dataset has no reference scores, so no 0-100 scale)"
    low, high = ref
    if record.get("score") == "success":
        return (f"score: 100 x the success rate on {env} (0 = never reaches the goal, 100 = always; D4RL's rule, "
                f"reference {low:g} to {high:g})")
    return (f"score: 0 = the random policy's return ({low:g}), 100 = the expert's ({high:g}) on {env}, "
            f"linear in between (D4RL-normalised)")
