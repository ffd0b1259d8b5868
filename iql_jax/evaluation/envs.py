"""Which environment evaluates a dataset's policy, and how its observations are made flat.

A policy trained offline only works in an environment that produces observations laid out exactly like the data.
:func:`resolve_eval_env` picks that environment once, in a fixed order, so training, ``iql eval`` and the
benchmarks all agree:

1. an explicit ``env_id`` (the CLI's ``--env-id``);
2. the dataset's evaluation spec (Minari records ``eval_env_spec`` as gymnasium ``EnvSpec`` JSON);
3. the dataset's collection spec (``env_spec``), with its time limit capped at the registered one, because Minari
   collects mazes with ``max_episode_steps=1e6``;
4. for datasets named after a catalogued task (``hopper-medium-v2``, ``antmaze-umaze-diverse-v0``, ...), the task's
   evaluation environment from :mod:`iql_jax.tasks` (``shared/reference/d4rl-and-envs.md`` §7-§8): the fixed-goal
   maps for mazes, Ant-v4 with contact forces for D4RL's 111-dim ant.

Known differences: v5 locomotion changed healthy rewards (Walker2d also foot friction), so scores are approximate;
maze coordinates are centred in gymnasium-robotics (D4RL's were not), so policies trained on D4RL's own maze files
need a coordinate conversion; D4RL kitchen observations have 60 entries and FrankaKitchen-v1's 59, which
:func:`check_dimensions` reports.

Dict observations (mazes, kitchen) are flattened by :func:`iql_jax.data.spaces.flatten_observation` with the layout
the data loader recorded (``DatasetInfo.extra["observation_layout"]``) or, failing that, the one
:func:`~iql_jax.data.spaces.observation_layout` chooses; loaders use the same two functions, so the layouts cannot
drift apart. :func:`check_dimensions` then catches whatever mismatch remains, before any training time is spent.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any, Mapping

import gymnasium as gym
import numpy as np

from iql_jax.data.limits import check_episode_limit
from iql_jax.data.spaces import flatten_observation, observation_layout
from iql_jax.data.transitions import DatasetInfo
from iql_jax.errors import EnvironmentMismatchError, IQLError
from iql_jax.registry import register_own, register_robotics
from iql_jax.tasks import find_task

@dataclass(frozen=True)
class EvalEnvSpec:
    """Everything needed to build the evaluation environment again, in any process.

    Attributes:
        env_id: registered gymnasium id, e.g. ``"Hopper-v5"``.
        kwargs: keyword arguments for ``gym.make`` (maze maps, task lists, ...).
        max_episode_steps: time limit; ``None`` keeps the registered one.
        observation_layout: dict keys concatenated into the flat observation; ``None`` lets
            :func:`~iql_jax.data.spaces.observation_layout` choose when the space is a ``Dict``.
    """

    env_id: str
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    max_episode_steps: int | None = None
    observation_layout: tuple[str, ...] | None = None

    def make(self) -> gym.Env:
        """Build the environment, wrapped so that every observation is a flat float32 vector."""
        _ensure_registered(self.env_id)
        kwargs = copy.deepcopy(dict(self.kwargs))  # maze maps are nested lists; keep the spec's own copy pristine
        if self.max_episode_steps is not None:
            kwargs["max_episode_steps"] = self.max_episode_steps
        try:
            env = gym.make(self.env_id, **kwargs)
        except TypeError as e:  # kwargs recorded for another version or another env: the user's to fix
            if "keyword argument" not in str(e):
                raise
            raise EnvironmentMismatchError(
                f"{self.env_id}: the environment does not take the recorded kwargs {sorted(self.kwargs)} "
                f"({str(e).splitlines()[0][:160]}); check the dataset's eval_env_spec, or pass --env-id") from None
        return FlatObservation(env, self.observation_layout)


class FlatObservation(gym.ObservationWrapper):
    """Flattens dict observations with the loaders' own function; casts box observations to float32."""

    def __init__(self, env: gym.Env, layout: tuple[str, ...] | None = None):
        super().__init__(env)
        space = env.observation_space
        if isinstance(space, gym.spaces.Dict):
            self.layout = tuple(layout) if layout else observation_layout(env.spec.id if env.spec else None,
                                                                         list(space.keys()))
            bounds = [flatten_observation({k: getattr(space[k], b) for k in self.layout}, self.layout)
                      for b in ("low", "high")]
        else:
            self.layout = None
            bounds = [space.low, space.high]
        low, high = (np.asarray(b, dtype=np.float32) for b in bounds)  # cast first: Box warns when it must
        self.observation_space = gym.spaces.Box(low, high, dtype=np.float32)

    def observation(self, observation) -> np.ndarray:
        return flatten_observation(observation, self.layout)  # a box observation passes through as float32


