"""Training a behaviour policy with SAC on any gymnasium environment with Box spaces, resumably.

Actions are learned in [−1, 1] (the tanh) and mapped affinely onto the environment's bounds when stepping (the
identity for the MuJoCo tasks); the replay buffer keeps the learner's actions.

The loop steps one environment on the host and makes one compiled call per collection step
(:mod:`iql_jax.behaviour.programs`): store the transition, update, choose the next action. The first
``warmup_steps`` actions are uniform and no update runs (SB3's ``learning_starts``). Every ``eval_every`` steps it
evaluates the policy both ways (tanh(μ), and sampled: the actions the datasets are made of), writes the actor
(a policy file), the curve, the plot, the new replay rows and a checkpoint of the whole state.

**Exact resume.** Every random number is a function of the seed and the step (batches: the state's key;
exploration: ``fold_in(explore_key, step)``; episode ``e`` resets with a seed derived from ``(seed, e)``). The
simulator's state is not saved: on resume the current episode is reset with its seed and its stored actions are
replayed, checking every observation bit for bit, so a run killed and resumed equals an uninterrupted one.
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from iql_jax import testing
from iql_jax.behaviour import programs, rundir, sac
from iql_jax.behaviour.plots import plot_curve
from iql_jax.behaviour.policy import save_policy, to_bounds
from iql_jax.behaviour.sac import SACConfig, SACState
from iql_jax.errors import ConfigError, IQLError
from iql_jax.evaluation import EvalEnvSpec, evaluate, make_eval_envs
from iql_jax.finetune import buffer as buffers
from iql_jax.runs import checkpoint
from iql_jax.runs.lock import RunLock
from iql_jax.runs.loop import eval_seed
from iql_jax.runs.rundir import latest_checkpoint, save_checkpoint
from iql_jax.tasks import find_task


@dataclass(frozen=True)
class BehaviourConfig:
    """One SAC behaviour-policy run."""

    env_id: str
    """A registered gymnasium id with Box spaces, e.g. Hopper-v5 (dict observations are flattened)."""
    steps: int = 1_000_000
    """Environment steps (one SAC update per step after the warm-up)."""
    seed: int = 0
    """Seeds the networks, the batches, the exploration and the episode resets."""
    warmup_steps: int = 10_000
    """Uniform random actions, and no update, for this many first steps."""
    eval_every: int = 10_000
    """Steps between evaluations; each keeps the actor, a checkpoint and the new replay rows."""
    eval_episodes: int = 10
    """Episodes per evaluation, for each of the deterministic and the sampled policy."""
    sac: SACConfig = field(default_factory=SACConfig)

    def __post_init__(self):
        for name in ("steps", "eval_every", "eval_episodes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"behaviour: {name}: expected an integer >= 1, found {getattr(self, name)}")
        if self.seed < 0 or self.warmup_steps < 0:
            raise ConfigError(f"behaviour: expected seed >= 0 and warmup_steps >= 0, found {self.seed}, "
                              f"{self.warmup_steps}")
        from iql_jax.domains import MAX_EPISODES, MAX_SEED, MAX_STEPS, check_count

        for name, most in (("steps", MAX_STEPS), ("warmup_steps", MAX_STEPS), ("eval_every", MAX_STEPS),
                           ("eval_episodes", MAX_EPISODES), ("seed", MAX_SEED)):
            check_count(f"--{name.replace('_', '-')}", getattr(self, name), int(name not in ("seed", "warmup_steps")),
                        most)

    def to_json(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_json(cls, d: dict) -> "BehaviourConfig":
        sac_fields = dict(d.get("sac") or {})
        if "hidden_dims" in sac_fields:
            sac_fields["hidden_dims"] = tuple(sac_fields["hidden_dims"])
        return cls(**{**d, "sac": SACConfig(**sac_fields)})


def episode_seed(seed: int, episode: int) -> int:
    """The reset seed of training episode ``episode``."""
    return int(np.random.SeedSequence([seed, episode]).generate_state(1)[0])


def reference_scores(env_id: str) -> tuple[float, float] | None:
    """D4RL's references for the catalogue task this env belongs to (locomotion), else ``None``."""
    task = find_task(env_id)
    return task.ref_scores if task is not None and task.domain == "locomotion" else None


class _Episode:
    """Host bookkeeping of the running episode (what a checkpoint needs to replay it)."""

    def __init__(self, index: int = 0, start: int = 0):
        self.index, self.start, self.ret = index, start, 0.0


