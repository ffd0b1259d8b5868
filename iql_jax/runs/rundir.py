"""A run directory: the one module that names its files, its records as typed values, and loading its population.

::

    RUN/config.json              RunRecord: the resolved config, the members and their hyperparameters, the data's
                                 fingerprint, the reward transform, the evaluation env and its reference scores
    RUN/finetune.json            FinetuneRecord, in a fine-tuning run: the offline run and the online options
    RUN/metrics.jsonl, eval.csv  per chunk and per evaluation, per member (:mod:`iql_jax.runs.logs`)
    RUN/checkpoints/step_N.msgpack  the population at run step N (:mod:`iql_jax.runs.checkpoint`)
    RUN/summary.json, score.png, losses.png, values.png, report.md/.csv   end of run (:mod:`iql_jax.runs.summary`)
    RUN/export/, RUN/tensorboard/, RUN/.lock   ``iql export``, ``--run.tensorboard``, the writer's lock

Each record has one JSON round trip (``to_json`` / ``from_json``) and a ``schema`` number. Records written before
the number existed (schema 1) still load: their goal block and members without hyperparameters are read as they are.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

import iql_jax
from iql_jax import engine
from iql_jax.agent import IQLState
from iql_jax.config import FinetuneConfig, TrainConfig, config_from_dict, config_to_dict
from iql_jax.data.limits import check_episode_limit
from iql_jax.data.transforms import RewardTransform
from iql_jax.errors import ConfigError, IQLError, RunError
from iql_jax.evaluation import EvalEnvSpec
from iql_jax.evaluation.references import References
from iql_jax.runs import checkpoint
from iql_jax.runs.files import write_atomic

SCHEMA = 2
CONFIG_FILE, FINETUNE_FILE, SUMMARY_FILE = "config.json", "finetune.json", "summary.json"
METRICS_FILE, EVAL_FILE = "metrics.jsonl", "eval.csv"
SCORE_PLOT, LOSS_PLOT, VALUES_PLOT, REPORT_FILE = "score.png", "losses.png", "values.png", "report.md"
CHECKPOINT_DIR, EXPORT_DIR, TENSORBOARD_DIR, LOCK_FILE = "checkpoints", "export", "tensorboard", ".lock"
_CHECKPOINT = re.compile(r"^step_(\d+)\.msgpack$")


@dataclass(frozen=True)
class MemberRecord:
    """One member as ``config.json`` lists it: its seed, its sweep overrides and the hyperparameters it trains with
    (None in records written before they were recorded)."""

    index: int
    seed: int
    overrides: tuple[tuple[str, float], ...] = ()
    hyper: dict | None = None

    @property
    def member(self) -> engine.Member:
        return engine.Member(self.index, self.seed, self.overrides)


@dataclass(frozen=True)
class DatasetRecord:
    """What a run knows of its data: names, the fingerprint a resume checks, and the sizes."""

    name: str
    source: str
    domain: str | None
    fingerprint: str
    transitions: int
    obs_dim: int
    act_dim: int


@dataclass(frozen=True)
class RunRecord:
    """``config.json``: everything needed to rebuild, resume, evaluate and report a run."""

    config: TrainConfig
    members: tuple[MemberRecord, ...]
    dataset: DatasetRecord
    reward_transform: RewardTransform
    eval_env: EvalEnvSpec | None
    ref_scores: tuple[float, float] | None
    score: str  # "return" or "success": how the normalised score is computed
    sweep: tuple[dict, ...] = ({},)
    relabel: dict | None = None  # {"goal": [x, y], "radius": r} when the data were relabelled to the fixed goal
    steps_changed: tuple[dict, ...] = ()  # every --steps a resume gave: {"at_step", "from", "to"}
    references: References | None = None  # the data's reference pair and the env it was measured in
    no_score: str | None = None  # why ref_scores is None although the data have references (another env)
    version: str = iql_jax.__version__
    schema: int = SCHEMA  # the schema it was read as; records are always written as SCHEMA

    def population(self) -> tuple[list[int], list[dict]]:
        """Seeds and sweep settings, in the original member order."""
        seeds = list(dict.fromkeys(m.seed for m in self.members))
        settings = list(dict.fromkeys(m.overrides for m in self.members))
        return seeds, [dict(s) for s in settings]

    def to_json(self) -> dict:
        members = [{"index": m.index, "seed": m.seed, "overrides": [list(o) for o in m.overrides],
                    **({} if m.hyper is None else {"hyper": m.hyper})} for m in self.members]
        return {"schema": SCHEMA, "version": self.version, "config": config_to_dict(self.config),
                "sweep": list(self.sweep), "members": members, "dataset": dataclasses.asdict(self.dataset),
                "reward_transform": self.reward_transform._asdict(),
                "eval_env": None if self.eval_env is None else dataclasses.asdict(self.eval_env),
                "ref_scores": None if self.ref_scores is None else list(self.ref_scores), "score": self.score,
                "relabel": self.relabel, **({"steps_changed": list(self.steps_changed)} if self.steps_changed else {}),
                "references": None if self.references is None else self.references.to_json(),
                "no_normalised_score": self.no_score}

    @classmethod
    def from_json(cls, data: dict, where: str | Path = CONFIG_FILE) -> "RunRecord":
        """Read a record of any schema; ``where`` names it in the one-line error a damaged record gives."""
        try:
            env, refs = data.get("eval_env"), data.get("ref_scores")
            goal = data.get("goal") or {}  # schema 1: {"mode", "relabel_goal", "relabel_radius"}
            relabel = data.get("relabel") if "relabel" in data else (
                {"goal": goal["relabel_goal"], "radius": goal["relabel_radius"]} if "relabel_goal" in goal else None)
            if env is not None:
                check_episode_limit(str(where), "eval_env", env.get("max_episode_steps"))
                layout = env.get("observation_layout")
                env = EvalEnvSpec(env["env_id"], env.get("kwargs") or {}, env.get("max_episode_steps"),
                                  tuple(layout) if layout else None)
            members = tuple(MemberRecord(int(m["index"]), int(m["seed"]), tuple((str(k), float(v))
                                                                               for k, v in m["overrides"]),
                                         m.get("hyper")) for m in data["members"])
            d = data["dataset"]
            dataset = DatasetRecord(d["name"], d["source"], d.get("domain"), d["fingerprint"], int(d["transitions"]),
                                    int(d["obs_dim"]), int(d["act_dim"]))
            return cls(config_from_dict(data["config"]), members, dataset,
                       RewardTransform(**data["reward_transform"]), env, None if refs is None else tuple(refs),
                       data.get("score", "return"), tuple(data.get("sweep") or ({},)), relabel,
                       tuple(data.get("steps_changed", ())),
                       None if data.get("references") is None else References.from_json(data["references"]),
                       data.get("no_normalised_score"), data.get("version", "?"), int(data.get("schema", 1)))
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise IQLError(f"{where}: unreadable run configuration ({type(e).__name__}: {e})") from e
        except ConfigError as e:  # a field the config classes refuse (e.g. an edited run.steps of 0)
            raise IQLError(f"{where}: {e}") from e

    def write(self, run_dir: str | Path) -> None:
        """Write ``config.json`` atomically."""
        write_atomic(Path(run_dir) / CONFIG_FILE, json.dumps(self.to_json(), indent=2) + "\n")

    @classmethod
    def read(cls, run_dir: str | Path) -> "RunRecord":
        """The run's ``config.json``.

        Raises:
            IQLError: ``run_dir`` is not a run directory, or its record is damaged.
        """
        path = Path(run_dir) / CONFIG_FILE
        if not path.is_file():
            what = "a file" if Path(run_dir).is_file() else f"no {CONFIG_FILE}"  # e.g. RUN/config.json given itself
            raise IQLError(f"{run_dir}: not a run directory ({what})")
        return cls.from_json(_json(path, "run configuration"), path)


def new_record(prepared, settings: list[dict], members: list[engine.Member], states: IQLState) -> RunRecord:
    """The record of a new run of ``prepared`` (:func:`iql_jax.runs.prepare.prepare`) and its population."""
    info, t, extra = prepared.dataset.info, prepared.transitions, prepared.dataset.info.extra
    dataset = DatasetRecord(info.name, info.source, info.domain, prepared.fingerprint, t.size, t.obs_dim, t.act_dim)
    relabel = {"goal": extra["relabel_goal"], "radius": extra["relabel_radius"]} if "relabel_goal" in extra else None
    return RunRecord(prepared.config, member_records(members, states), dataset, prepared.reward_transform,
                     prepared.eval_spec, prepared.ref_scores, prepared.score, tuple(settings), relabel,
                     references=prepared.references, no_score=prepared.no_score)


def member_records(members: list[engine.Member], states: IQLState) -> tuple[MemberRecord, ...]:
    """Each member with the hyperparameters it really trains with (read from the population state)."""
    return tuple(MemberRecord(m.index, m.seed, m.overrides, as_typed(engine.member_hyper(states, m.index)))
                 for m in members)


def as_typed(hyper: dict[str, float]) -> dict[str, float]:
    """float32 values as the shortest decimal that is the same float32 (0.9, not 0.8999999761581421): what the
    user typed, for every value a float32 can hold; the population is rebuilt from these exactly."""
    return {k: float(np.format_float_positional(np.float32(v), unique=True, trim="-")) for k, v in hyper.items()}


@dataclass(frozen=True)
class FinetuneRecord:
    """``finetune.json``: the offline run a fine-tuning run starts from and its options (defaults filled in)."""

    offline_run: str
    offline_step: int
    config: FinetuneConfig  # eval_episodes, capacity and the loggers filled in; out and name are where the run is
    version: str = iql_jax.__version__
    schema: int = SCHEMA

    def to_json(self) -> dict:
        options = {k: v for k, v in dataclasses.asdict(self.config).items() if k not in ("out", "name")}
        return {"schema": SCHEMA, "version": self.version, "offline_run": self.offline_run,
                "offline_step": self.offline_step, **options}

    @classmethod
    def read(cls, run_dir: str | Path) -> "FinetuneRecord":
        """Raises IQLError: no ``finetune.json`` (naming the way forward for an offline run), or a damaged one."""
        path = Path(run_dir) / FINETUNE_FILE
        if not path.is_file():
            hint = (f"; it is an offline run: start fine-tuning with `iql finetune {run_dir}` (without --resume)"
                    if (Path(run_dir) / CONFIG_FILE).is_file() else "")
            raise IQLError(f"{run_dir}: not a fine-tuning run (no {FINETUNE_FILE}){hint}")
        data = _json(path, "fine-tuning record")
        try:
            names = ("online_steps", "eval_every", "eval_episodes", "checkpoint_every", "updates_per_collect",
                     "capacity")
            loggers = {k: data[k] for k in ("tensorboard", "wandb") if k in data}  # absent before they were options
            return cls(str(data["offline_run"]), int(data["offline_step"]),
                       FinetuneConfig(**{k: data[k] for k in names}, **loggers), data.get("version", "?"),
                       int(data.get("schema", 1)))
        except (ValueError, KeyError, TypeError, ConfigError) as e:
            raise IQLError(f"{path}: damaged fine-tuning record ({type(e).__name__}: {e})") from e

    def write(self, run_dir: str | Path) -> None:
        write_atomic(Path(run_dir) / FINETUNE_FILE, json.dumps(self.to_json(), indent=2) + "\n")


def _json(path: Path, what: str) -> Any:
    try:
        return json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as e:
        raise IQLError(f"{path}: unreadable {what} ({type(e).__name__}: {e})") from e


def dataset_stem(source: str) -> str:
    """A dataset source as a directory-name part: the file stem, ``:`` made ``-`` (``pointmaze-umaze:200k`` →
    ``pointmaze-umaze-200k``, ``/data/hopper-medium-v2.hdf5`` → ``hopper-medium-v2``)."""
    return Path(source).stem.replace(":", "-")


# --- checkpoints of a run directory (the file format is runs.checkpoint's) ------------------------------------------
def checkpoint_path(run_dir: str | Path, step: int) -> Path:
    return Path(run_dir) / CHECKPOINT_DIR / f"step_{step:010d}.msgpack"


def list_checkpoints(run_dir: str | Path) -> list[tuple[int, Path]]:
    """``(step, path)`` of every complete checkpoint, oldest first (temporary files are ignored)."""
    folder = Path(run_dir) / CHECKPOINT_DIR
    if not folder.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _CHECKPOINT.match(p.name)))


def latest_checkpoint(run_dir: str | Path) -> tuple[int, Path] | None:
    found = list_checkpoints(run_dir)
    return found[-1] if found else None


def save_checkpoint(run_dir: str | Path, step: int, state: Any, header: dict, keep: int = 3) -> Path:
    """Write the checkpoint for ``step`` atomically, then delete all but the newest ``keep``."""
    path = checkpoint.write_checkpoint(checkpoint_path(run_dir, step), state, {**header, "step": int(step)})
    for _, old in list_checkpoints(run_dir)[:-max(1, keep)]:
        old.unlink(missing_ok=True)
    return path


# --- a run's population ------------------------------------------------------------------------------------------
class LoadedRun(NamedTuple):
    """A run's population at one checkpoint."""

    states: IQLState
    members: list[engine.Member]
    record: RunRecord
    step: int


