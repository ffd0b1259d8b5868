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

from iql_jax import engine
from iql_jax.agent import IQLState
from iql_jax.data.transforms import RewardTransform
from iql_jax.data.transitions import Transitions
from iql_jax.engine import Chunk
from iql_jax.errors import ConfigError
from iql_jax.evaluation import check_dimensions, step_success
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


class _Members:
    """One environment per member, stepped together: the collected rows, episode bookkeeping and seeded resets."""

    def __init__(self, env_factory, m: int, obs_dim: int, act_dim: int, env_seed: int):
        make = getattr(env_factory, "make", env_factory)
        self.obs_dim, self.act_dim, self.env_seed = obs_dim, act_dim, env_seed
        self.envs = [make() for _ in range(m)]
        try:
            check_dimensions(self.envs[0], obs_dim, act_dim, "finetune")  # the agent's sizes against the env's
        except BaseException:
            self.close()
            raise
        space = self.envs[0].action_space
        self.low, self.high = space.low.astype(np.float32), space.high.astype(np.float32)
        self.cut()
        self.finished: list[list[tuple]] = [[] for _ in range(m)]

    def reset_all(self, step: int) -> np.ndarray:
        """Reset every env with the seed of ``(env_seed, member, step)``."""
        return np.stack([np.asarray(env.reset(seed=_reset_seed(self.env_seed, i, step))[0], np.float32)
                         for i, env in enumerate(self.envs)])

    def cut(self) -> None:
        """Forget the running episodes (a segment boundary resets every env)."""
        m = len(self.envs)
        self.returns, self.lengths, self.success = np.zeros(m), np.zeros(m, np.int64), [None] * m

    def step(self, obs: np.ndarray, actions: np.ndarray, rows: np.ndarray, rewards: np.ndarray, j: int) -> None:
        """Step every env once: row ``j`` of ``rows`` (its raw reward into ``rewards``) and ``obs`` in place; an
        episode that ends (a termination or a time limit) is recorded and its env reset without a seed."""
        o, a = self.obs_dim, self.act_dim
        acts = np.clip(actions, self.low, self.high).astype(np.float32)
        for i, env in enumerate(self.envs):
            next_obs, reward, terminated, truncated, info = env.step(acts[i])
            next_obs = np.asarray(next_obs, np.float32)
            rows[i, j, :o], rows[i, j, o:o + a] = obs[i], acts[i]
            rows[i, j, o + a + 1:-1], rows[i, j, -1] = next_obs, float(terminated)
            rewards[i, j] = reward
            self.returns[i] += float(reward)
            self.lengths[i] += 1
            if (flag := step_success(info)) is not None:
                self.success[i] = bool(self.success[i]) or flag
            if terminated or truncated:
                self.finished[i].append((self.returns[i], self.lengths[i], self.success[i]))
                self.returns[i], self.lengths[i], self.success[i] = 0.0, 0, None
                next_obs = np.asarray(env.reset()[0], np.float32)
            obs[i] = next_obs

    def episode_stats(self) -> dict:
        """``online/*`` of the episodes finished since the last call (raw returns; NaN where none finished)."""
        f, nan = self.finished, float("nan")
        out = {"online/episodes": np.array([len(e) for e in f], np.int32),
               "online/return": np.array([np.mean([x[0] for x in e]) if e else nan for e in f]),
               "online/length": np.array([np.mean([x[1] for x in e]) if e else nan for e in f])}
        if any(x[2] is not None for e in f for x in e):
            out["online/success"] = np.array([np.mean([bool(x[2]) for x in e]) if e else nan for e in f])
        self.finished = [[] for _ in f]
        return out

    def close(self) -> None:
        for env in self.envs:
            env.close()


