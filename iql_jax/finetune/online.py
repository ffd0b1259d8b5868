"""Online fine-tuning of a population: every member steps its own environment, then updates on offline + online data.

The procedure is the official one (``shared/reference/implementations.md`` §1.8, §8; paper Table 2): from the
offline-trained state, each online step samples an action at temperature 1 (a ~ N(μ(s), σ²), clipped to [−1, 1]),
steps the environment, stores the transition and runs one ``agent.update`` on a batch drawn uniformly from the
offline data plus this member's online transitions (:mod:`iql_jax.finetune.buffer`). Members (seeds ×
hyperparameter settings) are a ``vmap`` axis as in :mod:`iql_jax.engine`; each has its own environment, and all of
them are stepped together, so one compiled call per online step serves the whole population.

Stored transitions follow the data vocabulary: ``terminals`` = ``terminated``, so the mask is 0 only on a true
termination and stays 1 on a time limit (``truncated``), as the official ``TimeLimit.truncated`` check. Raw
rewards go through the run's :class:`~iql_jax.data.RewardTransform` once, on insertion; the offline data passed in
has already been through the same ``apply`` (so the AntMaze −1 happens once per row, in one function).

**Exact resume without simulator state.** MuJoCo state is not serialised. Instead every environment is reset at
each *segment boundary* (online steps that are multiples of ``segment_steps``, the run's checkpoint interval) and
at the start of every call, with a seed derived from ``(env_seed, member, online_step)``; the transition cut there
is an ordinary non-terminal one (mask 1, like a time limit). Within a segment, episode ends reset without a seed
(the environment's own generator continues). The first action of a segment always comes from the same compiled
program. So N + M steps in one call equal N steps, a checkpoint of :class:`FinetuneState` (a pytree:
``flax.serialization.to_bytes``) and M more steps, bit for bit, whenever N is a multiple of ``segment_steps``.
The cost: one cut episode per segment (e.g. 1 in 100 episodes for 1000-step episodes and 100k-step segments).

**Speed vs faithfulness.** ``updates_per_collect=K`` collects K steps with a fixed policy, then runs K updates in
one scanned call: fewer host-device round trips, but the policy lags up to K − 1 steps behind the official
one-step-one-update loop. K = 1 is the default.
"""

from __future__ import annotations

import time
from typing import Any, Iterator, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from iql_jax.agent import IQLState
from iql_jax.data.transforms import RewardTransform
from iql_jax.data.transitions import Transitions
from iql_jax.errors import ConfigError, EnvironmentMismatchError
from iql_jax.finetune import buffer as buffers
from iql_jax.finetune import programs
from iql_jax.finetune.buffer import OnlineBuffer


class FinetuneState(NamedTuple):
    """Everything an online run carries between calls and checkpoints (a pytree; save it with flax msgpack)."""

    states: IQLState  # the population, leading axis M
    buffer: OnlineBuffer  # per-member online rows, (M, capacity, ...)
    online_step: Any  # () int32: online steps done (each = one env step + one update per member)
    episodes: Any  # (M,) int32: episodes finished by termination or time limit (cut episodes not counted)
    env_seed: Any  # () int32: base of the environment reset seeds


def init_finetune(states: IQLState, *, capacity: int, env_seed: int = 0) -> FinetuneState:
    """Start online fine-tuning from an (offline-trained) population.

    Args:
        states: the population (e.g. restored from an offline checkpoint); its ``hyper`` is used as is, see
            :func:`constant_actor_lr`.
        capacity: online rows kept per member; the run's online steps for the official behaviour, less to cap
            memory (the oldest online rows are then overwritten; see :mod:`iql_jax.finetune.buffer`).
        env_seed: base seed of the environment resets (≥ 0).
    """
    if env_seed < 0:
        raise ConfigError(f"finetune: env_seed must be >= 0, found {env_seed}")
    m = int(states.step.shape[0])
    obs_dim, act_dim = int(states.obs_mean.shape[-1]), _act_dim(states)
    return FinetuneState(states, buffers.init_buffer(m, capacity, obs_dim, act_dim), jnp.zeros((), jnp.int32),
                         jnp.zeros((m,), jnp.int32), jnp.asarray(env_seed, jnp.int32))


def constant_actor_lr(states: IQLState, actor_lr: float | None = None) -> IQLState:
    """Switch every member's actor learning rate to a constant (``Hyper.actor_decay_steps = 0``).

    The official fine-tuning config uses a constant actor lr (the ``antmaze-finetune`` preset). After an offline
    run with the cosine schedule the lr jumps from ≈ 0 back to ``hyper.actor_lr`` (or ``actor_lr`` if given); the
    Adam moments and the update counters carry over unchanged, as they do in the official single-loop script.
    """
    h = states.hyper
    lr = h.actor_lr if actor_lr is None else jnp.full_like(h.actor_lr, actor_lr)
    return states.replace(hyper=h._replace(actor_decay_steps=jnp.zeros_like(h.actor_decay_steps), actor_lr=lr))


