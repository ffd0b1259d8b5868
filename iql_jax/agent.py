"""The IQL agent as a pytree and its update as a pure function.

One update, on one batch, in the official order (``shared/reference/iql-paper.md`` §1.4):

1. **V** vs the *target* critic: q̂ = minᵢ Q̂ᵢ(s, a); L_V = mean L₂^τ(q̂ − V(s)).
2. **Actor** with the target critic and the *new* V: w = min(exp(β·(q̂ − V_new(s))), 100); L_π = −mean(w·log π(a|s)).
3. **Q** through the new V: y = r + γ·(1 − terminal)·V_new(s′); L_Q = mean Σᵢ (Qᵢ(s, a) − y)².
4. **Polyak**: Q̂ ← polyak·Q + (1 − polyak)·Q̂.

Every number that may differ between members of a sweep (expectile, β, discount, polyak, learning rates) lives in
:class:`Hyper` inside the state, so ``jax.vmap`` over the state trains seeds *and* hyperparameter settings in one
compiled program. Learning rates are applied by hand after Adam's scaling, which keeps them traced.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import flax.struct as struct
import jax
import jax.numpy as jnp
import optax
from flax.training.train_state import TrainState

from iql_jax import losses
from iql_jax.config import STATIC_FIELDS, AgentConfig, NetworkConfig
from iql_jax.data.transitions import Transitions
from iql_jax.networks import CriticEnsemble, GaussianPolicy, StateValue, gaussian_log_prob


class Hyper(NamedTuple):
    """Traced hyperparameters (float32 scalars; a leading axis when vmapped)."""

    expectile: Any
    beta: Any
    discount: Any
    polyak: Any
    max_exp_adv: Any
    actor_lr: Any
    critic_lr: Any
    value_lr: Any
    actor_decay_steps: Any  # cosine horizon of the actor lr; 0 means a constant lr

    @classmethod
    def from_config(cls, config: AgentConfig, decay_steps: int) -> "Hyper":
        """The traced values of ``config`` (None fields filled as :meth:`AgentConfig.complete` does)."""
        config = config.complete()
        decay = decay_steps if config.actor_lr_schedule == "cosine" else 0
        values = {name: getattr(config, name) for name in SWEEPABLE}
        return cls(**{k: jnp.asarray(v, jnp.float32) for k, v in {**values, "actor_decay_steps": decay}.items()})


# The traced hyperparameters a user sets, and so may sweep. actor_decay_steps is derived: the cosine horizon, from
# actor_lr_schedule and the run's steps (a resume with a new --steps rewrites it for every member).
SWEEPABLE: tuple[str, ...] = tuple(name for name in Hyper._fields if name != "actor_decay_steps")


def _check_partition() -> None:
    """Every AgentConfig field is static (NetworkConfig) or traced (Hyper, the schedule as its horizon), never
    both and never neither: a new field must be placed, or it would silently not reach the update."""
    static, traced = set(STATIC_FIELDS), {*SWEEPABLE, "actor_lr_schedule"}
    fields = {f.name for f in dataclasses.fields(AgentConfig)}
    if static & traced or static | traced != fields:
        raise TypeError(f"AgentConfig fields not split into static and traced: both {sorted(static & traced)}, "
                        f"neither {sorted(fields - static - traced)}, unknown {sorted((static | traced) - fields)}")


_check_partition()


class IQLState(struct.PyTreeNode):
    """Everything one IQL learner owns: networks with their Adam states, target critic, statistics, step, key."""

    actor: TrainState
    critic: TrainState
    value: TrainState
    target_critic_params: Any
    hyper: Hyper
    obs_mean: jax.Array  # (obs_dim,) observation normalisation; zeros / ones when off
    obs_std: jax.Array
    step: jax.Array  # int32, updates done
    key: jax.Array  # PRNG key for batches and dropout
    network: NetworkConfig = struct.field(pytree_node=False)  # static only; per-member numbers live in `hyper`


def _train_state(module, params) -> TrainState:
    # Adam's scaling only: the (traced, possibly scheduled) learning rate is applied in `_apply_grads`.
    return TrainState.create(apply_fn=module.apply, params=params, tx=optax.scale_by_adam())


def init(config: AgentConfig | NetworkConfig, key, obs_dim: int, act_dim: int, *, decay_steps: int = 1_000_000,
         obs_mean=None, obs_std=None, hyper: Hyper | None = None) -> IQLState:
    """Create a fresh learner.

    Args:
        config: network sizes and default hyperparameters (an :class:`AgentConfig`), or only the network sizes
            (a :class:`NetworkConfig`, with ``hyper`` given); the state keeps only the network part.
        key: PRNG key; all randomness of the run derives from it.
        obs_dim, act_dim: dataset dimensions.
        decay_steps: horizon of the actor's cosine lr schedule (the run's number of updates).
        obs_mean, obs_std: optional observation normalisation statistics (identity when omitted).
        hyper: traced hyperparameters; defaults to ``Hyper.from_config(config, decay_steps)``.
    """
    network = config if isinstance(config, NetworkConfig) else config.network()
    if hyper is None and isinstance(config, NetworkConfig):
        raise TypeError("agent.init: a NetworkConfig holds no hyperparameters; pass hyper= (or an AgentConfig)")
    k_actor, k_critic, k_value, key = jax.random.split(key, 4)
    obs = jnp.zeros((1, obs_dim), jnp.float32)
    act = jnp.zeros((1, act_dim), jnp.float32)
    actor_mod, critic_mod, value_mod = _modules(network, act_dim)
    critic_params = critic_mod.init(k_critic, obs, act)
    return IQLState(
        actor=_train_state(actor_mod, actor_mod.init(k_actor, obs)),
        critic=_train_state(critic_mod, critic_params),
        value=_train_state(value_mod, value_mod.init(k_value, obs)),
        # Same values as the critic (the official code inits both from one key), in separate buffers.
        target_critic_params=jax.tree_util.tree_map(jnp.copy, critic_params),
        hyper=hyper if hyper is not None else Hyper.from_config(config, decay_steps),
        obs_mean=jnp.zeros(obs_dim, jnp.float32) if obs_mean is None else jnp.asarray(obs_mean, jnp.float32),
        obs_std=jnp.ones(obs_dim, jnp.float32) if obs_std is None else jnp.asarray(obs_std, jnp.float32),
        step=jnp.zeros((), jnp.int32),
        key=key,
        network=network,
    )


def _modules(config: NetworkConfig, act_dim: int):
    actor = GaussianPolicy(config.hidden_dims, act_dim, config.actor_dropout, config.log_std_min,
                           config.log_std_max)
    return actor, CriticEnsemble(config.hidden_dims, config.num_critics), StateValue(config.hidden_dims)


def actor_lr(hyper: Hyper, step):
    """lr_t = lr·½(1 + cos(π·min(t, T)/T)) for T = actor_decay_steps > 0, else the constant lr."""
    horizon = jnp.maximum(hyper.actor_decay_steps, 1.0)
    cosine = 0.5 * (1.0 + jnp.cos(jnp.pi * jnp.minimum(step, horizon) / horizon))
    return hyper.actor_lr * jnp.where(hyper.actor_decay_steps > 0, cosine, 1.0)


def _apply_grads(ts: TrainState, grads, lr) -> TrainState:
    updates, opt_state = ts.tx.update(grads, ts.opt_state, ts.params)
    params = jax.tree_util.tree_map(lambda p, u: p - lr * u, ts.params, updates)
    return ts.replace(step=ts.step + 1, params=params, opt_state=opt_state)


def normalize(state: IQLState, observations):
    """Apply the state's observation statistics (identity unless normalisation was requested)."""
    return (observations - state.obs_mean) / state.obs_std


