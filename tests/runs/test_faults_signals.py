"""Fault class: processes stopped, killed or raced while they write a run. Every fault is made for real on a real
``iql train`` subprocess: SIGTERM and SIGINT (a clean stop with a checkpoint, resumed bit-exactly), a write killed
with SIGKILL (its temporary file cleaned on the next start), the run directory deleted under the process, and a
second command on a run that is still being written."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from iql_jax import cli
from iql_jax.runs.rundir import list_checkpoints, load_run
from fault_files import d4rl_file
from tiny import learned

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", "JAX_PLATFORMS": "cpu"}
TRAIN = ["--seeds", "2", "--chunk-size", "10", "--eval-every", "0", "--eval-episodes", "0",
         "--agent.hidden-dims", "32", "32", "--agent.batch-size", "32", "--agent.actor-lr-schedule", "constant",
         "--data.reward-transform", "none", "--quiet"]


@pytest.fixture
def data(tmp_path):
    return d4rl_file(tmp_path / "hopper-medium-v2.hdf5", n=200, obs_dim=11, act_dim=3)


def start(data, out, name, *extra) -> subprocess.Popen:
    argv = [sys.executable, "-m", "iql_jax.cli", "train", "--dataset", str(data), "--out", str(out), "--name", name,
            "--steps", "1000000", *TRAIN, *extra]
    # SIGHUP at its default, as under a terminal, even where the tests themselves run under nohup
    return subprocess.Popen(argv, env=ENV, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_DFL))


def wait_for(proc: subprocess.Popen, ready, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        assert proc.poll() is None, proc.communicate()[1][-2000:]
        if time.monotonic() > deadline:  # a hang guard, not a speed check
            pytest.fail(f"the run did not get there within {timeout:.0f} s")
        time.sleep(0.1)


def rows(run: Path) -> list[dict]:
    path = run / "metrics.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def last_line(err: str) -> str:
    assert "Traceback" not in err, err[-3000:]
    lines = [line for line in err.splitlines() if line.strip()]
    return lines[-1]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_stops_at_a_clean_point_and_resumes_bit_exactly(tmp_path, data, capsys, signum):
    run = tmp_path / "stopped"
    proc = start(data, tmp_path, "stopped")
    wait_for(proc, lambda: len(rows(run)) >= 4)  # two chunks done: training is under way
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=120)
    line = last_line(err)
    assert proc.returncode == 128 + signum, err[-2000:]
    stopped = int(re.search(r"stopped by SIG\w+ at step ([\d,]+)", line).group(1).replace(",", ""))
    assert line == (f"error: stopped by {signal.Signals(signum).name} at step {stopped:,}; the newest checkpoint, "
                    f"step_{stopped:010d}.msgpack (step {stopped:,}), and the logs up to it are intact; "
                    f"`iql train --resume {run}` continues from there")
    # consistent records: the checkpoint, the metrics and the config all end at the same step
    assert [s for s, _ in list_checkpoints(run)] == [stopped]
    assert max(r["step"] for r in rows(run)) == stopped
    if signum != signal.SIGTERM:
        return

    # A write killed for real (SIGKILL while its temporary file is open) leaves a stray file; the next start
    # removes it, then the resume trains on to step `stopped + 20`, exactly as a run never stopped.
    killed = subprocess.Popen([sys.executable, "-c", (
        "import os, sys, time\nfrom iql_jax.runs.files import write_atomic\nos.fsync = lambda fd: time.sleep(600)\n"
        "write_atomic(sys.argv[1], b'x' * 100_000)"), str(run / "checkpoints" / "step_0000999999.msgpack")], env=ENV)
    stray = lambda: [p for p in (run / "checkpoints").iterdir() if ".tmp-" in p.name]
    wait_for(killed, lambda: bool(stray()))
    killed.kill()
    killed.wait()
    assert len(stray()) == 1
    total = stopped + 20
    assert cli.main(["train", "--resume", str(run), "--steps", str(total), "--quiet"]) == 0
    err = capsys.readouterr().err
    assert f"{run}: removed 1 temporary file(s) a killed write left behind (.step_0000999999.msgpack.tmp-" in err
    assert not stray()
    assert cli.main(["train", "--dataset", str(data), "--out", str(tmp_path), "--name", "straight", "--steps",
                     str(total), *TRAIN]) == 0
    for a, b in zip(learned(load_run(run).states), learned(load_run(tmp_path / "straight").states)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    losses = lambda r: [{k: v for k, v in row.items() if not k.startswith("time/")} for row in rows(r)]
    assert losses(run) == losses(tmp_path / "straight")


def test_run_directory_deleted_under_the_process_is_one_line(tmp_path, data):
    run = tmp_path / "doomed"
    proc = start(data, tmp_path, "doomed")
    wait_for(proc, lambda: len(rows(run)) >= 2)
    # The running process may add a file while rmtree empties a folder ("Directory not empty"): delete until gone.
    while run.exists():
        shutil.rmtree(run, ignore_errors=True)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 2, err[-2000:]
    assert re.fullmatch(rf"error: {re.escape(str(run))}: the run directory was deleted while the run was writing it "
                        r"\(at step [\d,]+\); nothing more is saved; start the run again", last_line(err))
    assert err.count("\n") == 1


def test_a_run_still_being_written_is_refused_for_finetuning_and_flagged_for_eval(tmp_path, data, capsys):
    run = tmp_path / "busy"
    proc = start(data, tmp_path, "busy", "--run.checkpoint-every", "10")
    try:
        wait_for(proc, lambda: bool(list_checkpoints(run)))
        assert cli.main(["finetune", str(run), "--online-steps", "10"]) == 2
        err = capsys.readouterr().err
        assert err == (f"error: {run}: another iql process (pid {proc.pid}) is still writing this run; fine-tune it "
                       "once it has finished (or stop it: it checkpoints on SIGTERM)\n")
        assert not (tmp_path / "busy-finetune").exists()
        assert cli.main(["eval", str(run), "--episodes", "1"]) == 0
        out, err = capsys.readouterr()
        assert err.count(f"warning: {run} is still being written by another iql process (pid {proc.pid}): this "
                         "evaluates its newest checkpoint so far, not a finished run\n") == 1
        assert "busy at step" in out
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM


def test_an_ignored_sighup_stays_ignored_so_nohup_runs_go_on():
    from iql_jax.runs.stops import stop_signals

    previous = signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with stop_signals() as stop:
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) is stop
            os.kill(os.getpid(), signal.SIGHUP)  # ignored: no stop requested, the process lives
            assert stop.signum is None
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, previous)
