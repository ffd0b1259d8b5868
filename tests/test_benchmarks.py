"""The benchmark scripts keep working: the op counter on a hand-written program, and the GPU script's quick mode
end to end on the CPU (its figures are not checked, only that every phase it was asked for ran)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import hlo_counts  # noqa: E402
import pytest  # noqa: E402

# An entry that runs a 10-trip loop whose body holds a 5-trip loop. By hand, per trip of the outer loop:
# body: 1 fusion + 1 copy + 1 while (3 ops) + the inner loop 5 × (1 add + 1 reduce) = 13 ops;
# entry: 1 copy + 1 while = 2 ops. Total 10 × 13 + 2 = 132 ops; per update (10 updates) 13.2.
_HLO = """\
HloModule m

%inner_body (p: (s32[], f32[4])) -> (s32[], f32[4]) {
  %p = (s32[], f32[4]) parameter(0)
  %i = s32[] get-tuple-element(%p), index=0
  %x = f32[4]{0} get-tuple-element(%p), index=1
  %a = f32[4]{0} add(f32[4]{0} %x, f32[4]{0} %x)
  %r = f32[] reduce(f32[4]{0} %a, f32[] %z), dimensions={0}, to_apply=%sum
  ROOT %t = (s32[], f32[4]) tuple(%i, %a)
}

%outer_body (q: (s32[], f32[4])) -> (s32[], f32[4]) {
  %q = (s32[], f32[4]) parameter(0)
  %y = f32[4]{0} get-tuple-element(%q), index=1
  %f = f32[4]{0} fusion(f32[4]{0} %y), kind=kLoop, calls=%fused
  %c = f32[4]{0} copy(f32[4]{0} %f)
  %w = (s32[], f32[4]) while((s32[], f32[4]) %q), condition=%cond, body=%inner_body, backend_config={"known_trip_count":{"n":"5"}}
  ROOT %u = (s32[], f32[4]) tuple(%w)
}

ENTRY %main.1 (arg: f32[4]) -> f32[4] {
  %arg = f32[4]{0} parameter(0)
  %k = f32[4]{0} copy(f32[4]{0} %arg)
  %loop = (s32[], f32[4]) while((s32[], f32[4]) %init), condition=%cond, body=%outer_body, backend_config={"known_trip_count":{"n":"10"}}
  ROOT %out = f32[4]{0} get-tuple-element(%loop), index=1
}
"""


def test_ops_per_update_expands_nested_loops_by_their_trip_counts():
    counts = hlo_counts.ops_per_update(_HLO, num_updates=10)
    assert sum(counts.values()) == pytest.approx(13.2)
    # copies: 10 in the body + 1 in the entry; the add is an elementwise op, the fusion a loop; 50 reduces.
    assert counts["copies"] == pytest.approx(1.1)
    assert counts["reductions"] == pytest.approx(5.0)
    assert counts["elementwise loops"] == pytest.approx(1.0 + 5.0)
    assert counts["other"] == pytest.approx(1.0 + 0.1)  # the inner while (10 times) and the outer one (once)


def test_the_gpu_script_runs_its_quick_mode_on_the_cpu(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu", "IQL_JAX_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "gpu.py"), "--quick", "--skip", "flags",
                           "antmaze"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = done.stdout.splitlines()
    assert any(line.startswith("1 seed: 1 member(s), 2,000 updates each") for line in lines), done.stdout
    for members in (1, 2, 4):
        assert any(line.startswith(f"{members} members (1 device(s)): {members} member(s)") for line in lines)
    assert "sharded path: one device only" in done.stdout
