"""A behaviour-training run directory: its files, and the one place that names them.

::

    RUN/behaviour.json          the BehaviourConfig, the package version, the environment's sizes
    RUN/curve.csv               one row per evaluation: returns (deterministic and stochastic), scores, α, losses
    RUN/curve.png               the learning curve
    RUN/policies/step_N.msgpack the actor at every evaluation (a policy file, :mod:`iql_jax.behaviour.policy`)
    RUN/checkpoints/step_N.msgpack  the whole SAC state, the newest two (resume)
    RUN/replay/rows_A_B.npy     the transitions of env steps [A, B), in order: the replay buffer, appended at
                                every checkpoint (medium-replay is a prefix of it)

Every whole file is written atomically (:func:`iql_jax.runs.files.write_atomic`): a kill leaves the old file or
the new one. The newest checkpoint is the commit point; on resume anything written after it is dropped.
"""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np

from iql_jax.errors import IQLError
from iql_jax.runs.files import write_atomic

RECORD = "behaviour.json"
CURVE, PLOT = "curve.csv", "curve.png"
POLICIES, REPLAY = "policies", "replay"
_POLICY = re.compile(r"^step_(\d+)\.msgpack$")
_SEGMENT = re.compile(r"^rows_(\d+)_(\d+)\.npy$")


def write_record(run_dir: Path, record: dict) -> None:
    write_atomic(Path(run_dir) / RECORD, json.dumps(record, indent=2, sort_keys=True))


def read_record(run_dir: Path) -> dict:
    path = Path(run_dir) / RECORD
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise IQLError(f"{run_dir}: not a behaviour run directory (no {RECORD})") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise IQLError(f"{path}: expected a JSON object, found unreadable text ({e})") from e
    if not isinstance(record, dict) or not isinstance(record.get("config"), dict):
        raise IQLError(f"{path}: expected a JSON object with a 'config' object")
    return record


def policy_path(run_dir: Path, step: int) -> Path:
    return Path(run_dir) / POLICIES / f"step_{step:010d}.msgpack"


def list_policies(run_dir: Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every evaluation's policy, oldest first."""
    folder = Path(run_dir) / POLICIES
    found = [(int(m.group(1)), p) for p in folder.glob("*.msgpack") if (m := _POLICY.match(p.name))]
    return sorted(found)


def write_curve(run_dir: Path, rows: list[dict]) -> None:
    """Rewrite ``curve.csv`` from ``rows`` (a few hundred at most, so a whole rewrite is cheap and atomic)."""
    if not rows:
        return
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(Path(run_dir) / CURVE, text.getvalue())


def read_curve(run_dir: Path) -> list[dict]:
    """The evaluation rows, numbers as floats (``step`` and ``episodes`` as ints); empty before the first one."""
    path = Path(run_dir) / CURVE
    if not path.is_file():
        return []
    rows = []
    for raw in csv.DictReader(path.read_text().splitlines()):
        try:
            row = {k: (float(v) if v not in ("", None) else float("nan")) for k, v in raw.items()}
        except ValueError as e:
            raise IQLError(f"{path}: row {len(rows) + 2}: expected numbers ({e})") from e
        row["step"], row["episodes"] = int(row["step"]), int(row["episodes"])
        rows.append(row)
    return rows


def save_segment(run_dir: Path, start: int, rows: np.ndarray) -> None:
    """Append the transitions of steps ``[start, start + len(rows))`` to the stored replay buffer."""
    if len(rows):
        buf = io.BytesIO()
        np.save(buf, np.asarray(rows, np.float32))
        write_atomic(Path(run_dir) / REPLAY / f"rows_{start:010d}_{start + len(rows):010d}.npy", buf.getvalue())


def load_rows(run_dir: Path, stop: int) -> np.ndarray:
    """The stored transitions of steps ``[0, stop)``, in order.

    Raises:
        IQLError: a gap or an unreadable segment (the message names it).
    """
    segments = sorted((int(m.group(1)), int(m.group(2)), p) for p in (Path(run_dir) / REPLAY).glob("*.npy")
                      if (m := _SEGMENT.match(p.name)))
    parts, at = [], 0
    for start, end, path in segments:
        if start >= stop:
            break
        if start != at:
            raise IQLError(f"{path}: replay segment starts at step {start}, expected {at}; the run's replay buffer "
                           "is incomplete")
        try:
            parts.append(np.load(path, allow_pickle=False)[:stop - start])
        except (OSError, ValueError) as e:
            raise IQLError(f"{path}: unreadable replay segment ({e})") from e
        at = end
    if at < stop:
        raise IQLError(f"{Path(run_dir) / REPLAY}: holds steps [0, {at}), expected [0, {stop})")
    return np.concatenate(parts) if parts else np.zeros((0, 0), np.float32)


def drop_after(run_dir: Path, step: int) -> None:
    """Delete what a killed process wrote after the checkpoint of ``step``: later segments and policies."""
    for path in (Path(run_dir) / REPLAY).glob("*.npy"):
        if (m := _SEGMENT.match(path.name)) and int(m.group(2)) > step:
            path.unlink()
    for s, path in list_policies(run_dir):
        if s > step:
            path.unlink()
