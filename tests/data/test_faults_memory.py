"""Fault class: files that declare more data than this process may allocate. The guard uses the least of
``RLIMIT_AS``, ``RLIMIT_DATA``, the cgroup limit and physical memory: checked here under a real ``RLIMIT_AS`` set in a
child process, and against a cgroup v2 tree laid out as a container shows it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py

from iql_jax.data.memory import memory_limit, memory_limits
from fault_files import d4rl_file

ROOT = Path(__file__).resolve().parents[2]
CHILD = """
import resource, sys
from iql_jax import cli
size = next(int(l.split()[1]) * 1024 for l in open('/proc/self/status') if l.startswith('VmSize:'))
resource.setrlimit(resource.RLIMIT_AS, (size + (256 << 20), resource.getrlimit(resource.RLIMIT_AS)[1]))
sys.exit(cli.main(['data', 'inspect', sys.argv[1]]))
"""


def test_declared_size_over_a_real_rlimit_as(tmp_path):
    # 10^7 x 10 float32 = 400 MB declared (4 copies while loading), a few KB on disk: within physical memory on any
    # machine that runs the suite, beyond the 256 MiB the child may still map.
    n = 10 ** 7
    path = d4rl_file(tmp_path / "big.hdf5", **{
        k: (lambda f, key, w=w: f.create_dataset(key, shape=(n,) + w, dtype="f4", chunks=True, compression="gzip"))
        for k, w in (("observations", (10,)), ("actions", (2,)), ("rewards", ()), ("terminals", ()),
                     ("timeouts", ()))})
    assert path.stat().st_size < 1_000_000
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"}
    env.pop("IQL_JAX_MAX_LOAD_BYTES", None)
    done = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, env=env,
                          timeout=300)
    assert done.returncode == 2, done.stderr[-2000:]
    assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith(f"error: {path}: observations: expected a size that fits in memory (at most ")
    assert "RLIMIT_AS (ulimit -v) = " in done.stderr and "raise `ulimit -v`" in done.stderr
    assert "declared shape (10000000, 10), 400,000,000 bytes as float32, 4 copies while loading" in done.stderr


def test_cgroup_v2_limit_is_the_headroom_under_it(tmp_path):
    proc, cgroup = tmp_path / "proc", tmp_path / "cgroup"
    (proc / "self").mkdir(parents=True)
    (proc / "self" / "status").write_text("VmSize:\t  1000 kB\nVmData:\t   500 kB\n")
    (proc / "self" / "cgroup").write_text("0::/job/step\n")
    (cgroup / "job" / "step").mkdir(parents=True)
    (cgroup / "cgroup.controllers").write_text("memory\n")
    (cgroup / "job" / "memory.max").write_text("1000000000\n")
    (cgroup / "job" / "memory.current").write_text("200000000\n")
    (cgroup / "job" / "memory.stat").write_text("anon 150000000\ninactive_file 50000000\n")
    (cgroup / "job" / "step" / "memory.max").write_text("max\n")  # no limit of its own: the parent's binds
    found = [m for m in memory_limits(proc, cgroup) if "cgroup" in m.name]
    assert [m.bytes for m in found] == [1_000_000_000 - (200_000_000 - 50_000_000)]
    assert memory_limit(proc, cgroup).bytes <= 850_000_000


def test_fields_that_fit_alone_but_not_together(tmp_path, monkeypatch):
    from iql_jax.data import load_dataset
    from iql_jax.errors import DataError

    path = d4rl_file(tmp_path / "ok.hdf5", n=1000, obs_dim=50, act_dim=50)
    with h5py.File(path) as f:
        assert f["observations"].size * 4 * 4 < 900_000  # observations alone fit the budget below
    monkeypatch.setenv("IQL_JAX_MAX_LOAD_BYTES", "900000")
    try:
        load_dataset(str(path))
    except DataError as e:
        assert e.field == "actions" and "already charged to the fields before it" in str(e)
    else:
        raise AssertionError("the load should have been refused")
