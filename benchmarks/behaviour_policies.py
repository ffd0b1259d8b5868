"""The shipped behaviour policies, checked: evaluated returns now against the returns their training recorded, and
the directional ant's walking (speed along its direction; following random waypoints in the open arena).

1. For every shipped key and policy (medium, expert): ``--episodes`` episodes of tanh(μ) and of sampled actions,
   reset seeds 0, 1, ...; prints the mean return and D4RL-normalised score beside the recorded ones (the trainer's
   evaluation used other reset seeds, so they agree within the episodes' spread, not exactly).
2. The directional ant (``antdir``): mean velocity along z over ``--episodes`` 1000-step episodes (z re-drawn every
   100 steps), and how often it reaches a sequence of random waypoints 4–8 m apart in the open arena, steering by
   the unit direction to the current waypoint (a waypoint counts as reached within 0.5 m, within 300 steps), fed
   raw and through ``steer`` (the world turned so every direction is the one the policy walks best).

Run: ``python benchmarks/behaviour_policies.py [--episodes 10] [--keys hopper halfcheetah ...]``. Prints figures.
"""

from __future__ import annotations

import argparse
import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np

from iql_jax.behaviour.directional import DirectionalAnt, steer
from iql_jax.behaviour.policy import to_bounds
from iql_jax.behaviour.shipped import RECIPES, load_shipped, shipped_dir, shipped_record
from iql_jax.evaluation import EvalEnvSpec
from iql_jax.evaluation.scores import normalized_score
from iql_jax.tasks import find_task


def episode_return(env, policy, seed: int, rng: np.random.Generator | None) -> float:
    obs, _ = env.reset(seed=seed)
    total, space = 0.0, env.action_space
    while True:
        noise = None if rng is None else rng.standard_normal(policy.act_dim)
        obs, reward, terminated, truncated, _ = env.step(to_bounds(policy.act(obs, noise), space.low, space.high))
        total += float(reward)
        if terminated or truncated:
            return total


def check_returns(key: str, episodes: int) -> None:
    record = shipped_record(key)
    env = EvalEnvSpec(record["env_id"]).make()
    task = find_task(record["env_id"])
    refs = task.ref_scores if task is not None and task.domain == "locomotion" else None
    for name in ("medium", "expert"):
        if name not in record["policies"]:
            continue
        policy = load_shipped(key, name)
        for mode, rng in (("deterministic", None), ("stochastic", np.random.default_rng(0))):
            returns = [episode_return(env, policy, e, rng) for e in range(episodes)]
            recorded = record["policies"][name]["returns"][mode]
            line = (f"{key:<12} {name:<7} {mode:<13} return {np.mean(returns):8.1f} ± {np.std(returns):6.1f}"
                    f"  (recorded {recorded:8.1f})")
            if refs:
                line += (f"  score {normalized_score(np.mean(returns), *refs):5.1f}"
                         f" (recorded {record['policies'][name]['scores'][mode]:5.1f})")
            print(line, flush=True)
    env.close()


def directional_ant(episodes: int) -> None:
    policy = load_shipped("antdir", "expert")
    env = DirectionalAnt()
    speeds = []
    for e in range(episodes):
        obs, _ = env.reset(seed=e)
        for _ in range(1000):
            obs, _, terminated, _, info = env.step(policy.act(obs))
            speeds.append(info["velocity_along"])
            if terminated:
                break
    print(f"antdir       speed along z: {np.mean(speeds):.2f} m/s (mean over {len(speeds):,} steps, "
          f"{episodes} episodes)", flush=True)
    for steered in (False, True):
        reached, tried = follow_waypoints(policy, env, episodes, steered)
        how = "through steer()" if steered else "raw direction  "
        print(f"antdir       waypoints reached {how}: {reached}/{tried} ({reached / max(tried, 1):.0%}; 4-8 m "
              "apart, within 300 steps, 0.5 m radius)", flush=True)


def follow_waypoints(policy, env, episodes: int, steered: bool) -> tuple[int, int]:
    """Random waypoints 4-8 m apart in the open arena, the policy fed the unit direction to the current one."""
    rng = np.random.default_rng(1)
    reached = tried = 0
    for e in range(episodes):
        env.reset(seed=100 + e)
        ant = env.unwrapped  # the bare Ant-v4: its own 27-dim observation, and we choose the direction
        ant_obs, terminated = ant._get_obs(), False
        for _ in range(5):
            angle, dist = rng.uniform(0, 2 * np.pi), rng.uniform(4.0, 8.0)
            target = ant.data.qpos[:2] + dist * np.array([np.cos(angle), np.sin(angle)])
            tried += 1
            for _ in range(300):
                d = target - ant.data.qpos[:2]
                if np.linalg.norm(d) <= 0.5:
                    reached += 1
                    break
                z = d / np.linalg.norm(d)
                action = steer(policy, ant_obs, z) if steered else policy.act(np.concatenate([ant_obs, z]))
                ant_obs, _, terminated, _, _ = ant.step(action)
                if terminated:
                    break
            if terminated:
                break
    return reached, tried


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--keys", nargs="+", default=[k for k in RECIPES if (shipped_dir(k) / "record.json").is_file()])
    args = p.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} (this benchmark times nothing; it checks returns)")
    for key in args.keys:
        if key == "antdir":
            directional_ant(args.episodes)
        else:
            check_returns(key, args.episodes)


if __name__ == "__main__":
    main()
