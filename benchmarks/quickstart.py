"""The README's quick start, timed as a newcomer meets it: its ``iql train`` command, with the built-in dataset
generated on first use (an empty data cache), in a fresh output folder.

The command is read from the README itself (the ``iql train`` part of its first quick-start line), so the figure is
the one the README promises. Installation is not timed: it depends on the network and the package cache. The goal
(issue 27) is ≤ 3 minutes on an idle 2-core machine; the header prints the load average, and a figure taken under
load is an upper bound.

    python benchmarks/quickstart.py [--keep-cache]
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_S = 180.0


def readme_command() -> list[str]:
    """The arguments of the ``iql train`` call in the README's first quick-start command."""
    text = (ROOT / "README.md").read_text()
    block = re.search(r"## Quick start.*?```bash\n(.*?)\n```", text, re.S)
    if not block:
        raise SystemExit("README.md: no ```bash block under '## Quick start'")
    first = block.group(1).splitlines()[0]
    match = re.search(r"\.venv/bin/iql (train .*)$", first)
    if not match:
        raise SystemExit(f"README.md: the first quick-start line does not run '.venv/bin/iql train': {first}")
    return shlex.split(match.group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--keep-cache", action="store_true",
                   help="use the usual data cache (time training only, when the dataset is already there)")
    args = p.parse_args()
    command = [sys.executable, "-m", "iql_jax.cli", *readme_command()]
    print(f"load average (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}  "
          f"[a figure under load is an upper bound]")
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "MPLBACKEND": "Agg"}
        if not args.keep_cache:
            env["IQL_JAX_DATA_DIR"] = str(Path(tmp) / "datasets")  # generation is part of a first run
        command += ["--out", str(Path(tmp) / "runs")]
        print("running:", " ".join(shlex.quote(c) for c in command[2:]), flush=True)
        t = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        wall = time.perf_counter() - t
    lines = [line for line in done.stdout.splitlines() if line.startswith(("final", "score:"))]
    print("\n".join(lines))
    if done.returncode != 0:
        raise SystemExit(f"the quick start failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
    verdict = "met" if wall <= GOAL_S else "NOT met"
    print(f"quick start wall time: {wall:.0f} s ({wall / 60:.1f} min; goal <= {GOAL_S / 60:.0f} min: {verdict}); "
          f"load average at the end: {', '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
