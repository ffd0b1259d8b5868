"""The IQL hyperparameters (:class:`AgentConfig`), the official values every preset starts from (:data:`SHARED`),
and the static part a state keeps (:class:`NetworkConfig`).

Kept apart from the run-level sections so the agent and the engine import only what shapes their programs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Literal

from iql_jax.domains import check_agent


@dataclass(frozen=True)
class AgentConfig:
    """IQL hyperparameters, named as in the paper (expectile τ, beta β, discount γ, polyak).

    Every field defaults to None, the preset's value (see :meth:`TrainConfig.resolve`); outside a run, the
    agent and the engine fill a None from :data:`SHARED` (:meth:`complete`)."""

    expectile: float | None = None
    """τ of the value loss L₂^τ(Q̂ − V): 0.5 is the mean (SARSA / one-step), → 1 approaches the in-data max."""
    beta: float | None = None
    """AWR inverse temperature β: weights exp(β·(Q̂ − V)); 0 is behaviour cloning, large is greedy."""
    max_exp_adv: float | None = None
    """Clip on the AWR weight exp(β·A) (the official code's 100)."""
    discount: float | None = None
    """γ in the critic target r + γ·(1 − terminal)·V(s′)."""
    polyak: float | None = None
    """Target-critic averaging rate: Q̂ ← polyak·Q + (1 − polyak)·Q̂, every update."""
    actor_lr: float | None = None
    """Adam learning rate of the policy (start value of the cosine schedule)."""
    critic_lr: float | None = None
    """Adam learning rate of the Q ensemble."""
    value_lr: float | None = None
    """Adam learning rate of V."""
    actor_lr_schedule: Literal["cosine", "constant"] | None = None
    """'cosine' decays the actor lr to 0 over the run's steps (offline); 'constant' for fine-tuning."""
    hidden_dims: tuple[int, ...] | None = None
    """Hidden layer sizes of every MLP (actor, critics, value)."""
    num_critics: int | None = None
    """Number of Q heads; the min over the target heads feeds V and the actor."""
    actor_dropout: float | None = None
    """Dropout after every hidden activation of the actor, training only (0.1 on Kitchen/Adroit)."""
    log_std_min: float | None = None
    """Lower clip of the policy's state-independent log-std."""
    log_std_max: float | None = None
    """Upper clip of the policy's state-independent log-std."""
    batch_size: int | None = None
    """Transitions per update, drawn uniformly with replacement."""

    def complete(self, base: "AgentConfig | None" = None) -> "AgentConfig":
        """This config with every None taken from ``base`` (a preset's agent; by default :data:`SHARED`)."""
        base = SHARED if base is None else base
        return dataclasses.replace(base, **{k: v for k, v in self.given().items()})

    def given(self) -> dict:
        """The fields set (not None), by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    def network(self) -> "NetworkConfig":
        """The static part: what shapes the networks and the compiled program (the rest is traced, see Hyper)."""
        full = self.complete()
        return NetworkConfig(**{name: getattr(full, name) for name in STATIC_FIELDS})

    def __post_init__(self):
        check_agent(self)


SHARED = AgentConfig(expectile=0.7, beta=3.0, max_exp_adv=100.0, discount=0.99, polyak=0.005, actor_lr=3e-4,
                     critic_lr=3e-4, value_lr=3e-4, actor_lr_schedule="cosine", hidden_dims=(256, 256), num_critics=2,
                     actor_dropout=0.0, log_std_min=-5.0, log_std_max=2.0, batch_size=256)
"""The official values every preset starts from (``implementations.md`` §1.5 "common to all"); the τ and β here
are the locomotion preset's."""

# The AgentConfig fields that shape the networks and the compiled program. Every other field is traced: a field of
# agent.Hyper, or actor_lr_schedule, which becomes Hyper.actor_decay_steps (agent.py checks the split is exhaustive).
STATIC_FIELDS = ("hidden_dims", "num_critics", "actor_dropout", "log_std_min", "log_std_max", "batch_size")
NetworkConfig = dataclasses.make_dataclass(
    "NetworkConfig", [(f.name, f.type, field(default=getattr(SHARED, f.name))) for f in dataclasses.fields(AgentConfig)
                      if f.name in STATIC_FIELDS], frozen=True)
NetworkConfig.__module__ = __name__
NetworkConfig.__doc__ = """The static settings an :class:`~iql_jax.agent.IQLState` carries (hashable; one compiled
program each): the :data:`STATIC_FIELDS` of :class:`AgentConfig`, documented there.

Only what fixes array shapes or the traced program lives here. Every number that may differ between members of a
population (expectile, β, discount, polyak, learning rates, the exp-advantage clip, the schedule horizon) is a traced
:class:`~iql_jax.agent.Hyper` value instead, so the state cannot hold a stale copy of it.
"""
