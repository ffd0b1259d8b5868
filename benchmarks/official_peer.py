"""The official IQL code (``ikostrikov/implicit_q_learning``) as a timing peer, imported from a local checkout.

It is never a dependency and none of its code is in this repository: :func:`load_learner` puts the given folder on
``sys.path`` and imports its ``learner`` module, with the small API patches that current jax / flax need applied
at import time (their files stay untouched). Which commit was timed and why each patch exists is in
``docs/performance.md``. It needs ``tensorflow_probability`` (its policy returns a tfp distribution); pass
``--peer-site DIR`` to ``throughput.py`` if that lives outside the environment (it is appended to ``sys.path``, so
the environment's own packages win).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np


def _lenient_jit(real_jit):
    """``jax.jit`` that drops ``static_argnames`` the function does not take.

    The official ``policy._sample_actions`` names a ``distribution`` argument it does not have; jax 0.4.38 rejects
    that with a ValueError at decoration time (the jax of 2022 ignored it). Used only while its modules are imported.
    """
    def jit(fun=None, **kwargs):
        if fun is None:
            return lambda f: jit(f, **kwargs)
        names = kwargs.get("static_argnames")
        if names:
            params = inspect.signature(fun).parameters
            kwargs["static_argnames"] = tuple(n for n in names if n in params)
        return real_jit(fun, **kwargs)

    return jit


def load_learner(directory: str | Path, site: str | None = None):
    """Import the official ``learner`` and ``common`` modules from ``directory`` with the patches applied."""
    directory = Path(directory).resolve()
    if not (directory / "learner.py").is_file():
        raise SystemExit(f"--peer-official {directory}: no learner.py there (expected a checkout of "
                         "ikostrikov/implicit_q_learning)")
    if site:
        sys.path.append(str(site))
    sys.path.insert(0, str(directory))
    # 1. jax.tree_multimap was removed in jax 0.3.16; tree_map is the same function for two trees.
    jax.tree_multimap = jax.tree_util.tree_map
    real_jit = jax.jit
    jax.jit = _lenient_jit(real_jit)  # 3. see _lenient_jit
    try:
        import common
        import learner
    finally:
        jax.jit = real_jit
    return learner, common


def commit_of(directory: str | Path) -> str:
    """The checkout's commit, or 'unknown' (a plain copy without .git)."""
    try:
        out = subprocess.run(["git", "-C", str(directory), "rev-parse", "HEAD"], capture_output=True, text=True)
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


class OfficialPeer:
    """The official ``Learner`` with locomotion settings and a pool of batches already on the device."""

    def __init__(self, directory, obs_dim: int, act_dim: int, data, site=None, pool: int = 64, batch: int = 256):
        import flax

        learner, common = load_learner(directory, site)
        obs = np.zeros((1, obs_dim), np.float32)
        act = np.zeros((1, act_dim), np.float32)
        # Official locomotion config: expectile 0.7, temperature (β) 3.0, cosine actor lr over 1M steps.
        # 2. flax ≥ 0.7 returns plain dicts from init; its Model.create unpacks `variables.pop('params')` as a
        # FrozenDict. Only while the learner is built, so our own agent in this process is untouched.
        before = flax.config.flax_return_frozendict
        flax.config.update("flax_return_frozendict", True)
        try:
            self.learner = learner.Learner(0, obs, act, expectile=0.7, temperature=3.0, dropout_rate=None,
                                           max_steps=1_000_000, opt_decay_schedule="cosine")
        finally:
            flax.config.update("flax_return_frozendict", before)
        rng = np.random.default_rng(0)
        n = data.rewards.shape[0]
        self.batches = []
        for _ in range(pool):  # batches on the device, as a fair peer to our device-resident sampling
            i = rng.integers(0, n, batch)
            self.batches.append(common.Batch(jnp.asarray(data.observations[i]), jnp.asarray(data.actions[i]),
                                             jnp.asarray(data.rewards[i]), jnp.asarray(1.0 - data.terminals[i]),
                                             jnp.asarray(data.next_observations[i])))
        self.run(2)  # compile

    def run(self, updates: int):
        """``updates`` calls of ``Learner.update`` (one jitted dispatch each, as its training loop does)."""
        info = None
        for k in range(updates):
            info = self.learner.update(self.batches[k % len(self.batches)])
        jax.block_until_ready((self.learner.critic.params, info))
