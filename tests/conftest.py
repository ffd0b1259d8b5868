"""Shared fixtures. Data fixtures are named ``data_*`` and are opt-in (nothing here is autouse)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def data_cache_dir(tmp_path_factory):
    """One built-in dataset cache for the whole session, so each tiny dataset is generated once; offline HF hub."""
    path = tmp_path_factory.mktemp("iql-jax-datasets")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("IQL_JAX_DATA_DIR", str(path))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield path
