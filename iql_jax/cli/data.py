"""``iql data ...`` commands: plain functions for the CLI to wire up; they print to stdout and raise IQLError.

Their Google-style docstrings become ``--help`` text, so each keeps simple typed parameters with defaults.
"""

from __future__ import annotations

import json
import re
import warnings

import h5py
import numpy as np
from tyro.conf import Positional

from iql_jax.config import preset_for_domain
from iql_jax.data import load_dataset, split_size_suffix
from iql_jax.data.builtin import (BUILTINS, NAMESPACE, builtin_dataset_id, cached_builtins, data_dir, load_builtin,
                                  stale_policies)
from iql_jax.data.goals import apply_goal_mode, resolve_goal_mode
from iql_jax.data.minari_io import local_minari_datasets, minari_root
from iql_jax.data.spaces import GOAL_KEYS
from iql_jax.data.transforms import trajectory_returns
from iql_jax.data.transitions import Dataset, DatasetInfo
from iql_jax.data.validate import DataWarning
from iql_jax.domains import MAX_SEED, MAX_STEPS, check_count
from iql_jax.errors import IQLError
from iql_jax.evaluation import resolve_eval_env
from iql_jax.evaluation.envs import _from_json
from iql_jax.evaluation.references import dataset_references, describe_env, mismatch


def data_list() -> None:
    """List the built-in datasets (and which sizes are cached) and the local Minari datasets."""
    cached = cached_builtins()
    print(f"Built-in datasets (generated on first use into {data_dir()}):")
    for name, builtin in BUILTINS.items():
        size = "fixed size" if builtin.default_steps is None else f"default {builtin.default_steps:,} steps"
        pattern = re.compile(rf"{NAMESPACE}/{re.escape(name)}(-s\d+)?-seed\d+-v0")
        here = [i for i in cached if pattern.fullmatch(i)]
        print(f"  {name:<22} {builtin.description} ({size})")
        print(f"  {'':<22} cached:{'' if here else ' no'}")
        for dataset_id in here:
            stale = stale_policies(data_dir() / dataset_id)
            print(f"  {'':<24} {dataset_id.split('/', 1)[1]}: {_data_score(dataset_id)}"
                  + (f"; stale, collected again on next use: {stale}" if stale else ""))
    local = local_minari_datasets()
    print(f"Local Minari datasets in {minari_root()}: {', '.join(local) if local else 'none'}")


def _data_score(dataset_id: str) -> str:
    """A cached dataset's own mean episode return, normalised only where the data were collected in the env its
    references belong to (a moving-goal maze's were not), from its rewards and metadata alone: a listing must not
    load every cached dataset."""
    folder = data_dir() / dataset_id / "data"
    try:
        metadata = json.loads((folder / "metadata.json").read_text())
        with h5py.File(folder / "main_data.hdf5", "r") as f:
            returns = [float(np.sum(f[k]["rewards"][()], dtype=np.float64)) for k in f if k.startswith("episode_")]
        info = DatasetInfo(dataset_id, str(folder.parent), env_spec=metadata.get("env_spec"),
                           eval_env_spec=metadata.get("eval_env_spec"), ref_min_score=metadata.get("ref_min_score"),
                           ref_max_score=metadata.get("ref_max_score"))
        references = dataset_references(info)
        collected = _from_json(info.env_spec, info, "env_spec") if info.env_spec else None
        mean = float(np.mean(returns))
    except (OSError, ValueError, KeyError, TypeError, IQLError):
        return "unreadable (`iql data inspect` names the fault)"
    text = f"mean episode return {mean:.4g} over {len(returns):,} episodes"
    if references is None or collected is None:
        return text + " (no reference scores)"
    why = mismatch(references, collected)
    if why is not None:
        return text + f" (not normalised: its references belong to another env, {references.describe()})"
    return text + f" = {100 * (mean - references.low) / (references.high - references.low):.1f} normalised"


def data_generate(name: Positional[str], steps: int | None = None, seed: int = 0) -> None:
    """Generate a built-in dataset into the cache (nothing happens if it is already there).

    Args:
        name: a built-in dataset name, e.g. pointmaze-umaze (see `iql data list`), optionally with its size as
            name:STEPS (antmaze-medium-diverse:200k), the same as --steps.
        steps: environment steps to collect (default 1,000,000; not allowed for fixed-size datasets).
        seed: seed for the environment and the action noise; the same seed gives identical data.
    """
    check_count("--steps", steps, 1, MAX_STEPS)
    check_count("--seed", seed, 0, MAX_SEED)
    name, steps = split_size_suffix(name, steps)
    check_count(f"{name}:STEPS", steps, 1, MAX_STEPS)
    dataset_id = builtin_dataset_id(name, steps, seed)
    present = dataset_id in cached_builtins()
    dataset = load_builtin(name, steps, seed, progress=True)
    print(f"{'Already cached' if present else 'Generated'}: {dataset_id}")
    print(f"  at {dataset.info.source}")
    _print_summary(dataset)


