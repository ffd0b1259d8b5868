"""Minari datasets: read ``data/main_data.hdf5`` directly with h5py, write through Minari's own writer.

Reading. Minari stores one HDF5 group per episode (``episode_0 .. episode_{E-1}``) with ``observations`` (T + 1 rows,
the final observation included), ``actions``, ``rewards``, ``terminations`` and ``truncations`` (T rows). Opening
each dataset through h5py's low-level API is about 2.5x faster than ``MinariDataset.iterate_episodes`` (the per-object
cost of HDF5 dominates: ~0.4 ms per episode). Episodes become transitions: ``terminations`` -> ``terminals``,
``truncations`` -> ``timeouts``, each episode's last transition is an ``episode_end``. Dict observations are
flattened with :func:`~iql_jax.data.spaces.flatten_observation`, in the order of
:func:`~iql_jax.data.spaces.observation_layout` (recorded in ``info.extra["observation_layout"]``).

Writing (:func:`write_minari`) goes through ``minari.create_dataset_from_buffers``, so built-in datasets are real
Minari datasets; ``MINARI_DATASETS_PATH`` is set only for the duration of the call. Keys that iql_jax adds to
``metadata.json`` start with ``iql_jax_`` and come back in ``info.extra`` without the prefix.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import json
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import h5py
import numpy as np

from iql_jax.data.hdf5_read import read_field
from iql_jax.data.limits import LoadBudget, check_declared_shape, check_episode_widths, open_episode
from iql_jax.data.minari_metadata import (METADATA_PREFIX, check_against_data, check_spec, observation_spaces,
                                          read_metadata, references)
from iql_jax.data.paths import special_kind
from iql_jax.data.spaces import GOAL_KEYS, flatten_observation
from iql_jax.data.transitions import Dataset, DatasetInfo, GoalArrays, read_only
from iql_jax.data.validate import check_flags, check_float_values, make_transitions
from iql_jax.errors import DataError
from iql_jax.tasks import domain_of

MINARI_PATH_ENV = "MINARI_DATASETS_PATH"
_MESSAGE_NAMES = {"terminals": "terminations", "timeouts": "truncations", "next_observations": "observations"}


def minari_root() -> Path:
    """Where local Minari datasets live: ``$MINARI_DATASETS_PATH``, else ``~/.minari/datasets`` (Minari's rule)."""
    return Path(os.environ.get(MINARI_PATH_ENV) or Path.home() / ".minari" / "datasets").expanduser()


def local_minari_datasets(root=None) -> list[str]:
    """Ids of the Minari datasets under ``root`` (default :func:`minari_root`), e.g. ``["local/hopper/random-v0"]``."""
    root = Path(root) if root is not None else minari_root()
    if not root.is_dir():
        return []
    found = {m.parent.parent.relative_to(root).as_posix()
             for depth in range(1, 4) for m in root.glob("*/" * depth + "data/metadata.json")}
    return sorted(found)


def load_minari(dataset_id_or_path) -> Dataset:
    """Load a local Minari dataset, by id (under ``$MINARI_DATASETS_PATH``) or by directory, as transitions.

    Args:
        dataset_id_or_path: an id such as ``"local/hopper/random-v0"``, or a dataset directory (the one holding
            ``data/``, or ``data/`` itself).

    Returns:
        The :class:`Dataset`; ``info`` carries ``env_spec``/``eval_env_spec`` (gymnasium JSON; the collection spec
        when no evaluation spec was recorded, as ``recover_environment(eval_env=True)`` does), reference scores when
        recorded, and the domain from the ``iql_jax_domain`` metadata key or the env id.

    Raises:
        DataError: unknown id (the message lists the local ones), a directory without ``main_data.hdf5`` or
            ``metadata.json``, invalid metadata, a malformed episode, or any transitions check.
    """
    data_dir = _resolve(str(dataset_id_or_path))
    metadata = read_metadata(data_dir / "metadata.json")
    main_file = data_dir / "main_data.hdf5"
    for field in ("env_spec", "eval_env_spec"):
        check_spec(metadata, field, data_dir / "metadata.json")
    env_spec = metadata.get("env_spec")
    env_id = _env_id(env_spec)
    layout, dict_keys, spaces = observation_spaces(metadata, data_dir / "metadata.json", env_id)
    goal_keys = tuple(k for k in GOAL_KEYS if k in dict_keys)
    try:
        arrays, boundaries, goal_arrays, episodes = _read_episodes(main_file, layout, goal_keys)
    except OSError as e:
        raise DataError(str(main_file), None, "a readable HDF5 file", f"{type(e).__name__}: {e}") from e
    check_against_data(data_dir / "metadata.json", metadata, spaces, layout, arrays, episodes)
    transitions = make_transitions(str(main_file), field_names=_MESSAGE_NAMES, **arrays)
    ends = np.maximum(np.asarray(transitions.episode_ends), boundaries)
    transitions = transitions._replace(episode_ends=read_only(ends))
    extra = {k[len(METADATA_PREFIX):]: v for k, v in metadata.items() if k.startswith(METADATA_PREFIX)}
    extra.update(format="minari", dataset_id=metadata.get("dataset_id"))
    if not isinstance(extra.get("domain", ""), str):
        raise DataError(str(data_dir / "metadata.json"), METADATA_PREFIX + "domain", "a domain name (a string)",
                        repr(extra["domain"])[:80])
    if layout is not None or "observation_layout" in extra:
        extra["observation_layout"] = tuple(layout or extra["observation_layout"])
    name = str(metadata.get("dataset_id") or data_dir.parent.name)
    ref_min, ref_max = references(metadata, data_dir / "metadata.json")
    info = DatasetInfo(
        name=name, source=str(data_dir.parent), domain=extra.pop("domain", None) or domain_of(env_id or name),
        env_spec=env_spec, eval_env_spec=metadata.get("eval_env_spec", env_spec),
        ref_min_score=ref_min, ref_max_score=ref_max, extra=extra)
    goals = GoalArrays(goal_arrays["achieved_goal"], goal_arrays["desired_goal"]) \
        if len(goal_arrays) == len(GOAL_KEYS) else None
    return Dataset(transitions, info, goals)


class EpisodeArrays(NamedTuple):
    """One episode in Minari's layout."""

    observations: np.ndarray  # (T + 1, obs_dim): the final observation included
    actions: np.ndarray  # (T, act_dim)
    rewards: np.ndarray  # (T,)
    terminations: np.ndarray  # (T,) bool
    truncations: np.ndarray  # (T,) bool


@dataclass(frozen=True)
class GeneratedDataset:
    """What a generator hands to :func:`write_minari`."""

    episodes: list[EpisodeArrays]
    env_spec: Any  # gymnasium EnvSpec of the collection environment
    eval_env_spec: Any  # gymnasium EnvSpec of the evaluation environment
    ref_min_score: float
    ref_max_score: float
    ref_episodes: int  # evaluation episodes behind each measured reference score (0: constants, not measured)
    algorithm_name: str
    description: str
    code_permalink: str
    extra: dict  # JSON-able; stored as ``iql_jax_<key>`` in metadata.json


def write_minari(root, dataset_id: str, data: GeneratedDataset) -> Path:
    """Write ``data`` with ``minari.create_dataset_from_buffers`` under ``root``; return the dataset directory.

    Observations are stored as a flat float32 Box (iql_jax's layout), actions as a [-1, 1] float32 Box.
    """
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    obs_dim, act_dim = data.episodes[0].observations.shape[1], data.episodes[0].actions.shape[1]
    buffers = [EpisodeBuffer(id=i, observations=e.observations, actions=e.actions, rewards=e.rewards,
                             terminations=e.terminations, truncations=e.truncations)
               for i, e in enumerate(data.episodes)]
    with minari_datasets_path(root), warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*author_email.*")
        dataset = minari.create_dataset_from_buffers(
            dataset_id=dataset_id, buffer=buffers, env=data.env_spec, eval_env=data.eval_env_spec,
            algorithm_name=data.algorithm_name, author="iql-jax", code_permalink=data.code_permalink,
            observation_space=gym.spaces.Box(-np.inf, np.inf, (obs_dim,), np.float32),
            action_space=gym.spaces.Box(-1.0, 1.0, (act_dim,), np.float32),
            ref_min_score=data.ref_min_score, ref_max_score=data.ref_max_score,
            num_episodes_average_score=max(data.ref_episodes, 1), description=data.description,
            requirements=requirements())
        dataset.storage.update_metadata({METADATA_PREFIX + k: v for k, v in data.extra.items()})
    return Path(root) / dataset_id


def requirements() -> list[str]:
    """The simulator versions a generated dataset was collected with (Minari's ``requirements`` field)."""
    return [f"{p}=={importlib.metadata.version(p)}" for p in ("mujoco", "gymnasium", "gymnasium-robotics")]


@contextlib.contextmanager
def minari_datasets_path(root):
    """Point ``MINARI_DATASETS_PATH`` at ``root`` for the ``with`` block, then restore it (not thread-safe)."""
    before = os.environ.get(MINARI_PATH_ENV)
    os.environ[MINARI_PATH_ENV] = str(root)
    try:
        yield Path(root)
    finally:
        if before is None:
            os.environ.pop(MINARI_PATH_ENV, None)
        else:
            os.environ[MINARI_PATH_ENV] = before


def _resolve(arg: str) -> Path:
    """The ``data/`` directory of a dataset given by path or id, checked to hold both Minari files (regular files:
    a named pipe would block the reader)."""
    path = Path(arg).expanduser()
    kind = special_kind(path)
    if kind is not None and kind != "a directory":
        raise DataError(arg, None, "a Minari dataset directory or id", kind)
    if not path.is_dir():
        root = minari_root()
        path = root / arg
        if not (path / "data").is_dir():
            local = local_minari_datasets(root)
            raise DataError(arg, None, f"a Minari dataset directory, or a dataset id under {root} "
                            f"(local: {', '.join(local) or 'none'})", "neither")
    data_dir = path / "data" if (path / "data").is_dir() else path
    for file in ("main_data.hdf5", "metadata.json"):
        if (kind := special_kind(data_dir / file)) is not None:
            raise DataError(str(data_dir), file, "a regular file", kind)
        if not (data_dir / file).is_file():
            contents = ", ".join(sorted(p.name for p in data_dir.iterdir())) or "empty"
            raise DataError(str(data_dir), file, "a Minari dataset file", f"missing (directory holds: {contents})")
    return data_dir


def _read_episodes(path: Path, layout: tuple[str, ...] | None, goal_keys: tuple[str, ...] = ()):
    """All episodes as flat arrays (the :func:`make_transitions` arguments), the episode-boundary flags, the
    ``goal_keys`` entries of every transition's *next* observation (``desired_goal[t + 1]`` is the goal the reward
    of step t was computed against, ``shared/reference/mazes.md`` §1), and the number of episode groups."""
    keys = tuple(dict.fromkeys((layout or ("",)) + goal_keys))
    parts: dict[str, list] = {k: [] for k in ("actions", "rewards", "terminals", "timeouts", *keys)}
    # every field is held as stored and concatenated as float32; observations also as the two row selections
    budget = LoadBudget(str(path))
    observation_budget = _Copies(budget, 4)
    budget = _Copies(budget, 2)
    with h5py.File(path, "r") as f:
        names = [k for k in f.keys() if k.startswith("episode_") and k[8:].isdigit()]
        for name in sorted(names, key=lambda k: int(k[8:])):
            group = open_episode(f, name, str(path))
            rewards = _read(group, "rewards", path, name, budget=budget)
            if rewards.ndim != 1:  # a scalar has no len(); (T, 1) would broadcast against (T,) flags
                raise DataError(str(path), f"{name}/rewards", "shape (T,): one reward per step",
                                f"shape {rewards.shape}")
            steps = len(rewards)
            for field, minari_name in (("actions", "actions"), ("terminals", "terminations"),
                                       ("timeouts", "truncations")):
                parts[field].append(_read(group, minari_name, path, name, steps, budget=budget))
            parts["rewards"].append(rewards)
            obs_group = _open_group(group, "observations", path, name) if layout else group
            for key in keys:
                label = f"observations/{key}" if layout else "observations"
                parts[key].append(_read(obs_group, key or "observations", path, name, steps + 1, label,
                                        budget=observation_budget))
    if not parts["rewards"]:
        raise DataError(str(path), None, "at least one episode_<i> group", "none")
    check_episode_widths(str(path), names, parts)
    steps = np.array([len(r) for r in parts["rewards"]])
    obs_rows = np.cumsum(steps + 1)
    is_last = np.zeros(obs_rows[-1], dtype=bool)
    is_last[obs_rows - 1] = True
    is_first = np.zeros(obs_rows[-1], dtype=bool)
    is_first[obs_rows - steps - 1] = True
    observations = {k: np.concatenate(parts.pop(k), dtype=np.float32, casting="unsafe") for k in keys}
    flat = flatten_observation(observations, layout) if layout else observations[""]
    arrays = {k: np.concatenate(v, dtype=np.float32, casting="unsafe") for k, v in parts.items()}
    arrays.update(observations=flat[~is_last], next_observations=flat[~is_first])
    boundaries = np.zeros(int(steps.sum()), dtype=np.float32)
    boundaries[np.cumsum(steps)[steps > 0] - 1] = 1.0
    goals = {k: read_only(observations[k][~is_first]) for k in goal_keys}
    return arrays, boundaries, goals, len(names)


class _Copies(NamedTuple):
    budget: LoadBudget
    copies: int


def _open_group(group, name: str, path: Path, episode: str):
    try:
        return h5py.h5g.open(group, name.encode())
    except (KeyError, ValueError, TypeError):
        raise DataError(str(path), f"{episode}/{name}", "a group holding the Dict keys",
                        "missing or a dataset") from None


def _read(group, name: str, path: Path, episode: str, rows: int | None = None, label: str | None = None,
          budget: _Copies | None = None):
    """Read one dataset with the low-level API (the fast path), checking its dtype and row count."""
    label = f"{episode}/{label or name}"
    try:
        dset = h5py.h5d.open(group, name.encode())
    except (KeyError, ValueError, TypeError):  # missing, or a group where a dataset belongs
        raise DataError(str(path), label, "a dataset", "missing or not a dataset") from None
    if dset.dtype.kind not in "biuf":
        raise DataError(str(path), label, "a numeric array", f"dtype {dset.dtype}")
    if dset.shape is None:  # HDF5's null dataspace: a type and no shape
        raise DataError(str(path), label, "an array", "an empty dataset (HDF5 null dataspace, no shape)")
    if rows is not None and (len(dset.shape) == 0 or dset.shape[0] != rows):
        expected = f"{rows} rows" + (" (T + 1, T = len(rewards))" if "observations" in label else "")
        raise DataError(str(path), label, expected, f"shape {dset.shape}")
    check_declared_shape(str(path), label, dset, budget and budget.budget, budget.copies if budget else 1)
    out = read_field(str(path), label, dset)
    # checked per episode, before the concatenation, so that a message names the episode and its own row
    if name in ("terminations", "truncations"):
        check_flags(str(path), label, out)
    else:  # NaN/Inf, and float64 beyond float32's range, which turns to inf in the cast
        check_float_values(str(path), label, out)
    return out


def _env_id(env_spec) -> str | None:
    try:
        return json.loads(env_spec).get("id")
    except (TypeError, ValueError, AttributeError):  # no spec recorded, or not a JSON object
        return None

