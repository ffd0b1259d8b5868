"""The README's quick start is what CI and the benchmark run, and the tests need nothing beside the repository.

The trial behind issue 27 found the README's test command failing on a fresh clone: a test opened
a reference file in a folder beside the repository. Here a copy of the repository with nothing beside it (and an empty home) runs the module
that did, and every test file is scanned for paths that climb out of the repository.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import tyro

from iql_jax.cli.train import TrainArgs

ROOT = Path(__file__).resolve().parent.parent


def _quick_start() -> list[str]:
    block = re.search(r"## Quick start.*?```bash\n(.*?)\n```", (ROOT / "README.md").read_text(), re.S)
    assert block, "README.md: no ```bash block under '## Quick start'"
    return block.group(1).splitlines()


def test_the_readme_test_command_is_the_one_ci_runs():
    lines = _quick_start()
    assert len(lines) == 2
    ci = next(line for line in (ROOT / ".ci" / "run").read_text().splitlines() if line.startswith("python3 -m venv"))
    ci_words, readme_words = shlex.split(ci), shlex.split(lines[1])
    assert ci_words[-3:] == readme_words[-3:] == ["-m", "pytest", "-q"]
    # .ci/run quietens pip (-q); the command is otherwise the README's, word for word
    assert [w for w in ci_words if w != "-q"] == [w for w in readme_words if w != "-q"]


def test_the_readme_train_command_is_the_one_the_benchmark_times_and_it_parses():
    spec = importlib.util.spec_from_file_location("quickstart", ROOT / "benchmarks" / "quickstart.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    argv = bench.readme_command()
    first = shlex.split(_quick_start()[0])
    assert first[first.index(".venv/bin/iql"):] == [".venv/bin/iql", *argv]
    assert argv[0] == "train"
    args = tyro.cli(TrainArgs, args=argv[1:])  # the README's options are valid ones, with the values it shows
    assert (args.data.dataset, args.run.steps, args.run.seeds) == ("pointmaze-umaze:100k", 12000, 3)


HOSTILE = "# a hostile value under test, not a path read"


def _climbs(line: str, depth: int) -> bool:
    """Whether ``line`` of a test file ``depth`` folders below the repository names a path outside it."""
    if HOSTILE in line:
        return False
    if re.search(r"""["'](\.\./|/work/|~/)|shared/reference""", line):
        return True
    up = [int(n) for n in re.findall(r"parents\[(\d+)\]", line)] + [line.count(".parent") - 1] * (".parent." in line)
    return any(n > depth for n in up)  # parents[depth] is the repository itself


def test_no_test_names_a_path_outside_the_repository():
    files = [p for p in sorted((ROOT / "tests").rglob("*.py")) if p.name != Path(__file__).name]
    found = [f"{p.relative_to(ROOT)}:{i}" for p in files
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if _climbs(line, len(p.relative_to(ROOT).parts) - 1)]
    assert found == []
    assert _climbs("ROOT = Path(__file__).resolve().parents[2]", 1) and not _climbs("x.parents[1]", 1)


def test_tests_pass_in_a_copy_of_the_repository_with_nothing_beside_it(tmp_path):
    alone = tmp_path / "clone" / "iql-jax"  # clone/ holds nothing else: no reference folder beside it
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", ".pytest_cache")
    for part in ("iql_jax", "tests"):
        shutil.copytree(ROOT / part, alone / part, ignore=ignore)
    for part in ("README.md", "pyproject.toml"):
        shutil.copy(ROOT / part, alone / part)
    home = tmp_path / "home"
    home.mkdir()
    env = {**os.environ, "PYTHONPATH": str(alone), "HOME": str(home), "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
    env.pop("IQL_JAX_DATA_DIR", None)
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_config.py",
                          "tests/runs/test_report.py"], cwd=alone, env=env, capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert re.search(r"\d+ passed", out.stdout) and "failed" not in out.stdout
    # the copy was tested, not an installed checkout (an editable install's finder would fill in missing modules)
    import_check = subprocess.run([sys.executable, "-c", "import iql_jax.runs.report as r, iql_jax.config as c; "
                                   "print(r.__file__); print(c.__file__)"], cwd=alone, env=env, capture_output=True,
                                  text=True, timeout=120)
    files = import_check.stdout.split()
    assert len(files) == 2 and all(f.startswith(str(alone)) for f in files), import_check
