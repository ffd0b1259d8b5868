"""Soft Actor-Critic with automatic entropy tuning, the algorithm D4RL's behaviour policies were trained with.

One update on one batch, in Stable-Baselines3's order (Haarnoja et al. 2018, "SAC: Algorithms and Applications"):

1. **Temperature**: L_α = −mean(log α · (log π(ã|s) + H̄)), ã ~ π(s), H̄ = −|A| by default.
2. **Critics**: y = r + γ·(1 − terminal)·(minᵢ Q̂ᵢ(s′, a′) − α·log π(a′|s′)), a′ ~ π(s′);
   L_Q = mean Σᵢ (Qᵢ(s, a) − y)² (the sum over heads of rlkit and of :func:`iql_jax.losses.critic_loss`).
3. **Actor** against the *updated* critics: L_π = mean(α·log π(ã|s) − minᵢ Qᵢ(s, ã)).
4. **Polyak**: Q̂ ← polyak·Q + (1 − polyak)·Q̂.

α in steps 2–3 is the value before step 1's update, as in SB3. The state is a pytree and :func:`update` a pure
function, so the trainer fuses updates with ``lax.scan`` like the IQL engine. Networks: 256×256 ReLU MLPs, a
tanh-Gaussian actor with a state-dependent log-std (:class:`~iql_jax.networks.TanhGaussianActor`) and the IQL
critic ensemble; Adam 3e-4 everywhere, γ 0.99, polyak 0.005, batch 256: the rlkit/SB3 defaults D4RL used
(``shared/reference/behaviour-data.md`` §1.1).
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from typing import Any

import flax.struct as struct
import jax
import jax.numpy as jnp
import optax
from flax.training.train_state import TrainState

from iql_jax import losses
from iql_jax.data.transitions import Transitions
from iql_jax.errors import ConfigError
from iql_jax.networks import CriticEnsemble, TanhGaussianActor, tanh_gaussian_log_prob


@dataclass(frozen=True)
class SACConfig:
    """SAC hyperparameters (static: they shape the compiled update)."""

    hidden_dims: tuple[int, ...] = (256, 256)
    """Hidden layer sizes of the actor and of both critics."""
    batch_size: int = 256
    """Transitions per update, drawn uniformly from the replay buffer."""
    lr: float = 3e-4
    """Adam learning rate of the actor, the critics and the temperature."""
    discount: float = 0.99
    """γ of the critic target."""
    polyak: float = 0.005
    """Target-critic averaging rate, every update."""
    init_temperature: float = 1.0
    """α at the start (rlkit and SB3 start at 1)."""
    target_entropy: float | None = None
    """H̄ of the temperature loss; None means −(action dimensions), the usual heuristic."""

    def __post_init__(self):
        for name in ("lr", "discount", "polyak", "init_temperature", "target_entropy"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ConfigError(f"sac.{name}: expected a finite number, found {value}")
        if not self.hidden_dims or min(self.hidden_dims) < 1 or self.batch_size < 1:
            raise ConfigError(f"sac: expected hidden sizes and batch_size >= 1, found {self.hidden_dims}, "
                              f"{self.batch_size}")
        if not 0.0 <= self.discount <= 1.0 or not 0.0 < self.polyak <= 1.0:
            raise ConfigError(f"sac: expected discount in [0, 1] and polyak in (0, 1], found {self.discount}, "
                              f"{self.polyak}")
        if not self.lr > 0 or not self.init_temperature > 0:
            raise ConfigError(f"sac: expected lr > 0 and init_temperature > 0, found {self.lr}, "
                              f"{self.init_temperature}")


class SACState(struct.PyTreeNode):
    """One SAC learner: actor, critics and log α with their Adam states, the target critics, step and keys."""

    actor: TrainState
    critic: TrainState
    log_alpha: TrainState  # params: {"log_alpha": a scalar}
    target_critic_params: Any
    step: jax.Array  # int32, updates done
    key: jax.Array  # drives batches and the update's samples
    explore_key: jax.Array  # exploration actions: fold_in(explore_key, env step), so a resumed run acts the same
    config: SACConfig = struct.field(pytree_node=False)
    target_entropy: float = struct.field(pytree_node=False, default=0.0)


def modules(config: SACConfig, act_dim: int) -> tuple[TanhGaussianActor, CriticEnsemble]:
    return TanhGaussianActor(config.hidden_dims, act_dim), CriticEnsemble(config.hidden_dims, 2)


def init(config: SACConfig, key, obs_dim: int, act_dim: int) -> SACState:
    """A fresh learner; every random number of the run derives from ``key``."""
    k_actor, k_critic, k_explore, key = jax.random.split(key, 4)
    actor_mod, critic_mod = modules(config, act_dim)
    obs, act = jnp.zeros((1, obs_dim), jnp.float32), jnp.zeros((1, act_dim), jnp.float32)
    critic_params = critic_mod.init(k_critic, obs, act)
    log_alpha = jnp.log(jnp.asarray(config.init_temperature, jnp.float32))

    def train_state(apply_fn, params):  # an int32 step, as after an update, so checkpoints match their template
        return TrainState.create(apply_fn=apply_fn, params=params, tx=optax.adam(config.lr)).replace(
            step=jnp.zeros((), jnp.int32))

    return SACState(
        actor=train_state(actor_mod.apply, actor_mod.init(k_actor, obs)),
        critic=train_state(critic_mod.apply, critic_params),
        log_alpha=train_state(None, {"log_alpha": log_alpha}),
        target_critic_params=jax.tree_util.tree_map(jnp.copy, critic_params),
        step=jnp.zeros((), jnp.int32), key=key, explore_key=k_explore, config=config,
        target_entropy=float(-act_dim if config.target_entropy is None else config.target_entropy))


# ----------------------------------------------------------------------------------------------------------------
# The losses, as small functions of arrays (tested on hand values).


def soft_target(rewards, masks, next_q, next_log_prob, alpha, discount):
    """y = r + γ·mask·(Q̂(s′, a′) − α·log π(a′|s′)): the critic target with SAC's entropy term."""
    return losses.critic_target(rewards, masks, next_q - alpha * next_log_prob, discount)


