"""Roll-outs on a tiny environment whose returns can be computed by hand."""

import gymnasium as gym
import numpy as np
import pytest

from iql_jax.errors import IQLError
from iql_jax.evaluation import EvalEnvSpec, evaluate, make_eval_envs, resolve_eval_env
from iql_jax.evaluation.rollout import step_success

LINE_ID = "iql_jax_test/Line-v0"
GOAL = 5.0


class LineEnv(gym.Env):
    """x' = x + a with a in [-1, 1], reward x'; terminal (and success) once x' >= 5; time limit 20.

    From x0 = 0 a constant action a > 0 reaches the goal after ceil(5 / a) steps with return
    a · (1 + 2 + ... + T). With ``random_start`` x0 ~ U(0, 0.5) from the reset seed, so seeds matter.
    Stepping after the end, or with an action outside the space, raises: evaluate must mask and clip.
    """

    def __init__(self, random_start: bool = False):
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (1,), np.float64)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.random_start = random_start
        self.x, self.done = 0.0, True

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.x = float(self.np_random.uniform(0.0, 0.5)) if self.random_start else 0.0
        self.done = False
        return np.array([self.x]), {}

    def step(self, action):
        if self.done:
            raise RuntimeError("stepped a finished episode")
        if not self.action_space.contains(action):
            raise ValueError(f"action {action!r} outside the action space")
        self.x += float(action[0])
        self.done = self.x >= GOAL
        return np.array([self.x]), self.x, self.done, False, {"success": self.done}


@pytest.fixture(autouse=True, scope="module")
def _line_env():  # registered when the tests run, not when the module is imported
    if LINE_ID not in gym.registry:
        gym.register(LINE_ID, entry_point=LineEnv, max_episode_steps=20)


def constant_policy(values):
    """Member m always plays ``values[m]``; checks the batch shape it is given."""
    values = np.asarray(values, dtype=np.float64)

    def policy(obs):
        assert obs.shape[0] == len(values) and obs.shape[2] == 1 and obs.dtype == np.float32
        return np.broadcast_to(values[:, None, None], obs.shape).copy()

    return policy


def test_exact_returns_lengths_and_success():
    # Members: a = 1 (5 steps: 1+2+3+4+5 = 15), a = 0.5 (10 steps: 0.5·55 = 27.5), a = 2 clipped to 1 (15),
    # a = -1 (never arrives; 20 steps: -(1+...+20) = -210). The short episodes must not keep collecting reward
    # while the long one runs.
    calls = []
    policy = constant_policy([1.0, 0.5, 2.0, -1.0])
    result = evaluate(lambda o: calls.append(1) or policy(o), EvalEnvSpec(LINE_ID), num_members=4, episodes=2,
                      seed=0, ref_scores=(0.0, 30.0))
    np.testing.assert_array_equal(result.returns, [[15.0, 15.0], [27.5, 27.5], [15.0, 15.0], [-210.0, -210.0]])
    np.testing.assert_array_equal(result.episode_lengths, [[5, 5], [10, 10], [5, 5], [20, 20]])
    np.testing.assert_array_equal(result.mean_return, [15.0, 27.5, 15.0, -210.0])
    np.testing.assert_allclose(result.normalized_score, [50.0, 27.5 / 0.3, 50.0, -700.0])
    np.testing.assert_array_equal(result.success_rate, [1.0, 1.0, 1.0, 0.0])
    assert len(calls) == 20  # one policy call per vector step, for all members and episodes at once


def test_aggregate_over_members():
    result = evaluate(constant_policy([1.0, 0.5]), EvalEnvSpec(LINE_ID), 2, 1, seed=0, ref_scores=(0.0, 30.0))
    agg = result.aggregate()
    assert agg["return_mean"] == pytest.approx(21.25) and agg["return_std"] == pytest.approx(6.25)
    assert agg["score_mean"] == pytest.approx(70.8333333) and agg["success_mean"] == 1.0
    assert agg["length_mean"] == pytest.approx(7.5)
    no_refs = evaluate(constant_policy([1.0]), EvalEnvSpec(LINE_ID), 1, 1, seed=0)
    assert no_refs.normalized_score is None and "score_mean" not in no_refs.aggregate()


def obs_dependent_policy(gains):
    """a = 0.3 + gain_m · x: the action depends on the (seeded) start state, so equal starts matter."""
    gains = np.asarray(gains, dtype=np.float64)
    return lambda obs: 0.3 + gains[:, None, None] * obs


