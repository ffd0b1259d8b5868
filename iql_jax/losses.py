"""The IQL losses as small pure functions (Kostrikov, Nair & Levine, ICLR 2022).

Each takes arrays and hyperparameters and returns ``(loss, metrics)`` (or an array); ``agent.update`` composes
them in the official order V → actor → Q → Polyak.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp


def expectile_loss(diff, expectile):
    """Asymmetric squared loss L₂^τ(u) = |τ − 1(u < 0)| · u², elementwise.

    ``diff`` is u = Q̂(s, a) − V(s): when V is below Q (u > 0) the error weighs τ, above it 1 − τ, so the minimiser
    over V is the τ-expectile of Q̂ over dataset actions (the mean at τ = 0.5, towards the max as τ → 1).
    """
    weight = jnp.where(diff < 0, 1.0 - expectile, expectile)
    return weight * diff**2


def value_loss(v, target_q, expectile):
    """L_V = mean L₂^τ(Q̂(s, a) − V(s)), Q̂ the min over target heads (no gradient reaches Q)."""
    diff = jax.lax.stop_gradient(target_q) - v
    loss = expectile_loss(diff, expectile).mean()
    return loss, {"value/loss": loss, "value/mean": v.mean()}


def critic_target(rewards, masks, next_v, discount):
    """y = r + γ · mask · V(s′), mask = 1 − terminal: a timeout keeps bootstrapping."""
    return rewards + discount * masks * next_v


def critic_loss(qs, target):
    """L_Q = mean over the batch of Σ_heads (Q_i(s, a) − y)², the sum over heads as in the official code.

    ``qs`` is ``(num_critics, B)``, ``target`` ``(B,)`` and treated as a constant.
    """
    target = jax.lax.stop_gradient(target)
    loss = ((qs - target) ** 2).sum(0).mean()
    return loss, {"critic/loss": loss, "critic/q_mean": qs.mean(), "critic/target_mean": target.mean()}


def awr_weights(advantages, beta, max_exp_adv):
    """AWR weights min(exp(β · A), max_exp_adv); β = 0 gives uniform weights (behaviour cloning)."""
    return jnp.minimum(jnp.exp(beta * jax.lax.stop_gradient(advantages)), max_exp_adv)


def actor_loss(log_probs, weights):
    """L_π = −mean(w · log π(a | s)): advantage-weighted regression onto dataset actions."""
    loss = -(jax.lax.stop_gradient(weights) * log_probs).mean()
    return loss, {"actor/loss": loss, "actor/log_prob_mean": log_probs.mean()}
