"""The data layer: every source becomes one validated, read-only :class:`Transitions` inside a :class:`Dataset`.

Sources (:func:`load_dataset` tells them apart): a built-in name, generated on first use (``pointmaze-umaze``,
optionally ``pointmaze-umaze:200000`` or ``:200k`` for the size); a local Minari dataset id or directory; a D4RL-layout
``.hdf5``/``.h5`` file.
"""

from __future__ import annotations

import re
from pathlib import Path

from iql_jax.data.builtin import builtin_dataset_id, builtin_names, cached_builtins, data_dir, load_builtin
from iql_jax.data.d4rl import load_d4rl_hdf5, qlearning_rows, read_hdf5_key
from iql_jax.data.minari_io import load_minari, local_minari_datasets, minari_root
from iql_jax.data.spaces import flatten_observation, observation_layout
from iql_jax.data.transforms import (
    REWARD_KINDS,
    ObservationStats,
    RewardTransform,
    clip_actions,
    fit_observation_stats,
    fit_reward_transform,
    trajectory_returns,
)
from iql_jax.data.transitions import Dataset, DatasetInfo, Transitions, read_only
from iql_jax.data.validate import DataWarning, episode_ends_from, make_transitions
from iql_jax.errors import ConfigError, DataError

__all__ = [
    "Dataset", "DatasetInfo", "DataWarning", "ObservationStats", "REWARD_KINDS", "RewardTransform", "Transitions",
    "builtin_dataset_id", "builtin_names", "cached_builtins", "clip_actions", "data_dir", "episode_ends_from",
    "fit_observation_stats", "fit_reward_transform", "flatten_observation", "load_builtin",
    "load_d4rl_hdf5", "load_dataset", "load_minari", "local_minari_datasets", "make_transitions", "minari_root",
    "observation_layout", "parse_steps", "qlearning_rows", "read_hdf5_key", "read_only", "source_kind",
    "split_size_suffix",
    "trajectory_returns",
]

_HDF5_SUFFIXES = (".hdf5", ".h5")


def source_kind(source: str) -> str:
    """``"builtin"`` (a built-in name, with or without a size suffix), ``"hdf5"`` (a D4RL-layout file) or
    ``"minari"`` (anything else: a Minari id or directory); which loader, and so which options, apply."""
    if str(source).partition(":")[0] in builtin_names():
        return "builtin"
    path = Path(source).expanduser()
    is_minari_file = path.name == "main_data.hdf5" and (path.parent / "metadata.json").is_file()
    return "hdf5" if path.suffix.lower() in _HDF5_SUFFIXES and not is_minari_file else "minari"


def load_dataset(source: str, *, steps: int | None = None, seed: int | None = None, progress: bool = True,
                 max_episode_steps: int | None = None, env_id: str | None = None) -> Dataset:
    """Load any supported source as a :class:`Dataset`.

    Args:
        source: a built-in name (see :func:`builtin_names`), optionally with a size suffix ``name:STEPS``
            (``pointmaze-umaze:200000``, ``:200k``, ``:1M``); a local Minari dataset id; a Minari dataset
            directory; or a D4RL-layout ``.hdf5``/``.h5`` file.
        steps: built-ins only: environment steps to generate (same as the suffix).
        seed: built-ins only: generation seed (default 0).
        progress: built-ins only: show a progress bar while generating.
        max_episode_steps: D4RL files without ``timeouts`` only: the environment's time limit.
        env_id: D4RL files without ``timeouts`` only: the paired environment whose time limit splits episodes.

    Raises:
        DataError: the source is none of the above (the message lists the built-ins and the local Minari
            datasets), or it is malformed.
        ConfigError: an option that does not apply to this kind of source, or a bad size suffix.
    """
    kind = source_kind(source)
    if kind == "builtin":
        if max_episode_steps is not None:
            raise ConfigError("max_episode_steps applies only to D4RL .hdf5 files")
        name, steps = split_size_suffix(source, steps)
        return load_builtin(name, steps, 0 if seed is None else seed, progress)
    if steps is not None or seed is not None:
        raise ConfigError(f"{source}: steps and seed apply only to built-in datasets ({', '.join(builtin_names())})")
    path = Path(source).expanduser()
    if path.name == "main_data.hdf5" and (path.parent / "metadata.json").is_file():
        return load_minari(path.parent)  # a Minari data file given directly
    if kind == "hdf5":
        return load_d4rl_hdf5(path, max_episode_steps, env_id)
    if max_episode_steps is not None:
        raise ConfigError("max_episode_steps applies only to D4RL .hdf5 files")
    if path.is_dir() or source in local_minari_datasets():
        return load_minari(source)
    local = local_minari_datasets()
    if (remote := _remote_minari_hint(source, local)) is not None:
        raise DataError(source, None, "a dataset on this machine", remote)
    raise DataError(source, None, f"a built-in name ({', '.join(builtin_names())}), a local Minari dataset id under "
                    f"{minari_root()} ({', '.join(local) or 'none found'}), a Minari dataset directory, or an "
                    ".hdf5/.h5 file", "none of these")


def _remote_minari_hint(source: str, local: list[str]) -> str | None:
    """For a Minari remote id (``NAMESPACE/…/NAME-vN``) not on this machine: how to get it, and the built-in that
    stands in for it here (``D4RL/pointmaze/umaze-v2`` -> ``pointmaze-umaze``), in one line; else ``None`` (also
    for a namespace that exists here: more likely a typo among the user's own datasets, listed by the caller)."""
    if not re.fullmatch(r"[\w.-]+(/[\w.-]+)+-v\d+", source) or Path(source).expanduser().exists():
        return None
    if any(d.split("/")[0] == source.split("/")[0] for d in local):
        return None
    parts = re.sub(r"-v\d+$", "", source).split("/")[1:]
    wanted = "-".join(parts)
    near = [b for b in builtin_names() if b == wanted] or [b for b in builtin_names() if b.startswith(f"{parts[0]}-")]
    here = (f"here the built-in {near[0]} stands in for it (--dataset {near[0]}, or {near[0]}:200k for a smaller one)"
            if near else f"no built-in stands in for it here ({', '.join(builtin_names())})")
    return (f"a remote Minari dataset that is not downloaded (none under {minari_root()}): where there is a network, "
            f"run `minari download {source}` and pass the same id; {here}")


def split_size_suffix(source: str, steps: int | None) -> tuple[str, int | None]:
    """``"name:200k"`` -> ``("name", 200000)``; a suffix that disagrees with an explicit ``steps`` is refused."""
    name, colon, size = str(source).partition(":")
    if not colon:
        return name, steps
    suffix_steps = parse_steps(size)
    if steps is not None and steps != suffix_steps:
        raise ConfigError(f"{source}: the size suffix says {suffix_steps} steps but steps={steps}")
    return name, suffix_steps


def parse_steps(text: str) -> int:
    """``"200000"``, ``"200k"``, ``"1M"`` -> steps; raises ConfigError otherwise."""
    multiplier = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    digits = text[:-1] if multiplier > 1 else text
    if not digits.isdigit() or int(digits) * multiplier < 1:
        raise ConfigError(f"size suffix: expected a positive step count such as 200000, 200k or 1M, found {text!r}")
    return int(digits) * multiplier
