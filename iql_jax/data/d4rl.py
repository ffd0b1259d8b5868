"""D4RL HDF5 files, read with h5py alone (no ``d4rl``/``gym`` install), reproducing ``d4rl.qlearning_dataset``.

``qlearning_dataset`` walks rows i = 0 .. N-2 with ``next_observations[i] = observations[i + 1]`` (the stored
``next_observations`` key is not used); rows with ``timeouts[i]`` are dropped (their s' is the next episode's
first state); without ``timeouts`` the step counter's ``max_episode_steps - 1``-th row is dropped instead (the counter
restarts at 0 after a dropped row and at 1 after a terminal, exactly as D4RL counts). ``terminals`` are kept. Kept
rows have ``timeouts`` = 0. ``episode_ends`` follow the official ``dones_float`` (see ``validate.py``).

Nested groups (``infos/...``, ``metadata/...``) are skipped; :func:`read_hdf5_key` reads one on demand.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import h5py
import numpy as np

from iql_jax.data.hdf5_read import read_field
from iql_jax.data.limits import LoadBudget, check_declared_shape, check_links
from iql_jax.data.paths import check_regular_file
from iql_jax.data.transitions import Dataset, DatasetInfo
from iql_jax.data.validate import DataWarning, check_flags, check_float_values, make_transitions
from iql_jax.errors import ConfigError, DataError
from iql_jax.tasks import find_task_of

REQUIRED_KEYS = ("observations", "actions", "rewards", "terminals")
_SHAPES = {"observations": "(N, obs_dim)", "actions": "(N, act_dim)"}

def load_d4rl_hdf5(path, max_episode_steps: int | None = None, env_id: str | None = None) -> Dataset:
    """Load a D4RL-layout HDF5 file as ``d4rl.qlearning_dataset`` would, plus ``episode_ends``.

    Args:
        path: the ``.hdf5``/``.h5`` file.
        max_episode_steps: the environment's time limit; needed only when the file has no ``timeouts`` key (old
            datasets), where D4RL drops the last step of each ``max_episode_steps`` block. ``None`` takes it from
            ``env_id`` or, failing that, from the task catalogue's pairing of the file's name (with a warning).
        env_id: the paired gymnasium environment, whose time limit serves when ``max_episode_steps`` is ``None``.

    Returns:
        The :class:`Dataset`; ``info.name`` is the file stem, ``info.domain`` and the reference scores follow the
        file's ``env_name`` attribute if present, else its name.

    Raises:
        DataError: missing file, a directory, not HDF5, truncated/corrupt, a missing key, or any check of
            :func:`~iql_jax.data.validate.make_transitions`.
        ConfigError: ``max_episode_steps`` is not a positive integer.
    """
    path = Path(path).expanduser()
    source = str(path)
    if max_episode_steps is not None and (isinstance(max_episode_steps, bool) or int(max_episode_steps) < 1
                                          or int(max_episode_steps) != max_episode_steps):
        raise ConfigError(f"max_episode_steps: expected a positive integer, found {max_episode_steps!r}")
    _check_is_file(path)
    try:
        with h5py.File(path, "r") as f:
            env_name = _env_name(f, source)
            if max_episode_steps is None and not isinstance(f.get("timeouts"), h5py.Dataset):
                max_episode_steps = _paired_time_limit(source, env_id, env_name or path.stem)
            arrays = _read_qlearning(f, source, max_episode_steps)
    except OSError as e:  # h5py's answer to non-HDF5, truncated and corrupt files
        raise DataError(source, None, "a readable HDF5 file", f"{type(e).__name__}: {e}") from e
    # kept rows all have timeouts 0, so the derived ends are exactly the official dones_float
    transitions = make_transitions(source, **arrays)
    task = find_task_of(env_name, path.stem)
    ref_min, ref_max = (task.ref_scores if task and task.ref_scores else (None, None))
    info = DatasetInfo(name=path.stem, source=source, domain=task.domain if task else None,
                       ref_min_score=ref_min, ref_max_score=ref_max,
                       extra={"format": "d4rl-hdf5", **({"env_name": env_name} if env_name else {})})
    return Dataset(transitions, info)


def qlearning_rows(terminals, timeouts, max_episode_steps: int | None) -> np.ndarray:
    """Indices i in 0 .. N-2 that ``d4rl.qlearning_dataset`` keeps (``terminate_on_end=False``).

    Without ``timeouts`` this replays D4RL's step counter event by event (terminals and drops), not row by row.
    """
    n = len(terminals)
    keep = np.ones(max(n - 1, 0), dtype=bool)
    if timeouts is not None:
        keep &= ~np.asarray(timeouts[: n - 1], dtype=bool)
        return np.flatnonzero(keep)
    done_rows = np.flatnonzero(np.asarray(terminals[: n - 1], dtype=bool))
    row, counter = 0, 0  # D4RL's ``episode_step`` at ``row``
    while row < n - 1:
        # next row where the counter hits max_episode_steps - 1 (never, if a terminal restarted it above that)
        drop = row + (max_episode_steps - 1 - counter) if counter <= max_episode_steps - 1 else n
        next_done = np.searchsorted(done_rows, row)
        done = int(done_rows[next_done]) if next_done < len(done_rows) else n
        if drop < n - 1 and drop <= done:  # D4RL tests the drop before the terminal
            keep[drop] = False
            row, counter = drop + 1, 0
        elif done < n - 1:
            row, counter = done + 1, 1  # D4RL sets 0 on a terminal, then increments after appending the row
        else:
            break
    return np.flatnonzero(keep)


def read_hdf5_key(path, key: str) -> np.ndarray:
    """Read one dataset of an HDF5 file, nested ones included (``"infos/qpos"``, ``"metadata/algorithm"``).

    Raises:
        DataError: the file is missing or unreadable, or ``key`` is not a dataset in it (the message lists them).
    """
    path = Path(path).expanduser()
    _check_is_file(path)
    try:
        with h5py.File(path, "r") as f:
            node = f.get(key)
            if not isinstance(node, h5py.Dataset):
                names: list[str] = []
                f.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
                raise DataError(str(path), key, f"a dataset (available: {', '.join(names)})",
                                "a group" if node is not None else "no such key")
            return node[()]
    except OSError as e:
        raise DataError(str(path), key, "a readable HDF5 file", f"{type(e).__name__}: {e}") from e


def _check_is_file(path: Path) -> None:
    check_regular_file(path, what="an HDF5 file")  # a FIFO would block h5py.File forever, a link loop say "missing"


def _read_qlearning(f: h5py.File, source: str, max_episode_steps: int | None) -> dict:
    """Check the keys' shapes from metadata first (cheap), then read and select the kept rows in float32."""
    check_links(source, f)
    for key in REQUIRED_KEYS:
        if not isinstance(f.get(key), h5py.Dataset):
            top = ", ".join(k for k in f.keys() if isinstance(f[k], h5py.Dataset))
            raise DataError(source, key, f"a top-level dataset (found datasets: {top or 'none'})", "missing")
    has_timeouts = isinstance(f.get("timeouts"), h5py.Dataset)
    if not has_timeouts and max_episode_steps is None:
        raise DataError(source, "timeouts", "a timeouts dataset, or a time limit to find episode ends as "
                        "d4rl.qlearning_dataset does (--data.max-episode-steps N, or --env ID to pair an environment)",
                        "neither")
    n = f["observations"].shape[0] if f["observations"].ndim else 0
    vectors = ("rewards", "terminals") + (("timeouts",) if has_timeouts else ())
    budget = LoadBudget(source)
    for key in REQUIRED_KEYS + (("timeouts",) if has_timeouts else ()):
        dset = f[key]
        # observations: the stored array, its float32 copy, and the two row selections of it
        check_declared_shape(source, key, dset, budget, copies=4 if key == "observations" else 3)
        if dset.dtype.kind not in "biuf":
            raise DataError(source, key, "a numeric array", f"dtype {dset.dtype}")
        if dset.ndim == 0:
            raise DataError(source, key, f"shape {_SHAPES.get(key, '(N,) or (N, 1)')}", "shape () (a scalar)")
        if dset.shape[0] != n:
            raise DataError(source, key, f"{n} rows (as many as observations)", f"shape {dset.shape}")
    if n < 2:
        raise DataError(source, "observations", "at least 2 rows (qlearning_dataset pairs row i with i + 1)",
                        f"{n} rows")
    for key, shape in _SHAPES.items():
        if f[key].ndim != 2:
            raise DataError(source, key, f"shape {shape}", f"shape {f[key].shape}")
    for key in vectors:
        if f[key].ndim > 2 or (f[key].ndim == 2 and f[key].shape[1] != 1):
            raise DataError(source, key, "shape (N,) or (N, 1)", f"shape {f[key].shape}")

    terminals = _flags(f, "terminals", source)  # they select rows, so they must be clean flags first
    timeouts = _flags(f, "timeouts", source) if has_timeouts else None
    rows = qlearning_rows(terminals, timeouts, max_episode_steps)
    if not len(rows):
        dropped = "timeouts = 1" if has_timeouts else f"the time limit's ({max_episode_steps}) last steps"
        raise DataError(source, "timeouts" if has_timeouts else "observations", "at least one row that "
                        f"qlearning_dataset keeps (it drops the last row and rows with {dropped})",
                        f"all {n} rows dropped")
    observations = _floats(f, "observations", source)
    arrays = {
        "observations": observations[rows],
        "next_observations": observations[rows + 1],
        "actions": _floats(f, "actions", source)[rows],
        "rewards": _vector(f, "rewards", source)[rows],
        "terminals": terminals[rows],
        "timeouts": np.zeros(len(rows), dtype=np.float32),
    }
    return arrays


