"""Online fine-tuning (offline → online), the paper's Table 2 procedure on a vmapped population.

* :mod:`iql_jax.finetune.buffer`: the device-resident replay buffer (shared offline data + a FIFO ring of online
  rows per member) and uniform sampling over their union;
* :mod:`iql_jax.finetune.online`: one environment per member, exploration at temperature 1, one env step then one
  ``agent.update`` per online step, segment-wise seeded resets for bit-exact resume.

Typical use, from an offline population ``states`` trained on ``transitions`` with reward transform ``rt``::

    states = constant_actor_lr(states)                    # the antmaze-finetune preset's constant actor lr
    fstate = init_finetune(states, capacity=online_steps, env_seed=seed)
    offline = engine.device_data(transitions)             # rewards already through rt.apply
    for fstate, metrics in finetune_iter(fstate, offline, spec, online_steps, reward_transform=rt,
                                         segment_steps=checkpoint_every):
        ...  # log metrics; at multiples of checkpoint_every, save fstate (flax msgpack) before continuing
"""

from iql_jax.finetune.buffer import OnlineBuffer, add, init_buffer, online_transitions, sample
from iql_jax.finetune.online import FinetuneState, constant_actor_lr, finetune, finetune_iter, init_finetune

__all__ = [
    "FinetuneState", "OnlineBuffer", "add", "constant_actor_lr", "finetune", "finetune_iter", "init_buffer",
    "init_finetune", "online_transitions", "sample",
]
