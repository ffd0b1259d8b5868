"""runs.report's total rows: Table 1's sum over datasets of one method (preset and setting), never across methods."""

from __future__ import annotations

from iql_jax.runs.report import render_markdown


def _row(dataset, preset="antmaze", setting="-", last=10.0):
    return {"run": f"{dataset}-{preset}", "dataset": dataset, "preset": preset, "setting": setting, "seeds": 2,
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