def update(state: IQLState, batch: Transitions, key, *, grad_norms=True) -> tuple[IQLState, dict]:
    """One IQL update on ``batch`` (pure; ``key`` drives actor dropout). Returns the new state and metrics.

    ``grad_norms`` (a Python or traced bool) says whether the ``grad/*_norm`` metrics are computed; when false they
    are 0. Nothing else depends on it. They are pure bookkeeping (a full pass over every gradient, which XLA CPU
    splits into tiled reductions): issue 11 measured +9 % throughput on an idle CPU without them, so the engine asks
    for them on a chunk's last update only (a ``lax.cond`` on the scan index).
    """
    h = state.hyper
    obs, next_obs = normalize(state, batch.observations), normalize(state, batch.next_observations)
    target_q = state.critic.apply_fn(state.target_critic_params, obs, batch.actions).min(0)

    # 1. V against the target critic.
    def v_loss_fn(params):
        return losses.value_loss(state.value.apply_fn(params, obs), target_q, h.expectile)

    (_, v_info), v_grads = jax.value_and_grad(v_loss_fn, has_aux=True)(state.value.params)
    value = _apply_grads(state.value, v_grads, h.value_lr)

    # 2. Actor with the target critic and the new V. One forward pass gives V_new(s) and V_new(s') (for step 3).
    v_new, next_v = jnp.split(value.apply_fn(value.params, jnp.concatenate([obs, next_obs])), 2)
    adv = target_q - v_new
    weights = losses.awr_weights(adv, h.beta, h.max_exp_adv)

    def pi_loss_fn(params):
        mean, log_std = state.actor.apply_fn(params, obs, training=True, rngs={"dropout": key})
        return losses.actor_loss(gaussian_log_prob(mean, log_std, batch.actions), weights)

    (_, pi_info), pi_grads = jax.value_and_grad(pi_loss_fn, has_aux=True)(state.actor.params)
    lr_pi = actor_lr(h, state.step)
    actor = _apply_grads(state.actor, pi_grads, lr_pi)

    # 3. Q through the new V(s').
    target = losses.critic_target(batch.rewards, batch.masks, next_v, h.discount)

    def q_loss_fn(params):
        return losses.critic_loss(state.critic.apply_fn(params, obs, batch.actions), target)

    (_, q_info), q_grads = jax.value_and_grad(q_loss_fn, has_aux=True)(state.critic.params)
    critic = _apply_grads(state.critic, q_grads, h.critic_lr)

    # 4. Polyak averaging of the target critic, once per update.
    target_params = optax.incremental_update(critic.params, state.target_critic_params, h.polyak)

    metrics = {
        **v_info, **pi_info, **q_info,
        "actor/adv_mean": adv.mean(),
        "actor/weight_mean": weights.mean(),
        "actor/weight_max": weights.max(),
        "actor/lr": lr_pi,
    }
    zeros = (jnp.zeros((), jnp.float32),) * 3
    norms_of = lambda grads: tuple(optax.tree.norm(g) for g in grads)
    grads = (v_grads, pi_grads, q_grads)
    if isinstance(grad_norms, bool):
        norms = norms_of(grads) if grad_norms else zeros
    else:
        norms = jax.lax.cond(grad_norms, norms_of, lambda _: zeros, grads)
    metrics.update(zip(("grad/value_norm", "grad/actor_norm", "grad/critic_norm"), norms))
    new_state = state.replace(actor=actor, critic=critic, value=value, target_critic_params=target_params,
                              step=state.step + 1)
    return new_state, metrics


def act(state: IQLState, observations, key=None, temperature: float = 0.0):
    """Actions for raw ``observations`` ``(..., obs_dim)``: the mean when ``temperature`` is 0 (evaluation), else a
    sample from N(mean, (temperature·std)²) (online collection); always clipped to [−1, 1]. Dropout is off."""
    mean, log_std = state.actor.apply_fn(state.actor.params, normalize(state, observations))
    if key is None or temperature == 0.0:
        return jnp.clip(mean, -1.0, 1.0)
    noise = jax.random.normal(key, mean.shape) * jnp.exp(log_std) * temperature
    return jnp.clip(mean + noise, -1.0, 1.0)


def values(state: IQLState, observations, actions=None):
    """V(s) ``(B,)`` or, with ``actions``, the min over the critic heads Q(s, a) ``(B,)``; for analysis."""
    obs = normalize(state, observations)
    if actions is None:
        return state.value.apply_fn(state.value.params, obs)
    return state.critic.apply_fn(state.critic.params, obs, actions).min(0)
