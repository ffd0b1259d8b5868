"""Behaviour policies as files: a SAC actor's weights plus the record of how it was trained, in one msgpack file.

A policy file holds ``{"record": <JSON text>, "params": <the actor's flax state dict>}`` written with
``flax.serialization`` (no pickle). The record names the environment, the sizes, the training step and seed, and
the returns the trainer measured. The trainer writes one at every evaluation; ``iql behaviour ship`` copies the
chosen ones into the package (:mod:`iql_jax.behaviour.shipped`).

:class:`BehaviourPolicy` acts with NumPy: a 256×256 MLP on one observation costs ~20 µs there against ~80 µs
for a jitted call, and data collection acts once per environment step. Its output equals the Flax actor's (tested).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import flax.serialization as serialization
import numpy as np

from iql_jax.errors import IQLError

LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0  # TanhGaussianActor's defaults


def save_policy(path: str | Path, params: Any, record: dict) -> Path:
    """Write the actor ``params`` and its JSON-ready ``record`` atomically to ``path``."""
    from iql_jax.runs.files import write_atomic  # the runs package imports the engine; the data layer reads us

    payload = {"record": json.dumps(record, sort_keys=True), "params": serialization.to_state_dict(params)}
    return write_atomic(path, serialization.msgpack_serialize(_numpy(payload)))


def _numpy(tree):
    if isinstance(tree, dict):
        return {k: _numpy(v) for k, v in tree.items()}
    return tree if isinstance(tree, str) else np.asarray(tree, np.float32)


@dataclass(frozen=True)
class BehaviourPolicy:
    """A tanh-Gaussian SAC actor in NumPy.

    Attributes:
        layers: ``[(kernel, bias), ...]`` of the hidden ReLU layers.
        mean, log_std: the two output heads ``(kernel, bias)``.
        record: how the policy was made (``env_id``, ``step``, ``seed``, returns, …).
        fingerprint: the first 16 hex digits of the file's SHA-256, recorded in the datasets it collects.
    """

    layers: tuple
    mean: tuple
    log_std: tuple
    record: dict
    fingerprint: str

    @property
    def obs_dim(self) -> int:
        return int(self.layers[0][0].shape[0])

    @property
    def act_dim(self) -> int:
        return int(self.mean[0].shape[1])

    def distribution(self, observation: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """μ and log σ of the pre-tanh Gaussian for ``observation`` ``(..., obs_dim)``."""
        h = np.asarray(observation, np.float32)
        for kernel, bias in self.layers:
            h = np.maximum(h @ kernel + bias, 0.0)
        log_std = np.clip(h @ self.log_std[0] + self.log_std[1], LOG_STD_MIN, LOG_STD_MAX)
        return h @ self.mean[0] + self.mean[1], log_std

    def act(self, observation: np.ndarray, noise: np.ndarray | None = None) -> np.ndarray:
        """tanh(μ) without ``noise``; with standard-normal ``noise`` the sample tanh(μ + σ·noise)."""
        mean, log_std = self.distribution(observation)
        if noise is not None:
            mean = mean + np.exp(log_std) * noise
        return np.tanh(mean).astype(np.float32)


def to_bounds(action: np.ndarray, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """A tanh action in [−1, 1] mapped affinely onto an environment's Box bounds (exactly the identity for the
    usual [−1, 1], so the MuJoCo tasks see the policy's own numbers)."""
    if np.all(low == -1.0) and np.all(high == 1.0):
        return action
    return (low + (np.asarray(action) + 1.0) * 0.5 * (high - low)).astype(np.float32)


def load_policy_file(path: str | Path) -> BehaviourPolicy:
    """Read a policy file.

    Raises:
        IQLError: the file is missing, unreadable, or not a policy file (the message names it).
    """
    path = Path(path)
    try:
        raw_bytes = path.read_bytes()
        raw = serialization.msgpack_restore(raw_bytes)
        record = json.loads(raw["record"])
        net = raw["params"]["params"]
        hidden = net["MLP_0"]
        layers = tuple((np.asarray(hidden[f"Dense_{i}"]["kernel"], np.float32),
                        np.asarray(hidden[f"Dense_{i}"]["bias"], np.float32)) for i in range(len(hidden)))
        heads = [(np.asarray(net[h]["kernel"], np.float32), np.asarray(net[h]["bias"], np.float32))
                 for h in ("mean", "log_std")]
    except FileNotFoundError:
        raise IQLError(f"{path}: behaviour policy file not found") from None
    except Exception as e:  # msgpack, JSON and missing keys fail with many unrelated types
        raise IQLError(f"{path}: not an iql-jax behaviour policy file ({type(e).__name__}: {e})") from e
    fingerprint = hashlib.sha256(raw_bytes).hexdigest()[:16]
    return BehaviourPolicy(layers, heads[0], heads[1], record, fingerprint)
