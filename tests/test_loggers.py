"""The opt-in loggers, run for real: a tiny training with ``--run.tensorboard`` / ``--run.wandb`` (offline), then
what they wrote is read back and compared with ``metrics.jsonl`` and ``eval.csv``.

TensorBoard's event files are read with TensorBoard's own ``EventAccumulator``. W&B 0.31 has no Python reader for
its offline transaction log (``run-<id>.wandb``); it is the LevelDB log format (a 7-byte ``:W&B`` header, then
32 KiB blocks of records framed as crc32c(4) · length(2, little-endian) · type(1: full, 2: first, 3: middle,
4: last)), each payload a ``wandb_internal_pb2.Record``; :func:`wandb_records` unframes it and W&B's own protobuf
classes decode it. Neither test may touch the network: W&B is offline with its server pointed at a closed local port,
and every socket connection the test process makes to a non-local address fails the test.
"""

from __future__ import annotations

import dataclasses
import socket
import struct
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

from iql_jax.config import DataConfig, FinetuneConfig, RunConfig, TrainConfig, get_preset
from iql_jax.runs import finetune_run, train
from iql_jax.runs.logs import read_eval, read_metrics

BLOCK, HEADER = 32 * 1024, 7


@pytest.fixture
def no_network(monkeypatch):
    """Refuse (and record) any connection from this process to an address that is not loopback or a local socket."""
    attempts, connect = [], socket.socket.connect

    def guarded(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            attempts.append(address)
            raise OSError(f"test_loggers: network access to {address} refused")
        return connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
    yield attempts
    assert attempts == [], f"the logger tried to reach {attempts}"


def _train(tmp_path, **run) -> Path:
    agent = dataclasses.replace(get_preset("antmaze").agent, hidden_dims=(16, 16), batch_size=32)
    config = TrainConfig(agent=agent, data=DataConfig(dataset="pointmaze-umaze:3000"),
                         run=RunConfig(steps=40, seeds=2, chunk_size=20, eval_every=20, eval_episodes=2,
                                       checkpoint_every=40, out=str(tmp_path), name="run", quiet=True, **run),
                         preset="antmaze")
    return train(config, progress=False).run_dir


def _expected(run_dir: Path) -> dict[str, dict[int, float]]:
    """What the mirrors must hold: per step, the member mean of each metric and the eval aggregates' means."""
    by_key: dict[str, dict[int, list]] = defaultdict(lambda: defaultdict(list))
    for row in read_metrics(run_dir):
        for k, v in row.items():
            if "/" in k and v is not None:
                by_key[k][row["step"]].append(v)
    for row in read_eval(run_dir):
        by_key["eval/return_mean"][row["step"]].append(row["return"])
    return {k: {s: float(np.mean(v)) for s, v in steps.items()} for k, steps in by_key.items()}


def test_tensorboard_scalars_offline_and_online_read_back_with_tensorboards_reader(tmp_path, data_cache_dir,
                                                                                 no_network):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = _train(tmp_path, tensorboard=True)
    assert list((run_dir / "tensorboard").glob("events.out.tfevents.*"))
    acc = EventAccumulator(str(run_dir / "tensorboard"))
    acc.Reload()
    tags = set(acc.Tags()["scalars"])
    expected = _expected(run_dir)
    for key in ("value/loss", "critic/loss", "actor/loss", "grad/critic_norm", "eval/return_mean"):
        assert key in tags
        events = acc.Scalars(key)
        assert [e.step for e in events] == [20, 40]
        np.testing.assert_allclose([e.value for e in events], [expected[key][s] for s in (20, 40)], rtol=1e-6)
    assert "time/updates_per_s" in tags
    # Fine-tuning goes through the same driver: the run's --run.tensorboard mirrors the online phase too, on the
    # directory's one step clock (after the offline run's 40 updates).
    online = finetune_run(run_dir, FinetuneConfig(online_steps=20, eval_every=20, eval_episodes=1,
                                                  checkpoint_every=20, name="ft"), progress=False).run_dir
    acc = EventAccumulator(str(online / "tensorboard"))
    acc.Reload()
    expected = _expected(online)
    for key in ("value/loss", "critic/loss", "eval/return_mean"):
        assert [e.step for e in acc.Scalars(key)] == [60], key
        np.testing.assert_allclose([acc.Scalars(key)[0].value], [expected[key][60]], rtol=1e-6)


def wandb_records(path: Path):
    """The ``Record`` protobufs of a W&B transaction log, in order (see the module docstring for the framing)."""
    from wandb.proto import wandb_internal_pb2

    raw = path.read_bytes()
    assert raw[:4] == b":W&B" and struct.unpack("<H", raw[4:6])[0] == 0xBEE1, "not a W&B transaction log"
    pos, pending = HEADER, b""
    while pos + HEADER <= len(raw):
        if BLOCK - pos % BLOCK < HEADER:  # the tail of a block too short for a header is padding
            pos += BLOCK - pos % BLOCK
            continue
        length, kind = struct.unpack("<HB", raw[pos + 4:pos + 7])
        if length == 0 and kind == 0:  # zero padding at the end of a block
            pos += BLOCK - pos % BLOCK
            continue
        payload, pos = raw[pos + HEADER:pos + HEADER + length], pos + HEADER + length
        pending += payload
        if kind in (1, 4):  # a full record, or the last fragment of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            yield record
            pending = b""
        else:
            assert kind in (2, 3), f"{path}: unknown record fragment type {kind}"


def test_wandb_offline_run_directory_holds_the_history(tmp_path, data_cache_dir, monkeypatch, no_network):
    import json

    for name, value in {"WANDB_MODE": "offline", "WANDB_SILENT": "true", "WANDB_BASE_URL": "http://127.0.0.1:9",
                        "WANDB_CONFIG_DIR": tmp_path / "wandb-config", "WANDB_CACHE_DIR": tmp_path / "wandb-cache",
                        "WANDB_DATA_DIR": tmp_path / "wandb-data", "WANDB_API_KEY": ""}.items():
        monkeypatch.setenv(name, str(value))
    run_dir = _train(tmp_path, wandb=True)
    logs = list((run_dir / "wandb").glob("offline-run-*/run-*.wandb"))
    assert len(logs) == 1, "expected one offline run directory inside the run directory"
    history: dict[int, dict] = defaultdict(dict)
    config, names = {}, []
    for record in wandb_records(logs[0]):
        kind = record.WhichOneof("record_type")
        if kind == "history":
            row = {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in record.history.item}
            history[int(row["_step"])].update(row)
        elif kind == "run":
            names.append(record.run.display_name)
            config.update({item.key: json.loads(item.value_json) for item in record.run.config.update})
        elif kind == "config":
            config.update({item.key: json.loads(item.value_json) for item in record.config.update})
    assert names and names[0] == "run"
    assert config["run"]["steps"] == 40 and config["agent"]["hidden_dims"] == [16, 16]
    assert sorted(history) == [20, 40]
    expected = _expected(run_dir)
    for key in ("value/loss", "critic/loss", "actor/loss", "eval/return_mean"):
        np.testing.assert_allclose([history[s][key] for s in (20, 40)], [expected[key][s] for s in (20, 40)],
                                   rtol=1e-6)  # the logger averages in float32
