"""The commands that read run directories: ``iql eval``, ``plot``, ``report``, ``export`` and ``presets``. Each parses
its options with tyro from the function signature (the docstring is ``--help``) and calls the library."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import tyro

from iql_jax.config import PRESETS
from iql_jax.domains import MAX_EPISODES, MAX_SEED, check_count
from iql_jax.errors import IQLError


def eval_command(run_dir: tyro.conf.Positional[str], episodes: int | None = None, checkpoint: str | None = None,
                 seed: int = 12345, env: str | None = None, video: bool = False,
                 video_steps: int | None = None) -> int:
    """Evaluate a run's checkpoint (every member) and print a table; with --video, write one video per member.

    Args:
        run_dir: the run directory.
        episodes: episodes per member (default 10; with --video, 1).
        checkpoint: a checkpoint file; the newest one by default.
        seed: seed of the evaluation resets.
        env: evaluate in this registered environment instead of the run's (same observation layout), e.g. a
            maze's registered id, whose goal is drawn at random on every reset. The score is normalised only
            where the run's reference scores were measured; elsewhere it is return and success.
        video: render the episodes offscreen (MuJoCo, EGL or OSMesa) into RUN_DIR/videos/member-<i>.mp4 (GIF
            without the `video` extra) instead of evaluating.
        video_steps: with --video, cut each episode after this many steps.
    """
    check_count("--episodes", episodes, 1, MAX_EPISODES)
    check_count("--seed", seed, 0, MAX_SEED)
    if video:
        return _video(run_dir, 1 if episodes is None else episodes, checkpoint, seed, env, video_steps)
    if video_steps is not None:
        raise IQLError("--video-steps: applies only with --video")
    episodes = 10 if episodes is None else episodes
    from iql_jax.runs import evaluate_run

    measured = evaluate_run(run_dir, episodes, checkpoint, seed, env)
    result, members, step = measured.result, measured.members, measured.step
    print(f"{Path(run_dir).name} at step {step:,} on {measured.env_id}, {episodes} episodes per member")
    if measured.no_score:
        print(measured.no_score)
    elif measured.reference_env:
        print(f"score: D4RL-normalised with reference scores measured on {measured.reference_env}")
    print(f"{'member':<28}{'return':>10}{'score':>10}{'success':>10}")
    for m in members:
        score = "-" if result.normalized_score is None else f"{result.normalized_score[m.index]:.1f}"
        success = "-" if result.success_rate is None else f"{result.success_rate[m.index]:.2f}"
        print(f"{m.label:<28}{result.mean_return[m.index]:>10.1f}{score:>10}{success:>10}")
    agg = result.aggregate()
    print(f"{'mean ± std':<28}{agg['return_mean']:>10.1f}" + (
        f"{agg['score_mean']:>7.1f}±{agg['score_std']:.1f}" if "score_mean" in agg else ""))
    from iql_jax.runs.stats import scale_words

    print(f"the checkpoint at step {step:,} ({'given' if checkpoint else 'the newest, not the best'}); score: "
          + ("-" if result.normalized_score is None else scale_words("normalized_score"))
          + ("; success: fraction of episodes that reach the goal, 0-1" if result.success_rate is not None else ""))
    return 0


def _video(run_dir, episodes, checkpoint, seed, env, max_steps) -> int:
    from iql_jax.runs.video import record_videos

    videos = record_videos(run_dir, episodes, checkpoint, seed, env, max_steps=max_steps)
    for v in videos:
        returns = ", ".join(f"{r:.1f}" for r in v.returns)
        print(f"{v.label:<28} {v.frames:>5} frames  return {returns:<12} {v.path}")
    return 0


def plot_command(run_dirs: tyro.conf.Positional[tuple[str, ...]], out: str | None = None, values: bool = False,
                 by: Literal["member", "setting"] = "member", profile: bool = False,
                 select: Literal["last", "best"] = "last") -> int:
    """Plot normalised score vs updates for one or more runs (mean and 95 % band over seeds), or, with --values,
    the learned V(s) over a PointMaze run's free cells at zero velocity (walls, goal and starts drawn).

    Args:
        run_dirs: run directories to overlay (with --values: one figure per run).
        out: the PNG to write (default score.png; with --values RUN_DIR/values.png, one run only).
        values: draw value maps from each run's newest checkpoint instead of score curves.
        by: with --values, one panel per member, or per hyperparameter setting (V averaged over its seeds).
        profile: draw performance profiles (rliable; fraction of seed x dataset scores above each tau, 95 %
            bootstrap bands) per method (preset and setting) instead; an iql sweep directory counts as its jobs.
        select: with --profile, each seed's last evaluation (default) or its best (optimistic).
    """
    _check_out(out)
    if profile or not run_dirs and not values:
        _require_some(run_dirs)
    if profile:
        from iql_jax.runs.aggregate import plot_profiles, score_matrices

        print(plot_profiles(score_matrices(run_dirs, select), out or "profile.png"))
        return 0
    if values:
        from iql_jax.runs.value_maps import plot_value_maps

        if not run_dirs:
            raise IQLError("--values: expected at least one run directory")
        if out is not None and len(run_dirs) > 1:
            raise IQLError("--out: one file for one run; leave it out to write RUN_DIR/values.png for each run")
        for run_dir in run_dirs:
            print(plot_value_maps(run_dir, out, by))
        return 0
    from iql_jax.runs.plots import plot_scores

    require_runs(run_dirs)
    print(plot_scores(run_dirs, out or "score.png"))
    return 0


def report_command(run_dirs: tyro.conf.Positional[tuple[str, ...]], out: str = "report.md", aggregate: bool = False,
                   select: Literal["last", "best"] = "last", reps: int = 2000,
                   compare: tuple[str, str] | None = None) -> int:
    """Write a Markdown (and CSV) table of last and best scores across runs, as the paper's Table 1; with
    --aggregate, print IQM, mean, median and optimality gap per method with stratified-bootstrap intervals.

    Args:
        run_dirs: run directories, one row each (and one per hyperparameter setting); with --aggregate, an iql
            sweep directory counts as all its finished jobs.
        out: the Markdown file; the CSV goes beside it (with --aggregate, the Markdown only).
        aggregate: rliable aggregates over seeds x datasets, one row per method (preset and sweep setting).
        select: with --aggregate, each seed's last evaluation (default) or its best (optimistic).
        reps: with --aggregate, bootstrap resamples.
        compare: with --aggregate, two methods X Y (names from the table, or a part found in one name, e.g.
            expectile=0.9 expectile=0.5): the probability of improvement P(X > Y) with its interval. Given two
            methods only, they are compared without it.
    """
    _check_out(out)
    _require_some(run_dirs)
    if aggregate:
        from iql_jax.runs.aggregate import aggregate as compute
        from iql_jax.runs.aggregate import improvement, method_pairs, render_aggregate, render_improvement, score_matrices
        from iql_jax.runs.files import write_atomic

        matrices = score_matrices(run_dirs, select)
        pairs = method_pairs(matrices, compare)
        text = render_aggregate(matrices, *compute(matrices, reps))
        text += render_improvement(matrices, improvement(matrices, pairs, reps))
        print(text, end="")
        print(f"written: {write_atomic(out, text)}")
        return 0
    if compare:
        raise IQLError("--compare: only with --aggregate (it compares methods over seeds x datasets)")
    from iql_jax.runs.report import write_report

    require_runs(run_dirs)
    md, csv_path = write_report(run_dirs, out)
    print(Path(md).read_text(), end="")
    print(f"written: {md}, {csv_path}")
    return 0


def export_command(run_dir: tyro.conf.Positional[str], member: int = 0,
                   format: Literal["onnx", "stablehlo"] = "onnx", out: str | None = None,
                   checkpoint: str | None = None) -> int:
    """Export one member's deterministic policy (normalisation included) as ONNX or StableHLO, with a sidecar JSON.

    The model takes the flat observation vector `iql eval` feeds, `observations` (batch, obs_dim) float32, and
    returns `actions` (batch, act_dim) in [-1, 1]. ONNX needs the `export` extra; StableHLO needs only jax.

    Args:
        run_dir: the run directory.
        member: population member index (seed-major, as `iql eval` lists them).
        format: onnx (run with onnxruntime, no JAX) or stablehlo (jax.export, reload with jax alone).
        out: the model file (default: RUN_DIR/export/policy-m<member>.<format>); the sidecar is <out>.json.
        checkpoint: a checkpoint file; the newest one by default.
    """
    from iql_jax.export import export_policy

    _check_out(out)
    result = export_policy(run_dir, member, format, out, checkpoint)
    meta = result.metadata
    print(f"{format} policy of member {meta['member']['label']} at step {meta['step']:,}: {result.path}")
    print(f"observations ({meta['obs_dim']},) -> actions ({meta['act_dim']},) in [-1, 1]; sidecar: {result.sidecar}")
    return 0


def presets_command() -> int:
    """List the hyperparameter presets and what they reproduce."""
    for p in PRESETS.values():
        a = p.agent
        print(f"{p.name:<18} expectile {a.expectile:<4} beta {a.beta:<5} dropout {a.actor_dropout:<4} "
              f"actor lr {a.actor_lr_schedule:<8} reward {p.reward_transform:<10} eval episodes {p.eval_episodes:<4}"
              f" ({p.source})")
    return 0


def require_runs(run_dirs) -> None:
    """At least one run directory, each with its evaluations (an empty table or figure would say nothing)."""
    from iql_jax.runs.rundir import EVAL_FILE

    _require_some(run_dirs)
    missing = [d for d in run_dirs if not (Path(d) / EVAL_FILE).is_file()]
    if missing:
        raise IQLError(f"{', '.join(missing)}: not a run directory with evaluations (no {EVAL_FILE})")


def _check_out(out: str | None) -> None:
    """An --out given explicitly names a file: an empty one is refused, not taken as the default."""
    if out is not None and not out.strip():
        raise IQLError("--out: expected a file, found an empty string")


def _require_some(run_dirs) -> None:
    if not run_dirs:
        raise IQLError("RUN_DIR...: expected at least one run directory, found none")
