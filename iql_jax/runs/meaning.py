"""What a run's score means, in one line for the end-of-run summary: what 0 and 100 are, and on which env; and,
after fine-tuning, whether the online phase was long enough to expect a gain."""

from __future__ import annotations

import math
from pathlib import Path
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


# Below this share of online transitions in the data each fine-tuning update samples from, no gain is expected.
MIN_ONLINE_SHARE = 0.10


def short_online_phase(offline_transitions: int, online_steps: int, capacity: int | None = None) -> str | None:
    """One line when a fine-tuning phase is too short to expect a gain over the offline score, else None.

    The rule: the online transitions kept at the end (``online_steps``, at most ``capacity``) are under
    :data:`MIN_ONLINE_SHARE` (10 %) of the data the updates sample from (offline dataset + online buffer). Why this
    and not a count of steps or episodes: fine-tuning draws every batch uniformly from offline and online data
    together (the official loop), so only that share of each update learns from what the policy now does; the rest
    replays the offline data, at the actor lr restarted from its decayed value, which moves the score by noise (the
    trial: 2,000 online steps after a 200k dataset, 1 %, went 51.3 → 50.3). The paper's Table 2 runs 1M online
    steps on 1M-transition datasets, a 50 % share; 10 % is the least at which the online data is one batch row in
    ten.
    """
    kept = min(online_steps, capacity or online_steps)
    share = kept / (offline_transitions + kept)
    if share >= MIN_ONLINE_SHARE:
        return None
    needed = math.ceil(MIN_ONLINE_SHARE * offline_transitions / (1 - MIN_ONLINE_SHARE))
    keep = " with --capacity at least that" if capacity is not None and capacity < needed else ""
    return (f"note: a short online phase, not expected to gain: its {kept:,} online transitions are "
            f"{math.floor(1000 * share) / 10:.1f} % of the data each update samples ({offline_transitions:,} offline), "
            f"under {100 * MIN_ONLINE_SHARE:.0f} %; about {needed:,} online steps{keep} reach "
            f"{100 * MIN_ONLINE_SHARE:.0f} % (the paper: 1M)")


def online_phase_note(run_dir: str | Path) -> str | None:
    """:func:`short_online_phase` for a fine-tuning run directory (its ``finetune.json`` and ``config.json``)."""
    from iql_jax.runs.rundir import FinetuneRecord, RunRecord

    plan = FinetuneRecord.read(run_dir)
    return short_online_phase(RunRecord.read(run_dir).dataset.transitions, plan.config.online_steps,
                              plan.config.capacity)
