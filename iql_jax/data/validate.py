"""Checking raw arrays and turning them into :class:`Transitions`: every loader ends here, so every source fails alike.

Each problem raises a :class:`DataError` naming the file, the field, what was expected and what was found.

Action-range policy. D4RL's own files hold actions a hair outside [-1, 1] (float noise after a tanh), and the official
IQL pipeline clips every action to ±(1 − 1e-5) so that a tanh-squashed policy's log-probability stays finite. So:

* ``max |a| <= 1 + ACTION_TOLERANCE`` (1e-3): accepted silently;
* ``max |a| <= ACTION_WARN_LIMIT`` (1.5): accepted with a :class:`DataWarning` naming the file and the count, because
  clipping then changes real data (e.g. exploration noise added after the policy's clip);
* beyond: a :class:`DataError`: such data are not scaled to the [-1, 1] box a tanh policy can reach (raw torques,
  un-normalised controls), and clipping would silently destroy them. Rescale the actions first.

Validation only checks the range; it never changes the actions. Training clips them to ±(1 − 1e-5), as the official
code, in one place (``runs.prepare.prepare``), unless ``data.clip_actions`` is off.
"""

from __future__ import annotations

import warnings
from typing import Mapping

import numpy as np

from iql_jax.data.transitions import Transitions, read_only
from iql_jax.errors import DataError

ACTION_TOLERANCE = 1e-3
ACTION_WARN_LIMIT = 1.5
_F32_MAX = float(np.finfo(np.float32).max)
CONTINUITY_THRESHOLD = 1e-6  # official ``dones_float``: ||obs[i+1] - next_obs[i]|| > 1e-6 starts a new trajectory
_FLOAT_FIELDS = ("observations", "actions", "rewards", "next_observations")
_FLAG_FIELDS = ("terminals", "timeouts", "episode_ends")
_MATRIX_SHAPES = {"observations": "(N, obs_dim)", "next_observations": "(N, obs_dim)", "actions": "(N, act_dim)"}


class DataWarning(UserWarning):
    """Data were accepted but changed (e.g. actions clipped from well outside [-1, 1])."""


def make_transitions(
    source: str,
    observations,
    actions,
    rewards,
    next_observations,
    terminals,
    timeouts,
    episode_ends=None,
    field_names: Mapping[str, str] | None = None,
) -> Transitions:
    """Check raw arrays and return read-only float32 :class:`Transitions` (actions range-checked, not clipped).

    Float32 C-contiguous inputs are frozen in place instead of copied (no second copy of a 1M-row dataset), so pass
    arrays the caller no longer needs to write.

    Args:
        source: the file or dataset the arrays came from; every error message starts with it.
        observations, actions, next_observations: ``(N, dim)`` numeric arrays.
        rewards, terminals, timeouts: ``(N,)`` or ``(N, 1)``; terminals and timeouts hold only 0 and 1.
        episode_ends: ``(N,)`` 0/1, or ``None`` to derive it with :func:`episode_ends_from`. The last row is always
            an end.
        field_names: how the source names our fields, for messages (Minari says ``terminations``).

    Returns:
        The validated :class:`Transitions`.

    Raises:
        DataError: non-numeric dtype, wrong shape, no rows, length mismatch, NaN/Inf, flags outside {0, 1}, or
            actions beyond ``ACTION_WARN_LIMIT``.
    """
    names = dict(field_names or {})
    raw = dict(observations=observations, actions=actions, rewards=rewards, next_observations=next_observations,
               terminals=terminals, timeouts=timeouts)
    if episode_ends is not None:
        raw["episode_ends"] = episode_ends
    arrays = {field: _checked_shape(source, names.get(field, field), field, np.asarray(value))
              for field, value in raw.items()}

    n = arrays["observations"].shape[0]
    if n == 0:
        raise DataError(source, names.get("observations", "observations"), "at least one transition", "0 rows")
    for field, array in arrays.items():
        if array.shape[0] != n:
            raise DataError(source, names.get(field, field), f"{n} rows (as many as observations)",
                            f"{array.shape[0]} rows")
    if arrays["next_observations"].shape[1] != arrays["observations"].shape[1]:
        raise DataError(source, names.get("next_observations", "next_observations"),
                        f"{arrays['observations'].shape[1]} columns (as observations)",
                        f"{arrays['next_observations'].shape[1]} columns")

    out = {}
    for field, array in arrays.items():
        if field in _FLOAT_FIELDS:
            check_float_values(source, names.get(field, field), array)
        converted = np.ascontiguousarray(array, dtype=np.float32)
        if field not in _FLOAT_FIELDS:
            check_flags(source, names.get(field, field), converted)
        out[field] = converted
    out["actions"] = _checked_actions(source, names.get("actions", "actions"), out["actions"])
    if "episode_ends" in out:
        ends = out["episode_ends"].copy()
        ends[-1] = 1.0
    else:
        ends = episode_ends_from(out["observations"], out["next_observations"], out["terminals"], out["timeouts"])
    out["episode_ends"] = ends
    return Transitions(**{field: read_only(value) for field, value in out.items()})