def actor_loss(log_prob, q, alpha):
    """L_π = mean(α·log π(ã|s) − Q(s, ã)), ã sampled with the reparameterisation trick."""
    loss = (alpha * log_prob - q).mean()
    return loss, {"actor/loss": loss, "actor/entropy": -log_prob.mean()}


def temperature_loss(log_alpha, log_prob, target_entropy):
    """L_α = −mean(log α·(log π + H̄)): α grows when the entropy −log π falls below the target H̄."""
    loss = -(log_alpha * jax.lax.stop_gradient(log_prob + target_entropy)).mean()
    return loss, {"alpha/loss": loss, "alpha/value": jnp.exp(log_alpha)}


# ----------------------------------------------------------------------------------------------------------------
# Sampling and the update.


def sample_action(apply_fn, params, observations, key):
    """a = tanh(u), u ~ N(μ, σ²), with log π(a|s) → (actions ``(B, A)``, log-probs ``(B,)``)."""
    mean, log_std = apply_fn(params, observations)
    pre_tanh = mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape)
    return jnp.tanh(pre_tanh), tanh_gaussian_log_prob(mean, log_std, pre_tanh)


def _step(ts: TrainState, grads) -> TrainState:
    return ts.apply_gradients(grads=grads)


def update(state: SACState, batch: Transitions, key) -> tuple[SACState, dict]:
    """One SAC update on ``batch`` (pure). Returns the new state and its metrics."""
    cfg = state.config
    k_next, k_pi = jax.random.split(key)
    alpha = jnp.exp(state.log_alpha.params["log_alpha"])
    actor_apply, critic_apply = state.actor.apply_fn, state.critic.apply_fn

    # Critics, against the target critics and fresh next actions.
    next_actions, next_log_prob = sample_action(actor_apply, state.actor.params, batch.next_observations, k_next)
    next_q = critic_apply(state.target_critic_params, batch.next_observations, next_actions).min(0)
    target = soft_target(batch.rewards, batch.masks, next_q, next_log_prob, alpha, cfg.discount)
    q_grads, q_info = jax.grad(
        lambda p: losses.critic_loss(critic_apply(p, batch.observations, batch.actions), target), has_aux=True
    )(state.critic.params)
    critic = _step(state.critic, q_grads)

    # Actor, against the updated critics.
    def pi_loss_fn(params):
        actions, log_prob = sample_action(actor_apply, params, batch.observations, k_pi)
        q = critic_apply(critic.params, batch.observations, actions).min(0)
        loss, info = actor_loss(log_prob, q, alpha)
        return loss, (info, log_prob)

    pi_grads, (pi_info, log_prob) = jax.grad(pi_loss_fn, has_aux=True)(state.actor.params)
    actor = _step(state.actor, pi_grads)

    # Temperature, on the same samples' log-probabilities.
    a_grads, a_info = jax.grad(
        lambda p: temperature_loss(p["log_alpha"], log_prob, state.target_entropy), has_aux=True
    )(state.log_alpha.params)
    log_alpha = _step(state.log_alpha, a_grads)

    target_params = optax.incremental_update(critic.params, state.target_critic_params, cfg.polyak)
    metrics = {**q_info, **pi_info, **a_info}
    new_state = state.replace(actor=actor, critic=critic, log_alpha=log_alpha, target_critic_params=target_params,
                              step=state.step + 1)
    return new_state, metrics


def explore(state: SACState, observation, env_step, random: bool):
    """The action for env step ``env_step``: uniform in [−1, 1] during warm-up (``random``), else a policy sample.

    Its key is ``fold_in(explore_key, env_step)``, so the action depends only on the state, the observation and
    the step: a resumed run acts exactly as an uninterrupted one.
    """
    key = jax.random.fold_in(state.explore_key, env_step)
    act_dim = state.actor.params["params"]["mean"]["bias"].shape[-1]
    uniform = jax.random.uniform(key, (act_dim,), jnp.float32, -1.0, 1.0)
    sampled, _ = sample_action(state.actor.apply_fn, state.actor.params, observation[None], key)
    return jnp.where(random, uniform, sampled[0])
