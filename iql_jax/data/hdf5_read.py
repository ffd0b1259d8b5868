"""Reading one HDF5 field, with the file's own row numbers in every failure.

HDF5 answers a damaged compressed chunk with ``OSError: Can't synchronously read data (filter returned failure during
read)``, for the whole field: it does not say where. On a failure (never on the fast path) :func:`read_field` reads
the field again chunk by chunk, so the message names the rows of the first chunk that does not decompress. Special
files are refused before h5py opens them (:func:`~iql_jax.data.paths.check_regular_file`), since opening a named pipe
waits for a writer that may never come.
"""

from __future__ import annotations

import h5py
import numpy as np

from iql_jax.errors import DataError


def read_field(source: str, label: str, dset) -> np.ndarray:
    """The whole of ``dset`` (an ``h5py.Dataset`` or a low-level ``DatasetID``) in its stored dtype.

    Raises:
        DataError: the data cannot be read (a corrupt chunk: its rows are named, and the advice is to fetch the file
            again; the filter that failed is the one ``check_filters`` found installed).
    """
    dsid = dset.id if isinstance(dset, h5py.Dataset) else dset
    out = np.empty(dsid.shape, dtype=dsid.dtype)
    try:
        dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
    except OSError as e:
        raise DataError(source, label, "data that read back intact", f"{_locate(dsid)} ({_reason(e)}); the "
                        "file is damaged: download, copy or generate it again") from None
    return out


def _locate(dsid) -> str:
    """Which rows fail: the first chunk that cannot be read alone, or the whole field when it is not chunked."""
    plist = dsid.get_create_plist()
    if plist.get_layout() != h5py.h5d.CHUNKED or not dsid.shape:
        return "unreadable data"
    chunk = plist.get_chunk()
    dataset = h5py.Dataset(dsid)
    for i in range(dsid.get_num_chunks()):
        start = dsid.get_chunk_info(i).chunk_offset
        region = tuple(slice(s, min(s + c, n)) for s, c, n in zip(start, chunk, dsid.shape))
        try:
            dataset[region]
        except OSError:
            rows = region[0]
            return f"a corrupt chunk at rows {rows.start}-{rows.stop - 1} (chunk {i} of {dsid.get_num_chunks()})"
    return "unreadable data"


def _reason(error: OSError) -> str:
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    return text[:160]
