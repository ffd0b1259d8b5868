"""The paper's per-domain presets, each citing the official config it reproduces (``iql presets``).

============== ========= ===== ============= ===================== ===========================
preset          expectile beta  actor dropout actor lr              reward transform
============== ========= ===== ============= ===================== ===========================
locomotion      0.7       3.0   none          cosine over the run   r·1000/(R_max − R_min)
antmaze         0.9       10.0  none          cosine over the run   r − 1
kitchen         0.7       0.5   0.1           cosine over the run   none
adroit          0.7       0.5   0.1           cosine over the run   none
antmaze-finetune 0.9      10.0  none          constant              r − 1
============== ========= ===== ============= ===================== ===========================

Every preset starts from :data:`~iql_jax.config.agent.SHARED`. Which preset a dataset implies is the task
catalogue's choice (:func:`iql_jax.tasks.preset_name`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Literal

from iql_jax.config.agent import SHARED, AgentConfig
from iql_jax.config.sections import RewardTransformKind
from iql_jax.errors import ConfigError
from iql_jax.tasks import preset_name


@dataclass(frozen=True)
class Preset:
    """A named, cited hyperparameter set for one domain."""

    name: str
    agent: AgentConfig
    reward_transform: RewardTransformKind
    eval_episodes: int
    source: str


PRESETS: dict[str, Preset] = {
    "locomotion": Preset(
        "locomotion", dataclasses.replace(SHARED, expectile=0.7, beta=3.0), "locomotion", 10,
        "official configs/mujoco_config.py; paper Table 1 (Gym locomotion v2)"),
    "antmaze": Preset(
        "antmaze", dataclasses.replace(SHARED, expectile=0.9, beta=10.0), "antmaze", 100,
        "official configs/antmaze_config.py; paper Table 1 (AntMaze v0)"),
    "kitchen": Preset(
        "kitchen", dataclasses.replace(SHARED, expectile=0.7, beta=0.5, actor_dropout=0.1), "none", 10,
        "official configs/kitchen_config.py; paper Table 3 (Kitchen v0)"),
    "adroit": Preset(
        "adroit", dataclasses.replace(SHARED, expectile=0.7, beta=0.5, actor_dropout=0.1), "none", 10,
        "official README runs Adroit with configs/kitchen_config.py; paper Table 3 (Adroit v0)"),
    "antmaze-finetune": Preset(
        "antmaze-finetune",
        dataclasses.replace(SHARED, expectile=0.9, beta=10.0, actor_lr_schedule="constant"), "antmaze", 100,
        "official configs/antmaze_finetune_config.py; paper Table 2 (fine-tuning)"),
}
PresetName = Literal[tuple(PRESETS)]


def get_preset(name: str) -> Preset:
    """Look a preset up by name, with a clear error listing the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}") from None


def preset_for_domain(domain: str | None) -> Preset:
    """The preset implied by a dataset's domain (the task catalogue's choice); unknown domains get locomotion's."""
    return PRESETS[preset_name(domain)]
