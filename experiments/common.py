"""Shared helpers of the reproduction experiments (issue #7): configs from presets, one timed vmapped sweep per
dataset, per-setting statistics, V(s) read back from checkpoints, Markdown output and the environment record.

Every experiment script builds a :class:`~iql_jax.config.TrainConfig` from a paper preset with :func:`make_config`,
trains all its seeds and settings as ONE vmapped program with :func:`run_sweep` (the library's ``train``), and
builds its tables from the run directories (the library's ``report``/``stats``), so no number is typed by hand.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import shutil
import sys
import time
from importlib import metadata
from pathlib import Path
from types import SimpleNamespace

import jax
import jax.numpy as jnp
import numpy as np

from iql_jax import agent
from iql_jax.config import TrainConfig, config_to_dict
from iql_jax.runs import list_checkpoints, load_run, resume, train
from iql_jax.runs.logs import read_eval, read_metrics
from iql_jax.runs.report import render_markdown, table_rows
from iql_jax.runs.stats import last_and_best, mean_ci95, score_key
from iql_jax.testing import stopping_at

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "runs" / "experiments"


# --------------------------------------------------------------------------------------------------------------
# Command line and configs
# --------------------------------------------------------------------------------------------------------------
def parser(name: str, doc: str) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=f"experiments/{name}.py", description=doc,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--full", action="store_true",
                   help="paper-size settings (hidden 256x256, 1M updates, more seeds/episodes): a GPU job")
    p.add_argument("--out", default=str(DEFAULT_OUT / name),
                   help="directory for the run directories, the Markdown table and the plot (default: %(default)s)")
    p.add_argument("--figures", default=None,
                   help="also copy the plot(s) into this directory (docs/results.md uses docs/figures)")
    p.add_argument("--steps", type=int, default=None, help="override the number of updates")
    p.add_argument("--seeds", type=int, default=None, help="override the number of seeds")
    p.add_argument("--hidden", type=int, nargs="+", default=None, help="override the hidden layer sizes")
    p.add_argument("--eval-every", type=int, default=None, help="override the evaluation (and checkpoint) interval")
    p.add_argument("--reuse", action="store_true",
                   help="reuse finished run directories under --out (same config) instead of retraining: "
                        "regenerates only the tables and plots; an unfinished run is resumed from its newest checkpoint")
    p.add_argument("--stop-at", type=int, default=None,
                   help="stop after the checkpoint at this many updates (a multiple of --eval-every), to split a long "
                        "run over sessions: re-run the same command with --reuse to continue it")
    return p


def reused(results) -> bool:
    """Whether every run came from ``--reuse`` unchanged (no training in this call): the header then reports the
    recorded training time instead of this call's."""
    return all(getattr(r, "reused", False) for r in results)


def stopped(args) -> None:
    """What a script prints instead of its tables when ``--stop-at`` ended the training early."""
    print(f"[stop] stopped at {args.stop_at:,} updates as asked; re-run the same command with --reuse (and a later "
          "--stop-at, or none) to continue from the checkpoint", flush=True)


def overrides(args) -> dict:
    """The budget options given on the command line (steps, seeds, hidden, eval_every), to update a size preset."""
    given = {"steps": args.steps, "seeds": args.seeds, "hidden": tuple(args.hidden) if args.hidden else None,
             "eval_every": args.eval_every}
    return {k: v for k, v in given.items() if v}


def budget(args, reduced: dict, full: dict) -> dict:
    """The script's size preset (``full`` with --full, else ``reduced``) with the :func:`overrides` applied."""
    return {**(full if args.full else reduced), **overrides(args)}