def _env_name(f: h5py.File, source: str) -> str | None:
    """The ``env_name`` attribute D4RL writes (a string), or ``None``; anything else is a hand edit to refuse."""
    env_name = f.attrs.get("env_name")
    if env_name is None:
        return None
    if isinstance(env_name, bytes):
        try:
            return env_name.decode()
        except UnicodeDecodeError:
            raise DataError(source, "env_name (attribute)", "a UTF-8 string naming the environment",
                            f"bytes {env_name[:40]!r}") from None
    if not isinstance(env_name, str):
        raise DataError(source, "env_name (attribute)", "a string naming the environment",
                        f"{type(env_name).__name__} {str(env_name)[:40]}")
    return env_name


def _paired_time_limit(source: str, env_id: str | None, name: str) -> int | None:
    """The time limit of ``env_id`` (registered) or of the catalogue task ``name`` pairs with; warns which one."""
    limit, origin = None, None
    if env_id is not None:
        import gymnasium as gym

        from iql_jax.registry import register_robotics

        register_robotics()
        limit = gym.spec(env_id).max_episode_steps if env_id in gym.registry else None
        origin = f"environment {env_id}"
    if limit is None and (task := find_task_of(name)) is not None and task.max_episode_steps:
        limit, origin = task.max_episode_steps, f"task {task.key!r} ({task.env_id})"
    if limit is not None:
        warnings.warn(DataWarning(f"{source}: no timeouts; episode ends every {limit} steps, the time limit of "
                                  f"{origin}, as d4rl.qlearning_dataset does"), stacklevel=4)
    return limit


def _flags(f: h5py.File, key: str, source: str) -> np.ndarray:
    values = _vector(f, key, source)
    check_flags(source, key, values)
    return values


def _vector(f: h5py.File, key: str, source: str) -> np.ndarray:
    """A 1-D float32 column, squeezing D4RL's (N, 1) layout."""
    data = _floats(f, key, source)
    return data[:, 0] if data.ndim == 2 and data.shape[1] == 1 else data


def _floats(f: h5py.File, key: str, source: str) -> np.ndarray:
    """``f[key]`` as float32, read intact (a corrupt chunk names its rows) and checked to fit float32 before the
    cast, which would turn 1e39 into inf silently."""
    data = read_field(source, key, f[key])
    check_float_values(source, key, data)
    return data.astype(np.float32, copy=False)
