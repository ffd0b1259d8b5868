"""Built-in datasets by name, generated on first use into a cache and then loaded from it.

Cache layout: the cache directory (``$IQL_JAX_DATA_DIR``, default ``~/.cache/iql-jax/datasets``) is a Minari
datasets root, so ``MINARI_DATASETS_PATH=<cache> minari list local`` shows it. Each dataset is
``<cache>/iql-jax/<name>-s<steps>-seed<seed>-v0/data/{main_data.hdf5, metadata.json}`` (fixed-size datasets omit
``-s<steps>``). A present dataset is regenerated only when it was collected with behaviour policies other than the
ones the package now ships (an upgrade shipped better ones: the old copy would be another dataset under the same
name); the line printed says so. Generation writes into a private temporary root inside the
cache and renames the finished directory into place, so an interrupted run leaves nothing that looks complete and
concurrent runs cannot corrupt each other (the first to finish wins).
"""

from __future__ import annotations

import dataclasses
import json
import operator
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from iql_jax.data.minari_io import METADATA_PREFIX, load_minari, write_minari
from iql_jax.data.transitions import Dataset
from iql_jax.errors import ConfigError, DataError, IQLError

DATA_DIR_ENV = "IQL_JAX_DATA_DIR"
NAMESPACE = "iql-jax"
DEFAULT_STEPS = 1_000_000


Writer = Callable[[Path, str, "int | None", int, bool], None]  # (root, dataset_id, steps, seed, progress)


@dataclass(frozen=True)
class Builtin:
    """A named generator that writes a Minari dataset under a root. ``default_steps`` is ``None`` for fixed-size
    datasets (``steps`` is then refused)."""

    name: str
    description: str
    default_steps: int | None
    write: Writer


def _maze(maze: str) -> Writer:
    def write(root, dataset_id, steps, seed, progress):
        from iql_jax.data.generate_maze import collect_pointmaze

        collect_pointmaze(maze, steps, seed, root, dataset_id, progress)

    return write


def _stitch(maze: str) -> Writer:
    def write(root, dataset_id, steps, seed, progress):
        from iql_jax.data.generate_maze import collect_stitch

        collect_stitch(maze, steps, seed, root, dataset_id, progress)

    return write


def _random(task: str) -> Writer:
    def write(root, dataset_id, steps, seed, progress):
        from iql_jax.data.generate_random import generate_random

        write_minari(root, dataset_id, generate_random(task, steps, seed, progress))

    return write


def _behaviour(key: str, recipe: str) -> Writer:
    def write(root, dataset_id, steps, seed, progress):
        from iql_jax.data.generate_behaviour import collect_behaviour

        collect_behaviour(key, recipe, steps, seed, root, dataset_id, progress)

    return write


def _behaviour_builtins() -> list[Builtin]:
    """``<key>-<recipe>`` for every environment whose behaviour policies the package ships."""
    from iql_jax.behaviour.shipped import RECIPES, shipped_dir
    from iql_jax.data.generate_behaviour import DEFAULT_STEPS, RECIPE_NAMES

    return [Builtin(f"{key}-{recipe}", _BEHAVIOUR_TEXT.format(r.env_id, recipe), DEFAULT_STEPS[recipe],
                    _behaviour(key, recipe))
            for key, r in RECIPES.items() if r.medium_band is not None and (shipped_dir(key) / "medium.msgpack").is_file()
            for recipe in RECIPE_NAMES]


def _antmaze(name: str) -> Writer:
    def write(root, dataset_id, steps, seed, progress):
        from iql_jax.data.generate_antmaze import collect_antmaze

        collect_antmaze(name, steps, seed, root, dataset_id, progress)

    return write


def _antmaze_builtins() -> list[Builtin]:
    """The six D4RL AntMaze datasets, once the package ships the directional ant that walks them."""
    from iql_jax.behaviour.shipped import shipped_dir
    from iql_jax.data.generate_antmaze import POLICY, VARIANTS

    if not (shipped_dir(POLICY[0]) / f"{POLICY[1]}.msgpack").is_file():
        return []
    return [Builtin(name, f"AntMaze_{v.maze} D4RL-recipe data ({v.goals} goals): the directional SAC ant on BFS "
                          "waypoints, N(0, 0.2) noise", DEFAULT_STEPS, _antmaze(name)) for name, v in VARIANTS.items()]