def make_config(dataset: str, preset: str, *, steps: int, seeds: int, hidden, eval_every: int,
                eval_episodes: int, out: str | Path, name: str, goal: str = "auto") -> TrainConfig:
    """A TrainConfig with the paper preset's hyperparameters, changing only the network size and the budget.

    Checkpoints are written at every evaluation (and all kept) so values can be read back per evaluation step.
    """
    config = TrainConfig(preset=preset).resolve(None)  # resolved: train keeps the changes below as they are
    data = dataclasses.replace(config.data, dataset=dataset, goal=goal)
    agent_config = dataclasses.replace(config.agent, hidden_dims=tuple(hidden))
    every = eval_every or steps
    run = dataclasses.replace(config.run, steps=steps, seeds=seeds, eval_every=eval_every,
                              eval_episodes=eval_episodes, checkpoint_every=every,
                              keep_checkpoints=steps // every + 1, out=str(out), name=name, quiet=True)
    return dataclasses.replace(config, agent=agent_config, data=data, run=run)


def sized_config(dataset: str, preset: str, size: dict, *, out: str | Path, name: str,
                 goal: str = "auto") -> TrainConfig:
    """:func:`make_config` with the network size and budget of a script's size preset (see :func:`budget`)."""
    return make_config(dataset, preset, steps=size["steps"], seeds=size["seeds"], hidden=size["hidden"],
                       eval_every=size["eval_every"], eval_episodes=size["eval_episodes"], out=out, name=name,
                       goal=goal)


def run_sweep(config: TrainConfig, sweep, *, reuse: bool = False, stop_at: int | None = None):
    """Train every seed x setting of ``sweep`` as ONE vmapped program; returns (run, wall seconds, finished).

    ``run.run_dir`` is the run directory. With ``reuse``, a finished run directory with the same config and sweep
    is returned as it is, with the wall time recorded when it was trained, and an unfinished one (stopped by
    ``stop_at`` or killed) is continued from its newest checkpoint with the library's bit-exact ``resume``: long CPU
    runs span sessions this way. The wall time adds up over the sessions (``<run>.experiment.json``, beside the run). ``stop_at``
    stops after the checkpoint at that many updates (a multiple of the evaluation interval).
    """
    run_dir = Path(config.run.out) / config.run.name
    wall_file = run_dir.with_name(run_dir.name + ".experiment.json")  # beside it: train() creates the directory
    saved = json.loads(wall_file.read_text()) if wall_file.is_file() else None
    same = saved is not None and saved["config"] == json.loads(json.dumps(config_to_dict(config))) \
        and saved["sweep"] == sweep
    if reuse and same and saved.get("finished", True):
        print(f"[train] {run_dir.name}: reusing the finished run ({saved['wall_s']:.0f} s)", flush=True)
        return SimpleNamespace(run_dir=run_dir, reused=True), saved["wall_s"], True
    members = config.run.seeds * max(1, len(sweep or [None]))
    t0 = time.perf_counter()
    if reuse and same:
        print(f"[train] {run_dir.name}: resuming the unfinished run ({saved['wall_s']:.0f} s so far)", flush=True)
        with stopping_at(stop_at):
            result = resume(run_dir, progress=False)
        before = saved["wall_s"]
    else:
        if saved is not None and reuse:
            print(f"[train] {run_dir.name}: the saved run has another config; retraining", flush=True)
        if run_dir.exists():
            shutil.rmtree(run_dir)  # the script regenerates everything from scratch
        print(f"[train] {config.data.dataset}: {members} members ({config.run.seeds} seeds x "
              f"{len(sweep or [None])} settings), {config.run.steps:,} updates, hidden {config.agent.hidden_dims}",
              flush=True)
        before = 0.0
        run_dir.parent.mkdir(parents=True, exist_ok=True)
        _record_wall(wall_file, config, sweep, 0.0, False, 0)  # so that a killed first session is resumed too
        with stopping_at(stop_at):
            result = train(config, sweep=sweep, progress=False)
    wall = before + time.perf_counter() - t0
    finished = result.step >= config.run.steps
    print(f"[train] {run_dir.name}: {'done' if finished else f'stopped at {result.step:,} updates'} "
          f"({wall:.0f} s in all)", flush=True)
    _record_wall(wall_file, config, sweep, wall, finished, result.step)
    return result, wall, finished


def _record_wall(path: Path, config: TrainConfig, sweep, wall: float, finished: bool, step: int) -> None:
    path.write_text(json.dumps({"wall_s": wall, "config": config_to_dict(config), "sweep": sweep,
                                "finished": finished, "step": step}))


# --------------------------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------------------------
def setting_scores(run_dir: Path) -> dict[str, dict]:
    """setting -> {"last": [...], "best": [...], "success_last": [...]} per member, from ``eval.csv``."""
    rows = read_eval(run_dir)
    key = score_key(rows)
    out: dict[str, dict] = {}
    for setting in dict.fromkeys(r["setting"] for r in rows):
        group = [r for r in rows if r["setting"] == setting]
        lb = last_and_best(group, key)
        final = max(r["step"] for r in group)
        success = [r["success"] for r in group if r["step"] == final and r["success"] is not None]
        out[setting] = {"last": [v[0] for v in lb.values()], "best": [v[1] for v in lb.values()],
                        "success_last": success, "key": key}
    return out


def engine_updates_per_s(run_dir: Path) -> float:
    """Member-updates per second of the compiled chunks alone (no evaluation or I/O), from metrics.jsonl; the first
    chunk, which includes compilation, is left out unless it is the only one."""
    rows = read_metrics(run_dir)
    per_step = {r["step"]: r["time/updates_per_s"] for r in rows if "time/updates_per_s" in r}
    steps = sorted(per_step)
    chunks = list(zip(np.diff([0, *steps]), steps))
    chunks = chunks[1:] if len(chunks) > 1 else chunks
    updates = sum(n for n, _ in chunks)
    seconds = sum(n / per_step[s] for n, s in chunks)
    members = len({r["member"] for r in rows})
    return float(updates * members / seconds) if seconds else float("nan")


def values_over_training(run_dir: Path, observations: np.ndarray) -> tuple[list[int], np.ndarray, list]:
    """Mean V(s) over ``observations`` for every member at every kept checkpoint: (steps, (C, M) array, members)."""
    steps, values, members = [], [], None
    obs = jnp.asarray(observations, jnp.float32)
    fn = jax.jit(jax.vmap(lambda s: agent.values(s, obs).mean()))
    for step, path in list_checkpoints(run_dir):
        states, members, _, _ = load_run(run_dir, path)
        steps.append(step)
        values.append(np.asarray(fn(states)))
    return steps, np.array(values), members


def fmt_ci(values, digits: int = 1) -> str:
    """Mean ± Student-t 95 % half-width over seeds, to ``digits`` decimals."""
    mean, half = mean_ci95(values)
    return f"{mean:.{digits}f} ± {half:.{digits}f}"


def library_table(run_dirs) -> str:
    """The library's report table (last/best score, 95 % intervals, one row per run and setting)."""
    return render_markdown(table_rows(run_dirs))


def copy_figures(paths, figures: str | None) -> None:
    if figures:
        Path(figures).mkdir(parents=True, exist_ok=True)
        for p in paths:
            shutil.copy(p, Path(figures) / Path(p).name)
            print(f"[figure] copied {p} -> {figures}/", flush=True)


# --------------------------------------------------------------------------------------------------------------
# Environment record
# --------------------------------------------------------------------------------------------------------------
PACKAGES = ("iql-jax", "jax", "jaxlib", "flax", "optax", "numpy", "gymnasium", "mujoco", "gymnasium-robotics",
            "minari", "torch", "d3rlpy")


def versions() -> str:
    found = []
    for name in PACKAGES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            pass
    return ", ".join(found)


def machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()}-core CPU ({model}), {jax.default_backend()} backend, Python "
            f"{platform.python_version()}; 1-min load average at the end {load:.1f} (the cores are shared)")


