"""Typed, frozen configuration and the paper's per-domain presets.

Three dataclasses, one per layer: :class:`AgentConfig` (the IQL update), :class:`DataConfig` (which data and how it
is transformed) and :class:`RunConfig` (steps, seeds, evaluation, checkpoints, logging). :class:`TrainConfig`
holds all three; the ``iql train`` command line is generated from it by tyro, so every field's docstring is its
``--help`` text.

Presets reproduce the official configs (``shared/reference/implementations.md`` §1.5, ``iql-paper.md`` §1.5):

============== ========= ===== ============= ===================== ===========================
preset          expectile beta  actor dropout actor lr              reward transform
============== ========= ===== ============= ===================== ===========================
locomotion      0.7       3.0   none          cosine over the run   r·1000/(R_max − R_min)
antmaze         0.9       10.0  none          cosine over the run   r − 1
kitchen         0.7       0.5   0.1           cosine over the run   none
adroit          0.7       0.5   0.1           cosine over the run   none
antmaze-finetune 0.9      10.0  none          constant              r − 1
============== ========= ===== ============= ===================== ===========================

Shared (:data:`SHARED`): hidden (256, 256), Adam 3e-4 for actor, critic and value, discount 0.99, polyak 0.005,
batch 256, exp-advantage clip 100, two critics.

Every field a preset sets defaults to ``None``, "take the preset's", so a value the user gives is known as given
whatever it is (tyro's parse says what was typed; a library caller's ``AgentConfig(expectile=0.7)`` is kept under
``preset="antmaze"``). :meth:`TrainConfig.resolve` fills the rest from the preset, once.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Annotated, Literal

import tyro

from iql_jax.data import source_kind
from iql_jax.data.goals import EVAL_GOALS, GOAL_MODES
from iql_jax.data.transforms import REWARD_KINDS
from iql_jax.domains import MAX_EPISODES, MAX_STEPS, check_agent, check_count, check_data, check_run, check_run_name
from iql_jax.errors import ConfigError
from iql_jax.tasks import preset_name

# The choices of these options are their tables' keys (each table is the one owner of its names).
RewardTransformKind = Literal[REWARD_KINDS]
GoalMode = Literal[GOAL_MODES]
EvalGoal = Literal[EVAL_GOALS]


@dataclass(frozen=True)
class AgentConfig:
    """IQL hyperparameters, named as in the paper (expectile τ, beta β, discount γ, polyak).

    Every field defaults to None, the preset's value (see :meth:`TrainConfig.resolve`); outside a run, the
    agent and the engine fill a None from :data:`SHARED` (:meth:`complete`)."""

    expectile: float | None = None
    """τ of the value loss L₂^τ(Q̂ − V): 0.5 is the mean (SARSA / one-step), → 1 approaches the in-data max."""
    beta: float | None = None
    """AWR inverse temperature β: weights exp(β·(Q̂ − V)); 0 is behaviour cloning, large is greedy."""
    max_exp_adv: float | None = None
    """Clip on the AWR weight exp(β·A) (the official code's 100)."""
    discount: float | None = None
    """γ in the critic target r + γ·(1 − terminal)·V(s′)."""
    polyak: float | None = None
    """Target-critic averaging rate: Q̂ ← polyak·Q + (1 − polyak)·Q̂, every update."""
    actor_lr: float | None = None
    """Adam learning rate of the policy (start value of the cosine schedule)."""
    critic_lr: float | None = None
    """Adam learning rate of the Q ensemble."""
    value_lr: float | None = None
    """Adam learning rate of V."""
    actor_lr_schedule: Literal["cosine", "constant"] | None = None
    """'cosine' decays the actor lr to 0 over the run's steps (offline); 'constant' for fine-tuning."""
    hidden_dims: tuple[int, ...] | None = None
    """Hidden layer sizes of every MLP (actor, critics, value)."""
    num_critics: int | None = None
    """Number of Q heads; the min over the target heads feeds V and the actor."""
    actor_dropout: float | None = None
    """Dropout after every hidden activation of the actor, training only (0.1 on Kitchen/Adroit)."""
    log_std_min: float | None = None
    """Lower clip of the policy's state-independent log-std."""
    log_std_max: float | None = None
    """Upper clip of the policy's state-independent log-std."""
    batch_size: int | None = None
    """Transitions per update, drawn uniformly with replacement."""

    def complete(self, base: "AgentConfig | None" = None) -> "AgentConfig":
        """This config with every None taken from ``base`` (a preset's agent; by default :data:`SHARED`)."""
        base = SHARED if base is None else base
        return dataclasses.replace(base, **{k: v for k, v in self.given().items()})

    def given(self) -> dict:
        """The fields set (not None), by name."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if getattr(self, f.name) is not None}

    def network(self) -> "NetworkConfig":
        """The static part: what shapes the networks and the compiled program (the rest is traced, see Hyper)."""
        full = self.complete()
        return NetworkConfig(**{name: getattr(full, name) for name in STATIC_FIELDS})

    def __post_init__(self):
        check_agent(self)


SHARED = AgentConfig(expectile=0.7, beta=3.0, max_exp_adv=100.0, discount=0.99, polyak=0.005, actor_lr=3e-4,
                     critic_lr=3e-4, value_lr=3e-4, actor_lr_schedule="cosine", hidden_dims=(256, 256), num_critics=2,
                     actor_dropout=0.0, log_std_min=-5.0, log_std_max=2.0, batch_size=256)
"""The official values every preset starts from (``implementations.md`` §1.5 "common to all"); the τ and β here
are the locomotion preset's."""

# The AgentConfig fields that shape the networks and the compiled program. Every other field is traced: a field of
# agent.Hyper, or actor_lr_schedule, which becomes Hyper.actor_decay_steps (agent.py checks the split is exhaustive).
STATIC_FIELDS = ("hidden_dims", "num_critics", "actor_dropout", "log_std_min", "log_std_max", "batch_size")
NetworkConfig = dataclasses.make_dataclass(
    "NetworkConfig", [(f.name, f.type, field(default=getattr(SHARED, f.name))) for f in dataclasses.fields(AgentConfig)
                      if f.name in STATIC_FIELDS], frozen=True)
NetworkConfig.__module__ = __name__
NetworkConfig.__doc__ = """The static settings an :class:`~iql_jax.agent.IQLState` carries (hashable; one compiled
program each): the :data:`STATIC_FIELDS` of :class:`AgentConfig`, documented there.

Only what fixes array shapes or the traced program lives here. Every number that may differ between members of a
population (expectile, β, discount, polyak, learning rates, the exp-advantage clip, the schedule horizon) is a traced
:class:`~iql_jax.agent.Hyper` value instead, so the state cannot hold a stale copy of it.
"""


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


@dataclass(frozen=True)
class Preset:
    """A named, cited hyperparameter set for one domain."""

    name: str
    agent: AgentConfig
    reward_transform: RewardTransformKind
    eval_episodes: int
    source: str


PRESETS: dict[str, Preset] = {
    "locomotion": Preset(
        "locomotion", dataclasses.replace(SHARED, expectile=0.7, beta=3.0), "locomotion", 10,
        "official configs/mujoco_config.py; paper Table 1 (Gym locomotion v2)"),
    "antmaze": Preset(
        "antmaze", dataclasses.replace(SHARED, expectile=0.9, beta=10.0), "antmaze", 100,
        "official configs/antmaze_config.py; paper Table 1 (AntMaze v0)"),
    "kitchen": Preset(
        "kitchen", dataclasses.replace(SHARED, expectile=0.7, beta=0.5, actor_dropout=0.1), "none", 10,
        "official configs/kitchen_config.py; paper Table 3 (Kitchen v0)"),
    "adroit": Preset(
        "adroit", dataclasses.replace(SHARED, expectile=0.7, beta=0.5, actor_dropout=0.1), "none", 10,
        "official README runs Adroit with configs/kitchen_config.py; paper Table 3 (Adroit v0)"),
    "antmaze-finetune": Preset(
        "antmaze-finetune",
        dataclasses.replace(SHARED, expectile=0.9, beta=10.0, actor_lr_schedule="constant"), "antmaze", 100,
        "official configs/antmaze_finetune_config.py; paper Table 2 (fine-tuning)"),
}
PresetName = Literal[tuple(PRESETS)]


def get_preset(name: str) -> Preset:
    """Look a preset up by name, with a clear error listing the valid ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"unknown preset {name!r}; expected one of {sorted(PRESETS)}") from None


def preset_for_domain(domain: str | None) -> Preset:
    """The preset implied by a dataset's domain (the task catalogue's choice); unknown domains get locomotion's."""
    return PRESETS[preset_name(domain)]


