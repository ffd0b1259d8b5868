"""Domain checks on command-line values: each value outside its domain is one ConfigError naming the option.

Kept apart from :mod:`iql_jax.config` so the dataclasses call one function each from ``__post_init__``. NaN passes
every ordered comparison's negation (``nan < 0`` is False), so each check says what is allowed, finiteness included.
"""

from __future__ import annotations

import math
from pathlib import PurePath

from iql_jax.errors import ConfigError, shorten

MAX_NAME = 255  # NAME_MAX: the longest directory name Linux and macOS allow


def check_agent(agent) -> None:
    """γ in [0, 1], τ in (0, 1), β ≥ 0, rates and learning rates in range, all finite; sizes ≥ 1."""
    _range("agent.expectile", agent.expectile, 0.0, 1.0, "a value in (0, 1)", open_low=True, open_high=True)
    _range("agent.discount", agent.discount, 0.0, 1.0, "γ in [0, 1]")
    _range("agent.polyak", agent.polyak, 0.0, 1.0, "a rate in [0, 1]")
    _range("agent.actor_dropout", agent.actor_dropout, 0.0, 1.0, "a rate in [0, 1)", open_high=True)
    _range("agent.beta", agent.beta, 0.0, math.inf, "β ≥ 0" if math.isfinite(agent.beta) else "a finite β ≥ 0")
    _range("agent.max_exp_adv", agent.max_exp_adv, 0.0, math.inf, "a finite value > 0", open_low=True)
    for name in ("actor_lr", "critic_lr", "value_lr"):
        _range(f"agent.{name}", getattr(agent, name), 0.0, math.inf, "a finite rate > 0", open_low=True)
    if not (math.isfinite(agent.log_std_min) and math.isfinite(agent.log_std_max)
            and agent.log_std_min < agent.log_std_max):
        raise ConfigError(f"agent.log_std_min/max: expected finite values with min < max, found "
                          f"{agent.log_std_min}, {agent.log_std_max}")
    for name in ("num_critics", "batch_size"):
        _positive(f"agent.{name}", getattr(agent, name))
    if not agent.hidden_dims or any(isinstance(d, bool) or d < 1 for d in agent.hidden_dims):
        raise ConfigError(f"agent.hidden_dims: expected one or more layer sizes ≥ 1, found {agent.hidden_dims}")


def check_run(run) -> None:
    """Counts ≥ 1 (steps, seeds), a first seed ≥ 0, a non-empty --out, and a --name that stays inside it."""
    if run.seed < 0:
        raise ConfigError(f"run.seed: expected 0 or more, found {run.seed}")
    if not str(run.out).strip():
        raise ConfigError("run.out: expected a directory, found an empty string")
    if run.name is not None:
        check_run_name(run.name)


def check_run_name(name: str) -> None:
    """One plain directory name: not empty, no '/', '.' or '..', at most :data:`MAX_NAME` bytes."""
    if not name.strip():
        raise ConfigError("run.name: expected a directory name, found an empty string")
    if len(name.encode()) > MAX_NAME:
        raise ConfigError(f"run.name: expected at most {MAX_NAME} bytes (the file system's limit), found "
                          f"{len(name.encode()):,}: {shorten(name, 60)}")
    if name in (".", "..") or len(PurePath(name).parts) != 1 or "/" in name or "\\" in name or "\0" in name:
        raise ConfigError(f"run.name: expected one directory name that stays inside --out (no '/', '.' or '..'), "
                          f"found {shorten(name, 80)!r}")


def _range(option, value, low, high, allowed, open_low=False, open_high=False) -> None:
    ok = math.isfinite(value) and (value > low if open_low else value >= low) \
        and (value < high if open_high else value <= high)
    if not ok:
        raise ConfigError(f"{option}: expected {allowed}, found {value}")


def _positive(option, value) -> None:
    if isinstance(value, bool) or value < 1:
        raise ConfigError(f"{option}: expected a positive integer, found {value}")
