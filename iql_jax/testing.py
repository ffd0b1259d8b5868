"""Hooks for tests and staged runs, kept out of the public signatures: stop a run early, or kill sweep jobs.

::

    with stopping_at(20):          # every run started or resumed inside stops after its checkpoint at step 20
        train(config)              # (of its phase: updates offline, online steps when fine-tuning)
    with crashing({"job": 100}):   # that sweep job dies after its checkpoint at step 100, as if killed
        run_sweep(config, datasets)

A stopped run is an ordinary unfinished run: resume it to go on. The experiments use ``stopping_at`` to split long
CPU runs over sessions.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Iterator, Mapping

_STOP: contextvars.ContextVar[int | None] = contextvars.ContextVar("iql_jax_stop_at", default=None)
_CRASH: contextvars.ContextVar[Mapping[str, int]] = contextvars.ContextVar("iql_jax_crash_at", default={})


@contextlib.contextmanager
def stopping_at(step: int | None) -> Iterator[None]:
    """Runs inside stop (after checkpointing) once their phase has done ``step`` steps; None: no stop."""
    token = _STOP.set(step)
    try:
        yield
    finally:
        _STOP.reset(token)


@contextlib.contextmanager
def crashing(jobs: Mapping[str, int]) -> Iterator[None]:
    """Sweep jobs named in ``jobs`` die right after their checkpoint at the step given: a Ray worker exits at once
    (no cleanup), an in-process job raises ``SimulatedKill`` (:mod:`iql_jax.sweeps.job`)."""
    token = _CRASH.set(dict(jobs))
    try:
        yield
    finally:
        _CRASH.reset(token)


def stop_step() -> int | None:
    """The step runs stop at here (:func:`stopping_at`), or None."""
    return _STOP.get()


def crash_step(job: str) -> int | None:
    """The step sweep job ``job`` dies at here (:func:`crashing`), or None."""
    return _CRASH.get().get(job)