def episode_ends_from(observations, next_observations, terminals, timeouts=None) -> np.ndarray:
    """Trajectory boundaries: a terminal, a timeout, or ``next_observations[i]`` != ``observations[i + 1]``.

    The continuity test is the official ``dones_float`` (norm > 1e-6); it also finds the ends that D4RL's
    dropped timeout steps leave behind. The last row is always an end. Computed in chunks to bound memory.
    """
    n = len(terminals)
    ends = np.asarray(terminals, dtype=np.float32) > 0
    if timeouts is not None:
        ends = ends | (np.asarray(timeouts, dtype=np.float32) > 0)
    chunk = 1 << 18
    for start in range(0, n - 1, chunk):
        stop = min(start + chunk, n - 1)
        gap = np.linalg.norm(observations[start + 1:stop + 1] - next_observations[start:stop], axis=1)
        ends[start:stop] |= gap > CONTINUITY_THRESHOLD
    if n:
        ends[-1] = True
    return ends.astype(np.float32)


def _checked_shape(source: str, label: str, field: str, array: np.ndarray) -> np.ndarray:
    allowed = "biuf" if field in _FLAG_FIELDS else "iuf"
    if array.dtype.kind not in allowed:
        raise DataError(source, label, "a numeric array", f"dtype {array.dtype}")
    if field in _MATRIX_SHAPES:
        if array.ndim != 2:
            raise DataError(source, label, f"shape {_MATRIX_SHAPES[field]}", f"shape {array.shape}")
        return array
    if array.ndim == 2 and array.shape[1] == 1:  # D4RL squeezes (N, 1) rewards and flags
        return array[:, 0]
    if array.ndim != 1:
        raise DataError(source, label, "shape (N,) or (N, 1)", f"shape {array.shape}")
    return array


def check_float_values(source: str, label: str, array: np.ndarray, row_offset: int = 0) -> None:
    """Finite values that fit float32: a wider float beyond ±3.4e38 would become ±inf in the cast, silently.

    Row numbers in the message are ``row_offset`` + the row in ``array``, so a reader that checks the file's arrays
    before it selects or concatenates rows quotes the file's own rows.
    """
    if array.dtype.kind != "f" or array.size == 0:
        return
    wide = array.dtype.itemsize > 4
    if np.isfinite(array.sum(dtype=np.float64)) and not (wide and max(array.max(), -array.min()) > _F32_MAX):
        return  # one pass (two for wide floats), no temporary; the exact search runs only on failure
    rows = array.reshape(len(array), -1) if array.ndim else array.reshape(1, 1)
    finite = np.isfinite(rows)
    bad = ~finite.all(axis=1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(source, label, "finite values", f"{int(bad.sum())} rows with NaN/Inf (first: row "
                        f"{row + row_offset}, {rows[row][~finite[row]][0]!r})")
    over = (np.abs(rows) > _F32_MAX).any(axis=1)
    row = int(np.flatnonzero(over)[0])
    value = rows[row][np.abs(rows[row]) > _F32_MAX][0]
    raise DataError(source, label, f"values within float32's range (|x| <= {_F32_MAX:.4g})",
                    f"{float(value):.4g} at row {row + row_offset} ({int(over.sum())} rows overflow to inf when cast "
                    "to float32; rescale the data)")


def check_flags(source: str, label: str, array: np.ndarray, row_offset: int = 0) -> None:
    """Only 0 and 1 (terminals, timeouts, episode ends)."""
    bad = (array != 0) & (array != 1)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(source, label, "only 0 and 1", f"{array[row]!r} at row {row + row_offset} "
                        f"({int(bad.sum())} such rows)")


def _checked_actions(source: str, label: str, actions: np.ndarray) -> np.ndarray:
    largest = float(max(actions.max(), -actions.min()))
    if largest > ACTION_WARN_LIMIT:
        raise DataError(source, label, f"actions scaled to [-1, 1] (|a| <= {ACTION_WARN_LIMIT} is clipped)",
                        f"max |a| = {largest:.4g}; rescale the actions to the [-1, 1] box")
    if largest > 1.0 + ACTION_TOLERANCE:
        count = int(np.count_nonzero(np.abs(actions) > 1.0 + ACTION_TOLERANCE))
        warnings.warn(DataWarning(f"{source}: {label}: {count} values outside [-1, 1] (max |a| = {largest:.4g}); "
                                  "training clips them to ±(1 - 1e-5) unless data.clip_actions is off"),
                      stacklevel=3)
    return actions
