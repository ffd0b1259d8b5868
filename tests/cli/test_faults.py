"""The CLI's last line of defence: user-fixable failures (disk full, memory, device memory, gymnasium) print one
line and exit 2; anything else prints the traceback, asks for a bug report and exits 1.

Each failure is produced for real where a test can do that cheaply (a write to ``/dev/full``, a numpy allocation
the machine cannot hold, an unknown gymnasium id); the device out-of-memory error is jaxlib's own exception type
with XLA's message, since a real one needs an accelerator.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from iql_jax import cli
from iql_jax.engine import Member
from iql_jax.runs.files import write_atomic
from iql_jax.runs.logs import RunLogger


def _run(monkeypatch, capsys, fn) -> tuple[int, str]:
    """Run ``fn`` as the command ``iql boom`` through :func:`cli.main`."""
    monkeypatch.setattr(cli, "_commands", lambda: {"boom": ("fails", lambda argv: fn())})
    code = cli.main(["boom"])
    return code, capsys.readouterr().err


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full (a device that is always full)")
def test_disk_full_names_the_file(tmp_path, monkeypatch, capsys):
    log = tmp_path / "metrics.jsonl"
    log.symlink_to("/dev/full")  # every write to it fails with ENOSPC, as on a full disk
    logger = RunLogger(tmp_path, [Member(0, 0, ())])
    code, err = _run(monkeypatch, capsys, lambda: logger.log_metrics(10, {"value/loss": np.ones(1)}))
    assert code == 2
    assert err == (f"error: {log}: No space left on device (OSError); no space left on the device: free some "
                   "space or choose another --out\n")


def test_a_failed_atomic_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    target = write_atomic(tmp_path / "summary.json", json.dumps({"old": 1}))
    monkeypatch.setattr(os, "replace", lambda *a: (_ for _ in ()).throw(OSError(28, "No space left on device")))
    with pytest.raises(OSError):
        write_atomic(target, "{}")
    monkeypatch.undo()
    assert json.loads(target.read_text()) == {"old": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_host_memory_error_is_one_line(monkeypatch, capsys):
    code, err = _run(monkeypatch, capsys, lambda: np.empty(1 << 60, dtype=np.float32))  # an exabyte
    assert code == 2
    assert err == ("error: out of memory (MemoryError): the data or the population does not fit in RAM; use fewer "
                   "--seeds, a smaller dataset, or a machine with more memory\n")


def test_device_out_of_memory_is_one_line(monkeypatch, capsys):
    from jax.errors import JaxRuntimeError  # jaxlib's XlaRuntimeError

    def oom():
        raise JaxRuntimeError("RESOURCE_EXHAUSTED: Out of memory while trying to allocate 81604378624 bytes.\n"
                              "BufferAssignment OOM Debugging.")

    code, err = _run(monkeypatch, capsys, oom)
    assert code == 2
    assert err == ("error: the accelerator ran out of memory (RESOURCE_EXHAUSTED: Out of memory while trying to "
                   "allocate 81604378624 bytes.); use fewer --seeds, a smaller --agent.batch-size or smaller "
                   "networks, or run on the CPU with JAX_PLATFORMS=cpu\n")


def test_gymnasium_error_is_one_line(monkeypatch, capsys):
    import gymnasium as gym

    code, err = _run(monkeypatch, capsys, lambda: gym.make("NoSuchEnvironment-v0"))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: gymnasium: NameNotFound: Environment `NoSuchEnvironment` doesn't exist.")
    assert err.endswith("; check --env-id and that the environment's extras are installed\n")


def test_anything_else_is_a_bug_with_traceback_and_exit_1(monkeypatch, capsys):
    def bug():
        return {}["missing"]

    code, err = _run(monkeypatch, capsys, bug)
    assert code == 1
    assert err.startswith("Traceback (most recent call last):") and "KeyError: 'missing'" in err
    assert err.splitlines()[-1] == ("error: unexpected KeyError: this is a bug in iql-jax; please report it (the "
                                    "command, the traceback above and `pip show iql-jax`) to the maintainers' issue "
                                    "tracker")