def header(title: str, command: str, reduced_note: str, wall: float, reused_train_s: float | None = None) -> str:
    """Section header; with ``reused_train_s`` (``--reuse``) it reports the recorded training time of the runs."""
    if reused_train_s is None:
        timing = f"{wall / 60:.1f} min (whole script: data, training, evaluation, tables, plots)"
    else:
        timing = (f"{reused_train_s / 60:.1f} min of `train` calls (data, compile, updates, evaluation), recorded when "
                  f"the runs were made; this file was regenerated from the saved runs with `--reuse` in {wall:.0f} s")
    return (f"## {title}\n\n"
            f"Command: `{command}`  \n"
            f"Settings: {reduced_note}  \n"
            f"Wall time: {timing}  \n"
            f"Versions: {versions()}  \n"
            f"Machine: {machine()}\n\n")


def command_line() -> str:
    return "python " + " ".join([os.path.relpath(sys.argv[0], ROOT), *sys.argv[1:]])


def write_markdown(out_dir: Path, name: str, text: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.md"
    path.write_text(text)
    print(text)
    print(f"[table] {path}", flush=True)
    return path


def settings_note(args, size: dict, num_settings: int, per: str, preset: str, data: bool = True) -> str:
    """The settings sentence every experiment prints: reduced or paper size, the sizes used, and the preset."""
    datasets = f"{size['data']}-step datasets, " if data else ""
    return (f"{'paper size' if args.full else 'REDUCED for a 2-core CPU'}: {datasets}hidden {size['hidden']}, "
            f"{size['steps']:,} updates, {size['seeds']} seeds x {num_settings} settings{per} in one vmapped program, "
            f"evaluation every {size['eval_every']:,} updates with {size['eval_episodes']} episodes per seed; "
            f"otherwise the {preset}")


def finish(out, name: str, text: str, run_dirs, plots, figures, wall: float) -> None:
    """Append the library's own report and the plots to ``text``, write it, copy the figures, print the wall time."""
    text += ("The library's report over the same run directories (`iql report`):\n\n"
             + library_table(run_dirs) + "\n"
             + " ".join(f"![{p.stem}]({p.name})" for p in plots) + "\n")
    write_markdown(out, name, text)
    copy_figures(plots, figures)
    print(f"[wall] {wall:.0f} s")
