"""What a run writes as it goes: ``metrics.jsonl`` (per chunk, per member) and ``eval.csv`` (per evaluation,
per member), plus optional TensorBoard / W&B mirrors that are off by default and never touch the network unless
asked.

Both files are append-only; on resume, rows past the checkpoint's step are dropped first, so a crash followed by a
resume leaves exactly the rows an uninterrupted run would have written. A half-written last line (a process killed
mid-append) is skipped by the readers and dropped, with a warning, on resume.
"""

from __future__ import annotations

import csv
import io
import json
import math
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from iql_jax.errors import IQLError
from iql_jax.runs.files import naming, write_atomic
from iql_jax.runs.rundir import EVAL_FILE, METRICS_FILE, TENSORBOARD_DIR
EVAL_COLUMNS = ("step", "member", "seed", "setting", "return", "normalized_score", "success", "episodes",
                "reference_env")
"""``reference_env``: the env the reference scores of ``normalized_score`` were measured in (blank without a score;
files written before it existed lack the column and still read)."""


def _num(x) -> float | None:
    x = float(x)
    return x if math.isfinite(x) else None


class RunLogger:
    """Writes metrics and evaluations of a population run; mirrors to TensorBoard / W&B if enabled."""

    def __init__(self, run_dir: Path, members: Sequence, tensorboard: bool = False, wandb: bool = False,
                 config: dict | None = None):
        self.run_dir, self.members = Path(run_dir), list(members)
        self._tb = self._wandb = None
        if tensorboard:
            from tensorboardX import SummaryWriter  # optional extra: pip install 'iql-jax[tensorboard]'
            import secrets

            # Event files are named by the second they open; a resume in the same second would overwrite the
            # earlier file's events, so each writer gets its own suffix.
            self._tb = SummaryWriter(str(self.run_dir / TENSORBOARD_DIR), filename_suffix=f".{secrets.token_hex(4)}")
        if wandb:
            import os

            import wandb as wandb_lib  # optional extra: pip install 'iql-jax[wandb]'
            os.environ.setdefault("WANDB_MODE", "offline")
            self._wandb = wandb_lib.init(dir=str(self.run_dir), config=config, name=self.run_dir.name)

    def truncate_after(self, step: int) -> None:
        """Drop rows written after ``step`` (the checkpoint a resume starts from), and a torn last line.

        A process killed while appending leaves a partial last line; it is dropped with a :class:`LogWarning`.
        Damage anywhere else is an :class:`IQLError` naming the file and line. Both files are rewritten atomically.
        """
        path = self.run_dir / METRICS_FILE
        if path.exists():
            keep = [ln for _, ln, row in _metrics_rows(path, warn=True) if row["step"] <= step]
            write_atomic(path, "".join(ln + "\n" for ln in keep))
        path = self.run_dir / EVAL_FILE
        if path.exists():
            rows = [r for r in _eval_rows(path, warn=True) if int(r["step"]) <= step]
            table = io.StringIO(newline="")
            writer = csv.DictWriter(table, fieldnames=EVAL_COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
            write_atomic(path, table.getvalue())

    def log_metrics(self, step: int, metrics: dict, extra: dict | None = None) -> None:
        """One JSON line per member: its chunk-averaged metrics plus ``extra`` (throughput, phase)."""
        host = {k: np.asarray(v) for k, v in metrics.items()}
        with naming(self.run_dir / METRICS_FILE), open(self.run_dir / METRICS_FILE, "a") as f:
            for m in self.members:
                row = {"step": int(step), "member": m.index, "seed": m.seed, **(extra or {})}
                row.update({k: _num(v[m.index]) for k, v in host.items()})
                f.write(json.dumps(row) + "\n")
        means = {k: float(v.mean()) for k, v in host.items()}
        means.update({k: v for k, v in (extra or {}).items() if isinstance(v, (int, float))})
        self._mirror(step, means)

    def log_eval(self, step: int, result, reference_env: str = "") -> list[dict]:
        """Rows of ``eval.csv`` for one :class:`~iql_jax.evaluation.EvalResult`; returns them. ``reference_env``
        names the env the references normalising the score belong to."""
        rows = []
        for m in self.members:
            rows.append({
                "step": int(step), "member": m.index, "seed": m.seed,
                "setting": m.setting,
                "return": float(result.mean_return[m.index]),
                "normalized_score": "" if result.normalized_score is None else float(
                    result.normalized_score[m.index]),
                "success": "" if result.success_rate is None else float(result.success_rate[m.index]),
                "episodes": int(result.returns.shape[1]),
                "reference_env": "" if result.normalized_score is None else reference_env,
            })
        self._write_eval_rows(rows, mode="a")
        agg = result.aggregate()
        self._mirror(step, {f"eval/{k}": v for k, v in agg.items()})
        return rows

    def start_eval_with(self, rows: Sequence[dict]) -> None:
        """Start ``eval.csv`` afresh with ``rows`` as :func:`read_eval` returns them (a fine-tuning run opens with
        its offline run's evaluations, so one file and one plot hold both phases)."""
        blank = lambda v: "" if v is None else v
        self._write_eval_rows([{**{k: r.get(k, "") for k in EVAL_COLUMNS},
                                "normalized_score": blank(r["normalized_score"]), "success": blank(r["success"])}
                               for r in rows], mode="w")

    def _write_eval_rows(self, rows, mode):
        path = self.run_dir / EVAL_FILE
        header = mode == "w" or not path.exists()
        with naming(path), open(path, mode, newline="") as f:
            writer = csv.DictWriter(f, fieldnames=EVAL_COLUMNS)
            if header:
                writer.writeheader()
            writer.writerows(rows)

    def _mirror(self, step: int, scalars: dict) -> None:
        if self._tb is not None:
            for k, v in scalars.items():
                self._tb.add_scalar(k, v, step)
        if self._wandb is not None:
            self._wandb.log(scalars, step=step)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
        if self._wandb is not None:
            self._wandb.finish()


def read_metrics(run_dir: Path) -> list[dict]:
    """``metrics.jsonl`` rows (a torn last line, from a killed process, is skipped)."""
    path = Path(run_dir) / METRICS_FILE
    return [row for _, _, row in _metrics_rows(path)] if path.exists() else []


def read_eval(run_dir: Path) -> list[dict]:
    """``eval.csv`` rows with numbers parsed (empty cells become None; a torn last line is skipped)."""
    path = Path(run_dir) / EVAL_FILE
    if not path.exists():
        return []
    parse = lambda v: None if v in ("", None) else float(v)
    return [{**r, "step": int(r["step"]), "member": int(r["member"]), "seed": int(r["seed"]),
             "return": parse(r["return"]), "normalized_score": parse(r["normalized_score"]),
             "success": parse(r["success"])} for r in _eval_rows(path)]


def last_logged_step(run_dir: Path) -> int:
    """The step of the newest complete ``metrics.jsonl`` row (0 before the first), read from the end of the file:
    cheap enough to poll while another process appends to it (a sweep's progress display does)."""
    try:
        with open(Path(run_dir) / METRICS_FILE, "rb") as f:
            size = f.seek(0, 2)
            f.seek(max(0, size - 65536))
            lines = f.read().split(b"\n")[:-1]  # the text after the last newline is a line still being written
    except OSError:
        return 0
    for line in reversed(lines):
        try:
            return int(json.loads(line)["step"])
        except (ValueError, KeyError, TypeError):  # the first piece may start mid-line
            continue
    return 0


class LogWarning(UserWarning):
    """A log line was dropped (the half-written last line of a process that was killed)."""


def complete_lines(path: Path, warn: bool = False) -> list[str]:
    """The lines of an append-only log that were written completely.

    Every row is written with its newline, so text after the last newline is the torn tail of a killed process.
    """
    try:
        text = path.read_text()
    except UnicodeDecodeError as e:
        raise IQLError(f"{path}: expected a UTF-8 text log, found undecodable bytes ({e})") from e
    lines = text.split("\n")
    if lines[-1] and warn:
        warnings.warn(LogWarning(f"{path}: dropped a half-written last line ({lines[-1][:40]!r}); the process "
                                 "that wrote it was stopped mid-write"), stacklevel=3)
    return [ln for ln in lines[:-1] if ln.strip()]


def _metrics_rows(path: Path, warn: bool = False):
    for number, line in enumerate(complete_lines(path, warn), 1):
        try:
            row = json.loads(line)
            int(row["step"])
        except (ValueError, KeyError, TypeError) as e:
            raise IQLError(f"{path}: line {number}: expected a JSON object with a 'step', found {line[:60]!r} "
                           f"({type(e).__name__}); remove the damaged line to continue") from None
        yield number, line, row


def _eval_rows(path: Path, warn: bool = False) -> list[dict]:
    lines = complete_lines(path, warn)
    if not lines:
        return []
    rows = list(csv.DictReader(lines))
    for number, row in enumerate(rows, 2):
        try:
            int(row["step"]), int(row["member"]), int(row["seed"]), float(row["return"] or "nan")
            if None in row or None in row.values():
                raise ValueError("wrong number of columns")
        except (ValueError, KeyError, TypeError) as e:
            raise IQLError(f"{path}: line {number}: expected the columns {', '.join(EVAL_COLUMNS)}, found "
                           f"{','.join(str(v) for v in row.values())[:60]!r} ({e}); remove the damaged line to "
                           "continue") from None
    return rows
