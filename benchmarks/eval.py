"""Evaluation throughput next to the bare simulator's, to show what ``evaluate`` costs on top of stepping.

For each environment and member count, ``evaluate`` runs ``members × episodes`` episodes with a jitted linear
policy (one call per step for the whole batch). Two plain-loop baselines then build the same number of plain
``gym.make`` environments, reset them with the same seeds and replay the very actions ``evaluate`` took, each
environment for exactly its episode's length: the same trajectories and the same number of steps, with no policy,
no vector env and no observation flattening.

* **batched**: per step, one pass over the environments still running (the order ``evaluate`` must use, since
  one policy call needs every observation). ``eval / batched`` is what the evaluation code itself adds.
* **sequential**: one environment after another, each for its whole episode. Stepping many MuJoCo models in turn
  evicts each one's data from the CPU cache, so this is the simulator's best case; ``eval / sequential`` adds that
  cost of batching. Evaluating sequentially would instead cost one policy call per environment step.

Building the environments is timed apart ("build ms/env"): MuJoCo compiles every model, which for mazes costs more
than the episodes themselves, and a training loop builds once (``make_eval_envs``) and reuses the batch. The steps/s
columns time reset + stepping on built environments: "eval" with the jitted policy, "eval(np)" with the same
policy in NumPy. Overheads: ``e/bat`` = eval / batched (the target: ≤ 1.2), ``np/bat`` = the same without JAX's
per-call dispatch (which costs 60-100 µs when the instruction cache has just run the simulator, against ~15 µs in
a tight loop), ``e/seq`` = eval / sequential, "total" = ``e/seq`` with building included on both sides.
Step timings are taken on environments that have already run once, as a training loop reusing its batch sees
them; the first pass (gymnasium's env checker, first-touch page faults) is untimed on both sides. Times are
process CPU time (on a shared 2-core machine wall time mostly measures the neighbours), best of ``--repeats``
interleaved runs; on a busy machine expect ±15% between runs.

Run: ``python benchmarks/eval.py [--episodes 10] [--repeats 5]``. Prints figures only.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("JAX_PLATFORMS", "cpu")

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np

from iql_jax.evaluation import evaluate, make_eval_envs, resolve_eval_env


def linear_policies(members: int, obs_dim: int, act_dim: int, seed: int = 0):
    """A cheap deterministic policy per member, tanh(obs @ W_m): jitted (like the agent's vmapped policy mean) and
    the same in NumPy, which shows evaluate's own cost without JAX's per-call dispatch."""
    weights = jax.random.normal(jax.random.PRNGKey(seed), (members, obs_dim, act_dim)) * 0.1
    weights_np = np.asarray(weights)

    @jax.jit
    def act(obs):  # (members, episodes, obs_dim) -> (members, episodes, act_dim)
        return jnp.tanh(jnp.einsum("med,mda->mea", obs, weights))

    return act, lambda obs: np.tanh(np.einsum("med,mda->mea", obs, weights_np))


def recording(policy, log: list):
    """Wrap a policy so the actions it returns are kept for the baselines' replay (outside the timed runs)."""

    def act(obs):
        actions = np.asarray(policy(obs))
        log.append(actions.reshape(-1, actions.shape[-1]))
        return actions

    return act


def build_raw(spec, count: int) -> list[gym.Env]:
    return [gym.make(spec.env_id, max_episode_steps=spec.max_episode_steps, **spec.kwargs) for _ in range(count)]


def sequential(envs, seeds, actions, lengths) -> None:
    """Each environment for its whole episode, then the next."""
    for i, (env, seed, length) in enumerate(zip(envs, seeds, lengths)):
        env.reset(seed=seed)
        for t in range(length):
            env.step(actions[t][i])


def batched(envs, seeds, actions, live_per_step) -> None:
    """Per step, every environment whose episode is still running, in index order."""
    for env, seed in zip(envs, seeds):
        env.reset(seed=seed)
    for step_actions, live in zip(actions, live_per_step):
        for i in live:
            envs[i].step(step_actions[i])


def timed(fn, *args):
    start = time.process_time()
    out = fn(*args)
    return time.process_time() - start, out


def bench(env_id: str, members: int, episodes: int, repeats: int) -> None:
    spec = resolve_eval_env(env_id=env_id)
    probe = spec.make()
    n, obs_dim, space = members * episodes, probe.observation_space.shape[0], probe.action_space
    policy, policy_np = linear_policies(members, obs_dim, space.shape[0])
    policy(np.zeros((members, episodes, obs_dim), np.float32)).block_until_ready()  # compile outside the timing

    log: list[np.ndarray] = []
    result = evaluate(recording(policy, log), spec, members, episodes, seed=0)  # untimed: records the actions
    actions = [np.clip(a, space.low, space.high).astype(space.dtype) for a in log]  # as evaluate sends them
    lengths = result.episode_lengths.reshape(-1)
    live_per_step = [[i for i in range(n) if lengths[i] > t] for t in range(int(lengths.max()))]
    seeds = [e for _ in range(members) for e in range(episodes)]
    steps = int(lengths.sum())

    keys = ("eval_build", "eval", "eval_np", "raw_build", "batched", "sequential")
    times: dict[str, list[float]] = {k: [] for k in keys}
    for _ in range(repeats):  # interleaved, so machine noise hits every variant alike
        build_s, envs = timed(make_eval_envs, spec, n)
        times["eval_build"].append(build_s)
        evaluate(policy_np, spec, members, episodes, 0, envs=envs)  # first steps pay the env checker, page faults
        times["eval"].append(timed(evaluate, policy, spec, members, episodes, 0, None, envs)[0])
        times["eval_np"].append(timed(evaluate, policy_np, spec, members, episodes, 0, None, envs)[0])
        envs.close()
        build_s, raw = timed(build_raw, spec, n)
        times["raw_build"].append(build_s)
        sequential(raw, seeds, actions, lengths)  # the same untimed first pass
        times["batched"].append(timed(batched, raw, seeds, actions, live_per_step)[0])
        times["sequential"].append(timed(sequential, raw, seeds, actions, lengths)[0])
    t = {k: min(v) for k, v in times.items()}
    total = (t["eval_build"] + t["eval"]) / (t["raw_build"] + t["sequential"])
    rates = " ".join(f"{steps / t[k]:8,.0f}" for k in ("eval", "eval_np", "batched", "sequential"))
    ratios = " ".join(f"{t[a] / t[b]:7.3f}" for a, b in (("eval", "batched"), ("eval_np", "batched"),
                                                           ("eval", "sequential")))
    print(f"{env_id:19s} {members:3d} {n:4d} {steps:6d} {1e3 * t['eval_build'] / n:6.1f} "
          f"{1e3 * t['raw_build'] / n:6.1f} {rates} {ratios} {total:6.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=10, help="episodes per member")
    parser.add_argument("--repeats", type=int, default=5, help="timed repetitions; the best is reported")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")  # gymnasium-robotics' Adroit notice and similar noise
    print(f"jax {jax.__version__} on {jax.devices()[0].platform}, gymnasium {gym.__version__}, "
          f"{args.episodes} episodes per member, best of {args.repeats} (process CPU time)")
    print(f"{'':19s} {'':3s} {'':4s} {'':6s} {'build ms/env':>13s} {'reset + step, steps/s':>35s} "
          f"{'overhead':>23s}")
    print(f"{'env':19s} {'mem':>3s} {'envs':>4s} {'steps':>6s} {'eval':>6s} {'raw':>6s} {'eval':>8s} "
          f"{'eval(np)':>8s} {'batched':>8s} {'sequent.':>8s} {'e/bat':>7s} {'np/bat':>7s} {'e/seq':>7s} "
          f"{'total':>6s}")
    for env_id in ("Hopper-v5", "PointMaze_UMaze-v3"):
        for members in (1, 8):
            bench(env_id, members, args.episodes, args.repeats)


if __name__ == "__main__":
    main()