def template(record: RunRecord, obs_mean=None, obs_std=None) -> tuple[IQLState, list[engine.Member]]:
    """A fresh population of the record's structure, for a checkpoint to be restored into."""
    seeds, settings = record.population()
    c, d = record.config, record.dataset
    return engine.init_population(c.agent, seeds, d.obs_dim, d.act_dim, decay_steps=c.run.steps, sweep=settings,
                                  obs_mean=obs_mean, obs_std=obs_std)


def load_run(run_dir: str | Path, checkpoint_file: str | Path | None = None) -> LoadedRun:
    """The population of a run at its newest checkpoint (or ``checkpoint_file``), with its record and members.

    Raises:
        IQLError: not a run directory, a damaged record or checkpoint, or no checkpoint yet.
    """
    record = RunRecord.read(run_dir)
    states, members = template(record)
    if checkpoint_file is None:
        latest = latest_checkpoint(run_dir)
        if latest is None:
            raise RunError(f"{run_dir}: no checkpoint in {Path(run_dir) / CHECKPOINT_DIR}; train the run first (or "
                           f"resume it with `iql train --resume {run_dir}`)")
        checkpoint_file = latest[1]
    states, header = checkpoint.load_checkpoint(checkpoint_file, states, iql_jax.__version__)
    return LoadedRun(states, members, record, int(header["step"]))


