"""Paths a loader is about to open: regular files only, and dataset ids that stay inside their root.

Opening a named pipe blocks until a writer comes (``h5py.File`` and ``Path.read_text`` would wait forever); a
character device such as ``/dev/zero`` reads without end; a symbolic-link loop makes ``Path.exists`` answer ``False``,
so the user would be told "no such file". :func:`check_regular_file` asks ``os.stat`` first, which neither opens nor
blocks, and names what is there instead. :func:`check_dataset_id` keeps a Minari id such as ``D4RL/../../etc`` from
leaving the datasets root, and refuses empty and overlong names in one line.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from iql_jax.errors import DataError, shorten

MAX_NAME = 255  # NAME_MAX on Linux and macOS: a longer path component cannot exist

_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO): reading it would wait for a writer; copy the data into a regular "
                          "file"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISDIR, "a directory"))


def special_kind(path: Path) -> str | None:
    """What ``path`` is when it is not a regular file (``None`` for a regular file or nothing at all)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as e:
        if e.errno == errno.ELOOP:
            return "a loop of symbolic links"
        if e.errno == errno.ENAMETOOLONG:
            return "a name longer than the file system allows"
        return None
    return next((what for test, what in _KINDS if test(mode)), None if stat.S_ISREG(mode) else "not a regular file")


def check_regular_file(path, field: str | None = None, what: str = "a regular file") -> Path:
    """``path`` as a :class:`Path` if it is a regular file (after symbolic links); else a one-line DataError.

    Args:
        path: the file to open next.
        field: the field to name in the message (``"metadata.json"`` inside a dataset directory), or ``None``.
        what: what the caller expected there (``"an HDF5 file"``).
    """
    path = Path(path)
    kind = special_kind(path)
    if kind is not None:
        raise DataError(str(path), field, what, kind)
    if not path.exists():
        raise DataError(str(path), field, f"an existing {what.removeprefix('a ').removeprefix('an ')}",
                        "no such file")
    return path


def check_source_name(text: str, option: str = "source") -> str:
    """A dataset name or path given on the command line: not empty, no component longer than the OS allows."""
    if not text.strip():
        raise DataError(option, None, "a dataset (a built-in name, a Minari id or directory, or an .hdf5 file)",
                        "an empty string")
    longest = max(text.replace("\\", "/").split("/"), key=len)
    if len(longest.encode()) > MAX_NAME:
        raise DataError(shorten(text), None, f"names of at most {MAX_NAME} bytes between slashes (the file "
                        f"system's limit)", f"a name of {len(longest.encode()):,} bytes")
    return text


def check_dataset_id(root: Path, dataset_id: str) -> Path:
    """``root / dataset_id`` for a relative id whose parts are plain names, so the path stays inside ``root``."""
    parts = dataset_id.split("/")
    if dataset_id.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise DataError(dataset_id, None, f"a dataset id of plain names joined by '/' (such as "
                        f"D4RL/pointmaze/umaze-v2), which stays inside {root}", "an id with empty, '.' or '..' parts")
    return root.joinpath(*parts)
