"""Run directories are owned: claimed atomically when created, locked while a process writes them.

Two ``iql train`` processes with the same ``--out`` and ``--name`` must not interleave their logs and checkpoints,
and a ``--resume`` must not start while the original process is still running. :func:`claim_dir` creates the
directory with a plain ``mkdir`` (which fails if it exists, so exactly one process wins) and at once takes the
:class:`RunLock`. The lock is ``fcntl.flock`` on ``<run>/.lock``: the kernel releases it when the process exits,
however it exits (SIGKILL included), so a crashed run never leaves a stale lock behind. The lock file holds the
owner's pid, which the refusal names.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path

from iql_jax.config import TrainConfig
from iql_jax.errors import IQLError
from iql_jax.runs.files import remove_stray_temporaries
from iql_jax.runs.rundir import CHECKPOINT_DIR, LOCK_FILE, dataset_stem


class RunLock:
    """An exclusive, non-blocking lock on a run directory for the life of this object (or the process)."""

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        path = self.run_dir / LOCK_FILE
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._fd)
            self._fd = None
            raise IQLError(f"{self.run_dir}: another iql process (pid {owner_pid(self.run_dir) or 'unknown'}) is "
                           "writing this run; wait for it to finish or stop it, then resume") from None
        os.ftruncate(self._fd, 0)
        os.write(self._fd, f"{os.getpid()}\n".encode())
        os.fsync(self._fd)
        removed = remove_stray_temporaries(self.run_dir, self.run_dir / CHECKPOINT_DIR)
        if removed:
            print(f"{self.run_dir}: removed {len(removed)} temporary file(s) a killed write left behind "
                  f"({', '.join(p.name for p in removed[:3])}{', ...' if len(removed) > 3 else ''})", file=sys.stderr)

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> "RunLock":
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def writer_pid(run_dir: str | Path) -> int | None:
    """The pid of another process that holds ``run_dir``'s lock (is writing it now), else None."""
    path = Path(run_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        pid = owner_pid(run_dir, wait=0)
        return None if pid == os.getpid() else (pid or -1)
    finally:
        os.close(fd)  # closing releases a shared lock taken here
    return None


def owner_pid(run_dir: str | Path, wait: float = 1.0) -> int | None:
    """The pid in the lock file; waits up to ``wait`` s for a just-started owner to write it."""
    deadline = time.monotonic() + wait
    while True:
        try:
            text = (Path(run_dir) / LOCK_FILE).read_text().strip()
        except OSError:
            text = ""
        if text.isdigit() or time.monotonic() >= deadline:
            return int(text) if text.isdigit() else None
        time.sleep(0.05)


def claim_dir(path: Path, numbered: bool = False, hint: str | None = None) -> tuple[Path, RunLock]:
    """Create ``path`` (it must not exist yet) and lock it; with ``numbered``, try ``path-2``, ``path-3``, …

    Returns:
        The directory actually created and its lock.

    Raises:
        IQLError: ``path`` exists (not ``numbered``): the message names the pid writing it, else gives ``hint``
            (by default: how to resume a training run).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    for attempt in range(1, 1000):
        candidate = path if attempt == 1 else path.with_name(f"{path.name}-{attempt}")
        try:
            candidate.mkdir()
        except FileExistsError:
            if numbered:
                continue
            deadline = time.monotonic() + 1.0  # a process that has just won the mkdir is about to lock
            while not (candidate / LOCK_FILE).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
            if (candidate / LOCK_FILE).exists():
                RunLock(candidate).release()  # raises, naming the pid, while the other process still runs
            hint = hint or f"resume it with `iql train --resume {candidate}` or choose another --run.name"
            raise IQLError(f"{candidate}: a run already exists here; {hint}") from None
        return candidate, RunLock(candidate)
    raise IQLError(f"{path}: 999 runs with this name already exist; choose another --run.name")


def new_run_dir(config: TrainConfig) -> tuple[Path, RunLock]:
    """Create and lock a training run's directory: ``--run.name`` exactly, else ``<dataset>-<preset>-<time>``
    (``-2``, ``-3``, … appended when another run took that name in the same second)."""
    if config.run.name:
        return claim_dir(Path(config.run.out) / config.run.name)
    name = "{}-{}-{}".format(dataset_stem(config.data.dataset), config.preset, time.strftime("%Y%m%d-%H%M%S"))
    return claim_dir(Path(config.run.out) / name, numbered=True)
