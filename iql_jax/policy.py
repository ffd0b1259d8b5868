"""One trained policy out of a run directory: for a notebook (:func:`load_policy`) and for the exporters.

A run trains a population (seeds × hyperparameter settings) as one stacked state; deployment wants one member's
deterministic policy: the mean action ``tanh(Dense(MLP(normalise(obs))))`` clipped to [−1, 1], the same function
``iql eval`` calls (:func:`iql_jax.act`). The observation normalisation (``obs_mean`` / ``obs_std`` of the agent
state) is part of that function, so callers feed the raw flat observation vector that evaluation feeds.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from iql_jax import agent, engine
from iql_jax.errors import RunError


@dataclass(frozen=True)
class LoadedMember:
    """One member of a run: its unstacked state and what the exporters record about it."""

    state: agent.IQLState
    member: engine.Member
    record: dict  # the run's config.json (``config`` rebuilt as a TrainConfig)
    step: int
    checkpoint: Path
    run_dir: Path

    @property
    def obs_dim(self) -> int:
        return int(self.state.obs_mean.shape[-1])

    @property
    def act_dim(self) -> int:
        return int(self.record["dataset"]["act_dim"])


def load_member(run_dir: str | Path, member: int = 0, checkpoint: str | Path | None = None) -> LoadedMember:
    """Member ``member`` of the run in ``run_dir`` at its newest checkpoint (or ``checkpoint``).

    Raises:
        RunError: ``run_dir`` has no checkpoint, or ``member`` is not one of the run's members.
        IQLError: ``run_dir`` is not a run directory, or the checkpoint is damaged.
    """
    from iql_jax.runs import checkpoint as ckpt
    from iql_jax.runs import load_run

    run_dir = Path(run_dir)
    if checkpoint is None:
        latest = ckpt.latest_checkpoint(run_dir)
        if latest is None and (run_dir / "config.json").is_file():
            raise RunError(f"{run_dir}: no checkpoint in {run_dir / ckpt.CHECKPOINT_DIR}; train the run first "
                           f"(or resume it with `iql train --resume {run_dir}`)")
        checkpoint = None if latest is None else latest[1]
    # A missing config.json is reported by load_run ("not a run directory").
    states, members, record, step = load_run(run_dir, checkpoint)
    if not isinstance(member, int) or not 0 <= member < len(members):
        choices = ", ".join(f"{m.index} ({m.label})" for m in members)
        raise RunError(f"{run_dir}: member {member} does not exist; expected one of {choices}")
    return LoadedMember(engine.member(states, member), members[member], record, step, Path(checkpoint), run_dir)


def policy_function(state: agent.IQLState) -> Callable:
    """The deterministic policy as a pure jax function ``(B, obs_dim) float32 → (B, act_dim) float32``.

    The parameters are closed over (they become constants of an exported program); it is :func:`iql_jax.act`
    without a key, so it is the function ``iql eval`` runs.
    """
    def policy(observations):
        return agent.act(state, observations)

    return policy


def load_policy(run_dir: str | Path, member: int = 0, checkpoint: str | Path | None = None) -> Callable:
    """A run's deterministic policy as a numpy-in, numpy-out callable.

    ``policy(obs)`` takes one flat observation ``(obs_dim,)`` or a batch ``(B, obs_dim)`` (any float dtype, as
    ``iql eval`` feeds them: normalisation is applied inside) and returns float32 actions of shape ``(act_dim,)``
    or ``(B, act_dim)`` in [−1, 1]. The compiled function is cached per batch shape.

    Args:
        run_dir: a run directory written by ``iql train``.
        member: index of the population member (``iql eval`` lists them; seed-major order).
        checkpoint: a checkpoint file; the run's newest by default.

    Raises:
        RunError: no checkpoint, or no such member (one line, for the CLI).
    """
    loaded = load_member(run_dir, member, checkpoint)
    fn = jax.jit(agent.act)
    state, obs_dim = loaded.state, loaded.obs_dim

    def policy(observations) -> np.ndarray:
        obs = np.asarray(observations, dtype=np.float32)
        if obs.shape[-1:] != (obs_dim,) or obs.ndim not in (1, 2):
            raise RunError(f"{run_dir}: the policy expects observations of shape ({obs_dim},) or (B, {obs_dim}), "
                           f"found {obs.shape}")
        return np.asarray(fn(state, jnp.asarray(obs)))

    policy.member = loaded.member  # what the callable is, for notebooks: label, seed, overrides
    policy.step = loaded.step
    return policy


def observation_layout(record: dict) -> list[str] | None:
    """The dict keys that make the flat observation, as the run's evaluation env records them (``None``: a plain
    Box observation, or a run without an evaluation env)."""
    env = record.get("eval_env") or {}
    layout = env.get("observation_layout")
    return list(layout) if layout else None
