"""Fault class: compressed HDF5 fields that cannot be decompressed here, made for real: a chunk whose bytes were
overwritten on disk, and a field whose filter pipeline names a filter that is not installed (a real lzf file, its
filter id patched in the file's bytes). Each ends in one line naming the file, the field and the rows."""

from __future__ import annotations

import h5py
import numpy as np

from fault_files import d4rl_file, inspect_error

UNKNOWN_FILTER = 32099  # a registered-nowhere id, like a plugin filter (blosc2, zstd ...) missing on this machine


def _chunked(compression):
    return lambda f, key: f.create_dataset(key, data=np.random.default_rng(1).normal(size=(40, 3)), chunks=(8, 3),
                                           compression=compression)


def test_corrupt_gzip_chunk_names_its_rows(tmp_path, capsys):
    path = d4rl_file(tmp_path / "corrupt.hdf5", observations=_chunked("gzip"))
    with h5py.File(path, "r") as f:
        info = f["observations"].id.get_chunk_info(2)
    with open(path, "r+b") as raw:  # the bytes of chunk 2 (rows 16-23) damaged on disk
        raw.seek(info.byte_offset)
        raw.write(b"\xff" * info.size)
    err = inspect_error(capsys, path)
    assert err.startswith(f"error: {path}: observations: expected data that read back intact, found a corrupt chunk "
                          "at rows 16-23 (chunk 2 of 5) (")
    assert err.endswith("the file is damaged: download, copy or generate it again\n")


def test_filter_not_installed(tmp_path, capsys):
    path = d4rl_file(tmp_path / "plugin.hdf5", actions=_chunked("lzf"))
    data = bytearray(path.read_bytes())
    at = data.find(b"\x00\x7d\x08\x00\x01\x00\x03\x00lzf\x00")  # the pipeline message: id 32000, name "lzf"
    assert at > 0 and data.count(b"lzf\x00") == 1
    data[at:at + 2] = UNKNOWN_FILTER.to_bytes(2, "little")
    data[at + 8:at + 11] = b"zzz"
    path.write_bytes(bytes(data))
    with h5py.File(path, "r") as f:
        assert f["actions"].id.get_create_plist().get_filter(0)[0] == UNKNOWN_FILTER
    err = inspect_error(capsys, path)
    assert err == (f"error: {path}: actions: expected data compressed with a filter installed here (gzip, lzf, "
                   f"shuffle, fletcher32, szip), found filter {UNKNOWN_FILTER} (unknown), which is not installed: "
                   "`pip install hdf5plugin` (iql-jax registers its filters), or rewrite the file with gzip\n")
