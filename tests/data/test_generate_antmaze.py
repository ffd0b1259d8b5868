"""AntMaze with a walking ant: the directional task's reward and schedule, the BFS planner's waypoints on a map
worked by hand, collection through DataCollector (deterministic, loadable in both goal modes), success scoring, and
a short end-to-end training run on generated data."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import jax
import numpy as np
import pytest

from iql_jax.behaviour import sac
from iql_jax.behaviour.directional import DirectionalAnt, steer, turn_observation
from iql_jax.behaviour.policy import load_policy_file, save_policy
from iql_jax.behaviour.sac import SACConfig
from iql_jax.data.generate_antmaze import VARIANTS, AntDriver, _cells, collect_antmaze
from iql_jax.data.generate_maze import WaypointController
from iql_jax.data.goals import apply_goal_mode, relabel_rewards, resolve_goal_mode
from iql_jax.data.minari_io import load_minari
from iql_jax.evaluation.scores import normalized_score
from iql_jax.tasks import ANTMAZE_REFS, TASKS


def test_directional_reward_is_the_velocity_along_z_and_z_is_redrawn_every_100_steps():
    env = DirectionalAnt()
    obs, _ = env.reset(seed=3)
    z0 = obs[-2:].copy()
    assert np.linalg.norm(z0) == pytest.approx(1.0)
    rng = np.random.default_rng(0)
    for t in range(1, 201):
        before = env.unwrapped.get_body_com("torso")[:2].copy()
        obs, reward, terminated, _, info = env.step(rng.uniform(-1, 1, 8))
        after = env.unwrapped.get_body_com("torso")[:2].copy()
        along = float((after - before) @ info["direction"]) / env.unwrapped.dt  # displacement along z, per second
        assert reward - info["reward_survive"] - info["reward_ctrl"] == pytest.approx(along, abs=1e-9)
        if t < 100:
            np.testing.assert_array_equal(obs[-2:], z0)
        if t == 100:
            assert not np.allclose(obs[-2:], z0)  # the observation after step 100 carries the new direction
        if terminated:
            break
    again, _ = DirectionalAnt().reset(seed=3)
    np.testing.assert_array_equal(again[-2:], z0)  # seeded


def test_turned_observation_is_the_observation_of_the_physically_turned_ant():
    """steer's premise: turn the whole simulated ant by an angle about the vertical axis (position, orientation,
    world-frame linear velocity; the free joint's angular velocity is body-frame and stays), apply the same
    actions to both, and the turned ant's observation stays turn_observation of the original's."""
    angle = 2.1
    a, b = DirectionalAnt().unwrapped, DirectionalAnt().unwrapped
    a.reset(seed=5)
    rng = np.random.default_rng(0)
    for _ in range(20):  # walk a little, so velocities and orientation are not the reset's
        a.step(rng.uniform(-1, 1, 8))
    qpos, qvel = a.data.qpos.copy(), a.data.qvel.copy()
    c, s = np.cos(angle), np.sin(angle)
    turn = np.array([[c, -s], [s, c]])
    qpos[:2], qvel[:2] = turn @ qpos[:2], turn @ qvel[:2]
    w, x, y, z = qpos[3:7]
    h, k = np.cos(angle / 2), np.sin(angle / 2)
    qpos[3:7] = [h * w - k * z, h * x - k * y, h * y + k * x, h * z + k * w]
    b.reset(seed=5)
    b.set_state(qpos, qvel)
    np.testing.assert_allclose(b._get_obs(), turn_observation(a._get_obs(), angle), atol=1e-12)
    for _ in range(30):
        action = rng.uniform(-1, 1, 8)
        obs_a, *_ = a.step(action)
        obs_b, *_ = b.step(action)
        np.testing.assert_allclose(obs_b, turn_observation(obs_a, angle), atol=1e-6)
    np.testing.assert_allclose(b.data.qpos[:2], turn @ a.data.qpos[:2], atol=1e-6)


def test_steer_turns_the_command_to_the_policys_heading():
    """With a policy that records what it is asked, steer hands it the turned state and the fixed heading."""
    seen = []
    policy = SimpleNamespace(act=lambda o, noise=None: seen.append(o) or np.zeros(8))
    obs = np.random.default_rng(1).normal(size=27)
    heading = 0.4
    steer(policy, obs, np.array([0.0, -1.0]), heading=heading)
    np.testing.assert_allclose(seen[0][-2:], [np.cos(heading), np.sin(heading)])
    np.testing.assert_allclose(seen[0][:27], turn_observation(obs, heading + np.pi / 2))
    steer(policy, obs, np.array([np.cos(heading), np.sin(heading)]), heading=heading)
    np.testing.assert_allclose(seen[1][:27], obs, atol=1e-12)  # already the heading: nothing turns


def test_planner_next_waypoint_against_a_hand_worked_bfs():
    # Free cells (0) of a 4 x 5 map; the goal is at cell (1, 1). From (2, 3) the shortest path is
    # (2, 3) → (1, 3) → (1, 2) → (1, 1), so the next waypoint is the centre of (1, 3); from (1, 3) it is (1, 2),
    # and inside the goal's cell the goal itself.
    walls = [[1, 1, 1, 1, 1], [1, 0, 0, 0, 1], [1, 1, 1, 0, 1], [1, 1, 1, 1, 1]]
    scale = 2.0
    maze = SimpleNamespace(maze_map=walls, maze_size_scaling=scale, x_map_center=5 * scale / 2,
                           y_map_center=4 * scale / 2)
    planner = WaypointController(maze)
    centre = lambda i, j: ((j + 0.5) * scale - 5.0, 4.0 - (i + 0.5) * scale)
    goal = np.array(centre(1, 1)) + [0.3, -0.2]
    assert planner.waypoint(*centre(2, 3), goal) == pytest.approx(centre(1, 3))
    assert planner.waypoint(*centre(1, 3), goal) == pytest.approx(centre(1, 2))
    assert planner.waypoint(*centre(1, 1), goal) == pytest.approx(tuple(goal))
    driver = AntDriver(maze, policy=None, rng=np.random.default_rng(0))
    np.testing.assert_allclose(driver.direction(centre(1, 3), goal), [-1.0, 0.0])


def test_variants_draw_from_the_catalogue_cells():
    medium = TASKS["antmaze-medium"].maze
    starts, goals = _cells(medium, VARIANTS["antmaze-medium-play"])
    assert goals == list(medium.play_goals) and not set(goals) & set(starts)
    assert _cells(TASKS["antmaze-umaze"].maze, VARIANTS["antmaze-umaze"]) == ([(1, 3)], [(3, 3)])


@pytest.fixture(scope="module")
def untrained_ant(tmp_path_factory):
    path = tmp_path_factory.mktemp("ant") / "ant.msgpack"
    state = sac.init(SACConfig(hidden_dims=(16, 16)), jax.random.PRNGKey(0), 29, 8)
    save_policy(path, state.actor.params, {"step": 0})
    return load_policy_file(path)


@pytest.fixture(scope="module")
def diverse_umaze(untrained_ant, tmp_path_factory):
    root = tmp_path_factory.mktemp("antmaze")
    return collect_antmaze("antmaze-umaze-diverse", 800, 5, root, "iql-jax/antmaze-umaze-diverse-v0",
                           policy=untrained_ant)


def test_collection_is_deterministic_and_loads_in_both_goal_modes(diverse_umaze, untrained_ant, tmp_path):
    again = collect_antmaze("antmaze-umaze-diverse", 800, 5, tmp_path, "iql-jax/antmaze-umaze-diverse-v0",
                            policy=untrained_ant)
    a, b = load_minari(diverse_umaze), load_minari(again)
    for x, y in zip(a.transitions, b.transitions):
        np.testing.assert_array_equal(x, y)
    assert a.transitions.size == 800 and a.transitions.obs_dim == 29  # D4RL's layout: x, y, then the 27 others
    assert a.info.domain == "antmaze" and (a.info.ref_min_score, a.info.ref_max_score) == ANTMAZE_REFS
    assert np.all(np.asarray(a.transitions.timeouts)[[699]] == 1)  # U-maze episodes are 700 steps
    for mode in ("conditioned", "relabel"):
        data = apply_goal_mode(a, mode)
        assert data.transitions.obs_dim == (31 if mode == "conditioned" else 29)
    assert resolve_goal_mode(a, "auto")[0] == "conditioned"  # diverse goals differ between episodes
    record = a.info.extra["antmaze"]
    assert record["policy"]["fingerprint"] == untrained_ant.fingerprint
    assert 0.0 <= record["driver_success"]["rate"] <= 1.0 and record["driver_success"]["episodes"] == 20
    assert record["coverage"]["free_cells"] == len(TASKS["antmaze-umaze"].maze.free_cells())


def test_success_scores_a_hand_made_trajectory():
    goal = TASKS["antmaze-umaze"].maze.goal_xy
    path = np.array([[goal[0] - 3, goal[1]], [goal[0] - 1, goal[1]], [goal[0] - 0.4, goal[1]]])
    hits = relabel_rewards(path, goal, 0.5)  # D4RL's relabelling radius
    np.testing.assert_array_equal(hits, [0, 0, 1])
    success = np.array([float(hits.any()), 0.0])  # one episode reached the goal, one did not
    assert normalized_score(success.mean(), *ANTMAZE_REFS) == pytest.approx(50.0)


def test_train_a_few_hundred_updates_on_generated_antmaze_then_evaluate(diverse_umaze, tmp_path):
    from iql_jax.config import DataConfig, RunConfig, TrainConfig, get_preset
    from iql_jax.runs.trainer import train

    agent = dataclasses.replace(get_preset("antmaze").agent, hidden_dims=(16, 16), batch_size=32)
    config = TrainConfig(agent=agent, data=DataConfig(dataset=str(diverse_umaze), goal="relabel"),
                         run=RunConfig(steps=200, seeds=1, chunk_size=100, eval_every=200, eval_episodes=1,
                                       checkpoint_every=200, out=str(tmp_path), name="am", quiet=True))
    result = train(config)
    row = result.summary
    assert row is not None
    from iql_jax.runs.logs import read_eval

    rows = read_eval(result.run_dir)
    assert rows and rows[-1]["step"] == 200 and rows[-1]["success"] in (0.0, 1.0)


def test_inspect_reports_the_drivers_success_and_the_coverage(diverse_umaze, capsys):
    from iql_jax.cli import main

    record = load_minari(diverse_umaze).info.extra["antmaze"]
    assert main(["data", "inspect", str(diverse_umaze)]) == 0
    out = capsys.readouterr().out
    rate, cells = record["driver_success"]["rate"], record["coverage"]["cells_visited"]
    assert f"in {rate:.0%} of 20 attempts" in out
    assert f"coverage: {cells} of {len(TASKS['antmaze-umaze'].maze.free_cells())} free cells visited" in out
