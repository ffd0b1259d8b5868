"""Value maps: maze geometry and grids on hand values, then a real run's maps against ``iql_jax.agent.values``."""

from __future__ import annotations

import dataclasses
import json
import shutil

import matplotlib.image as mpimg
import numpy as np
import pytest

import iql_jax
from iql_jax import cli
from iql_jax.config import DataConfig, RunConfig, TrainConfig, get_preset
from iql_jax.errors import ConfigError
from iql_jax.runs import train
from iql_jax.runs.value_maps import MazeGeometry, observations, run_value_maps, value_grid

UMAZE = [[1, 1, 1, 1, 1], [1, "g", 0, 0, 1], [1, 1, 1, 0, 1], [1, 0, 0, 0, 1], [1, 1, 1, 1, 1]]
NAN = np.nan


@pytest.fixture(scope="module")
def umaze():
    return MazeGeometry.from_env("PointMaze_UMaze-v3", {"maze_map": UMAZE, "continuing_task": True})


def _probe(obs):
    """x + 10·y, plus large terms that show up only if the velocity is not zero."""
    return obs[:, 0] + 10 * obs[:, 1] + 100 * np.abs(obs[:, 2]) + 1000 * np.abs(obs[:, 3])


def test_geometry_of_the_umaze(umaze):
    assert (umaze.scale, umaze.x_centre, umaze.y_centre) == (1.0, 2.5, 2.5)
    np.testing.assert_array_equal(umaze.goals, [[-1.0, 1.0]])  # the centre of cell (1, 1)
    assert len(umaze.starts) == 6  # no "r" cell: every other free cell is a reset location
    fig2 = MazeGeometry.from_env("PointMaze_UMaze-v3", {"maze_map": [
        [1, 1, 1, 1, 1], [1, "g", 0, 0, 1], [1, 1, 1, 0, 1], [1, "r", 0, 0, 1], [1, 1, 1, 1, 1]]})
    np.testing.assert_array_equal(fig2.starts, [[-1.0, -1.0]])  # the Fig. 2 start cell (3, 1)
    assert umaze.extent == (-2.5, 2.5, -2.5, 2.5)


def test_value_grid_one_point_per_cell_on_hand_values(umaze):
    grid = value_grid(_probe, umaze, obs_dim=4, per_cell=1)
    want = np.array([[NAN, NAN, NAN, NAN, NAN],
                     [NAN, 9.0, 10.0, 11.0, NAN],
                     [NAN, NAN, NAN, 1.0, NAN],
                     [NAN, -11.0, -10.0, -9.0, NAN],
                     [NAN, NAN, NAN, NAN, NAN]])
    np.testing.assert_allclose(grid[0], want)


def test_value_grid_sub_cell_points(umaze):
    grid = value_grid(_probe, umaze, obs_dim=4, per_cell=2)
    assert grid.shape == (1, 10, 10)
    # grid row 2 / col 2 is the top-left quarter of cell (1, 1): x = -1.25, y = 1.25
    assert grid[0, 2, 2] == pytest.approx(-1.25 + 12.5)
    assert grid[0, 3, 3] == pytest.approx(-0.75 + 7.5)
    assert np.isnan(grid[0, 4:6, 0:6]).all()  # the wall row (2, 0..2)
    assert np.isfinite(grid[0, 4:6, 6:8]).all()  # the free cell (2, 3)


def test_goal_conditioned_observations_get_the_fixed_goal(umaze):
    points = np.array([[0.0, 1.0], [1.0, -1.0]])
    obs = observations(umaze, points, obs_dim=6)
    np.testing.assert_array_equal(obs, [[0, 1, 0, 0, -1, 1], [1, -1, 0, 0, -1, 1]])
    with pytest.raises(ConfigError, match="obs_dim 5"):
        observations(umaze, points, obs_dim=5)


def test_antmaze_observations_put_the_ant_at_rest_after_x_y():
    ant = MazeGeometry.from_env("AntMaze_UMaze-v4", {"maze_map": UMAZE, "continuing_task": True})
    assert ant.rest.shape == (27,)  # z, the torso quaternion, 8 joint angles, then 14 velocities
    assert 0.5 < ant.rest[0] < 1.0 and np.abs(ant.rest[13:]).max() < 0.5  # standing, nearly still
    obs = observations(ant, np.array([[1.0, -1.0]]), obs_dim=29)
    np.testing.assert_array_equal(obs[0, :2], [1.0, -1.0])
    np.testing.assert_allclose(obs[0, 2:], ant.rest, rtol=1e-6)
    assert observations(ant, np.array([[1.0, -1.0]]), obs_dim=31)[0, 29:].tolist() == ant.goals[0].tolist()


@pytest.fixture(scope="module")
def sweep_run(tmp_path_factory, data_cache_dir):
    out = tmp_path_factory.mktemp("value-map-runs")
    agent = dataclasses.replace(get_preset("antmaze").agent, hidden_dims=(32, 32), batch_size=64)
    config = TrainConfig(agent=agent, data=DataConfig(dataset="pointmaze-umaze:3000", goal="relabel"),
                         run=RunConfig(steps=100, seeds=2, chunk_size=100, eval_every=0, eval_episodes=1,
                                       checkpoint_every=100, out=str(out), name="sweep", quiet=True),
                         preset="antmaze")
    return train(config, progress=False, sweep={"expectile": [0.5, 0.9]})


def test_maps_of_a_run_are_its_values(sweep_run):
    geometry, panels, step = run_value_maps(sweep_run.run_dir, per_cell=3)
    assert step == 100
    assert [t for t, _ in panels] == ["seed=0 expectile=0.5", "seed=0 expectile=0.9", "seed=1 expectile=0.5",
                                      "seed=1 expectile=0.9"]
    points, free = geometry.grid(3)
    obs = np.concatenate([points[free], np.zeros((int(free.sum()), 2))], axis=1).astype(np.float32)
    for i, (_, grid) in enumerate(panels):
        want = np.asarray(iql_jax.agent.values(iql_jax.engine.member(sweep_run.states, i), obs))
        np.testing.assert_allclose(grid[free], want, rtol=1e-5, atol=1e-6)
        assert np.isnan(grid[~free]).all()
    _, by_setting, _ = run_value_maps(sweep_run.run_dir, by="setting", per_cell=3)
    assert [t for t, _ in by_setting] == ["expectile=0.5 (mean of 2 seeds)", "expectile=0.9 (mean of 2 seeds)"]
    np.testing.assert_allclose(by_setting[1][1], (panels[1][1] + panels[3][1]) / 2)


def test_a_finished_maze_run_writes_values_png_and_the_cli_draws_it(sweep_run, tmp_path, capsys):
    written = sweep_run.run_dir / "values.png"
    assert sweep_run.summary["files"]["value_map"] == str(written)
    assert mpimg.imread(written).shape[1] > 4 * 300  # four panels side by side
    out = tmp_path / "by-setting.png"
    assert cli.main(["plot", "--values", str(sweep_run.run_dir), "--by", "setting", "--out", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    assert mpimg.imread(out).shape[1] < mpimg.imread(written).shape[1]  # two panels


def test_a_run_without_a_maze_gives_one_line(sweep_run, tmp_path, capsys):
    other = tmp_path / "hopper"
    shutil.copytree(sweep_run.run_dir, other)
    record = json.loads((other / "config.json").read_text())
    record["eval_env"]["env_id"] = "Hopper-v5"
    (other / "config.json").write_text(json.dumps(record))
    assert cli.main(["plot", "--values", str(other)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "value maps need a PointMaze or AntMaze run" in err[0] and "Hopper-v5" in err[0]