def _act_dim(states: IQLState) -> int:
    return int(states.actor.params["params"]["log_std"].shape[-1])


def _reset_seed(env_seed: int, member: int, step: int) -> int:
    return int(np.random.SeedSequence([env_seed, member, step]).generate_state(1)[0])


# ----------------------------------------------------------------------------------------------------------------
# The host loop.


def finetune_iter(fstate: FinetuneState, offline: Transitions, env_factory, steps: int, *,
                  reward_transform: RewardTransform, segment_steps: int, updates_per_collect: int = 1,
                  chunk_steps: int = 1000, temperature: float = 1.0,
                  progress: bool = False) -> Iterator[tuple[FinetuneState, dict]]:
    """Run ``steps`` online steps, yielding ``(fstate, metrics)`` after every chunk.

    Args:
        fstate: from :func:`init_finetune` or a checkpoint. Its arrays are donated: use only what is yielded.
        offline: the offline data from ``engine.device_data``, already through ``reward_transform``.
        env_factory: an ``EvalEnvSpec`` (anything with ``.make()``) or a zero-argument callable returning a
            gymnasium env with flat float observations and a Box action space; one env is built per member.
        steps: online steps to run (a multiple of ``updates_per_collect``).
        reward_transform: applied once to every raw online reward before it is stored.
        segment_steps: environments are reset (seeded) at every multiple of it; use the checkpoint interval.
        updates_per_collect: K: collect K steps, then run K updates in one call (1: the official loop).
        chunk_steps: about how many steps between yields; chunks also end at segment boundaries.
        temperature: scale of the policy's std when sampling actions (1, as the official code).
        progress: show a tqdm bar.

    Yields:
        The state after the chunk (valid until the generator is resumed: its arrays are donated to the next chunk,
        so checkpoint or copy it first) and the chunk's metrics: the update metrics of ``agent.update`` ``(M,)``
        (means over the chunk, maxima for ``*_max``); ``online/episodes`` ``(M,)`` episodes finished in the chunk;
        ``online/return`` and ``online/length`` ``(M,)``, means over them of the raw (untransformed) return and
        length, NaN where none finished; ``online/success`` ``(M,)`` when the env reports ``info["success"]``;
        ``online_step``; and host timings ``time/steps_per_s`` (online steps per wall second),
        ``time/env_steps_per_s`` (steps per second spent in env code) and ``time/updates_per_s`` (updates per
        second spent in device calls), all per member.
    """
    k, seg = int(updates_per_collect), int(segment_steps)
    if k < 1 or seg < 1 or steps < 0 or chunk_steps < 1:
        raise ConfigError("finetune: updates_per_collect, segment_steps and chunk_steps must be >= 1, steps >= 0")
    if steps % k or seg % k:
        raise ConfigError(f"finetune: steps ({steps}) and segment_steps ({seg}) must be multiples of "
                          f"updates_per_collect ({k})")
    if k > fstate.buffer.capacity:
        raise ConfigError(f"finetune: updates_per_collect ({k}) exceeds the buffer capacity "
                          f"({fstate.buffer.capacity})")
    states, buf = fstate.states, fstate.buffer
    m, obs_dim, act_dim = int(states.step.shape[0]), int(states.obs_mean.shape[-1]), _act_dim(states)
    if tuple(offline.observations.shape[1:]) != (obs_dim,) or tuple(offline.actions.shape[1:]) != (act_dim,):
        raise ConfigError(f"finetune: the offline data has observations {offline.observations.shape} and actions "
                          f"{offline.actions.shape}; the agent expects (N, {obs_dim}) and (N, {act_dim})")
    t, end = int(fstate.online_step), int(fstate.online_step) + int(steps)
    episodes, env_seed = np.array(fstate.episodes, np.int32), int(fstate.env_seed)
    single = m == 1
    iterate = programs.compiled_iteration(k, float(temperature), single)
    act_fn = programs.compiled_act(float(temperature), single)
    make = getattr(env_factory, "make", env_factory)
    envs = [make() for _ in range(m)]
    bar = tqdm(total=steps, disable=not progress, unit="step", dynamic_ncols=True)
    try:
        low, high = _check_spaces(envs[0], obs_dim, act_dim)
        stepper = [env.step for env in envs]

        def reset_all(step):
            return np.stack([np.asarray(env.reset(seed=_reset_seed(env_seed, i, step))[0], np.float32)
                             for i, env in enumerate(envs)])

        obs = reset_all(t)
        actions = np.asarray(act_fn(states, jnp.asarray(obs), np.int32(t)))
        ep_return, ep_length, ep_success = np.zeros(m), np.zeros(m, np.int64), [None] * m
        rows = np.zeros((m, k, 2 * obs_dim + act_dim + 2), np.float32)
        raw_rewards = np.zeros((m, k), np.float32)
        names = programs.metric_names(states, buf, offline)
        acc, chunk_start = programs.zero_metrics(names, m), t
        finished: list[list[tuple]] = [[] for _ in range(m)]
        t_chunk, env_s, device_s = time.perf_counter(), 0.0, 0.0
        while t < end:
            for j in range(k):
                if j > 0:  # the extra collection steps of updates_per_collect > 1 act with the same policy
                    t_dev = time.perf_counter()
                    actions = np.asarray(act_fn(states, jnp.asarray(obs), np.int32(t)))
                    device_s += time.perf_counter() - t_dev
                t_env = time.perf_counter()
                acts = np.clip(actions, low, high).astype(np.float32)
                for i in range(m):
                    next_obs, reward, terminated, truncated, info = stepper[i](acts[i])
                    next_obs = np.asarray(next_obs, np.float32)
                    rows[i, j, :obs_dim], rows[i, j, obs_dim:obs_dim + act_dim] = obs[i], acts[i]
                    rows[i, j, obs_dim + act_dim + 1:-1], rows[i, j, -1] = next_obs, float(terminated)
                    raw_rewards[i, j] = reward
                    ep_return[i] += float(reward)
                    ep_length[i] += 1
                    if (flag := info.get("success")) is not None:
                        ep_success[i] = bool(ep_success[i]) or bool(flag)
                    if terminated or truncated:
                        finished[i].append((ep_return[i], ep_length[i], ep_success[i]))
                        episodes[i] += 1
                        ep_return[i], ep_length[i], ep_success[i] = 0.0, 0, None
                        next_obs = np.asarray(envs[i].reset()[0], np.float32)
                    obs[i] = next_obs
                t += 1
                env_s += time.perf_counter() - t_env
            # The one place online rewards are transformed (the offline data went through the same `apply`).
            rows[:, :, obs_dim + act_dim] = reward_transform.apply(raw_rewards)
            boundary = t % seg == 0 and t < end
            if boundary:  # cut every episode; the cut transitions above keep mask 1
                obs = reset_all(t)
                ep_return[:], ep_length[:], ep_success = 0.0, 0, [None] * m
            t_dev = time.perf_counter()
            states, buf, acc, next_actions = iterate(states, buf, acc, jnp.asarray(rows), jnp.asarray(obs),
                                                     np.int32(t), offline)
            if boundary:  # the first action of a segment always comes from act_fn, as at the start of a call
                next_actions = act_fn(states, jnp.asarray(obs), np.int32(t))
            actions = np.asarray(next_actions)
            device_s += time.perf_counter() - t_dev
            bar.update(k)
            if t - chunk_start >= chunk_steps or t % seg == 0 or t == end:
                n, wall = t - chunk_start, time.perf_counter() - t_chunk
                fstate = FinetuneState(states, buf, jnp.asarray(t, jnp.int32), jnp.asarray(episodes),
                                       fstate.env_seed)
                metrics = _chunk_metrics(jax.device_get(acc), n, finished)
                metrics.update({"online_step": t, "time/steps_per_s": n / wall, "time/env_steps_per_s":
                                n / max(env_s, 1e-9), "time/updates_per_s": n / max(device_s, 1e-9)})
                yield fstate, metrics
                acc, chunk_start = programs.zero_metrics(names, m), t
                finished = [[] for _ in range(m)]
                t_chunk, env_s, device_s = time.perf_counter(), 0.0, 0.0
    finally:
        bar.close()
        for env in envs:
            env.close()


