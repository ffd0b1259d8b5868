"""runs.finetune_run: a fine-tuning run resumes bit-exactly, marks the offline/online boundary and records the
constant actor lr."""

from __future__ import annotations

import json

import numpy as np
import pytest

from iql_jax.config import FinetuneConfig
from iql_jax.runs import train
from iql_jax.runs.finetune_run import finetune_run, resume_finetune
from iql_jax.runs.logs import read_eval
from iql_jax.runs.meaning import online_phase_note
from iql_jax.runs.rundir import FinetuneRecord, RunRecord, list_checkpoints
from iql_jax.testing import stopping_at
from tiny import learned, run_config


def test_finetune_run_resumes_bit_exactly_and_marks_the_boundary(tmp_path, data_cache_dir):
    train(run_config(tmp_path, "off", steps=40), progress=False)
    plan = dict(online_steps=40, eval_every=20, eval_episodes=1, checkpoint_every=20)
    whole = finetune_run(tmp_path / "off", FinetuneConfig(**plan, name="ft-whole"), progress=False)
    with stopping_at(20):  # the offline run has no TensorBoard mirror; this fine-tuning run asks for its own
        part = finetune_run(tmp_path / "off", FinetuneConfig(**plan, name="ft-part", tensorboard=True), progress=False)
    assert part.step == 40 + 20 and not part.summary
    resumed = resume_finetune(tmp_path / "ft-part", progress=False)
    assert resumed.step == whole.step == 80
    for a, b in zip(learned(whole.states), learned(resumed.states)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    rows = read_eval(tmp_path / "ft-whole")
    assert sorted({r["step"] for r in rows}) == [20, 40, 60, 80]  # offline rows first, then online
    assert read_eval(tmp_path / "ft-part") == rows
    # One step clock per directory: metrics rows and checkpoints are numbered after the offline run's 40 steps.
    steps = {json.loads(ln)["step"] for ln in (tmp_path / "ft-part" / "metrics.jsonl").read_text().splitlines()}
    assert steps == {60, 80}
    assert [s for s, _ in list_checkpoints(tmp_path / "ft-whole")] == [60, 80]
    t2 = whole.summary["offline_to_online"]
    assert t2["offline"] == pytest.approx(np.mean([r["normalized_score"] for r in rows if r["step"] == 40]))
    assert "offline → fine-tuned" in (tmp_path / "ft-whole" / "report.md").read_text()
    assert "last offline evaluation and of the last online one (last, not best)" in (
        tmp_path / "ft-whole" / "report.md").read_text()
    # 40 online steps beside the tiny dataset's 3,000 transitions (1.3 %): the end-of-run note says so.
    assert RunRecord.read(tmp_path / "ft-whole").dataset.transitions == 3000
    assert "its 40 online transitions are 1.3 % of the data each update samples (3,000 offline)" in online_phase_note(
        tmp_path / "ft-whole")
    # The bug: the fine-tune run's config.json still said "cosine" after constant_actor_lr.
    record = RunRecord.read(tmp_path / "ft-whole")
    assert record.config.agent.actor_lr_schedule == "constant"
    assert [m.hyper["actor_decay_steps"] for m in record.members] == [0.0, 0.0]
    offline = RunRecord.read(tmp_path / "off")
    assert [m.hyper["actor_decay_steps"] for m in offline.members] == [40.0, 40.0]
    finetune = FinetuneRecord.read(tmp_path / "ft-whole")
    assert (finetune.offline_step, finetune.config.online_steps, finetune.config.eval_episodes) == (40, 40, 1)
    # --tensorboard: unset takes the offline run's (none), set is recorded and kept by the resume.
    assert finetune.config.tensorboard is False and not (tmp_path / "ft-whole" / "tensorboard").exists()
    assert FinetuneRecord.read(tmp_path / "ft-part").config.tensorboard is True
    assert RunRecord.read(tmp_path / "ft-part").config.run.tensorboard is True
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(tmp_path / "ft-part" / "tensorboard"))
    acc.Reload()
    assert sorted({e.step for e in acc.Scalars("critic/loss")}) == [60, 80]  # before and after the resume
