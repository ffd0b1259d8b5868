"""The whole training config (:class:`TrainConfig`, ``config.json`` in every run directory): the one place the
presets are applied, and its JSON round trip."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated

import tyro

from iql_jax.config.agent import AgentConfig
from iql_jax.config.presets import PresetName, get_preset, preset_for_domain
from iql_jax.config.sections import DataConfig, RunConfig


# The fields a preset sets, as dotted names: each defaults to None, "the preset's".
PRESET_FIELDS: tuple[str, ...] = (*(f"agent.{f.name}" for f in dataclasses.fields(AgentConfig)),
                                  "run.eval_episodes", "data.reward_transform")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved as ``config.json`` in the run directory."""

    agent: AgentConfig = field(default_factory=AgentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=RunConfig)
    preset: Annotated[PresetName | None, tyro.conf.arg(aliases=("-p",))] = None
    """Hyperparameter preset (see `iql presets`); None picks it from the dataset's domain."""
    resolved: tyro.conf.Suppress[bool] = False
    """Set by :meth:`resolve`: the preset is applied and the config is final (every ``config.json`` holds one)."""

    def given(self) -> frozenset[str]:
        """The preset fields (dotted names, :data:`PRESET_FIELDS`) this config sets: they override the preset."""
        return frozenset(name for name in PRESET_FIELDS if _get(self, name) is not None)

    def resolve(self, domain: str | None, goal: str | None = None) -> "TrainConfig":
        """The config to train: the preset applied under the fields given. The one place presets apply.

        The preset is ``self.preset`` if named, else the one the dataset's ``domain`` implies (the task catalogue's
        choice). It fills every :data:`PRESET_FIELDS` entry left None (the ``agent`` fields, ``run.eval_episodes``,
        ``data.reward_transform``); a field given keeps its value whatever it is, so
        ``TrainConfig(agent=AgentConfig(expectile=0.7), preset="antmaze")`` trains τ 0.7, β 10, and
        ``--preset antmaze --agent.expectile 0.7`` the same. ``goal`` is the concrete goal mode the data resolved
        ``data.goal`` to (:func:`iql_jax.data.goals.resolve_goal_mode`), recorded in its place.

        A resolved config is returned unchanged (resolving twice cannot undo an override).
        """
        if self.resolved:
            return self
        preset = get_preset(self.preset) if self.preset else preset_for_domain(domain)
        episodes = preset.eval_episodes if self.run.eval_episodes is None else self.run.eval_episodes
        data = dataclasses.replace(self.data, reward_transform=self.data.reward_transform or preset.reward_transform,
                                   goal=goal or self.data.goal)
        return dataclasses.replace(self, agent=self.agent.complete(preset.agent), data=data,
                                   run=dataclasses.replace(self.run, eval_episodes=episodes), preset=preset.name,
                                   resolved=True)


def _get(config: TrainConfig, dotted: str):
    part, name = dotted.split(".")
    return getattr(getattr(config, part), name)


def config_to_dict(config) -> dict:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(config)


def config_from_dict(data: dict) -> TrainConfig:
    """Rebuild a :class:`TrainConfig` from :func:`config_to_dict` output (tuples restored).

    Every ``config.json`` holds a resolved config, those written before the ``resolved`` field existed too; a field
    an older version did not write takes the value its default then was (:data:`SHARED`, 10 evaluation episodes).
    """
    agent = dict(data.get("agent", {}))
    if agent.get("hidden_dims") is not None:
        agent["hidden_dims"] = tuple(agent["hidden_dims"])
    resolved = data.get("resolved", True)
    run = dict(data.get("run", {}))
    if resolved and run.get("eval_episodes") is None:
        run["eval_episodes"] = 10
    return TrainConfig(
        agent=AgentConfig(**agent).complete() if resolved else AgentConfig(**agent),
        data=DataConfig(**data.get("data", {})),
        run=RunConfig(**run),
        preset=data.get("preset"),
        resolved=resolved,
    )
