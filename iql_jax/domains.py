"""Domain checks on command-line values: each value outside its domain is one ConfigError naming the option.

Kept apart from :mod:`iql_jax.config` so the dataclasses call one function each from ``__post_init__``. NaN passes
every ordered comparison's negation (``nan < 0`` is False), so each check says what is allowed, finiteness included.
"""

from __future__ import annotations

import math
from pathlib import PurePath

from iql_jax.data.memory import describe, memory_limit
from iql_jax.errors import ConfigError, shorten

MAX_NAME = 255  # NAME_MAX: the longest directory name Linux and macOS allow
MAX_STEPS = 2 ** 31 - 1  # JAX counts updates in int32 (Adam's step count, the learning-rate schedule)
MAX_SEED = 2 ** 32 - 1  # seeds reach JAX, NumPy and gymnasium, whose common range is uint32
MAX_EPISODES = 10_000  # evaluation runs one environment per episode at once
_F32_MAX = 3.4028234663852886e38  # hyperparameters are float32 in the compiled update: beyond this is inf


def check_agent(agent) -> None:
    """γ in [0, 1], τ in (0, 1), β ≥ 0, rates and learning rates in range, all finite; sizes ≥ 1. A None field is
    the preset's value, checked where the preset is written."""
    ranges = {"expectile": (0.0, 1.0, "a value in (0, 1)", True, True),
              "discount": (0.0, 1.0, "γ in [0, 1]", False, False),
              "polyak": (0.0, 1.0, "a rate in [0, 1]", False, False),
              "actor_dropout": (0.0, 1.0, "a rate in [0, 1)", False, True),
              "beta": (0.0, math.inf, "β ≥ 0", False, False),
              "max_exp_adv": (0.0, math.inf, "a finite value > 0", True, False),
              **{name: (0.0, math.inf, "a finite rate > 0", True, False)
                 for name in ("actor_lr", "critic_lr", "value_lr")}}
    for name in (*ranges, "log_std_min", "log_std_max"):
        value = getattr(agent, name)
        if value is not None and math.isfinite(value) and abs(value) > _F32_MAX:
            raise ConfigError(f"agent.{name}: expected a value float32 can hold (|x| ≤ {_F32_MAX:.4g}), "
                              f"found {value}")
    for name, (low, high, allowed, open_low, open_high) in ranges.items():
        value = getattr(agent, name)
        if value is not None:
            if name == "beta" and not math.isfinite(value):
                allowed = "a finite β ≥ 0"
            _range(f"agent.{name}", value, low, high, allowed, open_low, open_high)
    low, high = agent.log_std_min, agent.log_std_max
    for name, value in (("log_std_min", low), ("log_std_max", high)):
        if value is not None and not math.isfinite(value):
            raise ConfigError(f"agent.{name}: expected a finite number, found {value}")
    if low is not None and high is not None and not low < high:
        raise ConfigError(f"agent.log_std_min/max: expected min < max, found {low}, {high}")
    for name in ("num_critics", "batch_size"):
        if getattr(agent, name) is not None:
            _positive(f"agent.{name}", getattr(agent, name))
    dims = agent.hidden_dims
    if dims is not None and (not dims or any(isinstance(d, bool) or d < 1 for d in dims)):
        raise ConfigError(f"agent.hidden_dims: expected one or more layer sizes ≥ 1, found {dims}")


def check_data(data) -> None:
    """A dataset named, a generated size ≥ 1, a generator seed ≥ 0 and user reference returns in order."""
    if not str(data.dataset).strip():
        raise ConfigError("data.dataset: expected a dataset (a built-in name, Minari id, directory or .hdf5 file), "
                          "found an empty string")
    check_count("data.dataset_steps", data.dataset_steps, 1, MAX_STEPS)
    check_count("data.dataset_seed", data.dataset_seed, 0, MAX_SEED)
    check_count("data.max_episode_steps", data.max_episode_steps, 1, MAX_STEPS)
    if data.ref_scores is not None:
        low, high = data.ref_scores
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise ConfigError(f"data.ref_scores: expected two finite returns, random below expert, found {low} {high}")


