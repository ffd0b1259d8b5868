"""iql-jax: Implicit Q-Learning (Kostrikov, Nair & Levine, ICLR 2022) on JAX/Flax/Optax.

The public surface:

* configuration: :class:`AgentConfig`, :class:`DataConfig`, :class:`RunConfig`, :class:`TrainConfig`,
  :data:`PRESETS`, :func:`get_preset`;
* the agent: :class:`IQLState`, :func:`init`, :func:`update`, :func:`act`;
* the engine: :func:`device_data`, :func:`train_step`, :func:`train_chunk`, :func:`init_population`,
  :func:`population_policy`;
* data: :class:`Transitions`, :class:`Dataset`.
"""

import os as _os

# XLA's CPU backend (jax 0.10.2) can wedge on these training programs when its XNNPACK/YNNPACK dot fusions run:
# the process idles forever in block_until_ready, every worker thread parked (measured here: 2-3 hangs in 8 runs
# of a 2-seed chunk by default, 0 in 8 with the fusions off; a native stack is in the issue notes). The flags
# below turn those fusions off; they must be set before JAX creates its CPU backend and do not touch GPUs. A user
# who sets any of them in XLA_FLAGS keeps their own value; IQL_JAX_KEEP_XLA_FLAGS=1 skips this entirely.
_CPU_SAFE_FLAGS = ("--xla_cpu_use_xnnpack=false", "--xla_cpu_experimental_xnn_fusion_type=",
                   "--xla_cpu_experimental_ynn_fusion_type=")
if _os.environ.get("IQL_JAX_KEEP_XLA_FLAGS") != "1":
    _flags = _os.environ.get("XLA_FLAGS", "")
    _extra = [f for f in _CPU_SAFE_FLAGS if f.split("=")[0] not in _flags]
    _os.environ["XLA_FLAGS"] = " ".join([_flags, *_extra]).strip()

from iql_jax.agent import Hyper, IQLState, act, init, update, values
from iql_jax.config import (PRESETS, AgentConfig, DataConfig, RunConfig, TrainConfig, get_preset,
                            preset_for_domain)
from iql_jax.data.transitions import Dataset, DatasetInfo, Transitions
from iql_jax.engine import (Member, device_data, init_population, member, population_policy, train_chunk,
                            train_step)
from iql_jax.errors import ConfigError, DataError, IQLError

__version__ = "0.1.0"

__all__ = [
    "AgentConfig", "ConfigError", "DataConfig", "DataError", "Dataset", "DatasetInfo", "Hyper", "IQLError",
    "IQLState", "Member", "PRESETS", "RunConfig", "TrainConfig", "Transitions", "act", "device_data",
    "get_preset", "init", "init_population", "member", "population_policy", "preset_for_domain", "train_chunk",
    "train_step", "update", "values", "__version__",
]
