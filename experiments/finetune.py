"""IQL paper, Table 2 claim: an offline IQL policy keeps improving when fine-tuned online with the same losses
(AntMaze-medium-diverse 70 → 92 in the paper), with the ``antmaze-finetune`` preset (τ 0.9, β 10, r − 1, goal
terminal, the actor lr constant).

Offline: every seed trained as ONE vmapped program on a maze dataset (by default the stitching medium maze, whose
segments never join the evaluation start and goal). Online: ``iql finetune`` of that run, one environment per seed,
one update per collected step (the official loop). The table gives success and score at the last offline and the
last online evaluation (mean ± 95 % interval over seeds, and per seed), the score plot both phases with the boundary.

    python experiments/finetune.py                       # CPU default (256x256, 15k offline + 30k online, 5 seeds)
    python experiments/finetune.py --stop-at 5000        # stop the offline run early; --reuse continues it
    python experiments/finetune.py --full                # paper size (256x256, 1M + 1M, 5 seeds): GPU
"""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import common  # (importing it applies the init work-around before any training)
from iql_jax.config import FinetuneConfig
from iql_jax.runs.finetune_run import finetune_run, resume_finetune
from iql_jax.runs.logs import read_eval
from iql_jax.runs.plots import plot_scores
from iql_jax.runs.stats import mean_ci95, score_key

NAME = "finetune"
CPU = dict(data="1M", hidden=(256, 256), steps=15_000, seeds=5, eval_every=5_000, eval_episodes=20,
           online_steps=30_000, online_eval_every=5_000)
FULL = dict(data="1M", hidden=(256, 256), steps=1_000_000, seeds=5, eval_every=50_000, eval_episodes=100,
            online_steps=1_000_000, online_eval_every=50_000)


def judge(before: dict, after: dict) -> str:
    """The claim's reading: the means above, and whether the 95 % intervals over seeds are apart. When every seed
    already succeeds offline, success cannot rise, and the score (steps spent at the goal) carries the claim."""
    at_ceiling = min(before["success"]) >= 1.0
    keys = ("score",) if at_ceiling else ("success", "score")
    ceiling = "offline success is already 1.00 in every seed, so the score alone is judged; " if at_ceiling else ""
    claim = f"the fine-tuned {' and '.join(keys)} {'is' if at_ceiling else 'are'} above the offline"
    if not all(mean_ci95(after[k])[0] > mean_ci95(before[k])[0] for k in keys):
        return f"**does not show the claim**: {ceiling}{claim.replace(' above', ' not above')} in the mean"
    (b, bh), (a, ah) = mean_ci95(before[keys[0]]), mean_ci95(after[keys[0]])
    if a - ah > b + bh:
        return f"**agrees**: {ceiling}{claim}, and the {keys[0]} intervals are apart"
    return f"**same direction**: {ceiling}{claim} in the mean, but the {keys[0]} intervals overlap"


def online_phase(offline_dir: Path, size: dict, reuse: bool) -> tuple[Path, float]:
    """Fine-tune the offline run (continuing an unfinished fine-tuning run with ``reuse``); (run dir, wall s)."""
    run_dir = offline_dir.with_name(offline_dir.name + "-finetune")
    wall_file = run_dir.with_name(run_dir.name + ".experiment.json")
    saved = json.loads(wall_file.read_text()) if wall_file.is_file() else {"wall_s": 0.0, "finished": False}
    if reuse and saved["finished"] and (run_dir / "summary.json").is_file():
        print(f"[finetune] {run_dir.name}: reusing the finished run ({saved['wall_s']:.0f} s)", flush=True)
        return run_dir, saved["wall_s"]
    t0 = time.perf_counter()
    if reuse and (run_dir / "finetune.json").is_file():
        print(f"[finetune] {run_dir.name}: resuming", flush=True)
        resume_finetune(run_dir, progress=False)
        before = saved["wall_s"]
    else:
        if run_dir.exists():
            shutil.rmtree(run_dir)
        print(f"[finetune] {run_dir.name}: {size['online_steps']:,} online steps per seed", flush=True)
        every = size["online_eval_every"]
        finetune_run(offline_dir, FinetuneConfig(online_steps=size["online_steps"], eval_every=every,
                                                 checkpoint_every=every, eval_episodes=size["eval_episodes"]),
                     progress=False)
        before = 0.0
    wall = before + time.perf_counter() - t0
    wall_file.write_text(json.dumps({"wall_s": wall, "finished": True}))
    return run_dir, wall


