"""The task catalogue: everything iql_jax knows about a task, in one place.

A dataset or environment name (``hopper-medium-v2``, ``Ant_maze_u-maze_noisy_...``, ``AntMaze_UMaze-v4``,
``D4RL/pointmaze/umaze-v2``) is matched to a :class:`Task` by :func:`find_task`. A task says which domain it belongs
to (and so which preset and reward recipe trains it and how it is scored), which gymnasium environment evaluates it
(for mazes: the fixed-goal map), its time limit, D4RL's reference scores, how a dict observation is laid out, and,
for goal-reaching tasks, the maze geometry with the fixed evaluation goal and the success radius used to relabel.

Sources: ``shared/reference/d4rl-and-envs.md`` §1 (reference scores), §7–§8 (environments, maps, time limits,
AntMaze layout) and ``mazes.md`` (goal alignment, the sparse-reward recipe). Everything else asks this module.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal, Mapping

R, G = "r", "g"  # maze cells: reset (start) position, goal position


@dataclass(frozen=True)
class Domain:
    """A family of tasks trained with one preset and scored one way.

    ``score`` is ``"return"`` (D4RL's normalised return) or ``"success"`` (AntMaze: success counts once per episode,
    so the normalised score with references (0, 1) is the success rate × 100).
    """

    name: str
    preset: str
    score: Literal["return", "success"] = "return"


DOMAINS: dict[str, Domain] = {d.name: d for d in (
    Domain("locomotion", "locomotion"),
    Domain("antmaze", "antmaze", "success"),
    # Sparse goal-reaching PointMaze uses the AntMaze recipe (r − 1, goal terminal, τ 0.9, β 10), mazes.md §2;
    # it is scored like D4RL maze2d, by return (steps spent at the goal).
    Domain("maze", "antmaze"),
    Domain("kitchen", "kitchen"),
    Domain("adroit", "adroit"),
)}


@dataclass(frozen=True)
class Maze:
    """A maze's walls (1) and free cells (0), its fixed start and goal cells, and its geometry in gymnasium-robotics.

    gymnasium-robotics centres the map at (0, 0): cell (i, j) has centre
    ``x = (j + 0.5)·scaling − width·scaling/2``, ``y = height·scaling/2 − (i + 0.5)·scaling``.
    """

    walls: tuple[tuple[int, ...], ...]
    goal: tuple[int, int]
    start: tuple[int, int] | None  # None: every reset picks a random free cell (D4RL maze2d)
    scaling: float  # metres per cell: 1 for PointMaze, 4 for AntMaze
    radius: float  # relabelling success radius: D4RL AntMaze 0.5, gymnasium-robotics PointMaze 0.45
    play_goals: tuple[tuple[int, int], ...] = ()  # the hand-picked goal cells of D4RL's AntMaze "play" data

    def centre(self, cell) -> tuple[float, float]:
        i, j = cell
        height, width = len(self.walls), len(self.walls[0])
        scale = self.scaling
        return ((j + 0.5) * scale - width * scale / 2, height * scale / 2 - (i + 0.5) * scale)

    @property
    def goal_xy(self) -> tuple[float, float]:
        return self.centre(self.goal)

    def maze_map(self) -> list[list]:
        """The ``maze_map`` kwarg: walls with ``"g"`` (and ``"r"``) marked, a fresh nested list."""
        out = [list(row) for row in self.walls]
        out[self.goal[0]][self.goal[1]] = G
        if self.start is not None:
            out[self.start[0]][self.start[1]] = R
        return out

    def free_cells(self) -> list[tuple[int, int]]:
        return [(i, j) for i, row in enumerate(self.walls) for j, c in enumerate(row) if c == 0]


_POINT_U = ((1, 1, 1, 1, 1), (1, 0, 0, 0, 1), (1, 1, 1, 0, 1), (1, 0, 0, 0, 1), (1, 1, 1, 1, 1))  # maps.U_MAZE
_ANT_U = ((1, 1, 1, 1, 1), (1, 0, 0, 0, 1), (1, 0, 1, 1, 1), (1, 0, 0, 0, 1), (1, 1, 1, 1, 1))  # D4RL antmaze umaze
_MEDIUM = ((1, 1, 1, 1, 1, 1, 1, 1), (1, 0, 0, 1, 1, 0, 0, 1), (1, 0, 0, 1, 0, 0, 0, 1), (1, 1, 0, 0, 0, 1, 1, 1),
           (1, 0, 0, 1, 0, 0, 0, 1), (1, 0, 1, 0, 0, 1, 0, 1), (1, 0, 0, 0, 1, 0, 0, 1), (1, 1, 1, 1, 1, 1, 1, 1))
_LARGE = ((1,) * 12, (1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1), (1, 0, 1, 1, 0, 1, 0, 1, 0, 1, 0, 1),
          (1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1), (1, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 1),
          (1, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 1),
          (1, 1, 0, 1, 0, 1, 0, 1, 0, 1, 1, 1), (1, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1), (1,) * 12)
_SIZES = {"umaze": "UMaze", "medium": "Medium", "large": "Large"}
_POINT_MAZES = {"umaze": Maze(_POINT_U, (1, 1), None, 1.0, 0.45), "medium": Maze(_MEDIUM, (6, 6), None, 1.0, 0.45),
                "large": Maze(_LARGE, (7, 9), None, 1.0, 0.45)}
# Play goals: the G cells of D4RL's training maps BIG_MAZE and HARDEST_MAZE (d4rl/locomotion/maze_env.py, the same
# grids as _MEDIUM and _LARGE); umaze data have one fixed goal, the evaluation goal.
_ANT_MAZES = {"umaze": Maze(_ANT_U, (3, 3), (1, 3), 4.0, 0.5),
              "medium": Maze(_MEDIUM, (6, 6), (1, 1), 4.0, 0.5, ((2, 6), (5, 1), (6, 5))),
              "large": Maze(_LARGE, (7, 9), (1, 1), 4.0, 0.5,
                            ((1, 6), (3, 5), (3, 10), (5, 2), (7, 4), (7, 6), (7, 9)))}


@dataclass(frozen=True)
class Task:
    """One task: how to recognise it, evaluate it, score it and (for mazes) where its goal is.

    Attributes:
        key: the catalogue name, e.g. ``"hopper"`` or ``"antmaze-umaze"``.
        domain: a :data:`DOMAINS` key.
        aliases: name prefixes that identify the task, as lower-case alphanumerics with separators removed
            (``"antmazeumaze"`` matches ``antmaze-umaze-diverse-v2``, ``AntMaze_UMaze-v4`` and ``Ant_maze_u-maze_...``).
        env_id, env_kwargs: the gymnasium environment that evaluates the task (``None``: only the domain is known).
        max_episode_steps: the evaluation time limit (and D4RL's, for files without ``timeouts``).
        ref_scores: D4RL's (REF_MIN_SCORE, REF_MAX_SCORE), or ``None``.
        layout: dict keys concatenated into the flat observation, goal excluded (``None``: a Box observation).
        maze: the maze geometry and fixed goal of goal-reaching tasks.
    """

    key: str
    domain: str
    aliases: tuple[str, ...]
    env_id: str | None = None
    env_kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    max_episode_steps: int | None = None
    ref_scores: tuple[float, float] | None = None
    layout: tuple[str, ...] | None = None
    maze: Maze | None = None

    @property
    def preset(self) -> str:
        return DOMAINS[self.domain].preset

    @property
    def score(self) -> str:
        return DOMAINS[self.domain].score

    def eval_kwargs(self) -> dict:
        """``gym.make`` kwargs of the evaluation env: for mazes the fixed-goal map (a fresh copy)."""
        kwargs = dict(self.env_kwargs)
        if self.maze is not None:
            kwargs["maze_map"] = self.maze.maze_map()
        return kwargs


# D4RL infos.py constants (d4rl-and-envs.md §1); locomotion v1/v2 copy <env>-random-v0, Adroit v1 copies human-v0.
# Ant: D4RL's ant random / expert returns.
LOCOMOTION_REFS = {"halfcheetah": (-280.178953, 12135.0), "hopper": (-20.272305, 3234.3),
                   "walker2d": (1.629008, 4592.3), "ant": (-325.6, 3879.7)}
ADROIT_REFS = {"pen": (96.262799, 3076.8331017826877), "hammer": (-274.856578, 12794.134825156867),
               "relocate": (-6.425911, 4233.877797728884), "door": (-56.512833, 2880.5693087298737)}
ANTMAZE_REFS, KITCHEN_REFS = (0.0, 1.0), (0.0, 4.0)
_KITCHEN_TASKS = {  # D4RL: complete and partial share the task list; mixed swaps the slide cabinet for a burner
    "complete": ["microwave", "kettle", "light switch", "slide cabinet"],
    "partial": ["microwave", "kettle", "light switch", "slide cabinet"],
    "mixed": ["microwave", "kettle", "bottom burner", "light switch"],
}
_MAZE_FIXED_GOAL = {"continuing_task": True, "reset_target": False}  # maze2d: reward on every step at the goal
_ANTMAZE_EVAL = {"continuing_task": False}  # D4RL's eval=True: the episode ends at the goal (terminal, mask 0)
_V5_ENVS = {"halfcheetah": "HalfCheetah-v5", "hopper": "Hopper-v5", "walker2d": "Walker2d-v5"}
_ANTMAZE_V0_NAMES = {"umaze": "antmazeumaze", "medium": "antmazebigmaze", "large": "antmazehardestmaze"}
_POINT_LIMITS = {"umaze": 300, "medium": 600, "large": 800}
_ANT_LIMITS = {"umaze": 700, "medium": 1000, "large": 1000}


def _catalogue() -> list[Task]:
    tasks = [Task(name, "locomotion", (name,), env, {}, 1000, LOCOMOTION_REFS[name]) for name, env in _V5_ENVS.items()]
    # Ant-v4 with contact forces is the only gymnasium ant that reproduces D4RL's 111-dim observation.
    tasks.append(Task("ant", "locomotion", ("ant",), "Ant-v4", {"use_contact_forces": True}, 1000,
                      LOCOMOTION_REFS["ant"]))
    for size, name in _SIZES.items():
        point = dict(domain="maze", env_id=f"PointMaze_{name}-v3", max_episode_steps=_POINT_LIMITS[size],
                     layout=("observation",), maze=_POINT_MAZES[size])
        tasks.append(Task(f"pointmaze-{size}", aliases=(f"pointmaze{size}", f"maze2d{size}"),
                          env_kwargs={**_MAZE_FIXED_GOAL, "reward_type": "sparse"}, **point))
        tasks.append(Task(f"maze2d-{size}-dense", aliases=(f"maze2d{size}dense",),
                          env_kwargs={**_MAZE_FIXED_GOAL, "reward_type": "dense"}, **point))
        tasks.append(Task(f"antmaze-{size}", "antmaze", (f"antmaze{size}", _ANTMAZE_V0_NAMES[size]),
                          f"AntMaze_{name}-v4", _ANTMAZE_EVAL, _ANT_LIMITS[size], ANTMAZE_REFS,
                          ("achieved_goal", "observation"), _ANT_MAZES[size]))
    tasks += [Task(f"kitchen-{name}", "kitchen", (f"kitchen{name}",), "FrankaKitchen-v1",
                   {"tasks_to_complete": todo}, 280, KITCHEN_REFS, ("observation",))
              for name, todo in _KITCHEN_TASKS.items()]
    tasks += [Task(name, "adroit", (name, f"adroithand{name}"), f"AdroitHand{name.capitalize()}-v1", {}, 200, refs)
              for name, refs in ADROIT_REFS.items()]
    # Families known only by their domain (a name that says no more, or an env the catalogue does not pair).
    tasks += [Task("antmaze", "antmaze", ("antmaze",), ref_scores=ANTMAZE_REFS,
                   layout=("achieved_goal", "observation")),
              Task("pointmaze", "maze", ("pointmaze", "maze2d"), layout=("observation",)),
              Task("kitchen", "kitchen", ("kitchen", "frankakitchen"), ref_scores=KITCHEN_REFS,
                   layout=("observation",))]
    return tasks


TASKS: dict[str, Task] = {t.key: t for t in _catalogue()}
_BY_ALIAS: dict[str, Task] = {alias: t for t in TASKS.values() for alias in t.aliases}
_MAX_ALIAS_TOKENS = 4  # "Ant_maze_u-maze" is four tokens


def _tokens(name: str | None) -> list[str]:
    tokens = [t for t in re.split(r"[^a-z0-9]+", (name or "").lower()) if t]
    return tokens[1:] if tokens[:1] == ["d4rl"] else tokens  # Minari's "D4RL/<task>/..." namespace


def find_task(name: str | None) -> Task | None:
    """The task a dataset or environment name starts with (the longest matching alias), or ``None``."""
    tokens = _tokens(name)
    for k in range(min(len(tokens), _MAX_ALIAS_TOKENS), 0, -1):
        task = _BY_ALIAS.get("".join(tokens[:k]))
        if task is not None:
            return task
    return None


def find_task_of(*names: str | None) -> Task | None:
    """The first of ``names`` that :func:`find_task` recognises."""
    return next((t for t in map(find_task, names) if t is not None), None)


def domain_of(name: str | None) -> str | None:
    """``"locomotion"``, ``"antmaze"``, ``"maze"``, ``"kitchen"``, ``"adroit"`` or ``None`` for a name."""
    task = find_task(name)
    return task.domain if task else None


def preset_name(domain: str | None) -> str:
    """The preset that trains a domain; unknown domains get the locomotion preset."""
    return DOMAINS[domain].preset if domain in DOMAINS else "locomotion"


def score_kind(domain: str | None) -> str:
    """How a domain's normalised score is computed: ``"return"`` or ``"success"``."""
    return DOMAINS[domain].score if domain in DOMAINS else "return"
