"""The data and run sections of a training config, and fine-tuning's options: what ``--data.*``, ``--run.*`` and
``iql finetune`` accept (each field's docstring is its ``--help``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import tyro

from iql_jax.data import source_kind
from iql_jax.data.goals import EVAL_GOALS, GOAL_MODES
from iql_jax.data.transforms import REWARD_KINDS
from iql_jax.domains import MAX_EPISODES, MAX_STEPS, check_count, check_data, check_run, check_run_name
from iql_jax.errors import ConfigError

# The choices of these options are their tables' keys (each table is the one owner of its names).
RewardTransformKind = Literal[REWARD_KINDS]
GoalMode = Literal[GOAL_MODES]
EvalGoal = Literal[EVAL_GOALS]


@dataclass(frozen=True)
class DataConfig:
    """Which dataset to train on and how it is transformed before training."""

    dataset: Annotated[str, tyro.conf.arg(aliases=("--dataset",))] = "pointmaze-umaze"
    """A built-in name (see `iql data list`), a local Minari dataset id, a Minari directory or a D4RL .hdf5 file."""
    dataset_steps: int | None = None
    """Size of a built-in generated dataset (transitions); None uses the built-in's default."""
    dataset_seed: int = 0
    """Seed of a built-in generated dataset."""
    reward_transform: RewardTransformKind | None = None
    """'locomotion' (r·1000/(R_max−R_min)), 'antmaze' (r − 1), 'none'; None takes the preset's."""
    normalize_observations: bool = False
    """Standardise observations with dataset mean/std (off in the official code; the stats travel with the agent)."""
    clip_actions: bool = True
    """Clip dataset actions to ±(1 − 1e-5), as the official code (real D4RL actions slightly exceed ±1)."""
    env_id: Annotated[str | None, tyro.conf.arg(aliases=("--env-id", "--env"))] = None
    """Evaluation environment id; None pairs it from the dataset (Minari spec, or the task catalogue by name)."""
    goal: GoalMode = "auto"
    """Goal-reaching data: 'conditioned' appends desired_goal[t+1] to the observation; 'relabel' recomputes rewards \
and goal terminals against the evaluation map's fixed goal (D4RL AntMaze style); 'none' ignores the goal; 'auto' is \
'conditioned' when desired_goal varies in the data, else 'none'."""
    eval_goal: EvalGoal = "auto"
    """Goal-reaching data: evaluate in the env the dataset records ('recorded': its goals, as its reference scores \
were measured) or on the catalogue's fixed-goal map ('fixed'); 'auto' is 'recorded' for a goal-conditioned policy \
on data that record an evaluation env and reference scores, else 'fixed' (a policy that cannot see the goal)."""
    max_episode_steps: int | None = None
    """D4RL files without `timeouts`: the time limit that splits episodes (as qlearning_dataset); None takes the \
paired environment's (--env, else the task catalogue's)."""
    ref_scores: tuple[float, float] | None = None
    """Reference returns (random, expert) you measured in this run's evaluation env; the normalised score uses them, \
and the records name them as yours with that env. None: the dataset's, else the task catalogue's."""

    def __post_init__(self):
        check_data(self)

    def load_options(self) -> dict:
        """The :func:`~iql_jax.data.load_dataset` options for this source's kind: a built-in's seed; a D4RL file's
        time-limit pairing (``env_id``). The options given by the user pass whatever the kind, so one that does not
        apply is refused by the loader instead of dropped."""
        kind = source_kind(self.dataset)
        return {"steps": self.dataset_steps, "seed": self.dataset_seed if kind == "builtin" else None,
                "max_episode_steps": self.max_episode_steps, "env_id": self.env_id if kind == "hdf5" else None}


