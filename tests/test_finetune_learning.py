"""Fine-tuning learns what the offline data could not show (asserted outcome over several vmapped seeds).

GoRight: reward x′ per step, 20-step episodes from x ≈ 0; the best return is about 18 (reach x = 1 in five steps and
stay). The offline data never moves right (x and actions in [−1, 0]), so offline IQL, which stays within the data's
actions, cannot learn to go right: its policy returns well below 0. Online, exploration at temperature 1 samples
positive actions, their transitions enter the buffer, and the same update learns to go right.
"""

import gymnasium as gym
import numpy as np

from iql_jax import engine
from iql_jax.data import RewardTransform
from iql_jax.finetune import constant_actor_lr, finetune, init_finetune
from test_finetune_online import CAPACITY, MEMBERS, GoRight, go_right, offline_data, population

EPISODES = 4


def deterministic_returns(states) -> np.ndarray:
    """Mean return per member of the policy mean over ``EPISODES`` seeded episodes."""
    policy = engine.population_policy(states)
    envs = [gym.wrappers.TimeLimit(GoRight(), 20) for _ in range(MEMBERS * EPISODES)]
    obs = np.stack([env.reset(seed=i % EPISODES)[0] for i, env in enumerate(envs)])
    returns = np.zeros(len(envs))
    for _ in range(20):
        actions = policy(obs.reshape(MEMBERS, EPISODES, 1)).reshape(-1, 1)
        for i, env in enumerate(envs):
            obs[i], reward, *_ = env.step(actions[i])
            returns[i] += reward
    return returns.reshape(MEMBERS, EPISODES).mean(1)


def test_online_finetuning_beats_the_offline_policy_on_every_seed():
    states, _ = engine.train_chunk(population(), offline_data(), 500)  # offline IQL on the left-only data
    offline_returns = deterministic_returns(states)
    assert np.all(offline_returns < 0), offline_returns  # the data really is poor for this task

    fstate = init_finetune(constant_actor_lr(states), capacity=CAPACITY, env_seed=0)
    fstate, history = finetune(fstate, offline_data(), go_right, CAPACITY, reward_transform=RewardTransform(),
                               segment_steps=CAPACITY, chunk_steps=500)
    online_returns = deterministic_returns(fstate.states)
    assert np.all(online_returns > 10.0), (offline_returns, online_returns)
    assert np.all(online_returns > offline_returns + 10.0)
    # the exploration returns reported during the run rise too
    assert np.all(history[-1].observed["online/return"] > history[0].observed["online/return"])
