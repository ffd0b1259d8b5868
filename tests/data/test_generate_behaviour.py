"""D4RL-recipe datasets from behaviour policies: the checkpoint choice, the replay schedule, collection through
DataCollector (deterministic for a seed), the recipes' shapes, and the metadata the files carry."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest

from iql_jax.behaviour import sac, shipped
from iql_jax.behaviour.policy import save_policy
from iql_jax.behaviour.sac import SACConfig
from iql_jax.behaviour.ship import _schedule
from iql_jax.behaviour.shipped import Selection, select
from iql_jax.data.generate_behaviour import collect_behaviour, segments
from iql_jax.data.minari_io import load_minari
from iql_jax.errors import IQLError
from iql_jax.tasks import LOCOMOTION_REFS


def _row(step, score):
    return {"step": step, "stochastic_score": score, "stochastic_return": 10 * score}


def test_select_takes_the_first_checkpoint_in_band_and_the_best_after_it():
    curve = [_row(10_000, 2), _row(20_000, 20), _row(30_000, 60), _row(40_000, 40), _row(50_000, 80),
             _row(60_000, 70)]
    chosen = select(curve, (35, 55), warmup=10_000, replay_snapshots=3)
    # 30k jumped over the band (60 > 55), so medium is 40k; expert is the best at or after it (50k);
    # snapshots spread over [10k, 40k): wanted 10k, 20k, 30k
    assert chosen == Selection(40_000, 50_000, (10_000, 20_000, 30_000))
    assert _schedule(10_000, chosen) == [
        {"policy": None, "start": 0, "stop": 10_000}, {"policy": "replay-0", "start": 10_000, "stop": 20_000},
        {"policy": "replay-1", "start": 20_000, "stop": 30_000}, {"policy": "replay-2", "start": 30_000,
                                                                  "stop": 40_000}]
    with pytest.raises(IQLError, match="medium band"):
        select(curve, (90, 95), warmup=10_000)
    assert select(curve, None, warmup=0).expert == 50_000  # no band: the best return


@pytest.fixture()
def shipped_hopper(tmp_path, monkeypatch):
    """A fake shipped 'hopper' (untrained 16x16 actors) with a 300-step medium-replay schedule."""
    monkeypatch.setattr(shipped, "POLICY_DIR", tmp_path / "policies")
    folder = shipped.shipped_dir("hopper")
    folder.mkdir(parents=True)
    policies = {}
    for i, name in enumerate(("medium", "expert", "replay-0")):
        state = sac.init(SACConfig(hidden_dims=(16, 16)), jax.random.PRNGKey(i), 11, 3)
        record = {"env_id": "Hopper-v5", "step": 300 + i, "returns": {"stochastic": 10.0 + i}, "scores": {}}
        save_policy(folder / f"{name}.msgpack", state.actor.params, record)
        policies[name] = {"step": 300 if name == "medium" else 100 * (i + 1), "returns": record["returns"],
                          "scores": {}}
    record = {"key": "hopper", "seed": 0, "trained_steps": 600, "medium_band": [35, 55], "policies": policies,
              "replay_schedule": [{"policy": None, "start": 0, "stop": 100},
                                  {"policy": "replay-0", "start": 100, "stop": 300}]}
    (folder / "record.json").write_text(json.dumps(record))
    return folder


def _load(path):
    return load_minari(path)


def test_collection_is_deterministic_for_a_seed_and_loads_as_qlearning_data(shipped_hopper, tmp_path):
    a = _load(collect_behaviour("hopper", "medium", 1500, 3, tmp_path / "a", "iql-jax/hopper-medium-v0"))
    b = _load(collect_behaviour("hopper", "medium", 1500, 3, tmp_path / "b", "iql-jax/hopper-medium-v0"))
    c = _load(collect_behaviour("hopper", "medium", 1500, 4, tmp_path / "c", "iql-jax/hopper-medium-v0"))
    for x, y in zip(a.transitions, b.transitions):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.transitions.actions, c.transitions.actions)
    t = a.transitions
    assert t.size == 1500 and t.obs_dim == 11 and t.act_dim == 3
    ends = np.asarray(t.episode_ends) > 0
    # qlearning_dataset semantics: s' is the next row's s inside an episode; terminals (falls) end episodes
    np.testing.assert_array_equal(t.next_observations[:-1][~ends[:-1]], t.observations[1:][~ends[:-1]])
    assert np.all(ends[np.asarray(t.terminals) > 0]) and np.sum(t.terminals) > 0
    info = a.info
    assert (info.ref_min_score, info.ref_max_score) == LOCOMOTION_REFS["hopper"] and info.domain == "locomotion"
    meta = info.extra["behaviour"]
    medium = shipped.load_shipped("hopper", "medium")
    assert meta["recipe"] == "medium" and meta["policies"]["medium"]["fingerprint"] == medium.fingerprint
    assert json.loads(info.eval_env_spec)["id"] == "Hopper-v5"


def test_medium_replay_ends_at_the_medium_checkpoint(shipped_hopper, tmp_path):
    data = _load(collect_behaviour("hopper", "medium-replay", None, 0, tmp_path, "iql-jax/hopper-mr-v0"))
    medium_step = json.loads((shipped_hopper / "record.json").read_text())["policies"]["medium"]["step"]
    assert data.transitions.size == medium_step == 300
    assert [p for p, _ in data.info.extra["behaviour"]["segments"]] == [None, "replay-0"]
    # the uniform warm-up segment ends an episode exactly at step 100, where the first snapshot takes over
    assert data.transitions.episode_ends[99] == 1


def test_medium_expert_splits_at_an_episode_boundary(shipped_hopper, tmp_path):
    data = _load(collect_behaviour("hopper", "medium-expert", 1001, 0, tmp_path, "iql-jax/hopper-me-v0"))
    t = data.transitions
    assert t.size == 1001 and t.episode_ends[499] == 1  # 500 medium steps, then 501 expert steps
    assert segments("hopper", "medium-expert", 1001) == [("medium", 500), ("expert", 501)]
    assert set(data.info.extra["behaviour"]["policies"]) == {"medium", "expert"}


def test_inspect_reports_the_behaviour_score_with_the_datas_own_references(shipped_hopper, tmp_path, capsys):
    from iql_jax.cli import main
    from iql_jax.data.transforms import trajectory_returns

    path = collect_behaviour("hopper", "medium", 1200, 0, tmp_path, "iql-jax/hopper-medium-v0")
    returns = trajectory_returns(_load(path).transitions)
    low, high = LOCOMOTION_REFS["hopper"]
    assert main(["data", "inspect", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"= {100 * (returns.mean() - low) / (high - low):.1f} normalised" in out
    assert "for Hopper-v5" in out and "medium band 35-55" in out


def test_a_cached_copy_from_policies_no_longer_shipped_is_regenerated(shipped_hopper, tmp_path, monkeypatch,
                                                                        capsys):
    """An upgrade that ships a better policy must not leave the old data under the same name."""
    from iql_jax.data.builtin import load_builtin

    monkeypatch.setenv("IQL_JAX_DATA_DIR", str(tmp_path / "cache"))
    first = load_builtin("hopper-medium", 400, 0, progress=False)
    main_file = tmp_path / "cache" / "iql-jax" / "hopper-medium-s400-seed0-v0" / "data" / "main_data.hdf5"
    written = main_file.stat().st_mtime_ns
    load_builtin("hopper-medium", 400, 0, progress=False)  # same policies: the cached copy, untouched
    assert main_file.stat().st_mtime_ns == written and "regenerating" not in capsys.readouterr().err
    old = first.info.extra["behaviour"]["policies"]["medium"]["fingerprint"]

    state = sac.init(SACConfig(hidden_dims=(16, 16)), jax.random.PRNGKey(9), 11, 3)
    save_policy(shipped_hopper / "medium.msgpack", state.actor.params, {"env_id": "Hopper-v5", "step": 300})
    new = shipped.load_shipped("hopper", "medium").fingerprint
    from iql_jax.cli.data import data_list

    data_list()  # the listing says so before the next use
    line = next(x for x in capsys.readouterr().out.splitlines() if "hopper-medium-s400-seed0-v0:" in x)
    assert line.endswith(f"; stale, collected again on next use: collected with the hopper 'medium' policy {old}; "
                         f"the package now ships {new}"), line
    again = load_builtin("hopper-medium", 400, 0, progress=False)
    err = capsys.readouterr().err
    assert (f"regenerating hopper-medium: the cached copy in {main_file.parent.parent} was collected with the hopper "
            f"'medium' policy {old}; the package now ships {new}") in err
    assert again.info.extra["behaviour"]["policies"]["medium"]["fingerprint"] == new != old
    assert not np.array_equal(again.transitions.actions, first.transitions.actions)
    assert [p.name for p in (tmp_path / "cache").iterdir() if p.name.startswith(".")] == []  # no scratch left


def test_list_shows_a_cached_datasets_mean_return_and_normalised_score(shipped_hopper, tmp_path, monkeypatch, capsys):
    from iql_jax.cli.data import data_list
    from iql_jax.data.builtin import load_builtin
    from iql_jax.data.transforms import trajectory_returns

    monkeypatch.setenv("IQL_JAX_DATA_DIR", str(tmp_path / "cache"))
    returns = trajectory_returns(load_builtin("hopper-medium", 1200, 0, progress=False).transitions)
    data_list()
    line = next(x for x in capsys.readouterr().out.splitlines() if "hopper-medium-s1200-seed0-v0:" in x)
    low, high = LOCOMOTION_REFS["hopper"]
    assert line.endswith(f"mean episode return {returns.mean():.4g} over {len(returns):,} episodes = "
                         f"{100 * (returns.mean() - low) / (high - low):.1f} normalised"), line
