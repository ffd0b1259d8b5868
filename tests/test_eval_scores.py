"""D4RL reference table and the normalised score, on hand numbers."""

import numpy as np
import pytest

from iql_jax.data.transitions import DatasetInfo
from iql_jax.errors import IQLError
from iql_jax.evaluation import D4RL_REF_SCORES, normalized_score, reference_scores
from iql_jax.tasks import TASKS, find_task


def test_hopper_medium_v2_halfway_is_fifty():
    # hopper REF_MIN -20.272305, REF_MAX 3234.3: halfway is -20.272305 + 3254.572305 / 2 = 1607.0138475.
    assert reference_scores("hopper-medium-v2") == (-20.272305, 3234.3)
    assert normalized_score(1607.0138475, *D4RL_REF_SCORES["hopper-medium-v2"]) == pytest.approx(50.0, abs=1e-9)
    assert normalized_score(1607.0145, *D4RL_REF_SCORES["hopper-medium-v2"]) == pytest.approx(50.0, abs=1e-4)
    assert normalized_score(-20.272305, -20.272305, 3234.3) == 0.0
    assert normalized_score(3234.3, -20.272305, 3234.3) == pytest.approx(100.0)


def test_scores_on_arrays_keep_their_shape():
    out = normalized_score(np.array([[0.0, 1.0], [0.5, 0.25]]), 0.0, 1.0)  # AntMaze: success rate × 100
    np.testing.assert_allclose(out, [[0.0, 100.0], [50.0, 25.0]])
    assert normalized_score(3.0, 0.0, 4.0) == 75.0  # Kitchen: 25 points per subtask
    with pytest.raises(IQLError, match="ref_max != ref_min"):
        normalized_score(1.0, 2.0, 2.0)


def test_dataset_own_references_win_over_the_table():
    info = DatasetInfo("hopper-medium-v2", "x", ref_min_score=10.0, ref_max_score=110.0)
    assert reference_scores(info) == (10.0, 110.0)
    assert normalized_score(60.0, *reference_scores(info)) == 50.0
    half_recorded = DatasetInfo("hopper-medium-v2", "x", ref_min_score=10.0)
    assert reference_scores(half_recorded) == (-20.272305, 3234.3)
    assert reference_scores(DatasetInfo("pointmaze-umaze", "local/pointmaze")) is None


@pytest.mark.parametrize("dataset, ref", [
    ("halfcheetah-medium-replay-v0", (-280.178953, 12135.0)),
    ("halfcheetah-full-replay-v2", (-280.178953, 12135.0)),
    ("walker2d-medium-expert-v1", (1.629008, 4592.3)),
    ("hopper-expert-v0", (-20.272305, 3234.3)),
    ("antmaze-large-diverse-v0", (0.0, 1.0)),
    ("antmaze-medium-play-v2", (0.0, 1.0)),
    ("kitchen-mixed-v0", (0.0, 4.0)),
    ("pen-cloned-v0", (96.262799, 3076.8331017826877)),
    ("hammer-expert-v1", (-274.856578, 12794.134825156867)),
    ("relocate-human-v1", (-6.425911, 4233.877797728884)),
    ("door-cloned-v1", (-56.512833, 2880.5693087298737)),
])
def test_table_entries(dataset, ref):
    assert D4RL_REF_SCORES[dataset] == ref


def test_table_coverage():
    # 4 locomotion envs × (5 v0 + 6 v1 + 6 v2) + 6 antmazes × 3 versions + 3 kitchens + 4 hands × 3 × 2 versions.
    assert len(D4RL_REF_SCORES) == 68 + 18 + 3 + 24
    assert "hopper-full-replay-v0" not in D4RL_REF_SCORES  # D4RL v0 has no full-replay
    assert not any(k.startswith("maze2d") for k in D4RL_REF_SCORES)  # no constants in the reference pack


def test_the_table_and_the_catalogue_agree():
    """One owner: every dataset id the catalogue resolves scores with the catalogue's constants (ant included)."""
    assert D4RL_REF_SCORES["ant-medium-v2"] == TASKS["ant"].ref_scores == (-325.6, 3879.7)
    for name, ref in D4RL_REF_SCORES.items():
        task = find_task(name)
        assert task is not None and task.ref_scores == ref, name
    assert all(lo < hi for lo, hi in D4RL_REF_SCORES.values())
