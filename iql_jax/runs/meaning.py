"""What a run's score means, in one line for the end-of-run summary: what 0 and 100 are, and on which env."""

from __future__ import annotations

from typing import Sequence


def score_meaning(env_id: str | None, ref_scores: Sequence[float] | None, score: str, references=None,
                  no_score: str | None = None) -> str:
    """One line from a run record's evaluation env, reference scores and score rule (``return`` or ``success``);
    ``references`` (:class:`~iql_jax.evaluation.references.References`) names the env the pair belongs to, and
    ``no_score`` says why a dataset's references give no score here."""
    env = env_id or "its evaluation environment"
    if no_score:
        return f"score: the raw episode return on {env}; {no_score}"
    if not ref_scores:
        return f"score: the raw episode return on {env} (this dataset has no reference scores, so no 0-100 scale)"
    low, high = ref_scores
    where = env if references is None else (f"{references.describe()}, where the references were measured "
                                            f"({references.source})")
    if score == "success":
        return (f"score: 100 x the success rate on {where} (0 = never reaches the goal, 100 = always; D4RL's rule, "
                f"reference {low:g} to {high:g})")
    return (f"score: 0 = the random policy's return ({low:g}), 100 = the expert's ({high:g}) on {where}, "
            f"linear in between (D4RL-normalised)")


def reference_env(record) -> str:
    """The env a run record's normalised scores are measured against (``eval.csv``'s ``reference_env``)."""
    if record.ref_scores is None:
        return ""
    if record.references is not None:
        return record.references.describe()
    return record.eval_env.env_id if record.eval_env is not None else ""
