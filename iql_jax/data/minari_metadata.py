"""A Minari dataset's ``metadata.json``, checked: what it must hold, and that it agrees with ``main_data.hdf5``.

Minari writes the file; users and scripts edit it. Each field iql_jax reads is checked where it is read: the env specs
(JSON strings holding an object with an ``id``), the two spaces (a continuous Box of actions; a Box or a Dict of Boxes
of observations, whose widths must be those of the data), the counts (``total_steps``, ``total_episodes``), the
reference returns (both or neither, finite, random below expert) and iql_jax's own ``iql_jax_`` keys. A contradiction
means one of the two files is wrong: evaluation would build a network of the wrong width, an env the data did not
come from, or a score divided by zero.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from iql_jax.data.spaces import observation_layout
from iql_jax.errors import DataError

METADATA_PREFIX = "iql_jax_"


def read_metadata(path: Path) -> dict:
    """The file as a JSON object, stored in Minari's HDF5 format (the only one read here)."""
    try:
        metadata = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(str(path), None, "readable JSON metadata", f"{type(e).__name__}: {e}") from e
    if not isinstance(metadata, dict):
        raise DataError(str(path), None, "a JSON object", type(metadata).__name__)
    if metadata.get("data_format", "hdf5") != "hdf5":
        raise DataError(str(path), "data_format", "'hdf5'", repr(metadata["data_format"]))
    return metadata


def observation_spaces(metadata: dict, path: Path,
                       env_id: str | None) -> tuple[tuple[str, ...] | None, tuple[str, ...], dict]:
    """The dict keys to concatenate (``None`` for a Box observation space), all the dict's keys, and the two
    deserialized spaces; the action space must be a Box."""
    from minari.serialization import deserialize_space

    spaces = {}
    for field in ("observation_space", "action_space"):
        try:
            spaces[field] = deserialize_space(metadata[field])
        except Exception as e:  # KeyError, JSON or unknown space type: all mean the metadata is unusable
            raise DataError(str(path), field, "a serialized gymnasium space", f"{type(e).__name__}: {e}") from e
    if type(spaces["action_space"]).__name__ != "Box":
        raise DataError(str(path), "action_space", "a continuous Box", repr(spaces["action_space"]))
    obs_space = spaces["observation_space"]
    if type(obs_space).__name__ == "Box":
        _recorded_layout(metadata, path, None)
        return None, (), spaces
    if type(obs_space).__name__ != "Dict" or any(type(s).__name__ != "Box" for s in obs_space.spaces.values()):
        raise DataError(str(path), "observation_space", "a Box or a Dict of Boxes", repr(obs_space))
    keys = tuple(obs_space.spaces)
    recorded = _recorded_layout(metadata, path, keys)
    return (tuple(recorded) if recorded else observation_layout(env_id, list(keys))), keys, spaces


def _recorded_layout(metadata: dict, path: Path, keys: tuple[str, ...] | None) -> list[str] | None:
    """The ``iql_jax_observation_layout`` entry: a list of the Dict space's keys (any names for a flat Box)."""
    field = METADATA_PREFIX + "observation_layout"
    recorded = metadata.get(field)
    if recorded is None:
        return None
    if not isinstance(recorded, list) or not recorded or not all(isinstance(k, str) for k in recorded) \
            or (keys is not None and any(k not in keys for k in recorded)):
        names = f"the observation space's keys ({', '.join(keys)})" if keys is not None else "key names"
        raise DataError(str(path), field, f"a list of {names}", repr(recorded)[:80])
    return recorded


def check_against_data(path: Path, metadata: dict, spaces: dict, layout, arrays: dict, episodes: int) -> None:
    """The metadata's spaces and counts must describe the data: a contradiction means one of them is wrong, and
    evaluation would build a network of the wrong width or an env the data did not come from."""
    obs_space, act_space = spaces["observation_space"], spaces["action_space"]
    widths = {"action_space": (act_space.shape, arrays["actions"].shape[1:])}
    if layout is None:
        widths["observation_space"] = (obs_space.shape, arrays["observations"].shape[1:])
    else:  # the flattened Dict: the keys in layout, each flattened
        declared = sum(int(np.prod(obs_space.spaces[k].shape)) for k in layout if k in obs_space.spaces)
        widths["observation_space"] = ((declared,), arrays["observations"].shape[1:])
    for field, (declared, found) in widths.items():
        if int(np.prod(declared)) != int(np.prod(found)):
            raise DataError(str(path), field, f"a space matching main_data.hdf5 (its rows have shape {found})",
                            f"a space of shape {declared}")
    counts = {"total_steps": len(arrays["rewards"]), "total_episodes": episodes}
    for field, found in counts.items():
        declared = metadata.get(field)
        if declared is not None and (isinstance(declared, bool) or declared != found):
            raise DataError(str(path), field, f"{found:,} (what main_data.hdf5 holds)", repr(declared)[:80])


def check_spec(metadata: dict, field: str, path: Path) -> None:
    """An env spec, if recorded, is what Minari writes: a JSON object with an ``id``, serialised as a string."""
    text = metadata.get(field)
    if text is None:
        return
    try:
        record = json.loads(text) if isinstance(text, str) else None
    except ValueError:
        record = None
    if not isinstance(record, dict) or not isinstance(record.get("id"), str):
        raise DataError(str(path), field, "a gymnasium env spec as a JSON string (an object with an 'id')",
                        repr(text)[:80])


def references(metadata: dict, path: Path) -> tuple[float | None, float | None]:
    """Both reference returns or neither, random below expert: a normalised score needs the two, apart."""
    low, high = (_optional_float(metadata, field, path) for field in ("ref_min_score", "ref_max_score"))
    if (low is None) != (high is None):
        missing = "ref_max_score" if high is None else "ref_min_score"
        raise DataError(str(path), missing, "both ref_min_score and ref_max_score, or neither", "only the other")
    if low is not None and not low < high:
        raise DataError(str(path), "ref_min_score", f"a random return below ref_max_score ({high})", repr(low))
    return low, high


def _optional_float(metadata: dict, field: str, path: Path) -> float | None:
    value = metadata.get(field)
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and np.isfinite(value):
        return float(value)
    raise DataError(str(path), field, "a finite number (or no entry)", repr(value)[:80])