def finetune_iter(fstate: FinetuneState, offline: Transitions, env_factory, steps: int, *,
                  reward_transform: RewardTransform, segment_steps: int, updates_per_collect: int = 1,
                  chunk_steps: int = 1000, temperature: float = 1.0) -> Iterator[Chunk]:
    """Run ``steps`` online steps, yielding a :class:`~iql_jax.engine.Chunk` after every chunk of them.

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

    Yields:
        Chunks whose ``step`` is the online step, ``carry`` the :class:`FinetuneState` (valid until the generator
        is resumed: its arrays are donated to the next chunk, so checkpoint or copy it first), ``metrics`` the
        update metrics of ``agent.update`` ``(M,)`` (:func:`iql_jax.engine.chunk_metrics`), ``observed``
        ``online/episodes`` ``(M,)`` episodes finished in the chunk, ``online/return`` and ``online/length``
        ``(M,)``, means over them of the raw (untransformed) return and length, NaN where none finished, and
        ``online/success`` ``(M,)`` when the env reports success; ``timing`` ``time/steps_per_s`` (online steps per
        wall second), ``time/env_steps_per_s`` (steps per second spent in env code) and ``time/updates_per_s``
        (updates per second spent in device calls), all per member.
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
    episodes = np.array(fstate.episodes, np.int32)
    iterate = programs.compiled_iteration(k, float(temperature), m == 1)
    act_fn = programs.compiled_act(float(temperature), m == 1)
    envs = _Members(env_factory, m, obs_dim, act_dim, int(fstate.env_seed))
    try:
        obs = envs.reset_all(t)
        actions = np.asarray(act_fn(states, jnp.asarray(obs), np.int32(t)))
        rows = np.zeros((m, k, 2 * obs_dim + act_dim + 2), np.float32)
        raw_rewards = np.zeros((m, k), np.float32)
        names = programs.metric_names(states, buf, offline)
        acc, chunk_start = engine.metric_totals(names, (m,)), t
        t_chunk, env_s, device_s = time.perf_counter(), 0.0, 0.0
        while t < end:
            for j in range(k):
                if j > 0:  # the extra collection steps of updates_per_collect > 1 act with the same policy
                    t_dev = time.perf_counter()
                    actions = np.asarray(act_fn(states, jnp.asarray(obs), np.int32(t)))
                    device_s += time.perf_counter() - t_dev
                t_env = time.perf_counter()
                envs.step(obs, actions, rows, raw_rewards, j)
                t += 1
                env_s += time.perf_counter() - t_env
            # The one place online rewards are transformed (the offline data went through the same `apply`).
            rows[:, :, obs_dim + act_dim] = reward_transform.apply(raw_rewards)
            boundary = t % seg == 0 and t < end
            if boundary:  # cut every episode; the cut transitions above keep mask 1
                obs = envs.reset_all(t)
                envs.cut()
            t_dev = time.perf_counter()
            states, buf, acc, next_actions = iterate(states, buf, acc, jnp.asarray(rows), jnp.asarray(obs),
                                                     np.int32(t), offline)
            if boundary:  # the first action of a segment always comes from act_fn, as at the start of a call
                next_actions = act_fn(states, jnp.asarray(obs), np.int32(t))
            actions = np.asarray(next_actions)
            device_s += time.perf_counter() - t_dev
            if t - chunk_start >= chunk_steps or t % seg == 0 or t == end:
                n, wall = t - chunk_start, time.perf_counter() - t_chunk
                observed = envs.episode_stats()
                episodes += observed["online/episodes"]
                carry = FinetuneState(states, buf, jnp.asarray(t, jnp.int32), jnp.asarray(episodes), fstate.env_seed)
                yield Chunk(t, states, engine.chunk_metrics(jax.device_get(acc), n), observed,
                            {"time/steps_per_s": n / wall, "time/env_steps_per_s": n / max(env_s, 1e-9),
                             "time/updates_per_s": n / max(device_s, 1e-9)}, carry)
                acc, chunk_start = engine.metric_totals(names, (m,)), t
                t_chunk, env_s, device_s = time.perf_counter(), 0.0, 0.0
    finally:
        envs.close()


def finetune(fstate: FinetuneState, offline: Transitions, env_factory, steps: int, **kwargs
             ) -> tuple[FinetuneState, list[Chunk]]:
    """:func:`finetune_iter` run to the end: the final state and every chunk (same arguments)."""
    history = []
    for chunk in finetune_iter(fstate, offline, env_factory, steps, **kwargs):
        fstate = chunk.carry
        history.append(chunk)
    return fstate, history
