"""From a config and a dataset to what a run trains on: the resolved config, the transformed transitions, the
reward transform, observation statistics and the evaluation environment.

Both a fresh run and a resume go through :func:`prepare`, so a resumed run sees exactly the same data.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass

import numpy as np

from iql_jax.config import TrainConfig, get_preset, preset_for_domain
from iql_jax.data import (Dataset, ObservationStats, RewardTransform, clip_actions, fit_observation_stats,
                          fit_reward_transform, load_dataset)
from iql_jax.data.goals import apply_goal_mode, resolve_goal_mode
from iql_jax.data.transforms import goal_terminals
from iql_jax.data.transitions import Transitions, read_only
from iql_jax.evaluation import EvalEnvSpec, check_dimensions, resolve_eval_env
from iql_jax.evaluation.references import References, dataset_references, mismatch, user_references
from iql_jax.tasks import score_kind


@dataclass(frozen=True)
class Prepared:
    """A dataset made ready for training under a config."""

    config: TrainConfig
    dataset: Dataset
    transitions: Transitions  # after the reward transform and action clipping
    reward_transform: RewardTransform
    obs_stats: ObservationStats | None
    eval_spec: EvalEnvSpec | None
    ref_scores: tuple[float, float] | None  # the references' pair, only where eval_spec is the env they belong to
    score: str  # "return" or "success": how the normalised score is computed (the task catalogue's rule)
    fingerprint: str
    references: References | None = None  # the pair with the env it was measured in (evaluation.references)
    no_score: str | None = None  # why there is no normalised score although the data have references


def fingerprint(transitions: Transitions) -> str:
    """A short SHA-256 over the arrays, to tell on resume that the data is the same."""
    h = hashlib.sha256()
    for array in transitions:
        h.update(np.ascontiguousarray(array).tobytes())
    return h.hexdigest()[:16]


def load(config: TrainConfig, progress: bool = True) -> Dataset:
    """The dataset ``config.data`` names, with the options that apply to its kind (:meth:`DataConfig.load_options`)."""
    return load_dataset(config.data.dataset, progress=progress, **config.data.load_options())


def prepare(config: TrainConfig, dataset: Dataset | None = None, progress: bool = True,
            evaluate: bool = True) -> Prepared:
    """Load (unless given) and transform the data, resolve the config and the evaluation env.

    Args:
        config: the config; :meth:`TrainConfig.resolve` applies its preset here with the dataset's domain and goal
            mode (a no-op for a resolved one, such as a run's ``config.json``).
        evaluate: resolve the evaluation environment and check that it fits the data (off for :func:`fit`).

    Raises:
        IQLError: bad data, an unknown preset, or an evaluation environment whose dimensions do not fit.
    """
    dataset = dataset if dataset is not None else load(config, progress)
    references = dataset_references(dataset.info)  # before goal handling rewrites the recorded evaluation spec
    goal, why = resolve_goal_mode(dataset, config.data.goal)
    if progress:
        print(f"goal: {goal} ({why}; --data.goal {'auto' if config.data.goal == 'auto' else goal})", file=sys.stderr)
    dataset = apply_goal_mode(dataset, goal, config.data.eval_goal)
    if not config.resolved and progress:
        how = "--preset" if config.preset else f"the dataset's domain ({dataset.info.domain or 'unknown'})"
        preset = get_preset(config.preset) if config.preset else preset_for_domain(dataset.info.domain)
        print(f"preset: {preset.name} from {how}; {preset.source}", file=sys.stderr)
    config = config.resolve(dataset.info.domain, goal)
    kind = config.data.reward_transform
    raw = dataset.transitions
    if kind == "antmaze":
        raw = goal_terminals(raw)
    transform = fit_reward_transform(kind, raw)
    # The one place actions are clipped (loaders only check their range); config.json's clip_actions says which.
    actions = clip_actions(raw.actions) if config.data.clip_actions else raw.actions
    transitions = raw._replace(rewards=read_only(transform.apply(np.asarray(raw.rewards, np.float64))),
                               actions=read_only(actions))
    stats = fit_observation_stats(raw) if config.data.normalize_observations else None
    spec = None
    if evaluate:
        spec = resolve_eval_env(dataset.info, env_id=config.data.env_id)
        env = spec.make()
        try:
            check_dimensions(env, raw.obs_dim, raw.act_dim, dataset.info.source)
        finally:
            env.close()
    # The fingerprint is over the data as loaders returned it before clip_actions was honoured (actions always
    # clipped), so runs written then still resume; clip_actions itself is fixed by config.json.
    fixed = raw._replace(actions=clip_actions(raw.actions))
    if config.data.ref_scores is not None:  # the user's pair, measured (they say) in this evaluation env
        references = user_references(*config.data.ref_scores, spec)
    no_score = None if references is None or spec is None else mismatch(references, spec)
    if no_score is not None:
        print(no_score, file=sys.stderr)
    pair = references.pair if references is not None and no_score is None else None
    return Prepared(config, dataset, transitions, transform, stats, spec, pair, score_kind(dataset.info.domain),
                    fingerprint(fixed), references, no_score)
