"""Members over devices: the split rule, and sharded == unsharded on two (forced) CPU devices.

The equivalence runs in a subprocess because ``--xla_force_host_platform_device_count`` must be set before jax
initialises, and this test process has one CPU device.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from iql_jax import sharding

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = r'''
import jax, numpy as np
from iql_jax import engine
from tiny import random_transitions, tiny_config
assert len(jax.local_devices()) == 2, jax.local_devices()
OBS, ACT, K = 5, 2, 8
config = tiny_config()
data = engine.device_data(random_transitions(300, OBS, ACT))
for seeds, devices in (([0, 1], 2), ([0, 1, 2, 3], 2), ([0, 1, 2], 1)):
    make = lambda: engine.init_population(config, seeds, OBS, ACT, decay_steps=100)[0]
    single = len(seeds) == 1
    alone, m_alone = engine._compiled_chunk(K, single, 1)(make(), data)  # today's unsharded program
    split, m_split = engine.train_chunk(make(), data, K)
    used = {d for leaf in jax.tree_util.tree_leaves(split) for d in leaf.sharding.device_set}
    assert len(used) == devices, (seeds, used)
    for a, b in zip(jax.tree_util.tree_leaves((alone, m_alone)), jax.tree_util.tree_leaves((split, m_split))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    # A second chunk starts from the sharded outputs (no re-placement) and still agrees.
    alone, _ = engine._compiled_chunk(K, single, 1)(alone, data)
    split, _ = engine.train_chunk(split, data, K)
    for a, b in zip(jax.tree_util.tree_leaves(alone), jax.tree_util.tree_leaves(split)):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-5, atol=1e-6)
    # and the members really differ (the comparison is not between identical copies)
    k = np.asarray(split.value.params["params"]["MLP_0"]["Dense_0"]["kernel"])
    assert not np.allclose(k[0], k[1])
print("SHARDED_OK")
'''


@pytest.mark.parametrize("members, devices, expected", [(8, 1, 1), (1, 4, 1), (8, 2, 2), (6, 4, 3), (7, 4, 1),
                                                        (64, 8, 8), (2, 8, 2)])
def test_split_rule(members, devices, expected):
    assert sharding.shard_count(members, devices) == expected


def test_sharded_equals_unsharded_on_two_cpu_devices():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2", JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert "SHARDED_OK" in done.stdout
