"""``iql eval --video``: a real PointMaze run rendered offscreen, the file decoded and its frames checked."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from iql_jax import cli
from iql_jax.config import DataConfig, RunConfig, TrainConfig, get_preset
from iql_jax.runs import train


@pytest.fixture(scope="module")
def maze_run(tmp_path_factory, data_cache_dir):
    out = tmp_path_factory.mktemp("video-runs")
    agent = dataclasses.replace(get_preset("antmaze").agent, hidden_dims=(16, 16), batch_size=32)
    config = TrainConfig(agent=agent, data=DataConfig(dataset="pointmaze-umaze:3000"),
                         run=RunConfig(steps=20, seeds=2, chunk_size=20, eval_every=0, eval_episodes=1,
                                       checkpoint_every=20, out=str(out), name="video", quiet=True),
                         preset="antmaze")
    return train(config, progress=False)


def _red(frame):
    """Pixels of the goal's red target site (the ball is green, walls brown, floor blue)."""
    r, g, b = (frame[..., i].astype(int) for i in range(3))
    return (r > 150) & (g < 80) & (b < 80)


def test_eval_video_writes_one_decodable_mp4_per_member_with_the_goal(maze_run, capsys):
    import imageio.v3 as iio

    run_dir = maze_run.run_dir
    assert cli.main(["eval", str(run_dir), "--video", "--video-steps", "6", "--episodes", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all("14 frames" in line for line in lines)  # 2 episodes x (reset + 6 steps)
    for member in (0, 1):
        path = run_dir / "videos" / f"member-{member}.mp4"
        assert path.read_bytes()[4:8] == b"ftyp"  # an MP4 container
        frames = iio.imread(path)
        assert frames.shape == (14, 320, 320, 3)
        assert all(_red(f).sum() > 50 for f in frames)  # the goal is drawn in every frame
        assert np.abs(frames[6].astype(int) - frames[0]).mean() > 0.01  # the ball moves between frames
    # both members start episode 0 from the same reset: identical first frames
    first = [iio.imread(run_dir / "videos" / f"member-{m}.mp4", index=0) for m in (0, 1)]
    assert np.abs(first[0].astype(int) - first[1]).mean() < 2


def test_video_options_are_checked(maze_run, capsys):
    assert cli.main(["eval", str(maze_run.run_dir), "--video-steps", "5"]) == 2
    assert "--video-steps: applies only with --video" in capsys.readouterr().err
    assert cli.main(["eval", str(maze_run.run_dir), "--video", "--episodes", "0"]) == 2
    assert "--episodes" in capsys.readouterr().err