def test_same_seed_same_scores_and_seed_matters():
    spec = EvalEnvSpec(LINE_ID, {"random_start": True})
    first = evaluate(obs_dependent_policy([0.1, 0.2]), spec, 2, 3, seed=7)
    again = evaluate(obs_dependent_policy([0.1, 0.2]), spec, 2, 3, seed=7)
    other = evaluate(obs_dependent_policy([0.1, 0.2]), spec, 2, 3, seed=8)
    np.testing.assert_array_equal(first.returns, again.returns)
    assert not np.array_equal(first.returns, other.returns)
    assert len(np.unique(first.returns[0])) == 3  # different episodes start from different states


def test_batched_members_equal_members_alone():
    spec = EvalEnvSpec(LINE_ID, {"random_start": True})
    gains = [0.0, 0.15, -0.05]
    batch = evaluate(obs_dependent_policy(gains), spec, num_members=3, episodes=4, seed=3)
    for m, gain in enumerate(gains):
        alone = evaluate(obs_dependent_policy([gain]), spec, num_members=1, episodes=4, seed=3)
        np.testing.assert_array_equal(batch.returns[m], alone.returns[0])
        np.testing.assert_array_equal(batch.episode_lengths[m], alone.episode_lengths[0])


def test_reused_envs_give_the_same_results():
    spec = EvalEnvSpec(LINE_ID, {"random_start": True})
    fresh = evaluate(obs_dependent_policy([0.1, -0.05]), spec, 2, 3, seed=5)
    envs = make_eval_envs(spec, 6)
    try:
        evaluate(obs_dependent_policy([0.2, 0.0]), spec, 2, 3, seed=9, envs=envs)  # leaves other states behind
        reused = evaluate(obs_dependent_policy([0.1, -0.05]), spec, 2, 3, seed=5, envs=envs)
        with pytest.raises(IQLError, match="expected 4 sub-environments"):
            evaluate(obs_dependent_policy([0.1, -0.05]), spec, 2, 2, seed=5, envs=envs)
    finally:
        envs.close()
    np.testing.assert_array_equal(reused.returns, fresh.returns)
    np.testing.assert_array_equal(reused.episode_lengths, fresh.episode_lengths)


def test_bad_policy_shape_and_counts_raise():
    with pytest.raises(IQLError, match=r"\(2, 1, 1\)"):
        evaluate(lambda obs: np.zeros((2, 1)), EvalEnvSpec(LINE_ID), 2, 1, seed=0)
    with pytest.raises(IQLError, match="episodes"):
        evaluate(constant_policy([1.0]), EvalEnvSpec(LINE_ID), 1, 0, seed=0)


def test_no_success_key_gives_none_and_hopper_runs():
    spec = resolve_eval_env(env_id="Hopper-v5", env_kwargs={"max_episode_steps": 7})
    result = evaluate(lambda obs: np.zeros(obs.shape[:2] + (3,)), spec, 1, 2, seed=0)
    assert result.success_rate is None
    np.testing.assert_array_equal(result.episode_lengths, [[7, 7]])  # standing still: the time limit ends it


def test_maze_success_counts_any_step():
    # Start one cell left of the goal and push right: the point crosses the goal region (sparse reward 1 on each
    # step inside it, success reported there) and ends against the far wall, off the goal. Success is "any step".
    maze = [[1, 1, 1, 1, 1], [1, "r", "g", 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]
    spec = resolve_eval_env(env_id="PointMaze_UMaze-v3", env_kwargs={
        "maze_map": maze, "continuing_task": True, "reset_target": False, "max_episode_steps": 60})
    push_right = lambda obs: np.broadcast_to(np.array([1.0, 0.0]), obs.shape[:2] + (2,))
    result = evaluate(push_right, spec, 1, 3, seed=0)
    np.testing.assert_array_equal(result.success_rate, [1.0])
    assert np.all((result.returns > 5) & (result.returns < 40))  # some steps at the goal, not the last ones
    env = spec.make()
    env.reset(seed=0)
    for _ in range(60):
        *_, info = env.step(np.array([1.0, 0.0], dtype=np.float32))
    assert not info["success"]


def test_kitchen_success_means_every_task_done():
    assert step_success({"tasks_to_complete": ["kettle"], "episode_task_completions": ["microwave"]}) is False
    assert step_success({"tasks_to_complete": [], "episode_task_completions": ["microwave", "kettle"]}) is True
    # remove_task_when_completed=False keeps finished tasks in the open list
    assert step_success({"tasks_to_complete": ["kettle"], "episode_task_completions": ["kettle"]}) is True
    assert step_success({"success": np.False_}) is False and step_success({"x_position": 1.0}) is None
    spec = resolve_eval_env(env_id="FrankaKitchen-v1", env_kwargs={"max_episode_steps": 3})
    result = evaluate(lambda obs: np.zeros(obs.shape[:2] + (9,)), spec, 1, 1, seed=0)
    np.testing.assert_array_equal(result.success_rate, [0.0])  # reported (not None), nothing completed
    np.testing.assert_array_equal(result.returns, [[0.0]])