def train_behaviour(config: BehaviourConfig, out: str | Path, *, progress: bool = True) -> Path:
    """Train (or resume, when ``out`` already holds this run) and return the run directory.

    Args:
        config: the run; an existing ``out`` must hold the same config except ``steps`` (which may grow).
        out: the run directory.
        progress: show a progress bar with the newest evaluated returns.

    Inside :func:`iql_jax.testing.stopping_at` it stops after that step as if killed there (checkpointed only on
    the evaluation cadence).

    Raises:
        ConfigError: ``out`` holds a different run.
        IQLError: the environment's spaces are not Box, or the stored run is damaged.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with RunLock(out):
        return _Trainer(config, out, progress).run(testing.stop_step())


class _Trainer:
    def __init__(self, config: BehaviourConfig, out: Path, progress: bool):
        self.out, self.progress = out, progress
        self.spec = EvalEnvSpec(config.env_id)
        self.env = self.spec.make()
        space = self.env.action_space
        if not hasattr(space, "low") or space.shape is None or len(space.shape) != 1:
            raise IQLError(f"{config.env_id}: expected a 1-d Box action space, found {space}")
        self.obs_dim, self.act_dim = int(self.env.observation_space.shape[0]), int(space.shape[0])
        low, high = space.low.astype(np.float32), space.high.astype(np.float32)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise IQLError(f"{config.env_id}: expected a bounded Box action space, found {space}")
        self.to_env = lambda a: to_bounds(a, low, high)
        self.config = self._claim(config)
        self.refs = reference_scores(config.env_id)

    def _claim(self, config: BehaviourConfig) -> BehaviourConfig:
        path = self.out / rundir.RECORD
        if not path.exists():
            from iql_jax import __version__
            rundir.write_record(self.out, {"kind": "behaviour", "version": __version__, "config": config.to_json(),
                                           "obs_dim": self.obs_dim, "act_dim": self.act_dim})
            return config
        saved = BehaviourConfig.from_json(rundir.read_record(self.out)["config"])
        if dataclasses.replace(saved, steps=config.steps) != config:
            raise ConfigError(f"{self.out}: holds a behaviour run with another configuration ({saved}); choose "
                              "another --out, or repeat the run's own options to resume it")
        if config.steps != saved.steps:
            record = rundir.read_record(self.out)
            rundir.write_record(self.out, {**record, "config": config.to_json()})
        return config

    # ------------------------------------------------------------------------------------------------------------

    def run(self, stop_at: int | None) -> Path:
        cfg = self.config
        state = sac.init(cfg.sac, jax.random.PRNGKey(cfg.seed), self.obs_dim, self.act_dim)
        buffer = jax.tree_util.tree_map(lambda x: x[0],
                                        buffers.init_buffer(1, cfg.steps, self.obs_dim, self.act_dim))
        t, episode, wall, curve, rows = 0, _Episode(), 0.0, [], np.zeros((0, self._width()), np.float32)
        latest = latest_checkpoint(self.out)
        if latest is not None:
            (state, t, episode, wall, curve, rows, buffer) = self._restore(latest, state, buffer)
        end = cfg.steps if stop_at is None else min(cfg.steps, stop_at)
        sums = programs.zero_sums(state, buffer)
        obs = self._replay_episode(episode, rows, t)
        pending, saved_to = [], t
        store, learn, explore = programs.compiled_store(), programs.compiled_train(1), programs.compiled_explore()
        action = np.asarray(explore(state, jnp.asarray(obs), np.int32(t), t < cfg.warmup_steps))
        finished, started = [], time.perf_counter()
        evals = make_eval_envs(self.spec, cfg.eval_episodes)
        bar = tqdm(total=cfg.steps, initial=t, disable=not self.progress, unit="step", dynamic_ncols=True,
                   desc=cfg.env_id)
        if curve:
            bar.set_postfix_str(_postfix(curve[-1]))
        try:
            while t < end:
                a = np.clip(action, -1.0, 1.0)
                next_obs, reward, terminated, truncated, _ = self.env.step(self.to_env(a))
                next_obs = np.asarray(next_obs, np.float32)
                row = np.concatenate([obs, a, [reward], next_obs, [terminated, truncated]]).astype(np.float32)
                pending.append(row)
                t += 1
                episode.ret += float(reward)
                if terminated or truncated:
                    finished.append(episode.ret)
                    episode = _Episode(episode.index + 1, t)
                    next_obs = self._reset(episode)
                obs = next_obs
                buffer = store(buffer, jnp.asarray(row[None]))
                if t >= cfg.warmup_steps:
                    state, sums, action = learn(state, buffer, sums, jnp.asarray(obs), np.int32(t))
                else:
                    action = explore(state, jnp.asarray(obs), np.int32(t), True)
                action = np.asarray(action)
                bar.update(1)
                if t % cfg.eval_every == 0 or t == cfg.steps:
                    updates = max(0, t - max(saved_to, cfg.warmup_steps - 1))
                    metrics = {k: float(v) / updates for k, v in jax.device_get(sums).items()} if updates else {}
                    row_eval = self._evaluate(state, t, episode.index, evals, finished, metrics,
                                              wall + time.perf_counter() - started)
                    curve.append(row_eval)
                    new_rows = np.stack(pending)
                    rundir.save_segment(self.out, saved_to, new_rows)
                    rows = np.concatenate([rows, new_rows])
                    pending, saved_to, finished = [], t, []
                    self._checkpoint(state, t, episode, wall + time.perf_counter() - started, curve)
                    sums = programs.zero_sums(state, buffer)
                    bar.set_postfix_str(_postfix(row_eval))
        finally:
            bar.close()
            evals.close()
            self.env.close()
        return self.out

    def _width(self) -> int:
        return programs.row_width(self.obs_dim, self.act_dim)

    def _reset(self, episode: _Episode) -> np.ndarray:
        return np.asarray(self.env.reset(seed=episode_seed(self.config.seed, episode.index))[0], np.float32)

    def _replay_episode(self, episode: _Episode, rows: np.ndarray, t: int) -> np.ndarray:
        """Reset the running episode with its seed and replay its stored actions, checking every observation."""
        obs = self._reset(episode)
        o, a = self.obs_dim, self.act_dim
        for i in range(episode.start, t):
            stored = rows[i]
            if not np.array_equal(stored[:o], obs):
                warnings.warn(f"{self.out}: the environment did not replay episode {episode.index} exactly (step "
                              f"{i}); the resumed run starts a new episode and is no longer bit-exact", stacklevel=2)
                episode.index, episode.start, episode.ret = episode.index + 1, t, 0.0
                return self._reset(episode)
            obs = np.asarray(self.env.step(self.to_env(stored[o:o + a]))[0], np.float32)
            episode.ret += float(stored[o + a])
        return obs

    def _evaluate(self, state: SACState, t: int, episodes: int, envs, finished: list, metrics: dict,
                  wall: float) -> dict:
        cfg, n = self.config, self.config.eval_episodes
        seed = eval_seed(cfg.seed, t)
        params = state.actor.params
        row = {"step": t, "episodes": episodes,
               "train_return": float(np.mean(finished)) if finished else float("nan")}
        for mode, stochastic in (("deterministic", False), ("stochastic", True)):
            act = programs.compiled_policy(cfg.sac.hidden_dims, self.act_dim, stochastic)
            calls = iter(range(1 << 30))
            key = jax.random.PRNGKey(seed)
            policy_fn = lambda obs: np.asarray(act(params, jnp.asarray(obs), jax.random.fold_in(key, next(calls))))
            result = evaluate(policy_fn, self.spec, 1, n, seed=seed, ref_scores=self.refs, envs=envs)
            row[f"{mode}_return"] = float(result.mean_return[0])
            row[f"{mode}_score"] = float(result.normalized_score[0]) if result.normalized_score is not None \
                else float("nan")
        row.update({k.replace("/", "_"): v for k, v in sorted(metrics.items())})
        row["wall_s"] = wall
        return row

    def _checkpoint(self, state: SACState, t: int, episode: _Episode, wall: float, curve: list) -> None:
        cfg = self.config
        row = curve[-1]
        record = {"env_id": cfg.env_id, "step": t, "seed": cfg.seed, "obs_dim": self.obs_dim,
                  "act_dim": self.act_dim, "hidden_dims": list(cfg.sac.hidden_dims),
                  "returns": {m: row[f"{m}_return"] for m in ("deterministic", "stochastic")},
                  "scores": {m: row[f"{m}_score"] for m in ("deterministic", "stochastic")
                             if np.isfinite(row[f"{m}_score"])},
                  "reference_scores": list(self.refs) if self.refs else None}
        save_policy(rundir.policy_path(self.out, t), state.actor.params, record)
        header = {"kind": "behaviour", "episode": episode.index, "episode_start": episode.start,
                  "episode_return": episode.ret, "wall_s": wall}
        rundir.write_curve(self.out, curve)
        save_checkpoint(self.out, t, state, header, keep=2)
        plot_curve(self.out)

    def _restore(self, latest, state, buffer):
        t, path = latest
        state, header = checkpoint.load_checkpoint(path, state)
        rundir.drop_after(self.out, t)
        rows = rundir.load_rows(self.out, t)
        curve = [r for r in rundir.read_curve(self.out) if r["step"] <= t]
        for start in range(0, t, 50_000):  # refill the device buffer in slices
            buffer = programs.compiled_store()(buffer, jnp.asarray(rows[start:start + 50_000]))
        episode = _Episode(int(header["episode"]), int(header["episode_start"]))
        return state, t, episode, float(header.get("wall_s", 0.0)), curve, rows, buffer


def _postfix(row: dict) -> str:
    det, sto = row["deterministic_return"], row["stochastic_return"]
    text = f"return {det:.0f} / sampled {sto:.0f}"
    if np.isfinite(row.get("stochastic_score", float("nan"))):
        text += f" (score {row['deterministic_score']:.1f} / {row['stochastic_score']:.1f})"
    return text
