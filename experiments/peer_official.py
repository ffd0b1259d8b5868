"""Ours vs the official IQL code on the same generated data, for the same number of updates: learning curves.

The official code (``ikostrikov/implicit_q_learning``, a local checkout passed as ``--peer-official``; never a
dependency) is driven through its own ``Learner`` with the locomotion config (expectile 0.7, temperature 3, cosine
actor schedule over the run's updates, as ours). Its data pipeline imports ``d4rl``, which cannot be installed here,
so its preprocessing is applied as its code writes it: episode ends ``dones_float`` from observation continuity or
terminals; rewards × 1000 / (return of the best − of the worst trajectory); masks 1 − terminals; actions clipped to
±(1 − 1e-5); batches drawn uniformly with replacement (seeded here). Both are evaluated the same way: tanh-mean
actions, reset seeds ``seed·1000003 + step + episode``, the D4RL-normalised return on the gymnasium v5 env.

It also prints the two checks the locomotion issue asks for on this data: the reward scale each computes, and the
actor learning rate each applies along the run.

    python experiments/peer_official.py --dataset hopper-medium-expert --steps 20000 --seeds 2 \\
        --peer-official /path/to/implicit_q_learning --peer-site /path/with/tensorflow_probability
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import common  # noqa: E402
from official_peer import commit_of, load_learner  # noqa: E402

from iql_jax import agent  # noqa: E402
from iql_jax.data import load_dataset  # noqa: E402
from iql_jax.evaluation import evaluate, resolve_eval_env  # noqa: E402
from iql_jax.evaluation.scores import reference_scores  # noqa: E402
from iql_jax.runs.logs import read_eval  # noqa: E402
from iql_jax.runs.loop import eval_seed  # noqa: E402
from iql_jax.runs.rundir import RunRecord  # noqa: E402

NAME = "peer_official"


def official_preprocessing(t) -> dict:
    """The official ``D4RLDataset`` + ``normalize`` on our transitions: returns arrays and the reward scale."""
    obs, next_obs = np.asarray(t.observations), np.asarray(t.next_observations)
    terminals = np.asarray(t.terminals)
    dones = np.zeros(len(obs), np.float32)
    dones[:-1] = (np.linalg.norm(obs[1:] - next_obs[:-1], axis=1) > 1e-6) | (terminals[:-1] == 1.0)
    dones[-1] = 1.0
    ends = np.flatnonzero(dones) + 1
    returns = [float(seg.sum()) for seg in np.split(np.asarray(t.rewards, np.float64), ends[:-1])]
    scale = 1000.0 / (max(returns) - min(returns))
    return {"observations": obs, "actions": np.clip(np.asarray(t.actions), -1 + 1e-5, 1 - 1e-5),
            "rewards": np.asarray(t.rewards, np.float32) * np.float32(scale), "masks": 1.0 - terminals,
            "next_observations": next_obs, "scale": scale, "trajectories": len(returns)}


def train_official(learner_mod, common_mod, data: dict, seed: int, steps: int, every: int, spec, episodes: int,
                   refs) -> list[tuple[int, float]]:
    import flax
    import jax.numpy as jnp

    before = flax.config.flax_return_frozendict
    flax.config.update("flax_return_frozendict", True)  # its Model.create pops from a FrozenDict (flax ≥ 0.7)
    try:
        learner = learner_mod.Learner(seed, data["observations"][:1], data["actions"][:1], expectile=0.7,
                                      temperature=3.0, dropout_rate=None, max_steps=steps,
                                      opt_decay_schedule="cosine")
    finally:
        flax.config.update("flax_return_frozendict", before)
    rng = np.random.default_rng(seed)
    n, curve = len(data["rewards"]), []
    for step in range(1, steps + 1):
        i = rng.integers(0, n, 256)
        learner.update(common_mod.Batch(*(jnp.asarray(data[k][i]) for k in (
            "observations", "actions", "rewards", "masks", "next_observations"))))
        if step % every == 0:
            policy = lambda o: learner.sample_actions(o.reshape(-1, o.shape[-1]), temperature=0.0).reshape(
                o.shape[:-1] + (data["actions"].shape[-1],))
            result = evaluate(policy, spec, 1, episodes, seed=eval_seed(seed, step), ref_scores=refs)
            curve.append((step, float(result.normalized_score[0])))
            print(f"[official] seed {seed} step {step:,}: {curve[-1][1]:.1f}", flush=True)
    return curve


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--dataset", default="hopper-medium-expert")
    p.add_argument("--steps", type=int, default=20_000)
    p.add_argument("--seeds", type=int, default=2)
    p.add_argument("--eval-every", type=int, default=5_000)
    p.add_argument("--eval-episodes", type=int, default=5)
    p.add_argument("--peer-official", required=True, help="a checkout of ikostrikov/implicit_q_learning")
    p.add_argument("--peer-site", default=None, help="a folder holding tensorflow_probability (appended to sys.path)")
    p.add_argument("--out", default=str(common.DEFAULT_OUT / NAME))
    p.add_argument("--reuse", action="store_true", help="reuse our finished run under --out")
    args = p.parse_args()
    out = Path(args.out)
    t0 = time.perf_counter()
    dataset = load_dataset(args.dataset)
    spec, refs = resolve_eval_env(dataset.info), reference_scores(dataset.info)
    data = official_preprocessing(dataset.transitions)
    learner_mod, common_mod = _load_official(args.peer_official, args.peer_site)
    theirs = [train_official(learner_mod, common_mod, data, seed, args.steps, args.eval_every, spec,
                             args.eval_episodes, refs) for seed in range(args.seeds)]
    size = dict(hidden=(256, 256), steps=args.steps, seeds=args.seeds, eval_every=args.eval_every,
                eval_episodes=args.eval_episodes)
    config = common.sized_config(args.dataset, "locomotion", size, out=out / "runs", name=args.dataset)
    ours, _, _ = common.run_sweep(config, None, reuse=args.reuse)
    our_scale = RunRecord.read(ours.run_dir).reward_transform.scale
    rows = read_eval(ours.run_dir)
    steps = sorted({r["step"] for r in rows})
    lines = ["| updates | ours (mean ± 95 %) | official (mean ± 95 %) |", "|---:|---:|---:|"]
    for step in steps:
        mine = [r["normalized_score"] for r in rows if r["step"] == step]
        peer = [v for curve in theirs for s, v in curve if s == step]
        lines.append(f"| {step:,} | {common.fmt_ci(mine)} | {common.fmt_ci(peer) if peer else '–'} |")
    hyper = agent.Hyper.from_config(config.agent, args.steps)
    lr_ours = [float(agent.actor_lr(hyper, t)) for t in (0, args.steps // 2, args.steps)]
    import optax

    schedule = optax.cosine_decay_schedule(-config.agent.actor_lr, args.steps)
    lr_theirs = [-float(schedule(t)) for t in (0, args.steps // 2, args.steps)]
    plot = _plot(ours.run_dir, theirs, out / f"{NAME}_{args.dataset}.png")
    text = (common.header(f"Ours vs the official IQL on {args.dataset} (made here)", common.command_line(),
                          f"256x256, {args.steps:,} updates, {args.seeds} seeds each, evaluation every "
                          f"{args.eval_every:,} with {args.eval_episodes} episodes; official commit "
                          f"{commit_of(args.peer_official)[:7]}", time.perf_counter() - t0)
            + "\n".join(lines) + "\n\n"
            + f"Reward scale on this data: ours ×{our_scale:.6f}, official ×{data['scale']:.6f} "
              f"({data['trajectories']} trajectories by its continuity test).  \n"
            + "Actor lr at 0 / half / end of the run: ours " + " / ".join(f"{v:.2e}" for v in lr_ours)
            + "; official " + " / ".join(f"{v:.2e}" for v in lr_theirs) + ".\n\n"
            + f"![{plot.stem}]({plot.name})\n")
    common.write_markdown(out, NAME, text)


def _load_official(directory, site):
    """The official ``learner`` and ``common``: its ``common`` shares a name with ours, so ours steps aside while its
    modules import (they bind what they need at import time) and comes back after."""
    ours = sys.modules.pop("common")
    try:
        return load_learner(directory, site)
    finally:
        sys.modules["official_common"] = sys.modules.pop("common", None)
        sys.modules["common"] = ours


def _plot(run_dir, theirs, path) -> Path:
    """Mean score against updates: our run's members and the official seeds."""
    import matplotlib.pyplot as plt

    rows = read_eval(run_dir)
    steps = sorted({r["step"] for r in rows})
    mine = np.array([[r["normalized_score"] for r in rows if r["step"] == s] for s in steps])
    peer = np.array([[v for _, v in curve] for curve in theirs])
    fig, ax = plt.subplots(figsize=(7, 4.2))
    ax.plot(steps, mine.mean(1), marker="o", label=f"iql-jax (n={mine.shape[1]})")
    ax.plot([s for s, _ in theirs[0]], peer.mean(0), marker="s", label=f"official (n={peer.shape[0]})")
    ax.set_xlabel("updates")
    ax.set_ylabel("D4RL-normalised score")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return Path(path)


if __name__ == "__main__":
    main()
