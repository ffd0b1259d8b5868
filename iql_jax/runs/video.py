"""Videos of a saved run's policies: the logic of ``iql eval --video``.

Each member of the checkpoint plays ``episodes`` deterministic episodes (episode ``e`` reset with ``seed + e``, as
:func:`iql_jax.evaluation.evaluate` does) in its own copy of the evaluation environment, rendered by MuJoCo's
offscreen renderer; one file per member. MP4 (H.264) needs the ``video`` extra (imageio-ffmpeg, which ships its own
ffmpeg binary); without it the frames go to a GIF.

On a machine without a display MuJoCo needs an offscreen OpenGL: EGL (Mesa's ``libEGL`` renders on the CPU with
llvmpipe when there is no GPU, and on the GPU when there is one) or OSMesa. :func:`choose_gl_backend` keeps a
``MUJOCO_GL`` the user set and otherwise picks EGL, then OSMesa, whichever library is present. Mazes render from
gymnasium-robotics' fixed camera over the whole maze, where the goal is the red ``target`` site.
"""

from __future__ import annotations

import ctypes.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from iql_jax.errors import IQLError

SIZE = 320  # pixels, square; a multiple of 16 so H.264 needs no resize


@dataclass(frozen=True)
class MemberVideo:
    """One member's video: the file, its frame count and the returns of the episodes it shows."""

    label: str
    path: Path
    frames: int
    returns: tuple[float, ...]


def choose_gl_backend() -> str:
    """Set ``MUJOCO_GL`` (and PyOpenGL's platform) for offscreen rendering, unless the user set it; return it."""
    backend = os.environ.get("MUJOCO_GL")
    if not backend:
        found = [name for name, lib in (("egl", "EGL"), ("osmesa", "OSMesa")) if ctypes.util.find_library(lib)]
        if not found:
            raise IQLError("--video: no offscreen OpenGL found (neither libEGL nor libOSMesa); install Mesa's EGL "
                           "(Debian: apt-get install libegl1) or set MUJOCO_GL to a backend that works here")
        backend = found[0]
        os.environ["MUJOCO_GL"] = backend
    if backend in ("egl", "osmesa"):
        os.environ.setdefault("PYOPENGL_PLATFORM", backend)
    return backend


def video_format() -> str:
    """``"mp4"`` when imageio-ffmpeg is installed, else ``"gif"``."""
    try:
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return "gif"
    return "mp4"


def record_videos(run_dir: str | Path, episodes: int = 1, checkpoint: str | Path | None = None, seed: int = 12345,
                  env: str | None = None, out_dir: str | Path | None = None, size: int = SIZE,
                  max_steps: int | None = None) -> list[MemberVideo]:
    """Render every member of a run's checkpoint playing ``episodes`` episodes; one video file per member.

    Args:
        run_dir: the run directory.
        episodes: episodes per member, one after another in the same file.
        checkpoint: a checkpoint file; the newest one by default.
        seed: seed of the first reset (episode ``e`` uses ``seed + e``).
        env: a registered environment id to play in instead of the run's (see ``iql eval --env``).
        out_dir: where the files go (default ``RUN_DIR/videos``), named ``member-<index>.<mp4|gif>``.
        size: width and height in pixels.
        max_steps: cut each episode after this many steps (the environment's time limit otherwise).
    """
    if episodes < 1:
        raise IQLError(f"--episodes: expected at least 1 episode for a video, got {episodes}")
    choose_gl_backend()
    from iql_jax import engine
    from iql_jax.evaluation import EvalEnvSpec
    from iql_jax.runs.evaluate import eval_spec
    from iql_jax.runs.rundir import load_run

    states, members, record, _ = load_run(run_dir, checkpoint)
    spec = eval_spec(record, run_dir, env)
    spec = EvalEnvSpec(spec.env_id, {**spec.kwargs, "render_mode": "rgb_array", "width": size, "height": size},
                       spec.max_episode_steps, spec.observation_layout)
    policy = engine.population_policy(states)
    out_dir = Path(out_dir) if out_dir is not None else Path(run_dir) / "videos"
    out_dir.mkdir(parents=True, exist_ok=True)
    envs = [spec.make() for _ in members]
    try:
        frames, returns = _play(envs, policy, episodes, seed, max_steps)
        fps = int(envs[0].metadata.get("render_fps") or 30)
    except Exception as e:  # noqa: BLE001 - an OpenGL failure surfaces as many types; say which backend failed
        if isinstance(e, IQLError):
            raise
        raise IQLError(f"--video: rendering with MUJOCO_GL={os.environ.get('MUJOCO_GL')} failed "
                       f"({type(e).__name__}: {e}); try MUJOCO_GL=osmesa or MUJOCO_GL=egl") from e
    finally:
        for made in envs:
            made.close()
    ext = video_format()
    videos = []
    for m, member_frames, member_returns in zip(members, frames, returns):
        path = out_dir / f"member-{m.index}.{ext}"
        _write(path, member_frames, fps)
        videos.append(MemberVideo(m.label, path, len(member_frames), tuple(member_returns)))
    return videos


def _play(envs, policy, episodes: int, seed: int, max_steps: int | None):
    """All members step together (one policy call per step); a member whose episode ended waits for the others."""
    frames = [[] for _ in envs]
    returns = [[] for _ in envs]
    for e in range(episodes):
        obs = np.stack([made.reset(seed=seed + e)[0] for made in envs])
        live = np.ones(len(envs), bool)
        total = np.zeros(len(envs))
        for i, made in enumerate(envs):
            frames[i].append(made.render())
        steps = 0
        while live.any() and (max_steps is None or steps < max_steps):
            actions = np.asarray(policy(obs[:, None, :]))[:, 0]
            for i in np.flatnonzero(live):
                obs[i], reward, terminated, truncated, _ = envs[i].step(actions[i])
                total[i] += float(reward)
                frames[i].append(envs[i].render())
                live[i] = not (terminated or truncated)
            steps += 1
        for i in range(len(envs)):
            returns[i].append(float(total[i]))
    return frames, returns


def _write(path: Path, frames: list[np.ndarray], fps: int) -> None:
    import imageio.v2 as imageio

    if path.suffix == ".mp4":
        with imageio.get_writer(path, fps=fps, codec="libx264", quality=7, macro_block_size=16,
                                ffmpeg_log_level="error") as writer:
            for frame in frames:
                writer.append_data(frame)
    else:
        imageio.mimwrite(path, frames, duration=1000 / fps, loop=0)
