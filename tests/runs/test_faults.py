"""Run directories under faults: torn logs, edited config.json, explicit resume, owned directories, divergence.

Two tiny runs are trained once per module (hidden (32, 32), 40 updates, one seed) and copied into each test; only
the lock and concurrency tests start real processes.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from iql_jax import cli
from iql_jax.config import DataConfig, RunConfig, TrainConfig, get_preset
from iql_jax.errors import DivergenceError
from iql_jax.runs import load_run, train
from iql_jax.runs.lock import new_run_dir
from iql_jax.runs.rundir import RunRecord, checkpoint_path, latest_checkpoint
from iql_jax.runs.logs import LogWarning, read_metrics
from iql_jax.runs.summary import write_outputs
from iql_jax.runs.loop import check_finite
from iql_jax.runs.trainer import TRAIN_ADVICE
from iql_jax.testing import stopping_at

DATASET = "pointmaze-umaze:3000"
REPO = Path(__file__).resolve().parents[2]


def _config(out, name, steps=40, **run):
    agent = dataclasses.replace(get_preset("antmaze").agent, hidden_dims=(32, 32), batch_size=32,
                                actor_lr_schedule="cosine")
    run_cfg = RunConfig(**{**dict(steps=steps, seeds=1, chunk_size=20, eval_every=20, eval_episodes=1,
                                  checkpoint_every=20, out=str(out), name=name, quiet=True), **run})
    return TrainConfig(agent=agent, data=DataConfig(dataset=DATASET), run=run_cfg, preset="antmaze")


@pytest.fixture(scope="module")
def runs(tmp_path_factory, data_cache_dir):
    """``finished`` (40 of 40 updates) and ``partial`` (stopped at 20 of 40), trained once."""
    out = tmp_path_factory.mktemp("runs")
    train(_config(out, "finished"), progress=False)
    with stopping_at(20):
        train(_config(out, "partial"), progress=False)
    return out


@pytest.fixture
def run_copy(runs, tmp_path):
    def copy(name):
        return Path(shutil.copytree(runs / name, tmp_path / name))
    return copy


def _main(capsys, *argv) -> tuple[int, str]:
    code = cli.main([str(a) for a in argv])
    return code, capsys.readouterr().err


def _env():
    return {**os.environ, "PYTHONPATH": str(REPO)}


def test_torn_last_lines_are_dropped_on_resume_with_a_warning(run_copy, capsys):
    run = run_copy("partial")
    with open(run / "metrics.jsonl", "a") as f:
        f.write('{"step": 40, "member": 0, "value/lo')  # the process died mid-line
    with open(run / "eval.csv", "a") as f:
        f.write("40,0,0,,12.")
    with pytest.warns(LogWarning) as caught:
        code, err = _main(capsys, "train", "--resume", run)
    assert code == 0, err
    assert [str(w.message).split(" (")[0] for w in caught if w.category is LogWarning] == [
        f"{run / 'metrics.jsonl'}: dropped a half-written last line", f"{run / 'eval.csv'}: dropped a half-written "
        "last line"]
    assert [r["step"] for r in read_metrics(run)] == [20, 40]
    assert (run / "eval.csv").read_text().count("\n") == 1 + 2


def test_a_damaged_middle_line_is_one_line_naming_file_and_line(run_copy, capsys):
    run = run_copy("partial")
    (run / "metrics.jsonl").write_text("not json\n" + (run / "metrics.jsonl").read_text())
    code, err = _main(capsys, "train", "--resume", run)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"error: {run / 'metrics.jsonl'}: line 1: expected a JSON object with a 'step', "
                          "found 'not json'")


def test_edited_config_json_is_reported_by_eval_and_resume(run_copy, capsys):
    run = run_copy("finished")
    record = json.loads((run / "config.json").read_text())
    record["config"]["agent"]["hidden_dims"] = [64, 64]
    (run / "config.json").write_text(json.dumps(record))
    newest = latest_checkpoint(run)[1]
    for argv in (("eval", run, "--episodes", "1"), ("train", "--resume", run)):
        code, err = _main(capsys, *argv)
        assert code == 2 and err.count("\n") == 1, err
        assert err.startswith(f"error: {newest}: the checkpoint does not match the state the run's config.json "
                              "describes (actor/params/params/Dense_0/kernel: expected float32[1, 64, 2], "
                              "found float32[1, 32, 2]); was config.json edited? Restore it, or start a new run\n"), err


def test_resume_refuses_options_it_would_ignore(run_copy, capsys):
    run = run_copy("partial")
    code, err = _main(capsys, "train", "--resume", run, "--seeds", "5")
    assert code == 2
    assert err == ("error: iql train --resume: --seeds cannot be changed when resuming (the run's config.json fixes "
                   "it); allowed: --steps N (a new total) and --quiet; start a new run to change anything else\n")
    code, err = _main(capsys, "train", "--resume", run, "--steps", "10")
    assert code == 2 and err == f"error: --steps 10: expected at least the 20 updates {run} has already done\n"


def test_more_steps_extend_a_finished_run_and_stretch_the_cosine_horizon(run_copy, capsys):
    run = run_copy("finished")
    code, err = _main(capsys, "train", "--resume", run, "--steps", "60", "--quiet")
    assert code == 0, err
    assert "the cosine actor-lr horizon moves from 40 to 60 updates; from step 40" in err
    record = RunRecord.read(run)
    assert record.config.run.steps == 60
    assert record.steps_changed == ({"at_step": 40, "from": 40, "to": 60},)
    states, _, _, step = load_run(run)
    assert step == 60 and float(np.asarray(states.hyper.actor_decay_steps)[0]) == 60.0
    assert json.loads((run / "summary.json").read_text())["final_step"] == 60


def test_finetune_resume_without_record_and_bad_options(run_copy, capsys, tmp_path):
    run = run_copy("finished")
    code, err = _main(capsys, "finetune", run, "--resume")
    assert code == 2 and err == (f"error: {run}: not a fine-tuning run (no finetune.json); it is an offline run: "
                                 f"start fine-tuning with `iql finetune {run}` (without --resume)\n")
    code, err = _main(capsys, "finetune", run, "--resume", "--online-steps", "5")
    assert code == 2 and "--online-steps cannot be changed when resuming" in err
    code, err = _main(capsys, "finetune", run, "--checkpoint-every", "0", "--name", "ft")
    assert code == 2 and err == "error: --checkpoint-every: expected an integer >= 1, found 0\n"
    assert not (tmp_path / "ft").exists()  # checked before the run directory is made


def test_divergence_names_the_newest_checkpoint_or_says_there_is_none(run_copy, tmp_path):
    run = run_copy("partial")
    members = load_run(run)[1]
    bad = {"critic/loss": np.array([np.nan])}
    with pytest.raises(DivergenceError) as info:
        check_finite(bad, members, 40, run, TRAIN_ADVICE)
    newest = checkpoint_path(run, 20)
    assert str(info.value).startswith(f"non-finite critic/loss (nan) in the chunk ending at step 40, member 0 "
                                      f"(seed=0); the newest checkpoint, {newest} (step 20), is kept; training is "
                                      "deterministic, so a resume would diverge again: start a new run with smaller")
    with pytest.raises(DivergenceError, match=r"member 0 \(seed=0\); no checkpoint had been written yet; "):
        check_finite(bad, members, 20, tmp_path / "empty", TRAIN_ADVICE)


def test_run_files_are_written_atomically_with_the_directory_fsynced(run_copy, monkeypatch):
    run = run_copy("finished")
    replaced, synced_dirs = [], []
    real_replace, real_fsync = os.replace, os.fsync

    def fsync(fd):
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            synced_dirs.append(fd)
        return real_fsync(fd)

    monkeypatch.setattr(os, "replace", lambda src, dst: (replaced.append(Path(dst).name), real_replace(src, dst)))
    monkeypatch.setattr(os, "fsync", fsync)
    write_outputs(run)
    RunRecord.read(run).write(run)
    assert replaced == ["score.png", "losses.png", "report.md", "report.csv", "summary.json", "config.json"]
    assert len(synced_dirs) == len(replaced)  # each rename made durable
    assert not [p for p in run.iterdir() if ".tmp-" in p.name]
    assert RunRecord.read(run).config.agent.hidden_dims == (32, 32)


def test_default_names_cannot_collide_within_a_second(tmp_path):
    config = _config(tmp_path, None)
    (first, lock1), (second, lock2) = new_run_dir(config), new_run_dir(config)
    with lock1, lock2:
        assert second.name == first.name + "-2" and first.is_dir() and second.is_dir()


def test_a_second_writer_is_refused_naming_the_pid_and_sigkill_frees_the_lock(run_copy, capsys):
    run = run_copy("partial")
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from iql_jax.runs.lock import RunLock; l = RunLock(sys.argv[1]); "
         "print('locked', flush=True); time.sleep(120)", str(run)], stdout=subprocess.PIPE, text=True, env=_env())
    try:
        assert holder.stdout.readline() == "locked\n"
        code, err = _main(capsys, "train", "--resume", run)
        assert code == 2
        assert err == (f"error: {run}: another iql process (pid {holder.pid}) is writing this run; wait for it to "
                       "finish or stop it, then resume\n")
    finally:
        holder.kill()  # SIGKILL: the kernel releases the flock, no stale lock is left
        holder.wait()
    code, err = _main(capsys, "train", "--resume", run)
    assert code == 0, err


def test_two_trains_with_the_same_name_one_wins_one_is_refused(tmp_path, data_cache_dir):
    args = [sys.executable, "-m", "iql_jax.cli", "train", "--dataset", DATASET, "--steps", "60", "--seeds", "1",
            "--chunk-size", "20", "--eval-every", "0", "--eval-episodes", "0", "--agent.hidden-dims", "32", "32",
            "--out", str(tmp_path), "--name", "same", "--quiet"]
    procs = [subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
             for _ in range(2)]
    results = [(p.pid, *p.communicate(timeout=300), p.returncode) for p in procs]
    codes = sorted(r[3] for r in results)
    assert codes == [0, 2], results
    winner = next(r for r in results if r[3] == 0)
    loser = next(r for r in results if r[3] == 2)
    run = tmp_path / "same"
    assert loser[2].splitlines()[-1] in (
        f"error: {run}: another iql process (pid {winner[0]}) is writing this run; wait for it to finish or stop "
        "it, then resume",
        f"error: {run}: a run already exists here; resume it with `iql train --resume {run}` or choose another "
        "--run.name")
    steps = [r["step"] for r in read_metrics(run)]
    assert steps == [20, 40, 60]  # one writer's rows only


def test_permission_denied_is_one_line(tmp_path):
    # A real permission error from a real process. sysfs refuses new entries to everyone, root included (EPERM for
    # root, EACCES for other users), where a chmod'ed directory would not stop root.
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "eval.csv").write_text("step,member,seed,setting,return,normalized_score,success,episodes\n"
                                               "20,0,0,,1.5,,,1\n")
    target = Path("/sys/iql-jax-no-such-dir")
    proc = subprocess.run([sys.executable, "-m", "iql_jax.cli", "report", str(tmp_path / "run"), "--out",
                           str(target / "report.md")], capture_output=True, text=True, timeout=120, env=_env())
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert re.fullmatch(rf"error: {target}: (Operation not permitted|Permission denied) \(PermissionError\); "
                        r"(operation not permitted|permission denied): choose a directory you can write \(--out\) "
                        r"or fix its permissions", line), line


def test_an_online_buffer_too_large_is_refused_before_the_directory(run_copy, capsys, monkeypatch):
    # 10^6 rows x (2 x obs + act + 2) float32 per member cannot fit in 10 MB: refused before anything is written,
    # so the next try is a fresh fine-tuning run, not a --resume of a directory that cannot run either.
    run = run_copy("finished")
    record = RunRecord.read(run)
    obs, act = record.dataset.obs_dim, record.dataset.act_dim
    monkeypatch.setenv("IQL_JAX_MAX_LOAD_BYTES", str(10_000_000))
    code, err = _main(capsys, "finetune", run, "--online-steps", "1000000")
    assert code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"error: --capacity 1,000,000 (default: --online-steps) × 1 member(s): the online buffer "
                          f"needs about {4 * 10 ** 6 * (2 * obs + act + 2):,} bytes, at most 10,000,000 bytes")
    assert err.rstrip().endswith("use a smaller --capacity (the online transitions kept per member) or fewer "
                                 "--online-steps")
    assert not (run.parent / "finished-finetune").exists()


def test_finetune_failing_before_its_first_checkpoint_leaves_no_directory(run_copy, capsys):
    # A damaged offline eval.csv is found after the new directory is claimed: the directory goes, so fixing the
    # file and running the same command again starts afresh (not "already exists; use --resume").
    run = run_copy("finished")
    with open(run / "eval.csv", "a") as f:
        f.write("garbage,row\n20,0,0,,1.0,,,1,\n")
    code, err = _main(capsys, "finetune", run, "--online-steps", "10", "--eval-every", "10", "--checkpoint-every",
                      "10", "--quiet")
    assert code == 2 and err.splitlines()[-1].startswith(f"error: {run / 'eval.csv'}: line "), err
    assert "Traceback" not in err and not (run.parent / "finished-finetune").exists()


def test_finetune_of_a_run_whose_eval_csv_is_empty(run_copy, capsys):
    # No offline evaluation to compare with: the run still fine-tunes, and the summary skips the comparison.
    run = run_copy("finished")
    (run / "eval.csv").write_text("")
    code, err = _main(capsys, "finetune", run, "--online-steps", "10", "--eval-every", "10", "--checkpoint-every",
                      "10", "--quiet")
    assert code == 0 and "Traceback" not in err, err
    assert latest_checkpoint(run.parent / "finished-finetune") is not None


@pytest.mark.parametrize("command", [["eval"], ["export"], ["finetune"], ["train", "--resume"]])
def test_a_file_given_as_the_run_directory_is_named_as_a_file(run_copy, capsys, command):
    config = run_copy("finished") / "config.json"  # the run's own file, not its directory
    code, err = _main(capsys, *command, config)
    assert code == 2 and err == f"error: {config}: not a run directory (a file)\n"
