"""Registering the gymnasium-robotics environments (mazes, Kitchen, Adroit) and iql-jax's own once, quietly.

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


@functools.lru_cache(maxsize=None)
def register_own() -> None:
    """Make iql-jax's own environments available to ``gymnasium.make``: ``iql_jax/DirectionalAnt-v0``."""
    import gymnasium as gym

    from iql_jax.behaviour.directional import ENV_ID

    if ENV_ID not in gym.registry:
        gym.register(ENV_ID, entry_point="iql_jax.behaviour.directional:DirectionalAnt", max_episode_steps=1000)
