"""runs.report's total rows: Table 1's sum over datasets of one method (preset and setting), never across methods;
and every table's note: last vs best, and the scale (0-100 normalised, never 0-1, or raw return)."""

from __future__ import annotations

from iql_jax.runs.report import render_markdown
from iql_jax.runs.summary import render_table2


def _row(dataset, preset="antmaze", setting="-", last=10.0, score="normalized_score"):
    return {"run": f"{dataset}-{preset}", "dataset": dataset, "preset": preset, "setting": setting, "seeds": 2,
            "score": score,
            "steps": 100, "last_mean": last, "last_ci95": 1.0, "best_mean": last + 1, "best_ci95": 1.0}


def _totals(md: str) -> list[str]:
    return [line for line in md.splitlines() if line.startswith("| **total**")]


def test_one_method_keeps_its_single_total():
    assert _totals(render_markdown([_row("a", last=1.0), _row("b", last=2.0)])) == [
        "| **total** | |  |  | | | **3.0** | **5.0** |"]


def test_settings_and_presets_are_totalled_separately_over_datasets():
    rows = [_row(d, setting=s, last=v) for d, v in (("a", 1.0), ("b", 2.0)) for s in ("beta=3", "beta=10")]
    rows += [_row("a", preset="locomotion", last=7.0)]  # a method on one dataset only: no total
    assert _totals(render_markdown(rows)) == ["| **total** | | antmaze | beta=3 | | | **3.0** | **5.0** |",
                                              "| **total** | | antmaze | beta=10 | | | **3.0** | **5.0** |"]
    assert _totals(render_markdown([_row("a", setting="beta=3"), _row("a", setting="beta=10")])) == []


def test_every_table_states_last_vs_best_and_its_scale():
    normalised = render_markdown([_row("a"), _row("b")])
    assert "0-100 scale (0 = random policy, 100 = expert; not 0-1)" in normalised and "raw" not in normalised
    assert "last: each seed's last evaluation; best: each seed's best evaluation (optimistic" in normalised
    raw = render_markdown([_row("a", score="return")])
    assert "raw episode return (no reference scores, so not on a 0-100 scale)" in raw and "not 0-1" not in raw
    mixed = render_markdown([_row("a"), _row("b", score="return")])
    assert "except raw episode return (not 0-100) in the rows of b-antmaze," in mixed
    table2 = render_table2([{"dataset": "a", "score": "normalized_score", "offline": 50.0, "online": 60.0}])
    assert "| a | 50.0 → 60.0 |" in table2 and "(last, not best)" in table2 and "0-100 scale" in table2
