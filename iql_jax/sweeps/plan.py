"""What a sweep runs: one job per (dataset, preset), each exactly an ``iql train`` run directory under OUT, and
``OUT/sweep.json``, the record that keeps every result in one OUT comparable.

Job directories are deterministic, ``OUT/<dataset-stem>-<preset>`` (``OUT/<dataset-stem>`` when no preset is named
and the dataset's domain picks it), so a re-run of the same command finds its jobs. ``sweep.json`` holds the options
every job shares (the base config, with the fields left to the preset as None, and the sweep settings) and the list
of jobs; a re-run with
other options is refused, naming what differs, while new datasets or presets may join (their jobs are appended).
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import iql_jax
from iql_jax import engine
from iql_jax.config import TrainConfig, config_to_dict, get_preset
from iql_jax.errors import ConfigError, IQLError
from iql_jax.runs.files import write_atomic
from iql_jax.runs.rundir import dataset_stem

SWEEP_FILE = "sweep.json"
# Config fields a job sets itself (dataset, preset, directory) or that change only what is printed or mirrored:
# left out of the comparison with sweep.json.
_PER_JOB = ("preset", "resolved", "data.dataset", "run.out", "run.name", "run.quiet", "run.tensorboard",
            "run.wandb")


@dataclass(frozen=True)
class Job:
    """One run of a sweep: a dataset under a preset (None: the dataset domain's), trained as ``config``."""

    name: str
    dataset: str
    preset: str | None
    config: TrainConfig

    @property
    def run_dir(self) -> Path:
        return Path(self.config.run.out) / self.name


def plan_jobs(base: TrainConfig, datasets: Sequence[str], presets: Sequence[str | None] = (None,)) -> list[Job]:
    """The jobs of a sweep, dataset-major: ``base`` with each dataset, preset and its directory name.

    Raises:
        ConfigError: no dataset, an unknown preset, or two jobs that would share a directory.
    """
    if not datasets:
        raise ConfigError("--datasets: expected at least one dataset")
    presets = list(presets) or [None]
    for p in presets:
        if p is not None:
            try:
                get_preset(p)
            except ConfigError as e:
                raise ConfigError(f"--presets {p}: {e}") from None
    jobs, seen = [], {}
    for dataset in datasets:
        for preset in presets:
            name = dataset_stem(dataset) + (f"-{preset}" if preset else "")
            if name in seen:
                raise ConfigError(f"--datasets/--presets: {seen[name]!r} and {(dataset, preset)!r} both make the "
                                  f"job {name!r}; give each dataset and preset once")
            seen[name] = (dataset, preset)
            config = dataclasses.replace(base, preset=preset, data=dataclasses.replace(base.data, dataset=dataset),
                                         run=dataclasses.replace(base.run, name=name))
            jobs.append(Job(name, dataset, preset, config))
    return jobs


def shared_options(base: TrainConfig, settings: list[dict]) -> dict:
    """The options every job of the sweep shares, as ``sweep.json`` records them."""
    flat = {k: v for k, v in _flatten(config_to_dict(base)).items() if k not in _PER_JOB}
    return {**flat, "sweep": settings}


def record_sweep(out: Path, options: dict, jobs: list[Job]) -> list[dict]:
    """Check ``options`` against ``OUT/sweep.json`` (refusing any difference), add new jobs, write it; return the
    recorded job list (every job this OUT has had, in order).

    Raises:
        ConfigError: the recorded options differ (the message names up to three fields, both values).
    """
    path = Path(out) / SWEEP_FILE
    recorded = []
    if path.exists():
        try:
            old = json.loads(path.read_text())
            old_options, recorded = old["options"], list(old["jobs"])
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise IQLError(f"{path}: unreadable sweep record ({type(e).__name__}: {e}); move it away to start "
                           "afresh") from None
        new = json.loads(json.dumps(options))  # as it would read back (tuples become lists)
        differ = [k for k in sorted(set(old_options) | set(new)) if old_options.get(k) != new.get(k)]
        if differ:
            shown = "; ".join(f"{k}: {_show(new.get(k))} here, {_show(old_options.get(k))} recorded"
                              for k in differ[:3])
            raise ConfigError(f"{path}: this sweep was started with other options ({shown}"
                              f"{'; …' if len(differ) > 3 else ''}); re-run it with the recorded options, or "
                              "choose another --out")
    names = {j["name"] for j in recorded}
    recorded += [{"name": j.name, "dataset": j.dataset, "preset": j.preset} for j in jobs if j.name not in names]
    write_atomic(path, json.dumps({"version": iql_jax.__version__, "options": options, "jobs": recorded},
                                  indent=2) + "\n")
    return recorded


def settings_of(sweep) -> list[dict]:
    """The sweep's settings as a list of dicts (``[{}]`` without a sweep), in member order."""
    return [dict(s) for s in engine.expand_sweep(sweep)]


def _flatten(tree: dict, prefix: str = "") -> dict:
    flat = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            flat.update(_flatten(v, f"{prefix}{k}."))
        else:
            flat[f"{prefix}{k}"] = v
    return flat


def _show(value) -> str:
    return "unset" if value is None else json.dumps(value)
