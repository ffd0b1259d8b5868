"""Fault class: the disk fills up while a run writes. The fault is real: the run lives on a 4 MiB tmpfs mounted in a
private user and mount namespace (``unshare --user --map-root-user --mount``, no root needed where the kernel allows
user namespaces), filled to within 16 KiB, so the next checkpoint write fails with ENOSPC. The previous checkpoint
and the logs stay intact, the message says so in one line, and once there is room the resume ends exactly where a
run that never met a full disk ends."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from iql_jax import cli
from iql_jax.runs.rundir import list_checkpoints, load_run
from fault_files import d4rl_file
from tiny import learned

ROOT = Path(__file__).resolve().parents[2]
TRAIN = ["--seeds", "2", "--chunk-size", "10", "--run.checkpoint-every", "10", "--eval-every", "0",
         "--eval-episodes", "0", "--agent.hidden-dims", "32", "32", "--agent.batch-size", "32",
         "--agent.actor-lr-schedule", "constant", "--data.reward-transform", "none", "--quiet"]
SCRIPT = """
set -e
mount -t tmpfs -o size=4m tmpfs "$DISK"
"$PY" -m iql_jax.cli train --dataset "$DATA" --out "$DISK" --name run --steps 20 $TRAIN
avail=$(df -B1 --output=avail "$DISK" | tail -1)
head -c $((avail - 16384)) /dev/zero > "$DISK/filler" || true
set +e
"$PY" -m iql_jax.cli train --resume "$DISK/run" --steps 40 --quiet 2> "$OUT/full.err"; echo $? > "$OUT/full.rc"
cp -a "$DISK/run" "$OUT/after-full"
rm "$DISK/filler"
"$PY" -m iql_jax.cli train --resume "$DISK/run" --steps 40 --quiet 2> "$OUT/resumed.err"; echo $? > "$OUT/resumed.rc"
cp -a "$DISK/run" "$OUT/resumed"
"""


def _namespaces_work(tmp_path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
                            f"mount -t tmpfs -o size=1m tmpfs {tmp_path}"], capture_output=True)
    return probe.returncode == 0


def test_full_disk_during_a_checkpoint_keeps_the_previous_one_and_says_so(tmp_path, capsys):
    if not _namespaces_work(tmp_path):
        pytest.skip("this kernel allows no unprivileged user+mount namespace, so no tmpfs can be mounted here")
    data = d4rl_file(tmp_path / "hopper-medium-v2.hdf5", n=200, obs_dim=11, act_dim=3)
    (tmp_path / "disk").mkdir()
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "JAX_PLATFORMS": "cpu", "PY": sys.executable,
           "DISK": str(tmp_path / "disk"), "DATA": str(data), "OUT": str(out), "TRAIN": " ".join(TRAIN)}
    done = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", SCRIPT], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]

    err = (out / "full.err").read_text()
    assert (out / "full.rc").read_text().strip() == "2" and "Traceback" not in err and err.count("\n") == 1, err
    assert "disk/run/checkpoints/step_0000000030.msgpack: No space left on device (OSError); no space left on the " \
           "device" in err  # the checkpoint write is what met the full disk
    assert "was not saved; the newest checkpoint, step_0000000020.msgpack (step 20), and the logs up to it are " \
           f"intact; `iql train --resume {tmp_path / 'disk' / 'run'}` continues from there" in err
    after = out / "after-full"
    assert [s for s, _ in list_checkpoints(after)] == [10, 20]  # intact and loadable; no temporary file left
    assert load_run(after).step == 20 and not [p for p in after.rglob("*") if ".tmp-" in p.name]

    assert (out / "resumed.rc").read_text().strip() == "0", (out / "resumed.err").read_text()[-2000:]
    assert cli.main(["train", "--dataset", str(data), "--out", str(tmp_path), "--name", "straight", "--steps", "40",
                     *TRAIN]) == 0
    for a, b in zip(learned(load_run(out / "resumed").states), learned(load_run(tmp_path / "straight").states)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    steps = lambda run: [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert steps(out / "resumed") == steps(tmp_path / "straight")