def phase_rows(run_dir: Path, boundary: int) -> dict[str, dict[str, list[float]]]:
    """{"offline"|"online": {"success"|"score": per-seed values at that phase's last evaluation}}."""
    rows = read_eval(run_dir)
    key = score_key(rows)
    out = {}
    for phase, group in (("offline", [r for r in rows if r["step"] <= boundary]),
                         ("online", [r for r in rows if r["step"] > boundary])):
        last = max(r["step"] for r in group)
        final = sorted((r for r in group if r["step"] == last), key=lambda r: r["member"])
        out[phase] = {"step": last, "success": [r["success"] for r in final], "score": [r[key] for r in final]}
    return out


def main():
    p = common.parser(NAME, __doc__)
    p.add_argument("--dataset", default="pointmaze-medium-stitch",
                   help="built-in maze dataset (without the :size suffix); default %(default)s")
    p.add_argument("--online-steps", type=int, default=None, help="override the online steps per seed")
    args = p.parse_args()
    size = common.budget(args, CPU, FULL)
    if args.online_steps:
        size["online_steps"] = args.online_steps
        size["online_eval_every"] = min(size["online_eval_every"], args.online_steps)
    t0 = time.perf_counter()
    out = Path(args.out)
    dataset = f"{args.dataset}:{size['data']}"
    config = common.sized_config(dataset, "antmaze-finetune", size, out=out / "runs", name=args.dataset)
    offline, offline_wall, finished = common.run_sweep(config, None, reuse=args.reuse, stop_at=args.stop_at)
    if not finished:
        return common.stopped(args)
    # A fine-tuning run is reused only on top of the same, reused offline run: a retrained one starts it afresh.
    online_dir, online_wall = online_phase(offline.run_dir, size, args.reuse and common.reused([offline]))
    phases = phase_rows(online_dir, size["steps"])
    before, after = phases["offline"], phases["online"]
    lines = ["| phase | updates | success | score | per-seed success |", "|---|---:|---:|---:|---|"]
    for name, ph in phases.items():
        lines.append(f"| {name} | {ph['step']:,} | {common.fmt_ci(ph['success'], 2)} | "
                     f"{common.fmt_ci(ph['score'], 2)} | "
                     f"{' '.join(f'{x:.2f}' for x in ph['success'])} |")
    verdict = judge(before, after)
    figure = plot_scores([online_dir], out / f"{NAME}_{args.dataset}.png", boundaries=[size["steps"]])
    wall = time.perf_counter() - t0
    note = (f"{'paper size' if args.full else 'REDUCED for a 2-core CPU'}: {size['data']}-step dataset, hidden "
            f"{size['hidden']}, {size['steps']:,} offline updates then {size['online_steps']:,} online steps "
            f"(one update each), {size['seeds']} seeds in one vmapped program, evaluation every "
            f"{size['eval_every']:,} offline / {size['online_eval_every']:,} online steps with "
            f"{size['eval_episodes']} episodes per seed; otherwise the antmaze-finetune preset (τ 0.9, β 10, r − 1, "
            f"goal terminal, constant actor lr online)")
    recorded = offline_wall + online_wall if common.reused([offline]) else None
    text = (common.header(f"Fine-tuning: offline → online on {args.dataset}", common.command_line(), note, wall,
                          recorded)
            + "Success = fraction of evaluation episodes that reach the goal; score = the dataset's normalised score; "
              "mean ± Student-t 95 % interval over seeds at the last evaluation of each phase. Wall time: offline "
              f"{offline_wall / 60:.1f} min, online {online_wall / 60:.1f} min.\n\n"
            + "\n".join(lines) + "\n\n" + f"Against the claim: {verdict}.\n\n")
    common.finish(out, f"{NAME}_{args.dataset}", text, [online_dir], [figure], args.figures, wall)


if __name__ == "__main__":
    main()