def resolve_eval_env(info: DatasetInfo | None = None, env_id: str | None = None,
                     env_kwargs: Mapping[str, Any] | None = None) -> EvalEnvSpec:
    """Choose the evaluation environment for a dataset (order in the module docstring).

    Args:
        info: the dataset's :class:`~iql_jax.data.transitions.DatasetInfo`, or ``None`` with an explicit ``env_id``.
        env_id: a registered gymnasium id that overrides whatever the dataset records.
        env_kwargs: keyword arguments merged over the resolved ones; a ``max_episode_steps`` entry sets the limit.

    Returns:
        The :class:`EvalEnvSpec`, with the dataset's recorded observation layout if it has one.

    Raises:
        IQLError: nothing identifies an environment, or a recorded spec is not valid JSON.
    """
    layout = info.extra.get("observation_layout") if info is not None else None
    if env_id is not None:
        spec = EvalEnvSpec(env_id)
    elif info is not None and info.eval_env_spec:
        spec = _from_json(info.eval_env_spec, info, "eval_env_spec")
    elif info is not None and info.env_spec:
        spec = _from_json(info.env_spec, info, "env_spec")
        registered = _registered_limit(spec.env_id)
        if registered is not None and (spec.max_episode_steps is None or spec.max_episode_steps > registered):
            spec = EvalEnvSpec(spec.env_id, spec.kwargs, registered)
    elif info is not None and (task := find_task(info.name)) is not None and task.env_id is not None:
        spec = EvalEnvSpec(task.env_id, task.eval_kwargs(), task.max_episode_steps)
    else:
        name = f"dataset {info.name!r} ({info.source})" if info is not None else "no dataset"
        raise IQLError(f"{name}: cannot tell which environment evaluates it: the dataset records no environment "
                       f"spec and its name is not a D4RL id; pass --env-id (e.g. --env-id Hopper-v5)")
    extra = dict(env_kwargs or {})
    limit = extra.pop("max_episode_steps", spec.max_episode_steps)
    return EvalEnvSpec(spec.env_id, {**spec.kwargs, **extra}, limit, tuple(layout) if layout else None)


def check_dimensions(env: gym.Env, obs_dim: int, act_dim: int, source: str) -> None:
    """Fail early when the evaluation environment cannot take the dataset's policy.

    Args:
        env: an environment from :meth:`EvalEnvSpec.make` (flat observations).
        obs_dim: observation size of the dataset.
        act_dim: action size of the dataset.
        source: the dataset's name or path, quoted in the message.

    Raises:
        EnvironmentMismatchError: the flat observation or the action size differs; the message names the dataset,
            the environment and both sizes.
    """
    env_name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    obs_space, act_space = env.observation_space, env.action_space
    if not isinstance(obs_space, gym.spaces.Box) or not isinstance(act_space, gym.spaces.Box):
        raise EnvironmentMismatchError(f"{source}: environment {env_name} has observation space {obs_space} and "
                                       f"action space {act_space}; expected flat Box spaces (use EvalEnvSpec.make)")
    env_obs, env_act = int(np.prod(obs_space.shape)), int(np.prod(act_space.shape))
    if (env_obs, env_act) != (int(obs_dim), int(act_dim)):
        raise EnvironmentMismatchError(
            f"{source}: dataset has obs_dim={obs_dim}, act_dim={act_dim} but environment {env_name} has "
            f"obs_dim={env_obs}, act_dim={env_act}; pass --env-id (and environment kwargs) for an environment "
            f"that matches the data")


def _ensure_registered(env_id: str) -> None:
    """Register gymnasium-robotics (mazes, kitchen, Adroit) on first need; importing it costs about a second."""
    if env_id in gym.registry:
        return
    register_own()
    register_robotics()
    if env_id not in gym.registry:
        raise IQLError(f"environment {env_id!r} is not registered with gymnasium (nor gymnasium-robotics); "
                       f"check --env-id")


def _registered_limit(env_id: str) -> int | None:
    _ensure_registered(env_id)
    return gym.spec(env_id).max_episode_steps


def _from_json(text: str, info: DatasetInfo, field_name: str) -> EvalEnvSpec:
    """Read the three fields we need from EnvSpec JSON; tolerant of keys older gymnasium versions wrote."""
    try:
        record = json.loads(text)
        limit = record.get("max_episode_steps")
        check_episode_limit(info.source, field_name, limit)
        return EvalEnvSpec(record["id"], dict(record.get("kwargs") or {}), None if limit is None else int(limit))
    except (ValueError, TypeError, KeyError, AttributeError) as err:
        raise IQLError(f"{info.source}: {field_name}: expected gymnasium EnvSpec JSON with an 'id', found "
                       f"{text[:80]!r} ({err})") from err


def online_env(spec: EvalEnvSpec, domain: str | None) -> EvalEnvSpec:
    """The environment fine-tuning collects in: for mazes, episodes end at the goal (``terminated``, so mask 0).

    This is D4RL's ``eval=True`` AntMaze env the official fine-tuning script steps, and it matches the offline
    recipe, where the goal-reaching step is terminal. Other domains collect in the evaluation env itself.
    """
    if domain not in ("maze", "antmaze"):
        return spec
    return EvalEnvSpec(spec.env_id, {**spec.kwargs, "continuing_task": False}, spec.max_episode_steps,
                       spec.observation_layout)