def data_inspect(source: Positional[str]) -> None:
    """Summarise a dataset and say whether it passes validation.

    Args:
        source: a built-in name (optionally name:STEPS), a local Minari dataset id or directory, or a D4RL .hdf5 file.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", DataWarning)
        dataset = load_dataset(source)
    info = dataset.info
    print(f"{info.name}  ({info.source})")
    _print_summary(dataset)
    t = dataset.transitions
    obs, act = np.asarray(t.observations), np.asarray(t.actions)
    print(f"  observations: dim {t.obs_dim}, range [{obs.min():.4g}, {obs.max():.4g}]")
    print(f"  actions:      dim {t.act_dim}, range [{act.min():.4g}, {act.max():.4g}] (training clips to ±(1 - 1e-5) "
          "unless --data.no-clip-actions)")
    preset = preset_for_domain(info.domain)
    print(f"  domain: {info.domain or 'unknown'} -> preset {preset.name!r} (reward transform "
          f"{preset.reward_transform!r}, expectile {preset.agent.expectile}, beta {preset.agent.beta})")
    references = dataset_references(info)
    if references is not None:
        print(f"  reference scores: min {references.low:.6g}, max {references.high:.6g}, measured on "
              f"{references.describe()} ({references.source}); scores are normalised only there")
    coverage = info.extra.get("coverage")
    if coverage and "segments" in coverage:
        print(f"  coverage: {coverage['segments']:,} segments; per start cell: "
              + ", ".join(f"{cell} {n}" for cell, n in sorted(coverage["start_cells"].items())))
    mode, why = resolve_goal_mode(dataset, "auto")
    print(f"  goal: --data.goal auto -> {mode} ({why})"
          + (f"; goal fields {', '.join(GOAL_KEYS)} present, so conditioned, relabel and none all apply"
             if dataset.goals is not None else ""))
    try:
        spec = resolve_eval_env(apply_goal_mode(dataset, mode).info)
    except IQLError:
        print("  evaluation env: none recorded or catalogued (training needs --env-id)")
    else:
        print(f"  evaluation env (--data.goal {mode}): {describe_env(spec)}; "
              + ("no reference scores" if references is None else
                 (mismatch(references, spec) or "normalised score: the references belong to this env")))
    notes = [str(w.message) for w in caught if issubclass(w.category, DataWarning)]
    print("  validation: passed" + (f" with {len(notes)} warning(s):" if notes else ""))
    for note in notes:
        print(f"    - {note}")


def _print_behaviour(dataset: Dataset) -> None:
    """What made the data: the behaviour policies' recipe and score, or the AntMaze driver's success and reach."""
    info = dataset.info
    behaviour, antmaze = info.extra.get("behaviour"), info.extra.get("antmaze")
    if behaviour:
        used = ", ".join(f"{name} (step {u['step']:,})" for name, u in behaviour.get("policies", {}).items())
        band = behaviour.get("medium_band")
        print(f"  behaviour: {behaviour['key']}-{behaviour['recipe']} "
              + (f"from the shipped SAC policies {used}" if used else behaviour.get("source", ""))
              + (f"; medium band {band[0]:g}-{band[1]:g} D4RL-normalised" if band else ""))
        if info.ref_min_score is not None:
            returns = trajectory_returns(dataset.transitions)
            score = 100 * (returns.mean() - info.ref_min_score) / (info.ref_max_score - info.ref_min_score)
            print(f"  behaviour score: mean trajectory return {returns.mean():.4g} = {score:.1f} normalised with the "
                  f"reference scores the data records for {_env_of(info)}")
    if antmaze:
        success, coverage = antmaze["driver_success"], antmaze["coverage"]
        print(f"  driver: reaches the evaluation goal {tuple(success['goal'])} from {tuple(success['start'])} in "
              f"{success['rate']:.0%} of {success['episodes']} attempts (mean length {success['mean_length']:.0f})")
        print(f"  coverage: {coverage['cells_visited']} of {coverage['free_cells']} free cells visited; goals "
              f"({antmaze['goals']}) reached and replaced {coverage['goals_reached_and_replaced']:,} times in "
              f"{coverage['episodes']:,} episodes")


def _env_of(info) -> str:
    return json.loads(info.eval_env_spec).get("id", "?") if info.eval_env_spec else "unknown env"


def _print_summary(dataset: Dataset) -> None:
    t = dataset.transitions
    returns = trajectory_returns(t)
    print(f"  transitions: {t.size:,}  episodes (trajectories split at episode_ends): {len(returns):,}")
    print(f"  terminals: {int(np.sum(t.terminals)):,}  timeouts: {int(np.sum(t.timeouts)):,}")
    print(f"  trajectory return: min {returns.min():.4g}, mean {returns.mean():.4g}, max {returns.max():.4g}")
    _print_behaviour(dataset)
