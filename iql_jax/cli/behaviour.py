"""``iql behaviour ...``: train a SAC behaviour policy, ship the recipe's checkpoints, list the shipped policies.

The options of ``train`` are the fields of :class:`~iql_jax.behaviour.trainer.BehaviourConfig` (their docstrings
are ``--help``); ``ship`` and ``list`` are plain functions whose docstrings are theirs.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Annotated, Sequence

import numpy as np
import tyro
from tyro.conf import Positional

from iql_jax.behaviour.trainer import BehaviourConfig
from iql_jax.cli.parsing import parse


@dataclass(frozen=True, kw_only=True)
class BehaviourTrainArgs(BehaviourConfig):
    """Train a behaviour policy with SAC (automatic entropy tuning, 256x256, batch 256, Adam 3e-4, UTD 1).

    Evaluates every --eval-every steps, deterministic (tanh of the mean) and sampled, and keeps the actor, a
    checkpoint and the replay rows each time. Killed, it resumes bit-exactly by running the same command again
    (a larger --steps extends it). The learning curve is RUN/curve.csv and RUN/curve.png.
    """

    env_id: Positional[Annotated[str, tyro.conf.arg(metavar="ENV_ID")]]
    """A registered gymnasium id with Box spaces, e.g. Hopper-v5."""
    out: str | None = None
    """The run directory (default behaviour-runs/ENV_ID-sSEED); an existing one with this configuration resumes."""
    quiet: bool = False
    """No progress bar."""


def behaviour_train(argv: Sequence[str]) -> int:
    from iql_jax.behaviour.trainer import train_behaviour

    args = parse(BehaviourTrainArgs, argv, "iql behaviour train")
    config = BehaviourConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(BehaviourConfig)})
    out = args.out or f"behaviour-runs/{config.env_id.replace('/', '_')}-s{config.seed}"
    print(f"SAC on {config.env_id}: {config.steps:,} steps, seed {config.seed}, warm-up {config.warmup_steps:,}, "
          f"evaluation every {config.eval_every:,} steps ({config.eval_episodes} episodes each way); run: {out}")
    run = train_behaviour(config, out, progress=not args.quiet)
    _print_curve_end(run)
    return 0


def _print_curve_end(run) -> None:
    from iql_jax.behaviour import rundir

    rows = rundir.read_curve(run)
    if not rows:
        return
    last = rows[-1]
    scored = np.isfinite(last["stochastic_score"])
    text = (f"step {last['step']:,}: return {last['deterministic_return']:.1f} (tanh mean), "
            f"{last['stochastic_return']:.1f} (sampled)")
    if scored:
        text += f"; D4RL-normalised {last['deterministic_score']:.1f} / {last['stochastic_score']:.1f}"
    print(text)
    print(f"curve: {run / rundir.CURVE}, {run / rundir.PLOT}")


def behaviour_ship(run_dir: Positional[str], key: str, replay_snapshots: int = 4, dest: str | None = None) -> None:
    """Choose a run's medium, expert and replay checkpoints (the D4RL recipe) and write them as the package's
    policies for KEY, with the training record (maintainers: commit the folder it prints).

    Args:
        run_dir: a behaviour run directory (from `iql behaviour train`).
        key: the dataset prefix the policies serve: hopper, halfcheetah, walker2d, ant, or antdir.
        replay_snapshots: how many snapshots stand for the training run in medium-replay.
        dest: write there instead of the installed package (to inspect before shipping).
    """
    from iql_jax.behaviour.ship import ship
    from iql_jax.domains import check_count

    check_count("--replay-snapshots", replay_snapshots, 1)
    from iql_jax.behaviour.shipped import shipped_record

    folder = ship(run_dir, key, replay_snapshots, dest)
    record = shipped_record(key) if dest is None else None
    print(f"wrote {folder}")
    for name, p in (record or {}).get("policies", {}).items():
        print(f"  {name:<10} step {p['step']:>9,}  returns {_fmt(p['returns'])}  scores {_fmt(p['scores'])}")


def behaviour_replay(run_dir: Positional[str], dataset_id: str, until: int | None = None,
                     root: str | None = None) -> None:
    """Write a run's own replay buffer as a Minari dataset: D4RL's medium-replay exactly (every transition the
    trainer saw up to the medium checkpoint, in order), for a policy you trained yourself.

    Args:
        run_dir: a behaviour run directory (from `iql behaviour train`).
        dataset_id: the Minari id to write, e.g. local/hopper-medium-replay-v0 (then `iql train --dataset` it).
        until: the last step (exclusive) to include (default: the run's medium checkpoint, by the env's band).
        root: the Minari datasets folder to write into (default: $MINARI_DATASETS_PATH or ~/.minari/datasets).
    """
    from iql_jax.behaviour.replay_dataset import write_replay_dataset
    from iql_jax.domains import check_count

    check_count("--until", until, 1)

    path = write_replay_dataset(run_dir, dataset_id, until, root)
    print(f"wrote {dataset_id} at {path}")


def behaviour_list() -> None:
    """List the behaviour policies the package ships, with how they were trained and how they score."""
    from iql_jax.behaviour.shipped import RECIPES, shipped_dir, shipped_record

    for key, recipe in RECIPES.items():
        if not (shipped_dir(key) / "record.json").is_file():
            print(f"{key:<12} {recipe.env_id}: not shipped")
            continue
        record = shipped_record(key)
        band = record.get("medium_band")
        print(f"{key:<12} {recipe.env_id}: SAC seed {record['seed']}, {record['trained_steps']:,} steps"
              + (f", medium band {band[0]:g}-{band[1]:g} (D4RL-normalised, sampled policy)" if band else ""))
        for name, p in record["policies"].items():
            print(f"  {name:<10} step {p['step']:>9,}  returns {_fmt(p['returns'])}  scores {_fmt(p['scores'])}")


def _fmt(values: dict) -> str:
    return " / ".join(f"{k[:5]} {v:.1f}" for k, v in values.items()) or "-"
