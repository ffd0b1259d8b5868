"""runs.checkpoint, the file format: version warnings and damaged files."""

from __future__ import annotations

import numpy as np
import pytest

import iql_jax
from iql_jax.errors import IQLError
from iql_jax.runs import checkpoint
from iql_jax.runs.rundir import save_checkpoint


def test_version_mismatch_warns_and_damage_is_clear(tmp_path):
    path = save_checkpoint(tmp_path, 5, {"w": np.ones(2)}, {"version": "0.0.0"})
    with pytest.warns(UserWarning, match="0.0.0"):
        checkpoint.load_checkpoint(path, {"w": np.zeros(2)}, version=iql_jax.__version__)
    path.write_bytes(path.read_bytes()[:10])
    with pytest.raises(IQLError, match="not a readable"):
        checkpoint.load_checkpoint(path, {"w": np.zeros(2)})
