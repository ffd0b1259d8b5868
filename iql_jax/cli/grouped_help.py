"""Grouped ``--help`` for the commands whose options are a whole :class:`~iql_jax.config.TrainConfig`
(``iql train``, ``iql sweep``): the common options first, then run, data, agent and logging.

tyro generates every option (spellings, types, defaults, the field docstrings as help); it boxes them by the nested
dataclass they belong to, in field order, so the few options a first run needs sit among forty others. Moving them
in the dataclasses would change ``config.json`` and every ``--run.*`` / ``--data.*`` spelling, so only the
presentation is regrouped here: this module reads the options back from tyro's own parser and lays them out by
:class:`Group`. Parsing is untouched (every spelling keeps working); an option no group claims is shown under
"other options" rather than dropped, and a test keeps that list empty.
"""

from __future__ import annotations

import re
import shutil
import textwrap
import warnings
from dataclasses import dataclass
from typing import Sequence

import tyro


@dataclass(frozen=True)
class Group:
    """One heading of the help: the options named in ``dests`` (in that order), then those whose tyro destination
    starts with one of ``prefixes`` (prefix by prefix, each in tyro's order). An option named by a group is shown
    there only; one matched by two groups' prefixes, under the first."""

    title: str
    dests: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()


# The groups every TrainConfig command shares, after its own common options (see train.py and sweep.py).
RUN = Group("run options: length, seeds, evaluation, checkpoints", prefixes=("run.",))
DATA = Group("data options: which dataset and how it is transformed", prefixes=("data.",))
AGENT = Group("agent options: IQL hyperparameters (None: the preset's), and sweeps over them",
              prefixes=("agent.", "sweep"))
LOGGING = Group("logging options", ("run.quiet", "run.tensorboard", "run.wandb"))


def _options(cls: type) -> tuple[str, list]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # get_parser is deprecated in tyro 1.x; pinned, and tested here
        parser = tyro.extras.get_parser(cls)
    actions = [a for a in parser._actions if a.option_strings and a.dest != "help"]
    return parser.description or "", actions


def _metavar(action) -> str:
    """tyro's metavar without the ``{None}|`` / ``None,`` alternatives: the default says None where it applies."""
    text = action.metavar or ""
    text = re.sub(r"^\{None\}\|", "", text).replace("{None,", "{")
    return "" if text == "{None}" else text


def grouped_help(cls: type, prog: str, groups: Sequence[Group], width: int | None = None) -> str:
    """The ``--help`` text of the tyro-parsed ``cls``, its options arranged by ``groups``."""
    width = width or min(shutil.get_terminal_size().columns, 120)
    description, actions = _options(cls)
    named = {dest for g in groups for dest in g.dests}  # a named option belongs to its group, whatever its prefix
    placed = {g.title: [a for dest in g.dests for a in actions if a.dest == dest] for g in groups}
    seen = set(named)
    for group in groups:
        chosen = [a for prefix in group.prefixes for a in actions if a.dest.startswith(prefix) and a.dest not in seen]
        placed[group.title] += chosen
        seen.update(a.dest for a in chosen)
    placed["other options"] = [a for a in actions if a.dest not in seen]
    lines = [f"usage: {prog} [-h] [OPTIONS]", ""]
    for paragraph in description.strip().split("\n\n"):
        lines += textwrap.wrap(" ".join(paragraph.split()), width) + [""]
    for title, members in placed.items():
        if not members:
            continue
        lines.append(f"{title}:")
        for action in members:
            metavar = _metavar(action)
            invocation = ", ".join(action.option_strings) + (f" {metavar}" if metavar else "")
            help_text = " ".join((action.help or "").split()).replace("%%", "%")
            left = f"  {invocation}"
            if len(left) <= 28:  # the invocation and its help on one line when short
                lines += textwrap.wrap(help_text, width, initial_indent=left.ljust(30), subsequent_indent=" " * 30)
            else:
                lines.append(left)
                lines += textwrap.wrap(help_text, width, initial_indent=" " * 6, subsequent_indent=" " * 6)
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def print_help_if_asked(argv: Sequence[str], cls: type, prog: str, groups: Sequence[Group]) -> None:
    """Print the grouped help and exit 0, as argparse does, when ``argv`` asks for it."""
    if any(a in ("-h", "--help") for a in argv):
        print(grouped_help(cls, prog, groups), end="")
        raise SystemExit(0)
