"""Fault class: paths that are not regular files. A real named pipe would block ``h5py.File`` (and ``read_text``)
until a writer comes; a real symbolic-link loop would read as "no such file". Both fail fast, in one line."""

from __future__ import annotations

import os
import signal

import pytest

from fault_files import inspect_error, minari_dataset


@pytest.fixture
def no_hang():
    """Fail the test (instead of hanging the suite) if the code under test blocks for 30 s."""
    def timeout(*_):
        raise TimeoutError("blocked on a special file")
    before = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(30)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, before)


def test_fifo_as_hdf5_file(tmp_path, capsys, no_hang):
    fifo = tmp_path / "pipe.hdf5"
    os.mkfifo(fifo)
    err = inspect_error(capsys, fifo)
    assert err == (f"error: {fifo}: expected an HDF5 file, found a named pipe (FIFO): reading it would wait for a "
                   "writer; copy the data into a regular file\n")


def test_fifo_as_minari_metadata(tmp_path, monkeypatch, capsys, no_hang):
    directory = minari_dataset(tmp_path / "minari", monkeypatch)
    meta = directory / "data" / "metadata.json"
    meta.unlink()
    os.mkfifo(meta)
    err = inspect_error(capsys, directory)
    assert err.startswith(f"error: {directory / 'data'}: metadata.json: expected a regular file, found a named pipe")


def test_symlink_loop(tmp_path, capsys, no_hang):
    a, b = tmp_path / "a.hdf5", tmp_path / "b.hdf5"
    a.symlink_to(b)
    b.symlink_to(a)
    err = inspect_error(capsys, a)
    assert err == f"error: {a}: expected an HDF5 file, found a loop of symbolic links\n"
