"""iql_jax.sweeps in this process (no Ray): job planning, sweep.json, skip / resume / fail, the combined report,
the no-Ray fallback, progress polling and the ``iql sweep`` command's refusals."""

from __future__ import annotations

import csv
import dataclasses
import json
import socket
import sys

import numpy as np
import pytest

from iql_jax import cli
from iql_jax.config import TrainConfig
from iql_jax.errors import ConfigError
from iql_jax.runs import list_checkpoints, load_run
from iql_jax.runs.logs import read_eval
from iql_jax.testing import crashing
from iql_jax.sweeps import SWEEP_FILE, plan_jobs, run_sweep
from iql_jax.sweeps.executors import _Bars
from tiny import RUN_DATASET, learned, run_config

SWEEP = {"expectile": [0.7, 0.9]}
JOB = "pointmaze-umaze-3000"


@pytest.fixture
def no_ray(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` now raises ImportError


def _base(out, steps=60) -> TrainConfig:
    c = run_config(out, None, steps=steps)
    return dataclasses.replace(c, preset=None, run=dataclasses.replace(c.run, seeds=1, eval_every=0))


def test_jobs_are_named_by_dataset_and_preset_and_must_differ(tmp_path):
    jobs = plan_jobs(_base(tmp_path), ["pointmaze-umaze:3000", "/data/hopper-medium-v2.hdf5"], ["antmaze", None])
    assert [j.name for j in jobs] == ["pointmaze-umaze-3000-antmaze", "pointmaze-umaze-3000",
                                      "hopper-medium-v2-antmaze", "hopper-medium-v2"]
    assert jobs[0].run_dir == tmp_path / "pointmaze-umaze-3000-antmaze"
    assert (jobs[2].config.data.dataset, jobs[2].config.preset, jobs[2].config.run.name) == (
        "/data/hopper-medium-v2.hdf5", "antmaze", "hopper-medium-v2-antmaze")
    with pytest.raises(ConfigError, match="both make the job 'hopper-medium-v2'"):
        plan_jobs(_base(tmp_path), ["a/hopper-medium-v2.hdf5", "b/hopper-medium-v2.hdf5"])
    with pytest.raises(ConfigError, match="--presets mujoco: unknown preset 'mujoco'"):
        plan_jobs(_base(tmp_path), ["x"], ["mujoco"])


def test_kill_resume_skip_and_a_failed_job_in_process(tmp_path, data_cache_dir, no_ray, capsys):
    out, ref = tmp_path / "out", tmp_path / "ref"
    datasets = [RUN_DATASET, "no-such-dataset"]
    with crashing({JOB: 20}):
        first = run_sweep(_base(out), datasets, sweep=SWEEP)
    assert "Ray is not installed: pip install 'iql-jax[ray]'" in capsys.readouterr().err
    assert first.executor == "in-process" and [o.status for o in first.outcomes] == ["failed", "failed"]
    killed, bad = first.outcomes
    assert "crash_at" in killed.error and killed.step == 20
    assert bad.user_error and "no-such-dataset" in bad.error and bad.traceback is None
    assert [s for s, _ in list_checkpoints(out / JOB)] == [20] and first.report is None

    second = run_sweep(_base(out), datasets, sweep=SWEEP, progress=False)
    assert [o.status for o in second.outcomes] == ["resumed", "failed"] and second.outcomes[0].step == 60
    md = second.report.read_text()  # (each run of the sweep rewrites it)
    assert "**total**" not in md  # one dataset, two settings: nothing to total
    assert "(failed in the last run, re-run the sweep to resume): no-such-dataset." in md
    whole = run_sweep(_base(ref), [RUN_DATASET], sweep=SWEEP, progress=False)  # the same job, uninterrupted
    assert [o.status for o in whole.outcomes] == ["done"]
    for a, b in zip(learned(load_run(out / JOB)[0]), learned(load_run(ref / JOB)[0])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert read_eval(out / JOB) == read_eval(ref / JOB)

    third = run_sweep(_base(out), [RUN_DATASET], sweep=SWEEP, progress=False)
    assert [o.status for o in third.outcomes] == ["skipped"]
    lines = second.summary_lines()
    assert lines[0].startswith("resumed  pointmaze-umaze-3000") and "error: no-such-dataset" in lines[1]
    assert lines[2].startswith("2 jobs (in-process, ") and "0 done, 1 resumed, 0 skipped, 1 failed" in lines[2]

    # The combined report: a row per setting of the finished job, no total across settings, the failure named.
    with open(second.report_csv) as f:
        rows = list(csv.DictReader(f))
    assert [(r["run"], r["setting"], r["seeds"], r["steps"]) for r in rows] == [
        (JOB, "expectile=0.7", "1", "60"), (JOB, "expectile=0.9", "1", "60")]
    last = {r["setting"]: r["normalized_score"] for r in read_eval(out / JOB) if r["step"] == 60}
    assert [float(r["last_mean"]) for r in rows] == pytest.approx([last["expectile=0.7"], last["expectile=0.9"]])
    assert "failed in the last run" not in second.report.read_text()  # the third run's report: no failures
    assert second.plot.stat().st_size > 0
    record = json.loads((out / SWEEP_FILE).read_text())
    assert [j["name"] for j in record["jobs"]] == [JOB, "no-such-dataset"]
    assert record["options"]["sweep"] == [{"expectile": 0.7}, {"expectile": 0.9}]

    # Other options in the same OUT are refused, naming the field; new datasets may join.
    with pytest.raises(ConfigError, match=r"sweep.json: this sweep was started with other options \(run.steps: 80 "
                                          r"here, 60 recorded\)"):
        run_sweep(_base(out, steps=80), [RUN_DATASET], sweep=SWEEP, progress=False)
    with pytest.raises(ConfigError, match=r"sweep: \[\{\"expectile\": 0.5\}\] here"):
        run_sweep(_base(out), [RUN_DATASET], sweep={"expectile": [0.5]}, progress=False)


def test_a_directory_left_before_config_json_is_started_afresh(tmp_path, data_cache_dir, no_ray):
    out = tmp_path / "out"
    (out / JOB).mkdir(parents=True)
    (out / JOB / ".lock").write_text("12345\n")  # claimed by a process that died before writing config.json
    (result,) = run_sweep(_base(out, steps=20), [RUN_DATASET], progress=False).outcomes
    assert (result.status, result.step) == ("done", 20)
    (out / "other").mkdir()
    (out / "other" / "notes.txt").write_text("mine")
    (other,) = run_sweep(_base(out, steps=20), ["other"], progress=False).outcomes  # not ours: left alone
    assert other.status == "failed" and "exists but is not a run directory" in other.error
    assert (out / "other" / "notes.txt").read_text() == "mine"


def test_progress_bars_follow_the_newest_logged_step(tmp_path):
    (job,) = plan_jobs(_base(tmp_path, steps=300), ["pointmaze-umaze:3000"])
    job.run_dir.mkdir()
    rows = [{"step": s, "member": m} for s in (100, 200) for m in (0, 1)]
    (job.run_dir / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows) + '{"step": 30')
    bars = _Bars([job], enabled=True)
    bars.poll()  # the torn last line (a row being written) is not counted
    assert bars.bars[job.name].n == 200
    bars.close_all()


def test_sweep_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as done:
        cli.main(["sweep", "--help"])
    assert done.value.code == 0
    text = " ".join(capsys.readouterr().out.split())  # rich wraps lines
    for option, doc in (("--datasets", "Datasets, one job each"), ("--presets", "one job each per dataset"),
                        ("--address", "An existing Ray cluster"), ("--gpus-per-job", "GPUs each job asks Ray for"),
                        ("--cpus-per-job", "CPUs each job"), ("--executor", "runs the jobs as Ray tasks"),
                        ("--sweep", "A grid axis NAME=V1,V2"), ("--sweep-list", "Explicit settings"),
                        ("--steps", "Gradient updates per seed"), ("--agent.expectile", "τ of the value loss")):
        assert option in text and doc in text, option
    assert "Re-running the same command skips finished jobs" in text


@pytest.mark.parametrize("argv, message", [
    (["--dataset", "x"], "iql sweep: --dataset is set per job; give the datasets with --datasets"),
    (["--datasets", "x", "--name", "n"], "iql sweep: --name is set per job; job directories are named"),
    ([], "--datasets: expected at least one dataset"),
    (["--datasets", "x", "--presets", "mujoco"], "--presets mujoco: unknown preset 'mujoco'"),
    (["--datasets", "x", "--sweep", "beta=-1"], "--sweep beta=-1: agent.beta: expected β ≥ 0, found -1.0"),
    (["--datasets", "x", "--executor", "ray"], "--executor ray: Ray is not installed; pip install 'iql-jax[ray]'"),
    (["--datasets", "x", "--address", "h:6379", "--executor", "local"], "--address needs the Ray executor"),
])
def test_bad_sweep_command_lines_are_one_line_exit_2(tmp_path, capsys, no_ray, argv, message):
    assert cli.main(["sweep", "--out", str(tmp_path / "o"), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "o").exists()


def test_an_address_where_nothing_listens_is_one_line_exit_2(tmp_path, capsys):
    pytest.importorskip("ray", reason="the address is checked only when Ray, the test extra's, is installed")
    with socket.socket() as s:  # a port nothing listens on once closed; ray.init would retry it for ever
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["sweep", "--datasets", "x", "--address", f"127.0.0.1:{port}", "--out", str(tmp_path / "o")]
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: --address 127.0.0.1:{port}: nothing answers there"), err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "o").exists()
    assert cli.main(["sweep", "--datasets", "x", "--address", "no-port", "--out", str(tmp_path / "o")]) == 2
    assert "expected HOST:PORT" in capsys.readouterr().err


def test_failed_jobs_make_the_command_exit_2_after_the_summary(tmp_path, capsys, no_ray):
    assert cli.main(["sweep", "--datasets", "no-such-dataset", "--out", str(tmp_path), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.out.startswith("failed   no-such-dataset") and "0 done, 0 resumed, 0 skipped, 1 failed" in \
        captured.out
    assert "Traceback" not in captured.err
