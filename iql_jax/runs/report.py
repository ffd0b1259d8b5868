"""Results tables across runs in the form of the paper's Table 1: last and best score, mean ± 95 % interval over
seeds, one row per run (and hyperparameter setting), and total rows per method (preset and setting) over
datasets."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from pathlib import Path
from typing import Sequence

from iql_jax.runs.files import write_atomic
from iql_jax.runs.logs import read_eval
from iql_jax.runs.rundir import CONFIG_FILE, RunRecord
from iql_jax.runs.stats import last_and_best, mean_ci95, scale_words, score_key

COLUMNS = ("run", "dataset", "preset", "setting", "seeds", "steps", "score", "last_mean", "last_ci95", "best_mean",
           "best_ci95", "references")
"""``references``: the env the reference scores of a normalised score were measured in, or why there is none."""


def table_rows(run_dirs: Sequence[str | Path]) -> list[dict]:
    """One row per run and setting; numbers straight from each run's ``eval.csv``."""
    rows = []
    for run_dir in map(Path, run_dirs):
        evals = read_eval(run_dir)
        if not evals:
            continue
        record = RunRecord.read(run_dir) if (run_dir / CONFIG_FILE).is_file() else None
        key = score_key(evals)
        groups = defaultdict(list)
        for r in evals:
            groups[r.get("setting", "")].append(r)
        # in member order: the settings in the order the sweep gave them
        for setting, group in groups.items():
            lb = last_and_best(group, key)
            last = mean_ci95([v[0] for v in lb.values()])
            best = mean_ci95([v[1] for v in lb.values()])
            rows.append({"run": run_dir.name, "dataset": record.dataset.name if record else "?",
                         "preset": record.config.preset if record else "?", "setting": setting or "-",
                         "seeds": len(lb), "steps": max(r["step"] for r in group), "score": key,
                         "last_mean": last[0], "last_ci95": last[1], "best_mean": best[0], "best_ci95": best[1],
                         "references": _references(record, key)})
    return rows


def _references(record, key: str) -> str:
    """Where a run's normalised scores were measured against, or why it reports returns."""
    from iql_jax.runs.meaning import reference_env

    if record is None:
        return ""
    if key == "normalized_score":
        return f"normalised with references measured on {reference_env(record) or 'its evaluation env'}"
    return record.no_score or ""


def render_markdown(rows: list[dict], note: str = "") -> str:
    """The Markdown table, with Table 1's total rows (see :func:`_totals`) and ``note`` below it."""
    head = "| run | dataset | preset | setting | seeds | updates | last | best |\n|---|---|---|---|---:|---:|---:|---:|\n"
    body = "".join(
        f"| {r['run']} | {r['dataset']} | {r['preset']} | {r['setting']} | {r['seeds']} | {r['steps']:,} | "
        f"{r['last_mean']:.1f} ± {r['last_ci95']:.1f} | {r['best_mean']:.1f} ± {r['best_ci95']:.1f} |\n"
        for r in rows)
    body += "".join(f"| **{label}** | | {preset} | {setting} | | | **{last:.1f}** | **{best:.1f}** |\n"
                    for label, preset, setting, last, best in _totals(rows))
    keys = {r["score"] for r in rows}
    if len(keys) == 1:
        scale = f"Scores: {scale_words(keys.pop())} (100·(R − min)/(max − min) where normalised)."
    else:  # each row says which it is
        raw = ", ".join(r["run"] for r in rows if r["score"] == "return")
        scale = (f"Scores: {scale_words('normalized_score')}, except raw episode return (not 0-100) in the rows of "
                 f"{raw}, whose datasets have no reference scores.")
    runs = dict.fromkeys(f"- {r['run']}: {r['references']}" for r in rows if r.get("references"))
    note = ("\n" + "\n".join(runs) + "\n" if runs else "") + (f"\n{note}" if note else "") + (
        f"\n{scale} last: each seed's last evaluation; best: each seed's best evaluation (optimistic: the "
        "evaluation episodes pick it). ± is the half-width of a Student-t 95 % interval over seeds.\n")
    return head + body + note


def _totals(rows: list[dict]) -> list[tuple]:
    """Table 1's totals: the sum over datasets of one method (a preset and a sweep setting), never across methods.

    A table of one method without sweep settings keeps its one total row (any number of runs, as ``iql report``
    always wrote it); a table of several methods gets one total per method that has rows on two or more datasets
    (a one-row total repeats the row).
    """
    methods = defaultdict(list)
    for r in rows:
        methods[(r["preset"], r["setting"])].append(r)
    if len(methods) == 1 and rows[0]["setting"] == "-":
        return [("total", "", "", sum(r["last_mean"] for r in rows), sum(r["best_mean"] for r in rows))]
    return [("total", preset, setting, sum(r["last_mean"] for r in group), sum(r["best_mean"] for r in group))
            for (preset, setting), group in methods.items() if len({r["dataset"] for r in group}) > 1]


def write_report(run_dirs: Sequence[str | Path], out_md: str | Path, note: str = "") -> tuple[Path, Path]:
    """Write the Markdown table (``note`` below it) and a CSV with the same numbers (``.csv`` beside the ``.md``)."""
    rows = table_rows(run_dirs)
    out_md = write_atomic(out_md, render_markdown(rows, note))
    table = io.StringIO(newline="")
    writer = csv.DictWriter(table, fieldnames=COLUMNS)
    writer.writeheader()
    writer.writerows(rows)
    return out_md, write_atomic(out_md.with_suffix(".csv"), table.getvalue())