def _fig2(root, dataset_id, steps, seed, progress) -> None:
    from iql_jax.data.generate_maze import generate_fig2

    write_minari(root, dataset_id, generate_fig2(seed, progress))


_MAZE_TEXT = "PointMaze_{} collected as Minari's D4RL/pointmaze (moving goals, dict observations)"
_RANDOM_TEXT = "{}-v5 uniform random actions (D4RL *-random style)"
_BEHAVIOUR_TEXT = "{} D4RL-recipe {} data from the package's SAC behaviour policies"
_STITCH_TEXT = "PointMaze_{} stitching data: short segments between nearby cells, none joining the evaluation {}"
BUILTINS: dict[str, Builtin] = {b.name: b for b in (
    Builtin("pointmaze-umaze", _MAZE_TEXT.format("UMaze-v3"), DEFAULT_STEPS, _maze("umaze")),
    Builtin("pointmaze-medium", _MAZE_TEXT.format("Medium-v3"), DEFAULT_STEPS, _maze("medium")),
    Builtin("pointmaze-large", _MAZE_TEXT.format("Large-v3"), DEFAULT_STEPS, _maze("large")),
    Builtin("pointmaze-umaze-stitch", _STITCH_TEXT.format("UMaze-v3", "(3, 1) -> (1, 1)"), DEFAULT_STEPS,
            _stitch("umaze")),
    Builtin("pointmaze-medium-stitch", _STITCH_TEXT.format("Medium-v3", "(1, 1) -> (6, 6)"), DEFAULT_STEPS,
            _stitch("medium")),
    Builtin("pointmaze-large-stitch", _STITCH_TEXT.format("Large-v3", "(1, 1) -> (7, 9)"), DEFAULT_STEPS,
            _stitch("large")),
    Builtin("pointmaze-umaze-fig2", "IQL paper Fig. 2 U-maze: 1 controller + 99 random trajectories, fixed goal",
            None, _fig2),
    Builtin("hopper-random", _RANDOM_TEXT.format("Hopper"), DEFAULT_STEPS, _random("hopper")),
    Builtin("halfcheetah-random", _RANDOM_TEXT.format("HalfCheetah"), DEFAULT_STEPS, _random("halfcheetah")),
    Builtin("walker2d-random", _RANDOM_TEXT.format("Walker2d"), DEFAULT_STEPS, _random("walker2d")),
    Builtin("ant-random", _RANDOM_TEXT.format("Ant"), DEFAULT_STEPS, _random("ant")),
    *_behaviour_builtins(),
    *_antmaze_builtins(),
)}


def builtin_names() -> tuple[str, ...]:
    """Names accepted by :func:`load_builtin` and ``load_dataset``."""
    return tuple(BUILTINS)


def data_dir() -> Path:
    """The cache directory: ``$IQL_JAX_DATA_DIR``, else ``~/.cache/iql-jax/datasets``."""
    return Path(os.environ.get(DATA_DIR_ENV) or Path.home() / ".cache" / "iql-jax" / "datasets").expanduser()


def builtin_dataset_id(name: str, steps: int | None = None, seed: int = 0) -> str:
    """The Minari id of a built-in dataset, e.g. ``iql-jax/pointmaze-umaze-s1000000-seed0-v0``; checks the options."""
    _, steps, seed = _options(name, steps, seed)
    size = "" if steps is None else f"-s{steps}"
    return f"{NAMESPACE}/{name}{size}-seed{seed}-v0"


def cached_builtins() -> list[str]:
    """Ids of the built-in datasets present in the cache."""
    root = data_dir() / NAMESPACE
    return sorted(f"{NAMESPACE}/{p.name}" for p in root.glob("*-v0") if (p / "data" / "metadata.json").is_file()) \
        if root.is_dir() else []