def check_count(option: str, value, least: int, most: int | None = None) -> None:
    """An integer option (None: unset, allowed) is at least ``least`` and, where given, at most ``most`` (one of
    :data:`MAX_STEPS`, :data:`MAX_SEED`, :data:`MAX_EPISODES`, whose comments say why)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ConfigError(f"{option}: expected an integer ≥ {least}, found {value!r}")
    if most is not None and value > most:
        raise ConfigError(f"{option}: expected an integer in [{least}, {most:,}] ({_WHY[most]}), found {value:,}")


_WHY = {MAX_STEPS: "steps are counted in int32", MAX_SEED: "seeds are uint32",
        MAX_EPISODES: "one environment per episode"}


def check_share(option: str, value: float, positive: bool) -> None:
    """A resource share (CPUs, GPUs per job): finite, > 0 or ≥ 0."""
    if not (math.isfinite(value) and (value > 0 if positive else value >= 0)):
        raise ConfigError(f"{option}: expected a finite number {'>' if positive else '≥'} 0, found {value}")


def check_run(run) -> None:
    """Counts ≥ 1 (steps, seeds), a first seed ≥ 0, a non-empty --out, and a --name that stays inside it."""
    if run.seed < 0:
        raise ConfigError(f"run.seed: expected 0 or more, found {run.seed}")
    check_count("run.seed", run.seed, 0, MAX_SEED)
    check_count("run.steps", run.steps, 1, MAX_STEPS)
    check_count("run.eval_episodes", run.eval_episodes, 0, MAX_EPISODES)
    if not str(run.out).strip():
        raise ConfigError("run.out: expected a directory, found an empty string")
    if run.name is not None:
        check_run_name(run.name)


def check_run_name(name: str, option: str = "run.name", parent: str = "--out") -> None:
    """One plain directory name: not empty, no '/', '.' or '..', at most :data:`MAX_NAME` bytes."""
    if not name.strip():
        raise ConfigError(f"{option}: expected a directory name, found an empty string")
    if len(name.encode()) > MAX_NAME:
        raise ConfigError(f"{option}: expected at most {MAX_NAME} bytes (the file system's limit), found "
                          f"{len(name.encode()):,}: {shorten(name, 60)}")
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ConfigError(f"{option}: expected a directory name without control characters (newline, tab, ...), "
                          f"found {shorten(name, 80)!r}")
    if name in (".", "..") or len(PurePath(name).parts) != 1 or "/" in name or "\\" in name or "\0" in name:
        raise ConfigError(f"{option}: expected one directory name that stays inside {parent} (no '/', '.' or "
                          f"'..'), found {shorten(name, 80)!r}")


def _range(option, value, low, high, allowed, open_low=False, open_high=False) -> None:
    ok = math.isfinite(value) and (value > low if open_low else value >= low) \
        and (value < high if open_high else value <= high)
    if not ok:
        raise ConfigError(f"{option}: expected {allowed}, found {value}")


def _positive(option, value) -> None:
    if isinstance(value, bool) or value < 1:
        raise ConfigError(f"{option}: expected a positive integer, found {value}")


def population_bytes(agent, obs_dim: int, act_dim: int) -> int:
    """About the bytes one member takes while it trains: float32 parameters of the actor, the critics and V, Adam's
    two moments of each, the target critics, and one batch's activations forward and back."""
    def mlp(inputs: int, outputs: int) -> int:
        sizes = (inputs, *agent.hidden_dims, outputs)
        return sum(a * b + b for a, b in zip(sizes, sizes[1:]))
    actor = mlp(obs_dim, act_dim) + act_dim
    critics = agent.num_critics * mlp(obs_dim + act_dim, 1)
    value = mlp(obs_dim, 1)
    activations = 2 * agent.batch_size * sum(agent.hidden_dims) * (2 + agent.num_critics)
    return 4 * (3 * actor + 4 * critics + 3 * value + activations)


def check_population_memory(agent, obs_dim: int, act_dim: int, seeds: int, settings: int) -> None:
    """Refuse, before allocating, a population that cannot fit: members × :func:`population_bytes` against the
    least of the process's limits (:func:`~iql_jax.data.memory.memory_limit`) and the accelerator's memory."""
    members = seeds * settings
    need = members * population_bytes(agent, obs_dim, act_dim)
    room, where = _room()
    if need > room:
        raise ConfigError(
            f"--seeds {seeds}" + (f" × {settings} sweep settings" if settings > 1 else "") + f" = {members:,} "
            f"member(s) with --agent.hidden-dims {' '.join(map(str, agent.hidden_dims))}: training needs about "
            f"{need:,} bytes, {where}; use fewer seeds or settings, or smaller layers")


def check_buffer_memory(members: int, capacity: int, obs_dim: int, act_dim: int) -> None:
    """Refuse, before the run directory is made, an online buffer that cannot fit: members × capacity rows of
    float32 (s, a, r, s', terminal), against the same limits as :func:`check_population_memory`."""
    need = 4 * members * capacity * (2 * obs_dim + act_dim + 2)
    room, where = _room()
    if need > room:
        raise ConfigError(f"--capacity {capacity:,} (default: --online-steps) × {members:,} member(s): the online "
                          f"buffer needs about {need:,} bytes, {where}; use a smaller --capacity (the online "
                          "transitions kept per member) or fewer --online-steps")


def _room() -> tuple[int, str]:
    """The bytes a population or buffer may take, and where that limit comes from, in words: the least of the
    process's limits and the accelerator's memory."""
    limit = memory_limit()
    device = _device_bytes()
    if device is not None and device < limit.bytes:
        return device, f"at most {device:,} bytes: the accelerator's memory"
    return limit.bytes, describe(limit)


def _device_bytes() -> int | None:
    """The default accelerator's memory limit (None on CPU, where the process limits above apply)."""
    import jax

    device = jax.devices()[0]
    if device.platform == "cpu":
        return None
    try:
        return int((device.memory_stats() or {}).get("bytes_limit")) or None
    except Exception:  # noqa: BLE001 - a backend without memory_stats: no accelerator figure to check against
        return None
