"""Checks that run on an HDF5 file's *declarations* before any array is read.

A hostile or damaged file can declare a shape it does not hold: HDF5 stores a dataset's shape in a few bytes and
reads unwritten storage as the fill value, so a 4 KB file can declare 10^12 rows and ``dset[()]`` then tries to
allocate terabytes. A compressed field can expand a thousandfold (a compression bomb), name a filter that is not
installed here, or leave chunks unwritten. A soft or external link can point nowhere, and a field can have zero
columns. These helpers turn each of those into a :class:`~iql_jax.errors.DataError` naming the file and the field, so
the loaders can call them with one line each before they read.

Memory. A :class:`LoadBudget` holds what one load may allocate: the least of the process's limits
(:func:`~iql_jax.data.memory.memory_limit`: ``RLIMIT_AS``, ``RLIMIT_DATA``, the cgroup limit, physical memory) when
the load starts. Each field is charged, before it is read, for the float32 copies the loader makes of it, so a file
whose fields fit one by one but not together is refused too, and the message names the limit to raise.
"""

from __future__ import annotations

import os

import h5py
import numpy as np

from iql_jax.data.memory import MemoryLimit, describe, memory_limit
from iql_jax.errors import DataError

MAX_EXPANSION = 100  # compressed data may expand this many times ...
EXPANSION_FLOOR = 256 << 20  # ... once they declare more than 256 MiB (a constant field that large carries nothing)
_FILTER_NAMES = {1: "gzip", 2: "shuffle", 3: "fletcher32", 4: "szip", 5: "nbit", 6: "scaleoffset", 32000: "lzf",
                 32001: "blosc", 32004: "lz4", 32008: "bitshuffle", 32015: "zstd", 307: "bzip2"}


class LoadBudget:
    """The bytes one load may still allocate, charged field by field before each is read.

    Args:
        source: the file, for messages.
        limit: the binding memory limit; default :func:`~iql_jax.data.memory.memory_limit` now.
    """

    def __init__(self, source: str, limit: MemoryLimit | None = None):
        self.source, self.limit, self.charged = source, limit or memory_limit(), 0

    def charge(self, field: str, shape: tuple[int, ...], itemsize: int, copies: int = 1) -> None:
        """Book ``copies`` float32 copies (or wider, if the stored type is wider) of a field of ``shape``."""
        size = int(np.prod(shape, dtype=np.float64)) * max(itemsize, 4)
        if self.charged + size * copies > self.limit.bytes:
            held = f"; {self.charged:,} bytes already charged to the fields before it" if self.charged else ""
            raise DataError(self.source, field, f"a size that fits in memory ({describe(self.limit)})",
                            f"declared shape {shape}, {size:,} bytes as float32"
                            + (f", {copies} copies while loading" if copies > 1 else "") + held)
        self.charged += size * copies


def check_declared_shape(source: str, field: str, dset, budget: LoadBudget | None = None, copies: int = 1) -> None:
    """Refuse a dataset whose declarations cannot be real data, before reading it.

    Args:
        source: the file, for the message.
        field: the field's name as the file spells it (``"actions"``, ``"episode_3/observations"``).
        dset: an ``h5py.Dataset`` or a low-level ``h5py.h5d.DatasetID``.
        budget: the load's :class:`LoadBudget` (default: a fresh one for this field alone).
        copies: how many copies of the field the loader holds at once.

    Raises:
        DataError: a zero-width axis after the first (``(N, 0)`` actions carry no data); more bytes than the budget
            allows; a compression filter that is not installed; uncompressed contiguous storage larger than the
            whole file; chunks never written; or compressed data that expand more than :data:`MAX_EXPANSION` times.
    """
    dsid = dset.id if isinstance(dset, h5py.Dataset) else dset
    if dsid.shape is None:  # HDF5's null dataspace: a dataset with a type and no shape, holding nothing
        raise DataError(source, field, "an array", "an empty dataset (HDF5 null dataspace, no shape)")
    shape = tuple(int(s) for s in dsid.shape)
    if any(s == 0 for s in shape[1:]):
        raise DataError(source, field, "at least one column in every axis after the first", f"shape {shape}")
    (budget or LoadBudget(source)).charge(field, shape, dsid.dtype.itemsize, copies)
    plist = dsid.get_create_plist()
    filters = [plist.get_filter(i) for i in range(plist.get_nfilters())]
    check_filters(source, field, [f[0] for f in filters])
    stored = int(np.prod(shape, dtype=np.float64)) * dsid.dtype.itemsize
    if plist.get_layout() == h5py.h5d.CONTIGUOUS:
        file_size = os.path.getsize(source) if os.path.isfile(source) else None
        if not filters and file_size is not None and stored > file_size:
            raise DataError(source, field, f"uncompressed data the file can hold ({file_size:,} bytes)",
                            f"declared shape {shape}, {stored:,} bytes")
        return
    if plist.get_layout() == h5py.h5d.CHUNKED and stored:
        _check_chunks(source, field, dsid, shape, plist.get_chunk(), stored, bool(filters))


