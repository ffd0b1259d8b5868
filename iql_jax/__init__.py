"""iql-jax: Implicit Q-Learning (Kostrikov, Nair & Levine, ICLR 2022) on JAX/Flax/Optax.

The public surface:

* configuration: :class:`AgentConfig`, :class:`DataConfig`, :class:`RunConfig`, :class:`TrainConfig` (its
  ``resolve`` applies the presets), :class:`FinetuneConfig`, :class:`NetworkConfig` (what a state keeps static),
  :data:`PRESETS`, :func:`get_preset`;
* the agent: :class:`IQLState`, :func:`init`, :func:`update`, :func:`act`;
* the engine: :func:`device_data`, :func:`train_step`, :func:`train_chunk`, :func:`init_population`,
  :func:`population_policy`;
* data: :class:`Transitions`, :class:`Dataset`;
* deployment: :func:`load_policy` (a run's policy, numpy in and out) and :func:`export_policy` (ONNX, StableHLO).
"""

from iql_jax.agent import Hyper, IQLState, act, init, update, values
from iql_jax.config import (PRESETS, AgentConfig, DataConfig, FinetuneConfig, NetworkConfig, RunConfig, TrainConfig,
                            get_preset, preset_for_domain)
from iql_jax.data.transitions import Dataset, DatasetInfo, Transitions
from iql_jax.engine import (Member, device_data, init_population, member, population_policy, train_chunk,
                            train_step)
from iql_jax.errors import ConfigError, DataError, IQLError
from iql_jax.export import export_policy
from iql_jax.policy import load_policy

__version__ = "0.1.0"

__all__ = [
    "AgentConfig", "ConfigError", "DataConfig", "DataError", "Dataset", "DatasetInfo", "FinetuneConfig", "Hyper",
    "IQLError", "IQLState", "Member", "NetworkConfig", "PRESETS", "RunConfig", "TrainConfig", "Transitions", "act",
    "device_data",
    "export_policy", "get_preset", "init", "init_population", "load_policy", "member", "population_policy",
    "preset_for_domain", "train_chunk", "train_step", "update", "values", "__version__",
]
