"""The behaviour policies the package ships, the D4RL recipe facts around them, and how they are chosen.

For each environment the package holds ``policies/<key>/``: ``medium.msgpack``, ``expert.msgpack``,
``replay-<i>.msgpack`` (the snapshots that replay the training run up to the medium checkpoint) and
``record.json`` (how they were trained: the SAC config, the seed, the learning curve, which checkpoints were chosen
and why). ``iql behaviour ship RUN --key hopper`` writes them from a training run; the dataset generators
(:mod:`iql_jax.data.generate_behaviour`) only read them, so making a dataset needs no training.

The D4RL recipe (``shared/reference/behaviour-data.md`` §1.1): *medium* is the first checkpoint whose **sampled**
policy (the actions the data is made of) scores inside the medium band, in D4RL-normalised units; *expert* is the
best checkpoint after it; *medium-replay* is everything the trainer collected up to the medium checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iql_jax.behaviour.policy import BehaviourPolicy, load_policy_file
from iql_jax.errors import DataError, IQLError

POLICY_DIR = Path(__file__).parent / "policies"
RECORD = "record.json"


@dataclass(frozen=True)
class Recipe:
    """What the package knows about one environment's behaviour data.

    Attributes:
        key: the dataset prefix (``hopper`` → ``hopper-medium``, ...).
        env_id: the gymnasium environment the policies act in.
        medium_band: (low, high) D4RL-normalised score of the sampled policy that makes a checkpoint *medium*;
            ``None`` for a policy that is only shipped as an expert (the directional ant).
        d4rl_medium: D4RL's own medium dataset's normalised score, for comparison (commonly reported, unverified).
    """

    key: str
    env_id: str
    medium_band: tuple[float, float] | None
    d4rl_medium: float | None = None


# Bands: around D4RL's medium datasets (hopper ≈ 44, halfcheetah ≈ 40, walker2d ≈ 62 normalised; behaviour-data.md
# §1.1, unverified), wide enough that a checkpoint every 10k steps lands in them.
RECIPES: dict[str, Recipe] = {r.key: r for r in (
    Recipe("hopper", "Hopper-v5", (35.0, 55.0), 44.0),
    Recipe("halfcheetah", "HalfCheetah-v5", (33.0, 47.0), 40.0),
    Recipe("walker2d", "Walker2d-v5", (50.0, 75.0), 62.0),
    Recipe("ant", "Ant-v5", (55.0, 85.0), None),
    Recipe("antdir", "iql_jax/DirectionalAnt-v0", None),
)}


def shipped_dir(key: str) -> Path:
    return POLICY_DIR / key


def shipped_record(key: str) -> dict:
    """The ``record.json`` of a shipped key.

    Raises:
        DataError: the package holds no policies for ``key`` (the message lists the keys it has).
    """
    path = shipped_dir(key) / RECORD
    if not path.is_file():
        have = sorted(p.name for p in POLICY_DIR.iterdir() if (p / RECORD).is_file()) if POLICY_DIR.is_dir() else []
        raise DataError(str(path), None, f"a shipped behaviour policy (the package has: {', '.join(have) or 'none'})",
                        "nothing")
    return json.loads(path.read_text())


def load_shipped(key: str, name: str) -> BehaviourPolicy:
    """A shipped policy: ``medium``, ``expert`` or ``replay-<i>``."""
    shipped_record(key)
    path = shipped_dir(key) / f"{name}.msgpack"
    if not path.is_file():
        raise DataError(str(path), None, f"a shipped {name} policy for {key}", "no such file")
    return load_policy_file(path)


@dataclass(frozen=True)
class Selection:
    """The checkpoints a recipe takes from a run (env steps); ``medium`` is ``None`` without a band."""

    medium: int | None
    expert: int
    replay: tuple[int, ...]  # snapshot steps: each acts from its step to the next (the last to ``medium``)


def select(curve: list[dict], band: tuple[float, float] | None, warmup: int, replay_snapshots: int = 4) -> Selection:
    """Choose the medium, expert and replay checkpoints from a run's evaluation rows (``curve.csv``).

    Args:
        curve: rows with ``step`` and ``stochastic_score`` (``stochastic_return`` without a band).
        band: the medium band, or ``None`` (then only the expert is chosen, by return).
        warmup: the run's warm-up steps; replay snapshots start there (uniform actions before).
        replay_snapshots: how many snapshots replay [warmup, medium).

    Raises:
        IQLError: no evaluation row, or none inside the band.
    """
    if not curve:
        raise IQLError("behaviour run: no evaluation yet, nothing to choose")
    if band is None:
        best = max(curve, key=lambda r: r["stochastic_return"])
        return Selection(None, best["step"], ())
    lo, hi = band
    inside = [r for r in curve if lo <= r["stochastic_score"] <= hi]
    if not inside:
        scores = ", ".join(f"{r['step']}: {r['stochastic_score']:.1f}" for r in curve[-5:])
        raise IQLError(f"behaviour run: no evaluation scores inside the medium band [{lo}, {hi}] (the last ones: "
                       f"{scores}); train longer (iql behaviour train ... --steps N resumes it)")
    medium = inside[0]["step"]
    later = [r for r in curve if r["step"] >= medium]
    expert = max(later, key=lambda r: r["stochastic_score"])["step"]
    steps = [r["step"] for r in curve if warmup <= r["step"] < medium]
    if not steps:
        return Selection(medium, expert, ())
    wanted = np.linspace(warmup, medium, replay_snapshots + 1)[:-1]
    chosen = sorted({min(steps, key=lambda s: abs(s - w) if s <= w else np.inf) for w in wanted})
    return Selection(medium, expert, tuple(int(s) for s in chosen))
