"""tyro's parse, with its errors as the one line every other bad input gets.

tyro reports a value it cannot parse (``--steps abc``), an unknown choice or option, or a missing value in a box of
ten lines drawn to stderr, then exits with status 2. :func:`parse` keeps tyro's parser and its wording, and only
changes the form: the box becomes one line naming the option, what tyro found and what the option takes, raised as
an :class:`~iql_jax.errors.IQLError` like any other bad option. ``--help`` prints as tyro draws it.

The parse runs with stderr captured; a function command is called after it, with the real stderr. A parse that
fails runs again with tyro's message on, captured, to make the line; ``--help`` runs again, shown.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import re
import sys
from typing import Any, Sequence

import tyro

from iql_jax.errors import IQLError, shorten

# a box's borders, drawn with line characters on a terminal and with ASCII elsewhere
_BORDER = re.compile(r"^[\s│|╭╰+]+|[\s│|╮╯+]+$")
_RULE = re.compile(r"^[─-]*$")


def parse(target: Any, argv: Sequence[str], prog: str) -> Any:
    """``tyro.cli(target, args=argv, prog=prog)`` (a function target is called after the parse, with the real
    stderr); a parse error is an :class:`IQLError` of one line, ``--help`` prints as tyro draws it."""
    calls: list = []
    parsed = target
    if inspect.isfunction(target):  # parse only; the call runs below, outside the capture
        @functools.wraps(target)
        def parsed(*args, **kwargs):
            calls.append((args, kwargs))

    captured = io.StringIO()
    try:
        with contextlib.redirect_stderr(captured):
            out = tyro.cli(parsed, args=list(argv), prog=prog, console_outputs=False)
    except SystemExit as exit_:
        if exit_.code in (0, None):  # --help: draw it (help goes to stdout)
            return tyro.cli(target, args=list(argv), prog=prog)
        captured = io.StringIO()
        with contextlib.redirect_stderr(captured), contextlib.suppress(SystemExit):
            tyro.cli(parsed, args=list(argv), prog=prog)  # again, with tyro's message on
        raise IQLError(one_line(captured.getvalue(), prog)) from None
    sys.stderr.write(captured.getvalue())  # what else the parse said (warnings)
    if calls:
        args, kwargs = calls[0]
        return target(*args, **kwargs)
    return out


def one_line(text: str, prog: str) -> str:
    """tyro's error box as one line: its first paragraph, and the option's usage line when the box shows one."""
    lines = [_BORDER.sub("", line) for line in text.splitlines()[1:]]  # the first line is the box's title
    lines = ["" if _RULE.match(line) else line for line in lines]
    message, usage, section = [], None, "message"
    for line in lines:
        if line.startswith(("For full helptext", "Got errors")):
            section = "done" if line.startswith("For full") else "skip"
        elif line.startswith("Argument helptext"):
            section = "usage"
        elif section == "usage" and line:
            usage, section = line, "skip"
        elif section == "message" and line:
            message.append(line)
        elif section == "message" and message:
            section = "skip"  # a blank line ends the first paragraph
    found = " ".join(message).rstrip(".") or "the command line could not be parsed"
    expected = f" (expected {usage})" if usage else ""
    return f"{prog}: {shorten(found, 300)}{expected}; see {prog} --help"