def load_builtin(name: str, steps: int | None = None, seed: int = 0, progress: bool = True) -> Dataset:
    """Load a built-in dataset, generating it into the cache first if it is not there.

    Args:
        name: one of :func:`builtin_names`.
        steps: environment steps to collect (default 1,000,000); refused for fixed-size datasets.
        seed: seeds the environment and the action noise; the same seed gives identical arrays.
        progress: show a tqdm progress bar while generating.

    Returns:
        The :class:`Dataset`, ``info.name`` = ``name``, ``info.source`` = the cached dataset directory.

    Raises:
        DataError: unknown name (the message lists the built-ins).
        ConfigError: invalid ``steps`` or ``seed``.
    """
    sized = steps is not None
    builtin, steps, seed = _options(name, steps, seed)
    dataset_id = builtin_dataset_id(name, steps, seed)
    path = data_dir() / dataset_id
    cached = (path / "data" / "metadata.json").is_file()
    stale = stale_policies(path) if cached else None
    if stale:
        print(f"regenerating {name}: the cached copy in {path} was {stale}", file=sys.stderr)
    if not cached or stale:
        if progress and not sized and steps is not None:
            print(f"generating {name} with its default {steps:,} environment steps, once (cached in {data_dir()}); "
                  f"the bar shows the expected time; ask for less with {name}:200k", file=sys.stderr)
        _write_atomically(dataset_id, lambda root: builtin.write(root, dataset_id, steps, seed, progress),
                          replace=bool(stale))
    dataset = load_minari(path)
    return dataclasses.replace(dataset, info=dataclasses.replace(dataset.info, name=name))


def _options(name: str, steps, seed) -> tuple[Builtin, int | None, int]:
    """The built-in and its checked ``steps`` (``None`` for fixed-size datasets) and ``seed``."""
    if name not in BUILTINS:
        raise DataError(name, None, f"a built-in dataset name ({', '.join(BUILTINS)})", "an unknown name")
    builtin = BUILTINS[name]
    if builtin.default_steps is None and steps is not None:
        raise ConfigError(f"{name} has a fixed size; do not pass steps (found steps={steps})")
    if builtin.default_steps is not None:
        steps = _count("steps", name, builtin.default_steps if steps is None else steps, minimum=1)
    return builtin, steps, _count("seed", name, seed, minimum=0)


def _count(option: str, name: str, value, minimum: int) -> int:
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)  # ints and NumPy integers, not floats
    except TypeError:
        raise ConfigError(f"{name}: {option}: expected an integer >= {minimum}, found {value!r}") from None
    if value < minimum:
        raise ConfigError(f"{name}: {option}: expected an integer >= {minimum}, found {value}")
    return value


def stale_policies(path: Path) -> str | None:
    """Why a cached behaviour or AntMaze dataset is not what its name makes now: collected with a policy (by
    fingerprint) that the package no longer ships. None for every other dataset, and for metadata this cannot read
    (the loader then names the fault)."""
    from iql_jax.behaviour.shipped import load_shipped
    from iql_jax.data.generate_antmaze import POLICY

    try:
        metadata = json.loads((path / "data" / "metadata.json").read_text())
        behaviour, antmaze = metadata.get(METADATA_PREFIX + "behaviour"), metadata.get(METADATA_PREFIX + "antmaze")
        if isinstance(behaviour, dict):
            used = [(behaviour["key"], name, p["fingerprint"]) for name, p in behaviour["policies"].items()]
        elif isinstance(antmaze, dict):
            used = [(*POLICY, antmaze["policy"]["fingerprint"])]
        else:
            return None
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None
    for key, name, fingerprint in used:
        try:
            now = load_shipped(key, name).fingerprint
        except IQLError:  # the package no longer ships it
            now = None
        if now != fingerprint:
            return (f"collected with the {key} '{name}' policy {fingerprint}; the package now ships "
                    f"{now or 'none under that name'}")
    return None


def _write_atomically(dataset_id: str, write: Callable[[Path], None], replace: bool = False) -> None:
    """``replace``: a stale copy at the same id is moved into the scratch root (then removed) before the rename."""
    root = data_dir()
    root.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".generating-", dir=root))
    try:
        write(scratch)
        final = root / dataset_id
        final.parent.mkdir(parents=True, exist_ok=True)
        if replace and final.exists():
            os.rename(final, scratch / "stale")
        namespace_file = scratch / NAMESPACE / "namespace_metadata.json"
        if namespace_file.is_file() and not (root / NAMESPACE / namespace_file.name).exists():
            shutil.copyfile(namespace_file, root / NAMESPACE / namespace_file.name)
        try:
            os.rename(scratch / dataset_id, final)
        except OSError:  # another process finished the same dataset first: keep theirs
            if not (final / "data" / "metadata.json").is_file():
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
