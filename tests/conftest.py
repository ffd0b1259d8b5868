"""Shared fixtures. Data fixtures are named ``data_*`` and are opt-in (nothing here is autouse).

The Hugging Face hub is offline for the whole session, set here once (before any test module, or a subprocess a
test starts with ``os.environ``, can reach Minari's hub code): no test may need the network.
"""

from __future__ import annotations

import os

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture(scope="session")
def data_cache_dir(tmp_path_factory):
    """One built-in dataset cache for the whole session, so each tiny dataset is generated once."""
    path = tmp_path_factory.mktemp("iql-jax-datasets")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IQL_JAX_DATA_DIR", str(path))
        yield path
