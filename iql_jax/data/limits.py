"""Checks that run on an HDF5 file's *declarations* before any array is read.

A hostile or damaged file can declare a shape it does not hold: HDF5 stores a dataset's shape in a few bytes and
reads unwritten storage as the fill value, so a 4 KB file can declare 10^12 rows and ``dset[()]`` then tries to
allocate terabytes. A soft or external link can point nowhere, and a field can have zero columns. These helpers turn
each of those into a :class:`~iql_jax.errors.DataError` naming the file and the field, so the loaders can call them
with one line each before they read.

The memory limit is the machine's physical memory (what a float32 copy could ever occupy), or
``$IQL_JAX_MAX_LOAD_BYTES`` when set (tests and shared machines lower it).
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from iql_jax.errors import DataError

MAX_LOAD_BYTES_ENV = "IQL_JAX_MAX_LOAD_BYTES"


def max_load_bytes() -> int:
    """Bytes one field may occupy once read as float32: ``$IQL_JAX_MAX_LOAD_BYTES``, else physical memory."""
    override = os.environ.get(MAX_LOAD_BYTES_ENV)
    if override:
        return int(override)
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError):  # no sysconf: a limit no real dataset reaches, far below 10^12 rows
        return 1 << 40


def check_declared_shape(source: str, field: str, dset) -> None:
    """Refuse a dataset whose declared shape cannot be real data, before reading it.

    Args:
        source: the file, for the message.
        field: the field's name as the file spells it (``"actions"``, ``"episode_3/observations"``).
        dset: an ``h5py.Dataset`` or a low-level ``h5py.h5d.DatasetID``.

    Raises:
        DataError: a zero-width axis after the first (``(N, 0)`` actions carry no data), more bytes than
            :func:`max_load_bytes` once read as float32, or (uncompressed contiguous storage) more bytes than the
            whole file holds.
    """
    dsid = dset.id if isinstance(dset, h5py.Dataset) else dset
    shape = tuple(int(s) for s in dsid.shape)
    if any(s == 0 for s in shape[1:]):
        raise DataError(source, field, "at least one column in every axis after the first", f"shape {shape}")
    declared = int(np.prod(shape, dtype=np.float64)) * max(dsid.dtype.itemsize, 4)
    if declared > max_load_bytes():
        raise DataError(source, field, f"a size that fits in memory (at most {max_load_bytes():,} bytes as "
                        f"float32)", f"declared shape {shape}, {declared:,} bytes")
    plist = dsid.get_create_plist()
    if plist.get_layout() == h5py.h5d.CONTIGUOUS and plist.get_nfilters() == 0:
        file_size = os.path.getsize(source) if os.path.isfile(source) else None
        stored = int(np.prod(shape, dtype=np.float64)) * dsid.dtype.itemsize
        if file_size is not None and stored > file_size:
            raise DataError(source, field, f"uncompressed data the file can hold ({file_size:,} bytes)",
                            f"declared shape {shape}, {stored:,} bytes")


def check_links(source: str, group: h5py.Group) -> None:
    """Refuse soft or external links among ``group``'s members that point nowhere.

    h5py answers ``None`` (soft) or raises ``KeyError`` (external) for such a member, which the loaders would
    report as a missing field; this names the link and its target instead.
    """
    for name in group:
        link = group.get(name, getlink=True)
        if not isinstance(link, (h5py.SoftLink, h5py.ExternalLink)):
            continue
        try:
            target = group.get(name)
        except (KeyError, OSError, ValueError):
            target = None
        if target is None:
            where = f"{link.filename}:{link.path}" if isinstance(link, h5py.ExternalLink) else link.path
            kind = "an external" if isinstance(link, h5py.ExternalLink) else "a soft"
            raise DataError(source, name, "a dataset or group", f"{kind} link to {where}, which does not exist")


def open_episode(f: h5py.File, name: str, source: str):
    """The low-level group of one Minari episode; a dataset (or a dangling link) in its place is a DataError."""
    try:
        return h5py.h5g.open(f.id, name.encode())
    except (KeyError, ValueError, TypeError):
        link = f.get(name, getlink=True)
        found = "a dataset" if isinstance(f.get(name), h5py.Dataset) else f"{type(link).__name__} that resolves " \
                "to nothing"
        raise DataError(source, name, "an episode group (observations, actions, rewards, terminations, "
                        "truncations)", found) from None


def check_episode_widths(source: str, names, parts: dict) -> None:
    """Every episode's arrays must have the first episode's trailing shape, else they cannot be stacked.

    ``parts`` maps the reader's field keys (``"actions"``, ``"terminals"``, ``""`` for a Box observation, or the
    Dict observation keys) to one array per episode, in the order of ``names`` sorted by episode number.
    """
    names = sorted(names, key=lambda k: int(k[8:]))
    for key, arrays in parts.items():
        if not arrays:
            continue
        label = _MINARI_NAMES.get(key, f"observations/{key}" if key else "observations")
        for name, array in zip(names, arrays):
            if array.shape[1:] != arrays[0].shape[1:]:
                raise DataError(source, f"{name}/{label}", f"shape (T, {', '.join(map(str, arrays[0].shape[1:]))})"
                                f" as in {names[0]}", f"shape {array.shape}")


_MINARI_NAMES = {"actions": "actions", "rewards": "rewards", "terminals": "terminations", "timeouts": "truncations"}


def check_episode_limit(source: str, field: str, limit) -> None:
    """A recorded time limit must be a positive integer (``-1`` or ``0`` would make evaluation never end)."""
    if limit is None:
        return
    number = isinstance(limit, (int, float, np.integer, np.floating)) and not isinstance(limit, bool)
    if not number or not float(limit).is_integer() or limit < 1:
        raise DataError(source, f"{field}: max_episode_steps", "a positive integer (or none)", repr(limit))
