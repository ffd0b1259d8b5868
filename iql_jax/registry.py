"""Registering the gymnasium-robotics environments (mazes, Kitchen, Adroit) once, quietly.

Importing ``gymnasium_robotics`` takes about a second and prints a notice about the Adroit dense rewards that is
harmless here (``shared/reference/d4rl-and-envs.md`` §6), so it happens on first need, with the notice muted.
"""

from __future__ import annotations

import contextlib
import functools
import io


@functools.lru_cache(maxsize=None)
def register_robotics() -> None:
    """Make every gymnasium-robotics id available to ``gymnasium.make``."""
    import gymnasium as gym

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        import gymnasium_robotics
    gym.register_envs(gymnasium_robotics)
