"""The one way a run writes a whole file: atomically and durably.

``config.json``, checkpoints, ``summary.json``, reports, plots and the rewritten logs of a resume all go through
:func:`write_atomic`: the bytes go to a temporary file in the same directory, which is flushed and fsync'd, then
``os.replace`` moves it over the target and the directory itself is fsync'd so that the rename survives a power
cut. A reader (or a crash at any moment) sees either the old file or the complete new one, never a torn one.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from pathlib import Path


def write_atomic(path: str | Path, data: bytes | str) -> Path:
    """Replace ``path`` with ``data`` (``str`` is written as UTF-8) so that no reader sees a partial file.

    Raises:
        OSError: the directory cannot be written (permission, disk full); the target is then unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{secrets.token_hex(3)}")
    try:
        with naming(path), open(tmp, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


_TEMPORARY = re.compile(r"^\..+\.tmp-\d+-[0-9a-f]{6}$")  # write_atomic's temporary names


def remove_stray_temporaries(*directories: str | Path) -> list[Path]:
    """Delete the temporary files a killed :func:`write_atomic` left in ``directories``; returns them.

    Call it only while holding the run's lock: no other process can be writing them then.
    """
    removed = []
    for directory in map(Path, directories):
        if directory.is_dir():
            for path in directory.iterdir():
                if _TEMPORARY.match(path.name) and path.is_file():
                    path.unlink(missing_ok=True)
                    removed.append(path)
    return removed


@contextlib.contextmanager
def naming(path: str | Path):
    """Attach ``path`` to an ``OSError`` that has no file name (a full disk fails in ``write``/``close``, which
    name nothing), so the CLI's one-line message can say which file could not be written."""
    try:
        yield
    except OSError as e:
        if e.filename is None and e.errno is not None:
            raise type(e)(e.errno, e.strerror, str(path)) from e
        raise


def fsync_dir(directory: str | Path) -> None:
    """Make a rename or a new entry in ``directory`` durable (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on directories; the data itself is already synced
        pass
    finally:
        os.close(fd)