def finetune(fstate: FinetuneState, offline: Transitions, env_factory, steps: int, **kwargs
             ) -> tuple[FinetuneState, list[dict]]:
    """:func:`finetune_iter` run to the end: the final state and every chunk's metrics (same arguments)."""
    history = []
    for fstate, metrics in finetune_iter(fstate, offline, env_factory, steps, **kwargs):
        history.append(metrics)
    return fstate, history


def _chunk_metrics(acc: dict, num_steps: int, finished: list) -> dict:
    out = {k: (v if k.endswith("_max") else v / max(num_steps, 1)) for k, v in acc.items()}
    nan = float("nan")
    out["online/episodes"] = np.array([len(f) for f in finished], np.int32)
    out["online/return"] = np.array([np.mean([e[0] for e in f]) if f else nan for f in finished])
    out["online/length"] = np.array([np.mean([e[1] for e in f]) if f else nan for f in finished])
    if any(e[2] is not None for f in finished for e in f):
        out["online/success"] = np.array([np.mean([bool(e[2]) for e in f]) if f else nan for f in finished])
    return out


def _check_spaces(env, obs_dim: int, act_dim: int):
    obs_space, act_space = env.observation_space, env.action_space
    name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
    env_obs = int(np.prod(obs_space.shape)) if obs_space.shape else None
    env_act = int(np.prod(act_space.shape)) if getattr(act_space, "shape", None) else None
    if (env_obs, env_act) != (obs_dim, act_dim) or not hasattr(act_space, "low"):
        raise EnvironmentMismatchError(f"finetune: the agent has obs_dim={obs_dim}, act_dim={act_dim} but environment "
                                       f"{name} has observation space {obs_space} and action space {act_space}")
    return act_space.low.astype(np.float32), act_space.high.astype(np.float32)