@dataclass(frozen=True)
class RunConfig:
    """How long, how many seeds, and what a run writes."""

    steps: Annotated[int, tyro.conf.arg(aliases=("--steps",))] = 1_000_000
    """Gradient updates per seed."""
    seeds: Annotated[int, tyro.conf.arg(aliases=("--seeds",))] = 1
    """Seeds trained together as one vmapped program."""
    seed: Annotated[int, tyro.conf.arg(aliases=("--seed",))] = 0
    """First seed; seeds are seed, seed+1, …"""
    chunk_size: Annotated[int, tyro.conf.arg(aliases=("--chunk-size",))] = 1000
    """Updates fused in one compiled call (lax.scan); logging happens between chunks."""
    eval_every: Annotated[int, tyro.conf.arg(aliases=("--eval-every",))] = 5000
    """Evaluate every N updates (0: only at the end)."""
    eval_episodes: Annotated[int | None, tyro.conf.arg(aliases=("--eval-episodes",))] = None
    """Episodes per seed at each evaluation; None takes the preset's (10, or 100 for AntMaze)."""
    checkpoint_every: int = 50_000
    """Write a checkpoint every N updates (and always at the end)."""
    keep_checkpoints: int = 3
    """How many recent checkpoints to keep."""
    out: Annotated[str, tyro.conf.arg(aliases=("--out",))] = "runs"
    """Parent directory of run directories."""
    name: Annotated[str | None, tyro.conf.arg(aliases=("--name",))] = None
    """Run directory name; None derives one from dataset, preset and time."""
    quiet: Annotated[bool, tyro.conf.arg(aliases=("--quiet",))] = False
    """No progress bar; print only the final summary."""
    tensorboard: bool = False
    """Also write TensorBoard scalars (needs the `tensorboard` extra)."""
    wandb: bool = False
    """Also log to Weights & Biases (needs the `wandb` extra; offline mode unless WANDB_MODE says otherwise)."""

    def __post_init__(self):
        for name in ("steps", "seeds", "chunk_size", "keep_checkpoints"):
            if getattr(self, name) < 1:
                raise ConfigError(f"run.{name}: expected a positive integer, found {getattr(self, name)}")
        for name in ("eval_every", "eval_episodes", "checkpoint_every"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise ConfigError(f"run.{name}: expected 0 or more, found {getattr(self, name)}")
        check_run(self)


@dataclass(frozen=True)
class FinetuneConfig:
    """Online fine-tuning of an offline run (paper Table 2): ``iql finetune``'s options, recorded in the fine-tuning
    run's ``finetune.json`` (with the defaults filled in)."""

    online_steps: int = 100_000
    """Environment steps (and updates) per member."""
    eval_every: int = 10_000
    """Evaluate every N online steps (0: only at the end)."""
    eval_episodes: int | None = None
    """Episodes per member per evaluation; None takes the offline run's."""
    checkpoint_every: int = 10_000
    """Checkpoint (and reset the environments, seeded) every N online steps."""
    updates_per_collect: int = 1
    """Collect K steps, then run K updates in one call (faster, less faithful than 1, the official loop's)."""
    capacity: int | None = None
    """Online transitions kept per member; None keeps all of them (the official behaviour)."""
    out: str | None = None
    """Parent directory of the new run; None puts it beside the offline run."""
    name: str | None = None
    """Name of the new run directory; None: <offline run>-finetune."""
    tensorboard: bool | None = None
    """Also write TensorBoard scalars of the online phase; None: as the offline run's --run.tensorboard."""
    wandb: bool | None = None
    """Also log the online phase to Weights & Biases; None: as the offline run's --run.wandb."""

    def __post_init__(self):
        for option in ("tensorboard", "wandb"):
            if getattr(self, option) not in (None, True, False):
                raise ConfigError(f"--{option}: expected True, False or None, found {getattr(self, option)!r}")
        minimum = {"online_steps": 1, "eval_every": 0, "eval_episodes": 0, "checkpoint_every": 1,
                   "updates_per_collect": 1, "capacity": 1}
        for option, least in minimum.items():
            value = getattr(self, option)
            if value is None and option in ("eval_episodes", "capacity"):
                continue
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise ConfigError(f"--{option.replace('_', '-')}: expected an integer >= {least}, found {value!r}")
            check_count(f"--{option.replace('_', '-')}", value, least,
                        MAX_EPISODES if option == "eval_episodes" else MAX_STEPS)
        if self.out is not None and not self.out.strip():
            raise ConfigError("--out: expected a directory, found an empty string")
        if self.name is not None:
            check_run_name(self.name, "--name")
