"""iql-jax: Implicit Q-Learning (Kostrikov, Nair & Levine, ICLR 2022) on JAX/Flax/Optax.

The public surface:

* runs: :func:`train` (a run directory: evaluation, logs, checkpoints, report), :func:`resume`, :func:`fit` (in
  memory, writes nothing), :func:`evaluate_run`, :func:`finetune_run`, :func:`resume_finetune`, :func:`run_sweep`;
* deployment: :func:`load_policy` (a run's policy, numpy in and out) and :func:`export_policy` (ONNX, StableHLO);
* configuration: :class:`AgentConfig`, :class:`DataConfig`, :class:`RunConfig`, :class:`TrainConfig` (its
  ``resolve`` applies the presets), :class:`FinetuneConfig`, :class:`NetworkConfig` (what a state keeps static),
  :data:`PRESETS`, :func:`get_preset`;
* the agent and the engine, for your own loop: :class:`IQLState`, :class:`Hyper`, :func:`init`, :func:`update`,
  :func:`act`, :func:`init_population`, :func:`train_step`, :func:`train_chunk`, :func:`population_policy`
  (the rest is in :mod:`iql_jax.engine`);
* data: :class:`Transitions`, :class:`Dataset`, :class:`DatasetInfo`.

The run-level functions load on first use, so ``import iql_jax`` does not pull in plotting or the environments.
"""

__version__ = "0.1.0"

import importlib  # noqa: E402

from iql_jax.agent import Hyper, IQLState, act, init, update  # noqa: E402
from iql_jax.config import (PRESETS, AgentConfig, DataConfig, FinetuneConfig, NetworkConfig, RunConfig,  # noqa: E402
                            TrainConfig, get_preset, preset_for_domain)
from iql_jax.data.transitions import Dataset, DatasetInfo, Transitions  # noqa: E402
from iql_jax.engine import init_population, population_policy, train_chunk, train_step  # noqa: E402
from iql_jax.errors import ConfigError, DataError, IQLError  # noqa: E402

_LAZY = {"train": "iql_jax.runs", "resume": "iql_jax.runs", "fit": "iql_jax.runs", "evaluate_run": "iql_jax.runs",
         "finetune_run": "iql_jax.runs", "resume_finetune": "iql_jax.runs", "run_sweep": "iql_jax.sweeps",
         "load_policy": "iql_jax.policy", "export_policy": "iql_jax.export"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'iql_jax' has no attribute {name!r}")


__all__ = [
    "AgentConfig", "ConfigError", "DataConfig", "DataError", "Dataset", "DatasetInfo", "FinetuneConfig", "Hyper",
    "IQLError", "IQLState", "NetworkConfig", "PRESETS", "RunConfig", "TrainConfig", "Transitions", "act",
    "evaluate_run", "export_policy", "finetune_run", "fit", "get_preset", "init", "init_population", "load_policy",
    "population_policy", "preset_for_domain", "resume", "resume_finetune", "run_sweep", "train", "train_chunk",
    "train_step", "update", "__version__",
]
