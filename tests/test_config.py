"""Config: every preset equals the official table, and presets are applied in one place (TrainConfig.resolve)."""

from __future__ import annotations


import pytest

from iql_jax.config import PRESETS, AgentConfig, DataConfig, RunConfig, TrainConfig, config_from_dict, config_to_dict
from iql_jax.errors import ConfigError

# The official code's per-domain hyperparameters (ikostrikov/implicit_q_learning, commit 09d7002: configs/
# mujoco_config.py, antmaze_config.py, kitchen_config.py (its README runs Adroit with it too),
# antmaze_finetune_config.py), as the project's reference notes tabulate them, copied here so that the test needs
# nothing outside the repository.
OFFICIAL = {"locomotion": {"expectile": 0.7, "beta": 3.0, "actor_dropout": 0.0, "actor_lr_schedule": "cosine"},
            "antmaze": {"expectile": 0.9, "beta": 10.0, "actor_dropout": 0.0, "actor_lr_schedule": "cosine"},
            "kitchen": {"expectile": 0.7, "beta": 0.5, "actor_dropout": 0.1, "actor_lr_schedule": "cosine"},
            "adroit": {"expectile": 0.7, "beta": 0.5, "actor_dropout": 0.1, "actor_lr_schedule": "cosine"},
            "antmaze-finetune": {"expectile": 0.9, "beta": 10.0, "actor_dropout": 0.0,
                                 "actor_lr_schedule": "constant"}}


def test_every_preset_equals_the_official_table():
    assert set(OFFICIAL) == set(PRESETS)
    for name, want in OFFICIAL.items():
        agent = PRESETS[name].agent
        assert {k: getattr(agent, k) for k in want} == want, name
    # Common to all (the same notes): lr 3e-4 (x3), hidden (256, 256), discount 0.99, Polyak rate 0.005, batch 256,
    # exp-advantage clip 100, two critics.
    for p in PRESETS.values():
        a = p.agent
        assert (a.actor_lr, a.critic_lr, a.value_lr, a.hidden_dims, a.discount, a.polyak, a.batch_size,
                a.max_exp_adv, a.num_critics) == (3e-4, 3e-4, 3e-4, (256, 256), 0.99, 0.005, 256, 100.0, 2)
    assert {n: p.reward_transform for n, p in PRESETS.items()} == {
        "locomotion": "locomotion", "antmaze": "antmaze", "kitchen": "none", "adroit": "none",
        "antmaze-finetune": "antmaze"}


def test_a_named_preset_sets_the_agent_episodes_and_reward():
    config = TrainConfig(preset="antmaze").resolve("locomotion")  # the name wins over the domain
    assert (config.agent.expectile, config.agent.beta) == (0.9, 10.0)
    assert config.run.eval_episodes == 100 and config.data.reward_transform == "antmaze"
    assert config.preset == "antmaze" and config.resolved


@pytest.mark.parametrize("domain, preset, beta, dropout", [
    ("kitchen", "kitchen", 0.5, 0.1), ("maze", "antmaze", 10.0, 0.0), (None, "locomotion", 3.0, 0.0)])
def test_without_a_preset_the_domain_gives_the_agent_settings_too(domain, preset, beta, dropout):
    config = TrainConfig().resolve(domain)
    assert (config.preset, config.agent.beta, config.agent.actor_dropout) == (preset, beta, dropout)


def test_fields_that_differ_from_the_defaults_override_the_preset():
    config = TrainConfig(agent=AgentConfig(hidden_dims=(64, 64), beta=1.0), run=RunConfig(eval_episodes=3),
                         data=DataConfig(reward_transform="none"), preset="antmaze").resolve(None)
    assert (config.agent.hidden_dims, config.agent.beta, config.agent.expectile) == ((64, 64), 1.0, 0.9)
    assert config.run.eval_episodes == 3 and config.data.reward_transform == "none"


def test_explicit_fields_override_even_with_default_values():
    """A value the user gives is kept even when it equals the shared default (0.7 is locomotion's τ)."""
    config = TrainConfig(agent=AgentConfig(expectile=0.7), run=RunConfig(eval_episodes=10),
                         preset="antmaze").resolve(None)
    assert (config.agent.expectile, config.agent.beta, config.run.eval_episodes) == (0.7, 10.0, 10)
    assert TrainConfig(preset="antmaze").resolve(None).agent.expectile == 0.9  # not given: the preset's


def test_resolving_twice_changes_nothing_and_records_are_resolved():
    once = TrainConfig(agent=AgentConfig(expectile=0.7), preset="antmaze").resolve(None)
    assert once.agent.expectile == 0.7
    assert once.resolve("kitchen") == once
    assert config_from_dict(config_to_dict(once)) == once
    old = config_to_dict(once)
    del old["resolved"]  # a config.json written before the field existed
    assert config_from_dict(old).resolved