@dataclass(frozen=True)
class LoadedMember:
    """One member of a run: its unstacked state and what the exporters record about it."""

    state: IQLState
    member: engine.Member
    record: RunRecord
    step: int
    checkpoint: Path
    run_dir: Path

    @property
    def obs_dim(self) -> int:
        return int(self.state.obs_mean.shape[-1])

    @property
    def act_dim(self) -> int:
        return self.record.dataset.act_dim


def load_member(run_dir: str | Path, member: int = 0, checkpoint_file: str | Path | None = None) -> LoadedMember:
    """Member ``member`` of the run in ``run_dir`` at its newest checkpoint (or ``checkpoint_file``).

    Raises:
        RunError: no checkpoint, or ``member`` is not one of the run's members.
        IQLError: ``run_dir`` is not a run directory, or the checkpoint is damaged.
    """
    if checkpoint_file is None and (latest := latest_checkpoint(run_dir)) is not None:
        checkpoint_file = latest[1]
    states, members, record, step = load_run(run_dir, checkpoint_file)
    if not isinstance(member, int) or not 0 <= member < len(members):
        choices = ", ".join(f"{m.index} ({m.label})" for m in members)
        raise RunError(f"{run_dir}: member {member} does not exist; expected one of {choices}")
    return LoadedMember(engine.member(states, member), members[member], record, step, Path(checkpoint_file),
                        Path(run_dir))
