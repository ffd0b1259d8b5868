"""Evaluation: which environment pairs with a dataset, batched deterministic roll-outs, D4RL normalised scores.

Typical use (the training loop does this before training and at every evaluation)::

    spec = resolve_eval_env(dataset.info, env_id=None)
    check_dimensions(spec.make(), obs_dim, act_dim, dataset.info.source)
    envs = make_eval_envs(spec, seeds * 10)  # built once, reused by every evaluation, closed at the end
    result = evaluate(policy_fn, spec, num_members=seeds, episodes=10, seed=0,
                      ref_scores=reference_scores(dataset.info), envs=envs)
    result.aggregate()  # {"return_mean": ..., "score_mean": ..., ...}
"""

from iql_jax.evaluation.envs import EvalEnvSpec, check_dimensions, online_env, resolve_eval_env
from iql_jax.evaluation.rollout import EvalResult, evaluate, make_eval_envs, step_success
from iql_jax.evaluation.scores import D4RL_REF_SCORES, normalized_score, reference_scores

__all__ = [
    "D4RL_REF_SCORES",
    "EvalEnvSpec",
    "EvalResult",
    "check_dimensions",
    "evaluate",
    "make_eval_envs",
    "normalized_score",
    "online_env",
    "reference_scores",
    "resolve_eval_env",
    "step_success",
]
