"""Atomic, complete, pickle-free checkpoints.

A checkpoint is one msgpack file holding the whole population state (every network's params, the target critic,
the Adam states, the traced hyperparameters, the observation statistics, the step and the PRNG keys) written with
``flax.serialization``, plus a small JSON header (package version, step, config) inside the same file. It is
written to a temporary file in the same directory, flushed, fsync'd and moved into place with ``os.replace``, so a
crash at any moment leaves the previous checkpoint intact. Restoring needs a template state of the same structure,
built from the run's saved config.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import flax.serialization as serialization
import numpy as np
from flax.traverse_util import flatten_dict

from iql_jax.errors import IQLError
from iql_jax.runs.files import write_atomic


def write_checkpoint(path: str | Path, state: Any, header: dict) -> Path:
    """Write ``state`` and ``header`` to ``path`` atomically (a run's checkpoints:
    :func:`iql_jax.runs.rundir.save_checkpoint`).

    Args:
        state: any pytree flax can serialise (e.g. a population ``IQLState``, or a dict of them).
        header: JSON-ready metadata (version, step, config, …) stored in the same file.
    """
    payload = {"header": json.dumps(header), "state": serialization.to_state_dict(state)}
    return write_atomic(path, serialization.msgpack_serialize(payload))


def load_checkpoint(path: str | Path, template: Any, version: str | None = None) -> tuple[Any, dict]:
    """Restore a checkpoint into the structure of ``template``; warns if another package version wrote it.

    Raises:
        IQLError: the file is missing, truncated, or does not match the template.
    """
    raw = _read(path)
    header = json.loads(raw["header"])
    if version is not None and header.get("version") != version:
        warnings.warn(f"{path}: written by iql-jax {header.get('version')}, loading with {version}; "
                      "results may differ", stacklevel=2)
    check_against_template(path, template, raw["state"])
    try:
        state = serialization.from_state_dict(template, raw["state"])
    except (ValueError, KeyError, TypeError) as e:
        raise IQLError(f"{path}: the checkpoint does not match this run's configuration ({e})") from e
    return state, header


def check_against_template(path, template: Any, saved: Any) -> None:
    """Refuse a checkpoint whose tree, shapes or dtypes differ from the state the run's config builds.

    ``from_state_dict`` alone would accept arrays of any shape, and the mismatch would surface later as a flax or
    XLA traceback; the usual cause is an edited ``config.json`` (e.g. other ``hidden_dims``), so the message says so.
    """
    want = flatten_dict(serialization.to_state_dict(template), sep="/")
    have = flatten_dict(saved, sep="/") if isinstance(saved, dict) else {}
    problem = None
    if set(want) != set(have):
        missing, extra = sorted(set(want) - set(have)), sorted(set(have) - set(want))
        problem = (f"its tree differs ({len(missing)} entries missing, e.g. {missing[:1]}; {len(extra)} unexpected, "
                   f"e.g. {extra[:1]})")
    else:
        for key, expected in want.items():
            a, b = np.asarray(expected), np.asarray(have[key])
            if a.shape != b.shape or a.dtype != b.dtype:
                problem = f"{key}: expected {a.dtype}{list(a.shape)}, found {b.dtype}{list(b.shape)}"
                break
    if problem:
        raise IQLError(f"{path}: the checkpoint does not match the state the run's config.json describes ({problem})"
                       "; was config.json edited? Restore it, or start a new run")


def _read(path: str | Path) -> dict:
    path = Path(path)
    try:
        raw = serialization.msgpack_restore(path.read_bytes())
    except FileNotFoundError:
        raise IQLError(f"{path}: checkpoint not found") from None
    except Exception as e:  # msgpack raises several unrelated types on damaged bytes
        raise IQLError(f"{path}: not a readable iql-jax checkpoint ({type(e).__name__}: {e})") from e
    if not isinstance(raw, dict) or "header" not in raw or "state" not in raw:
        raise IQLError(f"{path}: not an iql-jax checkpoint (expected 'header' and 'state' entries)")
    return raw
