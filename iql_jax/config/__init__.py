"""Typed, frozen configuration and the paper's per-domain presets.

Three dataclasses, one per layer: :class:`AgentConfig` (the IQL update), :class:`DataConfig` (which data and how it
is transformed) and :class:`RunConfig` (steps, seeds, evaluation, checkpoints, logging). :class:`TrainConfig`
holds all three; the ``iql train`` command line is generated from it by tyro, so every field's docstring is its
``--help`` text.

The paper's per-domain presets live in :mod:`iql_jax.config.presets` (the table, with the official configs they
cite); every preset starts from :data:`SHARED` (hidden (256, 256), Adam 3e-4 for actor, critic and value, discount
0.99, polyak 0.005, batch 256, exp-advantage clip 100, two critics). One module per part: :mod:`.agent`,
:mod:`.sections` (data, run, fine-tuning), :mod:`.presets`, :mod:`.train` (the whole config and its JSON).

Every field a preset sets defaults to ``None``, "take the preset's", so a value the user gives is known as given
whatever it is (tyro's parse says what was typed; a library caller's ``AgentConfig(expectile=0.7)`` is kept under
``preset="antmaze"``). :meth:`TrainConfig.resolve` fills the rest from the preset, once.
"""

from iql_jax.config.agent import SHARED, STATIC_FIELDS, AgentConfig, NetworkConfig
from iql_jax.config.presets import PRESETS, Preset, PresetName, get_preset, preset_for_domain
from iql_jax.config.sections import DataConfig, EvalGoal, FinetuneConfig, GoalMode, RewardTransformKind, RunConfig
from iql_jax.config.train import PRESET_FIELDS, TrainConfig, config_from_dict, config_to_dict

__all__ = ["AgentConfig", "DataConfig", "EvalGoal", "FinetuneConfig", "GoalMode", "NetworkConfig", "PRESETS",
           "PRESET_FIELDS", "Preset", "PresetName", "RewardTransformKind", "RunConfig", "SHARED", "STATIC_FIELDS",
           "TrainConfig", "config_from_dict", "config_to_dict", "get_preset", "preset_for_domain"]
