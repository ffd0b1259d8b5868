"""Deterministic roll-outs of many policies (training seeds) for many episodes, as one batch.

Training vmaps the agent over seeds ("members"), so evaluation takes a policy that maps observations of shape
``(members, episodes, obs_dim)`` to actions ``(members, episodes, act_dim)`` in **one** call per step: one jitted
dispatch covers every member and every episode, and the input shape never changes, so nothing recompiles.

Every (member, episode) pair gets its own sub-environment of a gymnasium ``SyncVectorEnv`` (not async: on two cores
inter-process traffic costs more than a MuJoCo step) and plays exactly one episode. Episode ``e`` of every member
is reset with seed ``seed + e``: all members start from the same states, so member m evaluated in a batch gives the
same numbers as member m evaluated alone.

The vector env builds, checks and resets the batch; stepping goes to the sub-environments whose episode is still
running. ``SyncVectorEnv.step`` steps every sub-environment: with autoreset it would start (and pay for) new
episodes in the finished ones, without it it refuses to step a finished one. Stepping only the live ones means a
short episode costs only its own steps and can never add reward after its end; finished slots keep their last
observation so the policy's input shape stays fixed. It also skips the vector env's per-step merging of info
dicts, which we do not need.

Costs (``benchmarks/eval.py``): with a NumPy policy, evaluation runs within a few percent to ~15% of a plain loop
stepping the same batch. A jitted policy adds its dispatch, 60-100 µs per call on CPU right after the simulator
has run (cold caches), which matters only for cheap simulators with few environments per call. Building the
sub-environments can cost more than stepping them (MuJoCo compiles each model); :func:`make_eval_envs` builds
them once for reuse.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import gymnasium as gym
import numpy as np

from iql_jax.errors import IQLError
from iql_jax.evaluation.envs import EvalEnvSpec
from iql_jax.evaluation.scores import normalized_score

PolicyFn = Callable[[np.ndarray], np.ndarray]  # (members, episodes, obs_dim) -> (members, episodes, act_dim)


@dataclass(frozen=True)
class EvalResult:
    """Per-member results of one evaluation; arrays have the member axis first.

    Attributes:
        env_id: the environment that was evaluated.
        returns: ``(members, episodes)`` undiscounted episode returns.
        episode_lengths: ``(members, episodes)`` steps per episode.
        mean_return: ``(members,)`` mean return over episodes.
        normalized_score: ``(members,)`` D4RL normalised score of the mean return, or ``None`` without references.
        success_rate: ``(members,)`` fraction of successful episodes, or ``None`` if the environment reports no
            success (an ``info["success"]`` that was truthy on any step; FrankaKitchen: every task completed).
    """

    env_id: str
    returns: np.ndarray
    episode_lengths: np.ndarray
    mean_return: np.ndarray
    normalized_score: np.ndarray | None
    success_rate: np.ndarray | None

    def aggregate(self) -> dict[str, float]:
        """Mean and standard deviation (over members, ``ddof=0``) of each per-member metric.

        Returns:
            ``return_mean``, ``return_std``, ``length_mean``, and ``score_*`` / ``success_*`` where available.
        """
        per_member = {"return": self.mean_return, "score": self.normalized_score, "success": self.success_rate}
        out = {"length_mean": float(self.episode_lengths.mean())}
        for name, values in per_member.items():
            if values is not None:
                out[f"{name}_mean"], out[f"{name}_std"] = float(values.mean()), float(values.std())
        return out


def make_eval_envs(spec: EvalEnvSpec, num_envs: int) -> gym.vector.SyncVectorEnv:
    """Build the batch of sub-environments once, to pass to :func:`evaluate` again and again.

    Building dominates short evaluations (MuJoCo compiles each model: about 6 ms for Hopper, 80 ms for PointMaze,
    300 ms for FrankaKitchen), so a training loop that evaluates periodically should build once and close at the end.
    Reuse changes no result: every evaluation resets every sub-environment with an explicit seed.

    Args:
        spec: the evaluation environment.
        num_envs: ``num_members * episodes`` of the evaluations it will serve.

    Returns:
        A ``SyncVectorEnv`` without autoreset; the caller closes it.
    """
    return gym.vector.SyncVectorEnv([spec.make] * num_envs, copy=False,
                                    autoreset_mode=gym.vector.AutoresetMode.DISABLED)


def evaluate(policy_fn: PolicyFn, spec: EvalEnvSpec, num_members: int, episodes: int, seed: int,
             ref_scores: tuple[float, float] | None = None,
             envs: gym.vector.SyncVectorEnv | None = None, score: str = "return") -> EvalResult:
    """Roll out ``num_members`` deterministic policies for ``episodes`` episodes each, in one batch.

    Args:
        policy_fn: maps observations ``(num_members, episodes, obs_dim)`` to actions of shape
            ``(num_members, episodes, act_dim)``; called once per step for the whole batch. Actions are clipped to
            the action space.
        spec: the evaluation environment (:func:`~iql_jax.evaluation.envs.resolve_eval_env`).
        num_members: number of policies stacked on the first axis (training seeds).
        episodes: episodes per member.
        seed: episode ``e`` starts from ``reset(seed=seed + e)``, the same for every member.
        ref_scores: ``(ref_min, ref_max)`` for the normalised score
            (:func:`~iql_jax.evaluation.scores.reference_scores`), or ``None``.
        envs: sub-environments from :func:`make_eval_envs` to reuse (left open); ``None`` builds and closes its own.
        score: ``"return"`` normalises the mean return; ``"success"`` (AntMaze, as D4RL) normalises the success
            rate, each episode counting once however long it stays at the goal.

    Returns:
        An :class:`EvalResult`.

    Raises:
        IQLError: a non-positive count, ``envs`` of the wrong size, a non-Box action space, or actions of the
            wrong shape.
    """
    if num_members < 1 or episodes < 1:
        raise IQLError(f"evaluation: expected num_members >= 1 and episodes >= 1, found {num_members}, {episodes}")
    n = num_members * episodes  # sub-environment i plays episode i % episodes of member i // episodes
    if envs is not None and envs.num_envs != n:
        raise IQLError(f"evaluation: expected {n} sub-environments ({num_members} members x {episodes} episodes), "
                       f"found {envs.num_envs}")
    vec = make_eval_envs(spec, n) if envs is None else envs
    try:
        space = vec.single_action_space
        if not isinstance(space, gym.spaces.Box):
            raise IQLError(f"evaluation: {spec.env_id}: expected a Box action space, found {space}")
        obs, _ = vec.reset(seed=[seed + e for _ in range(num_members) for e in range(episodes)])
        obs = np.array(obs, dtype=np.float32)  # (n, obs_dim), owned here; finished rows stay frozen
        # Plain Python lists in the per-step loop: indexing NumPy scalars costs more than the bookkeeping itself.
        returns, lengths, success = [0.0] * n, [0] * n, [None] * n
        steps = [env.step for env in vec.envs]
        live, t = list(range(n)), 0
        batch_shape, act_shape = (num_members, episodes, *obs.shape[1:]), (num_members, episodes, *space.shape)
        while live:
            actions = np.asarray(policy_fn(obs.reshape(batch_shape)))
            if actions.shape != act_shape:
                raise IQLError(f"evaluation: {spec.env_id}: policy returned actions of shape {actions.shape}, "
                               f"expected {act_shape}")
            actions = np.clip(actions.reshape(n, *space.shape), space.low, space.high).astype(space.dtype)
            t, still = t + 1, []
            for i in live:
                obs[i], reward, terminated, truncated, info = steps[i](actions[i])
                returns[i] += reward
                flag = step_success(info)
                if flag is not None:
                    success[i] = bool(success[i]) or flag
                if terminated or truncated:
                    lengths[i] = t
                else:
                    still.append(i)
            live = still
    finally:
        if envs is None:
            vec.close()
    returns = np.array(returns, dtype=np.float64).reshape(num_members, episodes)
    lengths = np.array(lengths, dtype=np.int64).reshape(num_members, episodes)
    mean_return = returns.mean(axis=1)
    success_rate = None
    if any(flag is not None for flag in success):
        success_rate = np.array([bool(flag) for flag in success]).reshape(num_members, episodes).mean(axis=1)
    if score == "success" and success_rate is None:
        raise IQLError(f"evaluation: {spec.env_id} reports no success, so it cannot be scored by success rate")
    scored = success_rate if score == "success" else mean_return
    return EvalResult(
        env_id=spec.env_id,
        returns=returns,
        episode_lengths=lengths,
        mean_return=mean_return,
        normalized_score=None if ref_scores is None else normalized_score(scored, *ref_scores),
        success_rate=success_rate,
    )


def step_success(info: dict) -> bool | None:
    """Success as the environment reports it this step, or ``None`` if it reports nothing: the one definition, for
    evaluation and online collection alike.

    Mazes and Adroit set ``info["success"]``. FrankaKitchen lists the episode's completed tasks and the tasks still
    open (which, by default, shrinks as tasks complete); success means nothing is left open.
    """
    flag = info.get("success")
    if flag is not None:
        return bool(flag)
    completed = info.get("episode_task_completions")
    if completed is not None:
        return not set(info.get("tasks_to_complete", ())) - set(completed)
    return None
