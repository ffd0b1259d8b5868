"""``--sweep`` and ``--sweep-list``: hyperparameter settings on the command line, shared by ``iql train`` and
``iql sweep``.

The options parse into exactly the ``sweep`` object the library takes (``runs.train(config, sweep=...)``,
:func:`iql_jax.sweeps.run_sweep`): a grid ``{name: [values]}`` or a list of settings ``[{name: value}]``, so the
command line adds no semantics of its own. Only the traced hyperparameters (:data:`iql_jax.agent.SWEEPABLE`) can
vary inside one compiled program; each value is checked with the same rule as the matching ``--agent`` option.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Annotated, Sequence

import tyro

from iql_jax.agent import SWEEPABLE
from iql_jax.config import AgentConfig
from iql_jax.errors import ConfigError

_SWEEP_HELP = (f"A grid axis NAME=V1,V2,... over a traced hyperparameter ({', '.join(SWEEPABLE)}). Repeat it for "
               "more axes: every combination trains with every seed, as one compiled program, e.g. --sweep "
               "expectile=0.7,0.9 --sweep beta=3,10 (4 settings).")


@dataclass(frozen=True)
class SweepOptions:
    """The sweep options (a mixin of the ``iql train`` and ``iql sweep`` argument classes)."""

    sweep: Annotated[tyro.conf.UseAppendAction[tuple[str, ...]], tyro.conf.arg(help=_SWEEP_HELP)] = ()
    sweep_list: tuple[str, ...] = ()
    """Explicit settings instead of a grid, one argument each, NAME=V[,NAME=V...], e.g. \
--sweep-list expectile=0.9,beta=10 expectile=0.7,beta=3 (2 settings)."""

    def settings(self, given: Sequence[str] = ()):
        """The library's ``sweep`` object for these options (None without any); see :func:`parse_sweep`."""
        return parse_sweep(self.sweep, self.sweep_list, given)


def parse_sweep(grid: Sequence[str] = (), listed: Sequence[str] = (), given: Sequence[str] = ()):
    """``--sweep`` axes or ``--sweep-list`` settings → ``{name: [values]}``, ``[{name: value}]`` or None.

    Args:
        grid: ``NAME=V1,V2,...`` strings, one per axis.
        listed: ``NAME=V[,NAME=V...]`` strings, one per setting.
        given: the preset fields the command line sets (dotted names); a swept hyperparameter may not also be
            given as its ``--agent`` option, which every member would silently ignore.

    Raises:
        ConfigError: one line naming the option, the bad name or value, and what is valid.
    """
    if grid and listed:
        raise ConfigError("--sweep and --sweep-list: give one (a grid, or a list of settings)")
    if grid:
        sweep = {}
        for text in grid:
            name, values = _split(text, "--sweep", "NAME=V1,V2,...")
            if name in sweep:
                raise ConfigError(f"--sweep {text}: {name} is already an axis of the grid; give its values once")
            values = [_value("--sweep", text, name, v) for v in values.split(",")]
            if len(set(values)) < len(values):
                raise ConfigError(f"--sweep {text}: a value is repeated; each setting is trained once")
            sweep[name] = values
    elif listed:
        sweep = []
        for text in listed:
            setting = {}
            for part in text.split(","):
                name, value = _split(part, "--sweep-list", "NAME=V[,NAME=V...]", text)
                if name in setting:
                    raise ConfigError(f"--sweep-list {text}: {name} is given twice in one setting")
                setting[name] = _value("--sweep-list", text, name, value)
            if setting in sweep:
                raise ConfigError(f"--sweep-list {text}: the same setting is listed twice")
            sweep.append(setting)
    else:
        return None
    names = sweep if isinstance(sweep, dict) else {k for s in sweep for k in s}
    clash = sorted(n for n in names if f"agent.{n}" in set(given))
    if clash:
        raise ConfigError(f"--agent.{clash[0].replace('_', '-')} and a sweep over {clash[0]}: give one (the sweep "
                          "sets it for every member)")
    return sweep


def _split(text: str, option: str, form: str, whole: str | None = None) -> tuple[str, str]:
    name, eq, values = text.partition("=")
    name = name.strip().replace("-", "_")
    if not eq or not name or not values:
        raise ConfigError(f"{option} {whole or text}: expected {form}, e.g. expectile=0.7")
    if name not in SWEEPABLE:
        raise ConfigError(f"{option} {whole or text}: {name!r} is not a traced hyperparameter; expected one of "
                          f"{', '.join(SWEEPABLE)}")
    return name, values


def _value(option: str, text: str, name: str, value: str) -> float:
    """One value, checked as ``--agent.NAME`` would be (AgentConfig's rules, e.g. expectile in (0, 1))."""
    try:
        number = float(value)
    except ValueError:
        raise ConfigError(f"{option} {text}: {name}: expected a number, found {value!r}") from None
    if not math.isfinite(number):
        raise ConfigError(f"{option} {text}: {name}: expected a finite number, found {value!r}")
    try:
        dataclasses.replace(AgentConfig(), **{name: number})
    except ConfigError as e:
        raise ConfigError(f"{option} {text}: {e}") from None
    return number