# The fields a preset sets, as dotted names: each defaults to None, "the preset's".
PRESET_FIELDS: tuple[str, ...] = (*(f"agent.{f.name}" for f in dataclasses.fields(AgentConfig)),
                                  "run.eval_episodes", "data.reward_transform")


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; saved as ``config.json`` in the run directory."""

    agent: AgentConfig = field(default_factory=AgentConfig)
    data: DataConfig = field(default_factory=DataConfig)
    run: RunConfig = field(default_factory=RunConfig)
    preset: Annotated[PresetName | None, tyro.conf.arg(aliases=("-p",))] = None
    """Hyperparameter preset (see `iql presets`); None picks it from the dataset's domain."""
    resolved: tyro.conf.Suppress[bool] = False
    """Set by :meth:`resolve`: the preset is applied and the config is final (every ``config.json`` holds one)."""

    def given(self) -> frozenset[str]:
        """The preset fields (dotted names, :data:`PRESET_FIELDS`) this config sets: they override the preset."""
        return frozenset(name for name in PRESET_FIELDS if _get(self, name) is not None)

    def resolve(self, domain: str | None, goal: str | None = None) -> "TrainConfig":
        """The config to train: the preset applied under the fields given. The one place presets apply.

        The preset is ``self.preset`` if named, else the one the dataset's ``domain`` implies (the task catalogue's
        choice). It fills every :data:`PRESET_FIELDS` entry left None (the ``agent`` fields, ``run.eval_episodes``,
        ``data.reward_transform``); a field given keeps its value whatever it is, so
        ``TrainConfig(agent=AgentConfig(expectile=0.7), preset="antmaze")`` trains τ 0.7, β 10, and
        ``--preset antmaze --agent.expectile 0.7`` the same. ``goal`` is the concrete goal mode the data resolved
        ``data.goal`` to (:func:`iql_jax.data.goals.resolve_goal_mode`), recorded in its place.

        A resolved config is returned unchanged (resolving twice cannot undo an override).
        """
        if self.resolved:
            return self
        preset = get_preset(self.preset) if self.preset else preset_for_domain(domain)
        episodes = preset.eval_episodes if self.run.eval_episodes is None else self.run.eval_episodes
        data = dataclasses.replace(self.data, reward_transform=self.data.reward_transform or preset.reward_transform,
                                   goal=goal or self.data.goal)
        return dataclasses.replace(self, agent=self.agent.complete(preset.agent), data=data,
                                   run=dataclasses.replace(self.run, eval_episodes=episodes), preset=preset.name,
                                   resolved=True)


def _get(config: TrainConfig, dotted: str):
    part, name = dotted.split(".")
    return getattr(getattr(config, part), name)


def config_to_dict(config) -> dict:
    """A JSON-ready dict of a (nested) config dataclass."""
    return dataclasses.asdict(config)


def config_from_dict(data: dict) -> TrainConfig:
    """Rebuild a :class:`TrainConfig` from :func:`config_to_dict` output (tuples restored).

    Every ``config.json`` holds a resolved config, those written before the ``resolved`` field existed too; a field
    an older version did not write takes the value its default then was (:data:`SHARED`, 10 evaluation episodes).
    """
    agent = dict(data.get("agent", {}))
    if agent.get("hidden_dims") is not None:
        agent["hidden_dims"] = tuple(agent["hidden_dims"])
    resolved = data.get("resolved", True)
    run = dict(data.get("run", {}))
    if resolved and run.get("eval_episodes") is None:
        run["eval_episodes"] = 10
    return TrainConfig(
        agent=AgentConfig(**agent).complete() if resolved else AgentConfig(**agent),
        data=DataConfig(**data.get("data", {})),
        run=RunConfig(**run),
        preset=data.get("preset"),
        resolved=resolved,
    )
