"""SIGTERM, SIGINT and SIGHUP stop a run at a clean point instead of wherever the signal lands.

A scheduler's SIGTERM (Slurm, Kubernetes, ``kill``) or a Ctrl-C would otherwise end the process in the middle of
a chunk, a log append or a checkpoint write. While :func:`stop_signals` is active the first signal only sets a
flag; the driver (:func:`iql_jax.runs.loop.drive`) finishes the chunk it is in, writes its logs and a checkpoint at
that step, and raises :class:`~iql_jax.errors.RunStopped`, so the run directory ends consistent and resumes
bit-exactly. A second signal stops at once (``KeyboardInterrupt``), for a user who cannot wait for the chunk.
SIGHUP (the terminal or ssh session closed) is caught only where it is not ignored: under ``nohup`` a run goes on.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from typing import Iterator

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class StopRequest:
    """The first stop signal received (None until one arrives)."""

    def __init__(self):
        self.signum: int | None = None

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name if self.signum is not None else ""

    def __call__(self, signum, frame) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum


@contextlib.contextmanager
def stop_signals() -> Iterator[StopRequest]:
    """Catch the stop signals for the duration (main thread only; elsewhere signals keep their handlers). A signal
    the process was told to ignore (``nohup``'s SIGHUP) stays ignored."""
    request = StopRequest()
    if threading.current_thread() is not threading.main_thread():
        yield request
        return
    previous = {s: signal.signal(s, request) for s in SIGNALS if signal.getsignal(s) is not signal.SIG_IGN}
    try:
        yield request
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
