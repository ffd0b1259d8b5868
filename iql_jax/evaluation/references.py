"""Reference scores belong to an environment: a normalised score exists only where it was measured.

D4RL's normalised score, 100 · (R − min) / (max − min), rescales a return with two returns measured in one
particular env. The same pair applied to another env gives a figure that looks like a D4RL score and is not one: a
moving-goal PointMaze counts goals reached (references 0.28 and 4.34), the fixed-goal map counts steps spent at the
goal (about 220), and the two normalise to 115 and 5,430 for equally good policies. So a pair is kept with the env
spec it was measured in (:class:`References`), and :func:`mismatch` says, in words, why an evaluation env is not it.

Where a pair comes from:

* the dataset's metadata (Minari's ``ref_min_score``/``ref_max_score``): measured in the dataset's recorded
  ``eval_env_spec`` (else its ``env_spec``), as the dataset's authors scored it;
* the task catalogue (D4RL's ``infos.py`` constants, for a D4RL-named file): measured in the catalogue task's
  evaluation env;
* a user (:func:`user_references`, the library's ``ref_scores=`` with an env spec).

Two specs are the same env when the id, the ``gym.make`` kwargs (the registered and the constructor's defaults
filled in on both sides) and the time limit (the registered one for None) agree; the observation layout only changes how observations are
flattened, not what a return counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from iql_jax.data.transitions import DatasetInfo
from iql_jax.evaluation.envs import EvalEnvSpec, _ensure_registered, _from_json
from iql_jax.tasks import find_task_of

SOURCES = ("dataset metadata", "task catalogue", "user")


@dataclass(frozen=True)
class References:
    """A reference pair and the env it was measured in (``env`` None: the data record no env for it)."""

    low: float
    high: float
    env: EvalEnvSpec | None
    source: str  # one of SOURCES

    @property
    def pair(self) -> tuple[float, float]:
        return self.low, self.high

    def describe(self) -> str:
        """``"PointMaze_UMaze-v3 (continuing_task=True, reset_target=True)"``: the env, with its plain kwargs."""
        return describe_env(self.env)

    def to_json(self) -> dict:
        env = None if self.env is None else {"env_id": self.env.env_id, "kwargs": _plain(self.env.kwargs),
                                             "max_episode_steps": self.env.max_episode_steps}
        return {"min": self.low, "max": self.high, "env": env, "source": self.source}

    @classmethod
    def from_json(cls, data: dict) -> "References":
        env = data.get("env")
        spec = None if env is None else EvalEnvSpec(env["env_id"], env.get("kwargs") or {},
                                                    env.get("max_episode_steps"))
        return cls(float(data["min"]), float(data["max"]), spec, str(data.get("source", "dataset metadata")))


def dataset_references(info: DatasetInfo) -> References | None:
    """The dataset's reference pair with the env it belongs to (call before goal handling rewrites the spec).

    The dataset's own pair when both are recorded, in its recorded evaluation env (else its collection env, else
    the catalogue task's env its name pairs with); otherwise D4RL's constants for a catalogued name, in the
    catalogue task's evaluation env; otherwise ``None``.
    """
    from iql_jax.evaluation.scores import D4RL_REF_SCORES

    recorded = info.eval_env_spec or info.env_spec
    if info.ref_min_score is not None and info.ref_max_score is not None:
        env = _from_json(recorded, info, "eval_env_spec" if info.eval_env_spec else "env_spec") if recorded \
            else _catalogue_env(info)
        source = "dataset metadata" if recorded else "task catalogue"
        return References(float(info.ref_min_score), float(info.ref_max_score), env, source)
    pair = D4RL_REF_SCORES.get(info.name)
    if pair is None:
        return None
    return References(*pair, _catalogue_env(info), "task catalogue")


def user_references(low: float, high: float, env: EvalEnvSpec) -> References:
    """A pair a user measured, in ``env``."""
    return References(float(low), float(high), env, "user")


def mismatch(references: References, env: EvalEnvSpec) -> str | None:
    """None when ``env`` is the env ``references`` were measured in, else one line saying how it differs."""
    if references.env is None:
        return (f"the reference scores ({references.source}) record no env they were measured in, so "
                f"{env.env_id} cannot be shown to be it")
    mine, theirs = _canonical(env), _canonical(references.env)
    if mine == theirs:
        return None
    if mine[0] != theirs[0]:
        diff = f"env {mine[0]} here, {theirs[0]} for the references"
    else:
        keys = sorted(k for k in set(mine[1]) | set(theirs[1]) if mine[1].get(k) != theirs[1].get(k))
        parts = [f"{k}={_short(mine[1].get(k))} here, {_short(theirs[1].get(k))} for the references" for k in keys]
        if mine[2] != theirs[2]:
            parts.append(f"time limit {mine[2]} here, {theirs[2]} for the references")
        diff = "; ".join(parts)
    return (f"no normalised score: the reference scores ({references.low:g}, {references.high:g}; "
            f"{references.source}) were measured on {references.describe()}, not on the evaluation env ({diff}); "
            "reporting return and success")


def describe_env(env: EvalEnvSpec | None) -> str:
    """An env id with its plain kwargs (bools, numbers, strings; maps and objects left out)."""
    if env is None:
        return "an env the data do not record"
    kwargs = {k: v for k, v in (env.kwargs or {}).items() if isinstance(v, (bool, int, float, str))}
    text = env.env_id + (f" ({', '.join(f'{k}={v}' for k, v in sorted(kwargs.items()))})" if kwargs else "")
    return text + (f", {env.max_episode_steps} steps" if env.max_episode_steps else "")


def _catalogue_env(info: DatasetInfo) -> EvalEnvSpec | None:
    task = find_task_of(info.extra.get("env_name"), info.name)
    if task is None or task.env_id is None:
        return None
    return EvalEnvSpec(task.env_id, task.eval_kwargs(), task.max_episode_steps)


def _canonical(env: EvalEnvSpec) -> tuple[str, dict, int | None]:
    """Id, kwargs over the registered defaults (JSON-normalised: tuples and lists alike), time limit."""
    import gymnasium as gym

    _ensure_registered(env.env_id)
    registered = gym.spec(env.env_id)
    kwargs = {**_constructor_defaults(registered), **(registered.kwargs or {}), **dict(env.kwargs or {})}
    kwargs.pop("render_mode", None)
    limit = env.max_episode_steps if env.max_episode_steps is not None else registered.max_episode_steps
    return env.env_id, _plain(kwargs), None if limit is None else int(limit)


def _constructor_defaults(spec) -> dict:
    """The keyword defaults of the env's constructor (``reset_target=False`` ...), which the registry leaves out."""
    import inspect

    from gymnasium.envs.registration import load_env_creator

    try:
        creator = spec.entry_point if callable(spec.entry_point) else load_env_creator(spec.entry_point)
        parameters = inspect.signature(creator).parameters.values()
    except (TypeError, ValueError, ImportError, AttributeError):
        return {}
    return {p.name: p.default for p in parameters if p.default is not inspect.Parameter.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _plain(kwargs: Any) -> dict:
    return json.loads(json.dumps(dict(kwargs or {}), default=str))


def _short(value: Any) -> str:
    plain = value is None or isinstance(value, (bool, int, float, str))
    text = str(value) if plain else json.dumps(value)
    return text if len(text) <= 40 else text[:37] + "..."
