"""Behaviour policies and D4RL-recipe datasets made here: SAC (:mod:`.sac`), its trainer (:mod:`.trainer`),
policy files (:mod:`.policy`), the policies the package ships and how they are chosen (:mod:`.shipped`,
:mod:`.ship`). The names below load on first use: the data layer reads shipped policies without importing the
trainer."""

import importlib

_PUBLIC = {"BehaviourConfig": "trainer", "train_behaviour": "trainer", "SACConfig": "sac",
           "BehaviourPolicy": "policy", "load_policy_file": "policy", "load_shipped": "shipped", "ship": "ship"}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        return getattr(importlib.import_module(f"iql_jax.behaviour.{_PUBLIC[name]}"), name)
    raise AttributeError(f"module 'iql_jax.behaviour' has no attribute {name!r}")