def check_filters(source: str, field: str, codes) -> None:
    """Every filter of a field's pipeline must be installed; hdf5plugin's are registered when it is there."""
    missing = [c for c in codes if not h5py.h5z.filter_avail(c)]
    if missing and _register_plugins():
        missing = [c for c in missing if not h5py.h5z.filter_avail(c)]
    if missing:
        names = ", ".join(f"{c} ({_FILTER_NAMES.get(c, 'unknown')})" for c in missing)
        raise DataError(source, field, "data compressed with a filter installed here (gzip, lzf, shuffle, "
                        "fletcher32, szip)", f"filter {names}, which is not installed: `pip install hdf5plugin` "
                        "(iql-jax registers its filters), or rewrite the file with gzip")


def _register_plugins() -> bool:
    try:
        import hdf5plugin  # noqa: F401  (importing registers its filters with HDF5)
    except ImportError:
        return False
    return True


def _check_chunks(source, field, dsid, shape, chunk, stored: int, compressed: bool) -> None:
    """Every chunk written, and no more than :data:`MAX_EXPANSION`-fold expansion of compressed data."""
    expected = int(np.prod([-(-s // c) for s, c in zip(shape, chunk)], dtype=np.float64))
    written = dsid.get_num_chunks()
    if written < expected:
        raise DataError(source, field, f"every chunk written ({expected:,} chunks of {tuple(chunk)} for shape "
                        f"{shape})", f"{written:,} chunks stored; the rest would read as the fill value, "
                        "which is not data")
    on_disk = dsid.get_storage_size()
    if compressed and stored > EXPANSION_FLOOR and stored > MAX_EXPANSION * on_disk:
        raise DataError(source, field, f"compressed data that expand at most {MAX_EXPANSION}-fold",
                        f"{on_disk:,} bytes stored expanding to {stored:,} ({stored / max(on_disk, 1):,.0f}-fold: a "
                        "compression bomb, or a field so constant it carries no data)")


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
        except (KeyError, OSError, ValueError, RuntimeError):  # RuntimeError: a loop of soft links
            target = None
        if target is None:
            where = f"{link.filename}:{link.path}" if isinstance(link, h5py.ExternalLink) else link.path
            kind = "an external" if isinstance(link, h5py.ExternalLink) else "a soft"
            raise DataError(source, name, "a dataset or group", f"{kind} link to {where}, which does not exist")


def open_episode(f: h5py.File, name: str, source: str):
    """The low-level group of one Minari episode; a dataset (or a dangling link) in its place is a DataError."""
    try:
        return h5py.h5g.open(f.id, name.encode())
    except (KeyError, ValueError, TypeError, RuntimeError):  # RuntimeError: a loop of soft links
        link = f.get(name, getlink=True)
        try:
            target = f.get(name)
        except (KeyError, OSError, ValueError, RuntimeError):
            target = None
        found = "a dataset" if isinstance(target, h5py.Dataset) else f"{type(link).__name__} that resolves " \
                "to nothing (a missing target or a loop of links)"
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
    if limit > _MAX_EPISODE_LIMIT:  # a limit no episode reaches never truncates either
        raise DataError(source, f"{field}: max_episode_steps", f"at most {_MAX_EPISODE_LIMIT:,} steps (or none)",
                        f"{int(limit):,}")


_MAX_EPISODE_LIMIT = 2 ** 31 - 1  # as steps (iql_jax.domains.MAX_STEPS)
