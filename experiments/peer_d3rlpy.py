"""Side by side with a peer implementation: d3rlpy 2.8.1's IQL and ours on the same data, hyperparameters and
evaluation, measured in one run on the same machine.

Data: the built-in `pointmaze-umaze` transitions after the antmaze preset's transform (r - 1, actions clipped), the
very arrays our trainer uses, handed to d3rlpy as an MDPDataset whose episodes end at our terminals (goal reached,
no bootstrap) and timeouts (trajectory ends, bootstrap); each timed-out trajectory gets its final next-observation
as an extra row, so d3rlpy samples exactly our transitions. Hyperparameters matched: expectile 0.9, weight_temp =
beta 10, max_weight 100, batch 256, learning rates 3e-4 with a cosine actor schedule over the run, tau 0.005,
gamma 0.99, two critics, the same hidden sizes and number of updates. Known differences that stay (d3rlpy's design,
shared/reference/implementations.md section 3.3): one Adam for Q and V together, initial policy log-std -1.5.

Both policies are scored by our evaluator on the same evaluation env with the same episode seeds. Timing: wall time
per 100k updates of d3rlpy's `fit` and of our engine (1 seed), at the experiment's size and at the paper's 256x256.

d3rlpy is optional (never a core dependency): install it with
    pip install -e '.[bench]' && pip install --no-deps d3rlpy==2.8.1
(d3rlpy 2.8.1 pins gymnasium==1.0.0, which conflicts with ours; it runs fine on gymnasium 1.4).

    python experiments/peer_d3rlpy.py          # reduced: hidden 64x64, 20k updates, 50 evaluation episodes
    python experiments/peer_d3rlpy.py --full   # paper size: hidden 256x256, 1M updates, 100 episodes (GPU)
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import numpy as np

import common  # noqa: F401  (applies the init work-around before any training)
from iql_jax.evaluation import evaluate
from iql_jax.runs.prepare import prepare

NAME = "peer_d3rlpy"
DATASET = "pointmaze-umaze:200k"
REDUCED = dict(hidden=(64, 64), steps=20_000, eval_episodes=50, timing_steps=2_000)
FULL = dict(hidden=(256, 256), steps=1_000_000, eval_episodes=100, timing_steps=20_000)


def import_d3rlpy():
    try:
        import d3rlpy
    except ImportError:
        raise SystemExit("experiments/peer_d3rlpy.py needs d3rlpy (optional): pip install -e '.[bench]' && "
                         "pip install --no-deps d3rlpy==2.8.1") from None
    return d3rlpy


def to_mdp_dataset(d3rlpy, t):
    """Our transitions as a d3rlpy MDPDataset with the same (s, a, r, s', terminal) rows."""
    obs, next_obs = np.asarray(t.observations), np.asarray(t.next_observations)
    terminals, ends = np.asarray(t.terminals) > 0, np.asarray(t.episode_ends) > 0
    n = len(obs)
    ends[-1] = True
    split = terminals | ends  # d3rlpy ends an episode at every terminal or timeout
    inner = ~split[:-1]
    if not np.array_equal(obs[1:][inner], next_obs[:-1][inner]):
        raise SystemExit("transitions are not contiguous inside trajectories; cannot build episodes")
    extra = np.flatnonzero(split & ~terminals)  # timed-out ends: append s' as an extra, never-sampled row
    src = np.insert(np.arange(n), extra + 1, extra)  # the source row of every output row
    is_extra = np.insert(np.zeros(n, bool), extra + 1, True)
    observations = np.where(is_extra[:, None], next_obs[src], obs[src]).astype(np.float32)
    actions = np.where(is_extra[:, None], 0.0, np.asarray(t.actions)[src]).astype(np.float32)
    rewards = np.where(is_extra, 0.0, np.asarray(t.rewards)[src]).astype(np.float32)
    term = np.where(is_extra, False, terminals[src]).astype(np.float32)
    timeouts = is_extra.astype(np.float32)
    dataset = d3rlpy.dataset.MDPDataset(observations, actions, rewards[:, None], term, timeouts,
                                        action_space=d3rlpy.ActionSpace.CONTINUOUS)
    if dataset.transition_count != n:
        raise SystemExit(f"d3rlpy sees {dataset.transition_count} transitions, we have {n}")
    return dataset


def d3rlpy_iql(d3rlpy, agent, steps: int):
    encoder = d3rlpy.models.VectorEncoderFactory(hidden_units=list(agent.hidden_dims))
    schedule = d3rlpy.optimizers.AdamFactory(
        lr_scheduler_factory=d3rlpy.optimizers.CosineAnnealingLRFactory(T_max=steps))
    config = d3rlpy.algos.IQLConfig(
        actor_learning_rate=agent.actor_lr, critic_learning_rate=agent.critic_lr, actor_optim_factory=schedule,
        actor_encoder_factory=encoder, critic_encoder_factory=encoder, value_encoder_factory=encoder,
        batch_size=agent.batch_size, gamma=agent.discount, tau=agent.polyak, n_critics=agent.num_critics,
        expectile=agent.expectile, weight_temp=agent.beta, max_weight=agent.max_exp_adv)
    return config.create(device="cuda:0" if _cuda() else "cpu:0")


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def fit_d3rlpy(d3rlpy, dataset, agent, steps: int, seed: int = 0):
    d3rlpy.seed(seed)
    algo = d3rlpy_iql(d3rlpy, agent, steps)
    t0 = time.perf_counter()
    algo.fit(dataset, n_steps=steps, n_steps_per_epoch=steps, show_progress=False,
             logger_adapter=d3rlpy.logging.NoopAdapterFactory(), experiment_name=NAME, with_timestamp=False)
    return algo, time.perf_counter() - t0


def main():
    args = common.parser(NAME, __doc__).parse_args()
    if args.reuse:
        raise SystemExit("--reuse does not apply here: both implementations must be timed in the same run")
    d3rlpy = import_d3rlpy()
    size = dict(FULL if args.full else REDUCED)
    size.update({k: v for k, v in common.overrides(args).items() if k in ("steps", "hidden")})
    t0 = time.perf_counter()
    out = Path(args.out)
    steps, episodes = size["steps"], size["eval_episodes"]
    config = common.make_config(DATASET, "antmaze", steps=steps, seeds=1, hidden=size["hidden"], eval_every=0,
                                eval_episodes=episodes, out=out / "runs", name="iql-jax")
    prepared = prepare(config, progress=False)
    dataset = to_mdp_dataset(d3rlpy, prepared.transitions)

    # 1. ours: the library's trainer, 1 seed, evaluated once at the end
    ours, ours_wall, _ = common.run_sweep(config, None, reuse=False)
    ours_rate = common.engine_updates_per_s(ours.run_dir)
    ours_eval = common.setting_scores(ours.run_dir)[""]

    # 2. d3rlpy on the same arrays, scored by our evaluator with our evaluation seed for this step
    print(f"[d3rlpy] IQL, hidden {size['hidden']}, {steps:,} updates", flush=True)
    algo, d3_wall = fit_d3rlpy(d3rlpy, dataset, config.agent, steps)
    print(f"[d3rlpy] done in {d3_wall:.0f} s", flush=True)
    obs_dim, act_dim = prepared.transitions.obs_dim, prepared.transitions.act_dim
    policy = lambda o: algo.predict(o.reshape(-1, obs_dim).astype(np.float32)).reshape(1, episodes, act_dim)
    d3_eval = evaluate(policy, prepared.eval_spec, 1, episodes, seed=config.run.seed * 1_000_003 + steps,
                       ref_scores=prepared.ref_scores)

    # 3. timing at the paper's network size, a short run of each (no evaluation)
    big = dataclasses.replace(config.agent, hidden_dims=(256, 256))
    tsteps = size["timing_steps"]
    timing_config = dataclasses.replace(config, agent=big, run=dataclasses.replace(
        config.run, steps=tsteps, eval_episodes=0, checkpoint_every=tsteps, keep_checkpoints=1, name="iql-jax-256"))
    ours_big, ours_big_wall, _ = common.run_sweep(timing_config, None, reuse=False)
    ours_big_rate = common.engine_updates_per_s(ours_big.run_dir)
    _, d3_big_wall = fit_d3rlpy(d3rlpy, dataset, big, tsteps)

    per100k = lambda seconds, n: seconds * 100_000 / n / 60
    wall = time.perf_counter() - t0
    device = "GPU" if _cuda() else "CPU"
    table = [
        "| implementation | hidden | updates | normalised score (1 seed) | success | wall per 100k updates "
        "(min) | of which: pure update rate |", "|---|---|---:|---:|---:|---:|---:|",
        f"| iql-jax (this library) | {size['hidden']} | {steps:,} | {ours_eval['last'][0]:.1f} | "
        f"{ours_eval['success_last'][0]:.2f} | {per100k(ours_wall, steps):.1f} (whole `train`: data, compile, "
        f"evaluation) | {ours_rate:,.0f} updates/s = {per100k(100_000 / ours_rate, 100_000):.1f} min |",
        f"| d3rlpy 2.8.1 ({device}) | {size['hidden']} | {steps:,} | {float(d3_eval.normalized_score[0]):.1f} | "
        f"{float(d3_eval.success_rate[0]):.2f} | {per100k(d3_wall, steps):.1f} (`fit` only) | "
        f"{steps / d3_wall:,.0f} updates/s |",
        f"| iql-jax (this library) | (256, 256) | {tsteps:,} | – | – | {per100k(ours_big_wall, tsteps):.1f} "
        f"(whole `train`) | {ours_big_rate:,.0f} updates/s = {per100k(100_000 / ours_big_rate, 100_000):.1f} min |",
        f"| d3rlpy 2.8.1 ({device}) | (256, 256) | {tsteps:,} | – | – | {per100k(d3_big_wall, tsteps):.1f} "
        f"(`fit` only) | {tsteps / d3_big_wall:,.0f} updates/s |",
    ]
    note = (f"{'paper size' if args.full else 'REDUCED for a 2-core CPU'}: `{DATASET}`, 1 seed each, hidden "
            f"{size['hidden']}, {steps:,} updates, {episodes} evaluation episodes (same env, same episode seeds); "
            f"timing rows at 256x256 use {tsteps:,} updates; antmaze preset hyperparameters for both")
    text = (common.header("Peer side by side: d3rlpy 2.8.1 IQL vs iql-jax", common.command_line(), note, wall)
            + f"Same {prepared.transitions.size:,} transitions (r − 1, goal terminal) for both; d3rlpy sees "
              f"{dataset.transition_count:,} transitions in {len(dataset.episodes):,} episodes. Scores are one "
              f"seed each, so they say only that both learn; the timing is the comparison. Our pure update rate "
              f"leaves out the first compiled chunk (compilation); d3rlpy's `fit` time is its whole loop "
              f"(Python-side batch sampling included), without evaluation.\n\n"
            + "\n".join(table) + "\n")
    common.write_markdown(out, NAME, text)
    print(f"[wall] {wall:.0f} s")


if __name__ == "__main__":
    main()
